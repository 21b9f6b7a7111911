// Two editors on one article: what the workbench says when a save met someone else's.
//
// Saves always merge (the server merges a save made on an older version field by field).
// When the other editor changed other fields, the save goes through and this says so
// ("merged with Ann Author's changes"), then reopens the entry: Decap keeps what it sent, so the
// form would otherwise miss the other editor's fields, and a later save would undo them.
// When both changed one field differently, nothing is saved: the form keeps what this editor
// typed (Decap's own local backup holds it too), and this notice names each conflicting field
// with both values, a choice per field (keep mine / take theirs), and a button that saves again
// with the choices and the ETag the conflict came with (backend.js sends them).
"use strict";
(() => {
  const pending = new Map(); // slug -> {etag, choices}: the answers the next save sends
  let shown = null; // the notice on the page, if any

  function when(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleString("en-GB", {
      day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }

  function label(path) {
    const [, field, block] = path.split("/");
    const name = field.charAt(0).toUpperCase() + field.slice(1).replace(/_/g, " ");
    return block === undefined ? name : `${name}, block ${Number(block) + 1}`;
  }

  // A value as a person reads it: text as it is, blocks by their text, the rest as JSON.
  function readable(value) {
    if (value === null || value === undefined) return "(empty)";
    if (typeof value === "string") return value || "(empty)";
    if (Array.isArray(value)) {
      return value.map((item) => (item && typeof item === "object" && "text" in item
        ? item.text : readable(item))).join("\n") || "(empty)";
    }
    return JSON.stringify(value);
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

  function close() {
    if (shown) shown.remove();
    shown = null;
  }

  function notice(kind, ...content) {
    close();
    if (window.gitCmsWatch) window.gitCmsWatch.hide(); // this notice says what that one did
    const closer = element("button", { type: "button", class: "git-cms-close",
                                       "aria-label": "Close" }, "×");
    closer.addEventListener("click", close);
    shown = element("section", { class: `git-cms-notice git-cms-${kind}`, role: "alert",
                                 testid: `${kind}-notice` }, closer, ...content);
    document.body.append(shown);
    return shown;
  }

  function saveButton() {
    return [...document.querySelectorAll("button")]
      .find((b) => b.textContent.trim() === "Save" && !b.disabled);
  }

  // The 409 of a save whose fields overlap someone else's: show the choices.
  function conflicted(slug, problem, etag) {
    const conflicts = problem.conflicts || [];
    const names = [...new Set(conflicts.map((c) => c.theirs_by && c.theirs_by.name)
      .filter(Boolean))];
    const latest = conflicts.map((c) => c.theirs_at).filter(Boolean).sort().pop();
    const rows = conflicts.map((c, i) => {
      const mine = element("input", { type: "radio", name: `git-cms-${i}`, value: "yours",
                                      "aria-label": `Keep mine: ${label(c.path)}` });
      mine.checked = true;
      const theirs = element("input", { type: "radio", name: `git-cms-${i}`, value: "theirs",
                                        "aria-label": `Take theirs: ${label(c.path)}` });
      return element("fieldset", { class: "git-cms-field", testid: "conflict",
                                   "data-path": c.path },
        element("legend", {}, label(c.path)),
        element("div", { class: "git-cms-value", testid: "theirs" },
                element("strong", {}, `${names.length ? names.join(", ") : "Theirs"}: `),
                readable(c.theirs)),
        element("div", { class: "git-cms-value", testid: "yours" },
                element("strong", {}, "Yours: "), readable(c.yours)),
        element("label", {}, mine, " Keep mine"),
        element("label", {}, theirs, " Take theirs"));
    });
    const again = element("button", { type: "button", class: "git-cms-save",
                                      testid: "conflict-save" }, "Save with these choices");
    const box = notice("conflict",
      element("h2", {}, `Someone else saved this article: ${names.join(", ") || "another editor"}`
        + (latest ? `, ${when(latest)}` : "")),
      element("p", {}, "You both changed " + conflicts.map((c) => label(c.path)).join(", ")
        + ". Nothing of yours was saved yet, and what you typed is still in the form. "
        + "Choose for each field, then save again."),
      ...rows, again);
    again.addEventListener("click", () => {
      const choices = {};
      for (const row of box.querySelectorAll("[data-testid=conflict]")) {
        choices[row.dataset.path] = row.querySelector("input:checked").value;
      }
      pending.set(slug, { etag, choices });
      const save = saveButton();
      if (save) save.click();
      else pending.delete(slug);
    });
  }

  // A save that merged with someone else's: say so, and reopen the entry to show the result.
  function merged(slug, merge) {
    const names = merge.theirs_by || [];
    const fields = [...new Set((merge.theirs || []).map((p) => label(p).split(",")[0]))];
    notice("merge", element("p", {},
      `Saved, merged with ${names.length ? names.join(", ") : "another editor"}'s changes`
      + (fields.length ? ` (${fields.join(", ")})` : "") + "."));
    const here = window.location.hash;
    // after Decap has finished its save (and dropped its local backup), load the entry again
    window.setTimeout(() => {
      window.location.hash = "#/collections/articles";
      window.setTimeout(() => { window.location.hash = here; }, 100);
    }, 600);
  }

  window.gitCmsConflicts = {
    take(slug) {
      const answer = pending.get(slug);
      pending.delete(slug);
      return answer;
    },
    saved(slug, answer) {
      if (answer && answer.merged && (answer.merged.theirs || []).length) {
        merged(slug, answer.merged);
      } else {
        close();
      }
    },
    conflicted,
    words: { label, when, readable }, // for watch.js's notice
  };
})();
