// While an article is open in the editor: a notice as soon as someone else saves it, before this
// editor presses Save (who, when, which fields), as Google Docs or Contentful tell of others.
//
// Every few seconds (paused while the tab is hidden) the page asks
// GET /api/v1/manage/articles/<slug>/changes?since=<version> with If-None-Match: the server
// compares the draft's ETag with the version this form was loaded from or last saved (the one
// its next save merges with, kept per tab by backend.js; the session's memory only when the load
// said none) and answers 304 while nobody saved, from two ref reads and cached trees. When it
// moved, the answer names the saves since and the field changes, and the notice says so. Nothing in the
// form is touched: what the editor typed stays, and their save merges with the other's.
// After this editor's own save the server's version is theirs, so the notice goes away.
"use strict";
(() => {
  const ENTRY = /^#\/collections\/articles\/entries\/([a-z0-9-]+)$/;
  const EVERY = 5000; // ms between two polls; 50 open editors are 10 requests a second, 304s
  const FIRST = 2000; // when Decap's load of the entry was not seen (it says when, below)
  let slug = null; // the article watched
  let etag = null; // the ETag of the last answer, sent as If-None-Match
  let timer = null;
  let shown = null; // the notice on the page, if any
  let asking = false;
  let found = false; // the server knew the article at the last answer (it may be deleted)

  const words = () => window.gitCmsConflicts.words;

  function open() {
    const match = ENTRY.exec(window.location.hash);
    return match ? match[1] : null;
  }

  function element(tag, attributes, ...children) {
    const made = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (key === "testid") made.dataset.testid = value;
      else made.setAttribute(key, value);
    }
    for (const child of children) made.append(child);
    return made;
  }

  function hide() {
    if (shown) shown.remove();
    shown = null;
  }

  function later(ms) {
    window.clearTimeout(timer);
    timer = slug ? window.setTimeout(ask, ms) : null;
  }

  // "Ann Archer", "Ann Archer and Bob Baker", "Ann Archer, Bob Baker and others"
  function people(saves, count) {
    const names = [...new Set(saves.map((s) => s.author && s.author.name).filter(Boolean))];
    if (count > saves.length) names.push("others");
    if (names.length < 2) return names[0] || "Another editor";
    return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
  }

  // One line per field: its name, and what it is now where that fits on a line.
  function fields(changes) {
    const byField = new Map();
    for (const change of changes) {
      const [, field, index] = change.path.split("/");
      if (!byField.has(field)) byField.set(field, { blocks: new Set(), whole: null });
      const entry = byField.get(field);
      if (field === "body" && index !== undefined) entry.blocks.add(Number(index) + 1);
      else if (change.path === `/${field}`) entry.whole = change;
    }
    return [...byField].map(([field, { blocks, whole }]) => {
      const name = words().label(`/${field}`);
      let now = "changed";
      if (blocks.size) {
        const numbers = [...blocks].sort((a, b) => a - b);
        now = `${numbers.length > 1 ? "blocks" : "block"} ${numbers.join(", ")} changed`;
      } else if (whole && whole.op === "remove") {
        now = "removed";
      } else if (whole && typeof whole.new === "string") {
        const text = whole.new.length > 160 ? `${whole.new.slice(0, 159)}…` : whole.new;
        now = `now “${text}”`;
      } else if (whole && Array.isArray(whole.new) && whole.new.every((v) => typeof v === "string")) {
        now = `now ${whole.new.join(", ") || "(empty)"}`;
      }
      return element("li", { testid: "watch-field", "data-field": field },
                     element("strong", {}, name), ` ${now}`);
    });
  }

  function show(answer) {
    hide();
    if (document.querySelector("[data-testid=conflict-notice]")) return; // that one says more
    const latest = answer.saves[0];
    const closer = element("button", { type: "button", class: "git-cms-close",
                                       "aria-label": "Close" }, "×");
    closer.addEventListener("click", hide);
    const history = element("a", { href: `/admin/history?slug=${encodeURIComponent(slug)}`,
                                   target: "_blank", rel: "noopener" },
                            "Compare the versions in the history ↗");
    shown = element("section", { class: "git-cms-notice git-cms-watch", role: "status",
                                 "aria-live": "polite", testid: "watch-notice" },
      closer,
      element("h2", {}, `${people(answer.saves, answer.saved_count)} saved this article`
        + (latest ? `, ${words().when(latest.date)}` : "")),
      element("p", {}, "Since you opened it, they changed:"),
      element("ul", {}, ...fields(answer.changes)),
      element("p", {}, "What you typed is still in the form. When you save, your changes are "
        + "merged with theirs, field by field; where you both changed the same field, "
        + "you choose which to keep."),
      element("p", { class: "git-cms-links" }, history));
    document.body.append(shown);
  }

  // The article was deleted while open (by the API, the workbench or git).
  function gone() {
    hide();
    const closer = element("button", { type: "button", class: "git-cms-close",
                                       "aria-label": "Close" }, "×");
    closer.addEventListener("click", hide);
    shown = element("section", { class: "git-cms-notice git-cms-watch", role: "status",
                                 "aria-live": "polite", testid: "watch-notice" },
      closer,
      element("h2", {}, "Someone deleted this article"),
      element("p", {}, "It was deleted since you opened it. What you typed is still in the "
        + "form, but saving it is refused: copy what you want to keep. Its history keeps "
        + "every saved version."),
      element("p", { class: "git-cms-links" },
              element("a", { href: `/admin/history?slug=${encodeURIComponent(slug)}`,
                             target: "_blank", rel: "noopener" }, "Open its history ↗")));
    document.body.append(shown);
  }

  async function ask() {
    timer = null;
    const watched = slug;
    if (!watched || open() !== watched) return stop();
    if (document.hidden) return undefined; // visibilitychange asks again
    if (asking) return later(EVERY);
    asking = true;
    try {
      const version = window.gitCmsVersions && window.gitCmsVersions.get(watched);
      const since = version ? `?since=${encodeURIComponent(version)}` : "";
      const response = await fetch(
        `/api/v1/manage/articles/${encodeURIComponent(watched)}/changes${since}`,
        { credentials: "same-origin", cache: "no-store",
          headers: etag ? { "If-None-Match": etag } : {} });
      if (slug === watched && response.status === 200) {
        etag = response.headers.get("ETag");
        found = true;
        const answer = await response.json();
        if (answer.changes.length) show(answer);
        else hide();
      } else if (slug === watched && response.status === 404 && found) {
        found = false;
        etag = null;
        gone();
      } else if (slug === watched && response.status !== 304) {
        etag = null; // not loaded in this session yet: ask afresh next time
      }
    } catch {
      etag = null; // the server is away for a moment: try again later
    } finally {
      asking = false;
    }
    if (slug === watched) later(EVERY);
    return undefined;
  }

  function stop() {
    slug = null;
    etag = null;
    found = false;
    window.clearTimeout(timer);
    timer = null;
    hide();
  }

  function follow() {
    const now = open();
    if (now === slug) return;
    stop();
    slug = now;
    later(FIRST);
  }

  window.gitCmsWatch = {
    // Decap has loaded `name` into the form (backend.js): its version is the form's now
    loaded(name) {
      if (name !== open()) return;
      slug = name;
      etag = null;
      later(0);
    },
    // this editor's save went through: the form's version is the saved one now
    saved(name) {
      if (name !== slug) return;
      hide();
      later(0);
    },
    hide,
  };

  window.addEventListener("hashchange", follow);
  window.addEventListener("load", follow);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && slug) later(0);
  });
})();
