// Runs before Decap CMS. The server let this page through because the browser holds a valid
// session cookie, so tell Decap's proxy backend it is signed in (it keeps that in
// localStorage): the editor is not asked to click a second "Login" button. Decap starts only
// once our backend, widgets and wording are registered (start.js calls CMS.init()).
"use strict";
(() => {
  let stored = null;
  try {
    stored = JSON.parse(window.localStorage.getItem("decap-cms-user"));
  } catch {
    stored = null;
  }
  if (!stored || stored.backendName !== "git_cms") {
    window.localStorage.setItem("decap-cms-user", JSON.stringify({ backendName: "git_cms" }));
  }
})();
window.CMS_MANUAL_INIT = true;
