// Runs after our backend, widgets and preview are registered: Decap's wording made to speak
// of articles (it says "entry", and "New Post" on the workflow board), then Decap starts.
"use strict";
(() => {
  const CMS = window.CMS;

  function reworded(value) {
    if (typeof value === "string") {
      return value.replace(/\bNew Post\b/g, "New Article")
        .replace(/\bentries\b/g, "articles").replace(/\bEntries\b/g, "Articles")
        .replace(/\bentry\b/g, "article").replace(/\bEntry\b/g, "Article");
    }
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reworded(v)]));
    }
    return value;
  }

  const english = CMS.getLocale("en");
  if (english) CMS.registerLocale("en", reworded(english));
  CMS.init();
})();
