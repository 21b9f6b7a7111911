// The sign-in page: trade a token for a session cookie, then load the workbench.
// At /admin/signout (where Decap's "Log out" leads) it first ends the session.
"use strict";
(() => {
  const form = document.getElementById("signin");
  const message = document.getElementById("message");

  async function signOut() {
    window.localStorage.removeItem("decap-cms-user");
    await fetch("/api/v1/session", { method: "DELETE", credentials: "same-origin" });
    window.history.replaceState(null, "", "/admin/");
    message.textContent = "You are signed out.";
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    const token = form.elements.token.value.trim();
    let response;
    try {
      response = await fetch("/api/v1/session", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token }),
      });
    } catch (error) {
      message.textContent = "The server could not be reached.";
      return;
    }
    if (response.status === 204) {
      window.localStorage.setItem("decap-cms-user", JSON.stringify({ backendName: "git_cms" }));
      // back where the sign-in was asked for: the workbench, or an article's history page
      const { pathname, search } = window.location;
      window.location.replace(pathname === "/admin/history" ? pathname + search : "/admin/");
      return;
    }
    const problem = await response.json().catch(() => ({}));
    message.textContent = response.status === 401 ? "That token is unknown or revoked."
      : problem.detail || `Sign-in failed (HTTP ${response.status}).`;
  });

  if (window.location.pathname.endsWith("/signout")) signOut();
})();
