// What each role is shown. The server refuses an author's publish, delete and schedule (403)
// whatever the page offers; the configuration (config.yml, made per person) already leaves
// out Publish and the schedule for an author. Decap still shows its Delete buttons for
// unpublished changes whatever the configuration says, so they are hidden here for an author.
//
// A refused discard: Decap's error toast uses the words of its success ("Unpublished changes
// deleted"); it is reworded with the server's reason (kept by backend.js).
"use strict";
(() => {
  const DELETES = new Set(["Delete unpublished article", "Delete unpublished changes",
                           "Delete published article", "Delete article", "Delete changes",
                           "Delete new article"]);
  const DISCARDED = "Unpublished changes deleted";
  let role = null;
  let queued = false;

  function hideDeletes() {
    for (const button of document.querySelectorAll("button")) {
      if (DELETES.has(button.textContent.trim()) && button.style.display !== "none") {
        button.style.display = "none";
        button.setAttribute("aria-hidden", "true");
        button.title = "Deleting needs the editor role";
      }
    }
  }

  function rewordRefusals() {
    for (const toast of document.querySelectorAll(".Toastify__toast--error")) {
      const body = toast.querySelector(".Toastify__toast-body") || toast;
      const text = body.lastElementChild || body;
      if (text.textContent.trim().startsWith(DISCARDED)) {
        text.textContent = `Nothing was deleted: ${window.gitCmsRefusal || "the server refused."}`;
      }
    }
  }

  function apply() {
    queued = false;
    if (role === "author") hideDeletes();
    rewordRefusals();
  }

  new MutationObserver(() => {
    if (!queued) {
      queued = true;
      window.requestAnimationFrame(apply);
    }
  }).observe(document.documentElement, { childList: true, subtree: true,
                                         characterData: true });

  fetch("/api/v1/session", { credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : null))
    .then((who) => {
      role = who ? who.role : null;
      document.documentElement.dataset.role = role || "";
      apply();
    })
    .catch(() => null);
})();
