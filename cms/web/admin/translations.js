// An article's translation group in the workbench, from the management API
// (/api/v1/manage/articles/{slug}/translations): every member with its language and state,
// whether each translation is stale and what changed in the source since it was made, a
// button that marks a translation up to date (saves it with `translated_from` set to the
// source's current revision), and a form that starts a translation from the source (a new
// draft prefilled with the source's fields). Text from the API only ever reaches the page
// as text, never as HTML.
"use strict";
(() => {
  const slug = new URLSearchParams(window.location.search).get("slug") || "";
  const manage = "/api/v1/manage/articles";
  const status = document.getElementById("status");
  const rows = document.getElementById("rows");
  let source = null; // the group's source member, once loaded

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function say(text, kind) {
    status.textContent = text;
    status.className = `status ${kind || ""}`;
  }

  async function getJSON(url, options = {}) {
    const response = await fetch(url, { credentials: "same-origin", ...options });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const fields = Object.entries(body.errors || {}).map(([k, v]) => `${k}: ${v.join(" ")}`);
      const error = new Error(fields.length ? fields.join("; ")
        : body.detail || `The server answered ${response.status}.`);
      error.status = response.status;
      throw error;
    }
    return { body, response };
  }

  function entry(member) {
    return `/admin/#/collections/articles/entries/${encodeURIComponent(member)}`;
  }

  // "/body/2/text" -> "Body, block 3, text"
  function fieldName(path) {
    const parts = path.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    const words = parts.map((part, i) => {
      if (/^\d+$/.test(part)) return parts[i - 1] === "body" ? `block ${Number(part) + 1}`
        : `item ${Number(part) + 1}`;
      return part.replace(/_/g, " ");
    });
    const text = words.join(", ");
    return text ? text[0].toUpperCase() + text.slice(1) : "The whole article";
  }

  function shown(value) {
    return typeof value === "string" ? value : JSON.stringify(value, null, 1);
  }

  function changes(member) {
    const diff = member.source_changes;
    if (!diff) {
      return el("p", { class: "note", text: member.translated_from
        ? "The revision it was made from is not in the source's history."
        : "It names no source revision it was made from (translated_from)." });
    }
    if (!diff.changes.length) {
      return el("p", { class: "note", text: "The source's draft is as it was; its published "
        + "version differs." });
    }
    return el("ul", { class: "changes", "data-testid": "source-changes" },
      ...diff.changes.map((change) => el("li", { "data-testid": "change" },
        el("span", { class: "field", text: fieldName(change.path) }),
        change.op !== "add" ? el("del", { text: shown(change.old) }) : null,
        change.op !== "remove" ? el("ins", { text: shown(change.new) }) : null)));
  }

  async function markFresh(member) {
    try {
      const { body: now } = await getJSON(`${manage}/${encodeURIComponent(source.slug)}`);
      const { response } = await getJSON(`${manage}/${encodeURIComponent(member.slug)}`);
      await getJSON(`${manage}/${encodeURIComponent(member.slug)}`, {
        method: "PATCH",
        body: JSON.stringify({ translated_from: now.meta.revision }),
        headers: { "Content-Type": "application/merge-patch+json",
                   "If-Match": response.headers.get("ETag") },
      });
      say(`${member.slug} is marked up to date with the source's revision `
          + `${now.meta.revision.slice(0, 7)}.`, "done");
      await load();
    } catch (error) {
      say(`Not marked: ${error.message}`, "problem");
    }
  }

  function translationCell(member) {
    if (member.role === "source") return el("td", { text: "—" });
    if (!member.stale) {
      return el("td", {}, el("span", { class: "badge fresh", "data-testid": "fresh",
                                       text: "Up to date" }));
    }
    const button = el("button", { type: "button", text: "Mark up to date" });
    button.addEventListener("click", () => markFresh(member));
    return el("td", {},
      el("span", { class: "badge stale", "data-testid": "stale", text: "Stale" }),
      el("p", { class: "note", text: "The source changed since this translation was made:" }),
      changes(member), button);
  }

  function row(member) {
    const here = member.slug === slug;
    return el("tr", { "data-testid": "member", "data-slug": member.slug,
                      class: here ? "here" : null },
      el("td", {}, el("code", { text: member.language })),
      el("td", {}, el("a", { href: entry(member.slug), text: member.title || member.slug }),
        el("div", { class: "slug", text: member.slug + (here ? " (this article)" : "") })),
      el("td", { text: member.role }),
      el("td", {}, el("span", { class: `state ${member.state}`, text: member.state })),
      translationCell(member));
  }

  async function load() {
    const { body } = await getJSON(`${manage}/${encodeURIComponent(slug)}/translations`);
    source = body.items.find((m) => m.role === "source") || null;
    rows.replaceChildren(...body.items.map(row));
    document.getElementById("start").hidden = source === null;
    if (source !== null) slugHint();
    if (source === null) say("The source of this translation was deleted: it stands alone.");
  }

  // the slug a translation gets when none is typed: `<source>-<language>`
  function slugHint() {
    const language = document.getElementById("language").value.trim().toLowerCase();
    document.getElementById("slug").placeholder = `${source.slug}-${language || "ru"}`;
  }
  document.getElementById("language").addEventListener("input", slugHint);

  document.getElementById("start-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const language = document.getElementById("language").value.trim();
    const chosen = document.getElementById("slug").value.trim()
      || `${source.slug}-${language.toLowerCase()}`;
    try {
      const { body } = await getJSON(`${manage}/${encodeURIComponent(source.slug)}/translations`, {
        method: "POST",
        body: JSON.stringify({ language, slug: chosen }),
        headers: { "Content-Type": "application/json" },
      });
      say(`Started ${body.slug}: a draft in ${body.language} with the source's fields to `
          + "translate. Opening it in the editor…", "done");
      window.location.assign(entry(body.slug));
    } catch (error) {
      say(`Not started: ${error.message}`, "problem");
    }
  });

  async function start() {
    document.getElementById("back").href = entry(slug);
    try {
      const { body: article } = await getJSON(`${manage}/${encodeURIComponent(slug)}`);
      document.title = `Translations: ${article.title} — Workbench`;
      document.getElementById("title").textContent = `Translations: ${article.title}`;
      await load();
    } catch (error) {
      say(error.status === 404 ? `There is no article “${slug}”.` : error.message, "problem");
    }
  }

  start();
})();
