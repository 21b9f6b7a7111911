// In Decap's editor of a saved article (#/collections/articles/entries/<slug>): a box in the
// corner naming the article's translation group, each language marked when stale, that opens
// the translations page (/admin/translations?slug=<slug>: what changed in the source, start
// a translation). It reads the address, not Decap's internals, so it needs no config field.
"use strict";
(() => {
  const ENTRY = /^#\/collections\/articles\/entries\/([a-z0-9-]+)$/;
  let shown = null; // the slug the box is for

  function box() {
    let node = document.getElementById("cms-translations");
    if (node === null) {
      node = document.createElement("a");
      node.id = "cms-translations";
      node.target = "_blank";
      node.rel = "noopener";
      node.setAttribute("data-testid", "translations-link");
      Object.assign(node.style, {
        position: "fixed", right: "1.5rem", bottom: "1rem", zIndex: 1000, background: "#fff",
        color: "#3a69c7", font: "600 14px/1.4 system-ui, sans-serif", padding: "0.5rem 0.9rem",
        borderRadius: "6px", boxShadow: "0 2px 10px rgba(0, 0, 0, 0.18)",
        textDecoration: "none",
      });
      document.body.append(node);
    }
    return node;
  }

  async function update() {
    const match = ENTRY.exec(window.location.hash);
    const slug = match ? match[1] : null;
    if (slug === shown) return;
    shown = slug;
    const node = box();
    node.hidden = slug === null;
    if (slug === null) return;
    node.href = `/admin/translations?slug=${encodeURIComponent(slug)}`;
    node.textContent = "Translations ↗";
    const response = await fetch(`/api/v1/manage/articles/${encodeURIComponent(slug)}/translations`,
                                 { credentials: "same-origin" }).catch(() => null);
    if (!response || !response.ok || shown !== slug) return;
    const { items } = await response.json();
    const languages = items.map((m) => m.language + (m.stale ? " (stale)" : ""));
    node.textContent = items.length > 1
      ? `Translations: ${languages.join(" · ")} ↗` : "Translations: none yet, start one ↗";
  }

  window.addEventListener("hashchange", update);
  window.addEventListener("load", update);
  window.addEventListener("focus", () => { shown = null; update(); }); // back from that page
})();
