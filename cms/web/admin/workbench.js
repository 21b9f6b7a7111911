// Runs before Decap CMS. The server let this page through because the browser holds a valid
// session cookie, so tell Decap's proxy backend it is signed in (it keeps that in
// localStorage): the editor is not asked to click a second "Login" button.
"use strict";
if (!window.localStorage.getItem("decap-cms-user")) {
  window.localStorage.setItem("decap-cms-user", JSON.stringify({ backendName: "proxy" }));
}
