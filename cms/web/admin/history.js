// An article's history in the workbench, from the management API: its revisions (who, when,
// what, the commit message), the field changes from any revision to the draft, and restore
// (editors: a new revision whose content is the old one's; an author sees why it is off).
// Text from the API only ever reaches the page as text, never as HTML.
"use strict";
(() => {
  const slug = new URLSearchParams(window.location.search).get("slug") || "";
  const api = `/api/v1/manage/articles/${encodeURIComponent(slug)}`;
  const PER_PAGE = 20;
  const WHEN = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric",
                                                 hour: "2-digit", minute: "2-digit" });
  const status = document.getElementById("status");
  const rows = document.getElementById("rows");
  const older = document.getElementById("older");
  let page = 1;
  let role = null;

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
      const error = new Error(body.detail || `The server answered ${response.status}.`);
      error.status = response.status;
      throw error;
    }
    return { body, response };
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

  async function compare(revision, row) {
    for (const chosen of rows.querySelectorAll("tr.chosen")) chosen.classList.remove("chosen");
    row.classList.add("chosen");
    const section = document.getElementById("diff");
    const list = document.getElementById("changes");
    try {
      const { body } = await getJSON(`${api}/diff?from=${encodeURIComponent(revision)}`);
      document.getElementById("diff-title").textContent =
        `From revision ${revision.slice(0, 7)} to the draft as it is now`;
      list.replaceChildren(...(body.changes.length ? body.changes.map((change) => el("li",
        { "data-testid": "change" },
        el("span", { class: "field", text: fieldName(change.path) }),
        change.op !== "add" ? el("del", { text: shown(change.old) }) : null,
        change.op !== "remove" ? el("ins", { text: shown(change.new) }) : null))
        : [el("li", { text: "No changes: the draft is as it was at this revision." })]));
      section.hidden = false;
      section.scrollIntoView({ block: "nearest" });
    } catch (error) {
      say(`Could not compare: ${error.message}`, "problem");
    }
  }

  async function restore(revision) {
    if (!window.confirm(`Make the draft as it was at revision ${revision.slice(0, 7)}? `
                        + "This is saved as a new revision; nothing is lost.")) return;
    try {
      const { response } = await getJSON(api);
      const { body } = await getJSON(`${api}/restore`, {
        method: "POST", body: JSON.stringify({ revision }),
        headers: { "Content-Type": "application/json", "If-Match": response.headers.get("ETag") },
      });
      say(`Restored revision ${revision.slice(0, 7)}: the draft is now as it was then (new `
          + `revision ${body.meta.revision.slice(0, 7)}). Reopen the article to go on editing.`,
          "done");
      page = 1;
      await load();
    } catch (error) {
      say(`Not restored: ${error.message}`, "problem");
    }
  }

  function row(revision, newest) {
    const tr = el("tr", { "data-testid": "revision" });
    const compareButton = el("button", { type: "button", text: "Compare with draft" });
    compareButton.addEventListener("click", () => compare(revision.revision, tr));
    const editor = role === "editor" || role === "admin";
    const restoreButton = el("button", {
      type: "button", class: "restore", text: "Restore",
      disabled: !editor || newest,
      title: !editor ? "Restoring needs the editor role" : newest ? "This is the draft now" : null,
    });
    restoreButton.addEventListener("click", () => restore(revision.revision));
    tr.append(
      el("td", { text: WHEN.format(new Date(revision.date)) }),
      el("td", { text: revision.author.name }),
      el("td", {}, el("span", { class: `action ${revision.action}`, text: revision.action })),
      el("td", { text: revision.message.split("\n")[0] }),
      el("td", {}, el("code", { text: revision.revision.slice(0, 7) })),
      el("td", {}, compareButton, restoreButton));
    return tr;
  }

  async function load(more = false) {
    const { body } = await getJSON(`${api}/revisions?page=${page}&per_page=${PER_PAGE}`);
    const made = body.items.map((r, i) => row(r, page === 1 && i === 0));
    if (more) rows.append(...made);
    else rows.replaceChildren(...made);
    older.hidden = body.meta.page >= body.meta.pages;
  }

  older.addEventListener("click", async () => {
    page += 1;
    await load(true).catch((error) => say(error.message, "problem"));
  });

  async function start() {
    document.getElementById("back").href =
      `/admin/#/collections/articles/entries/${encodeURIComponent(slug)}`;
    try {
      const [{ body: who }, { body: article }] = await Promise.all([
        getJSON("/api/v1/session"), getJSON(api)]);
      role = who.role;
      document.title = `History: ${article.title} — Workbench`;
      document.getElementById("title").textContent = `History: ${article.title}`;
      if (role === "author") say("You can compare revisions; restoring one needs the editor role.");
      await load();
    } catch (error) {
      say(error.status === 404 ? `There is no article “${slug}”.` : error.message, "problem");
    }
  }

  start();
})();
