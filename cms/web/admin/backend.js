// The workbench's backend, `git_cms`: Decap's proxy backend, with the collection a page at a
// time and Decap's search answered by the server's full-text search.
//
// Decap's proxy backend asks for every entry of the collection in one answer, and its search
// loads every entry to filter them in the browser: at 100,000 articles that was 195 MB and
// minutes. Here `entriesByFolder` asks for the newest page and hands Decap a cursor (it then
// loads the next page as the list is scrolled), and `allEntriesByFolder`, which Decap's search
// calls, asks the server for the matches of the term being searched only.
"use strict";
(() => {
  const CMS = window.CMS;
  const PAGE = 50;
  const SEARCHED = 100;
  // Decap reads a backend's cursor from a Symbol of its own (decap-cms-lib-util's
  // CURSOR_COMPATIBILITY_SYMBOL) that it does not export: the answer is wrapped so that
  // reading a symbol with that description gives our cursor.
  const CURSOR_KEY = "cursor key for compatibility with old backends";
  const probe = CMS.getBackend("proxy").init({ backend: { proxy_url: "/api/v1/decap" },
                                              media_folder: "media" });
  const ProxyBackend = Object.getPrototypeOf(probe).constructor;

  function withCursor(entries, cursor) {
    return new Proxy(entries, {
      get(target, key, receiver) {
        if (typeof key === "symbol" && key.description === CURSOR_KEY) return cursor;
        return Reflect.get(target, key, receiver);
      },
    });
  }

  // The term of the search Decap is running: its routes are #/search/<term> and
  // #/collections/<name>/search/<term>.
  function searchTerm() {
    const match = /^#\/(?:collections\/[^/]+\/)?search\/([^/?]+)/.exec(window.location.hash);
    if (!match) return null;
    try {
      return decodeURIComponent(match[1]).trim() || null;
    } catch {
      return null;
    }
  }

  // slug -> the version (draft blob) this tab last loaded or saved of it: its next save's base,
  // and the version watch.js asks about
  const versions = new Map();
  window.gitCmsVersions = versions;

  class GitCmsBackend extends ProxyBackend {
    async entriesPage(folder, extension, depth, page) {
      const entries = await this.request({
        action: "entriesByFolder",
        params: { branch: this.branch, folder, extension, depth, page, per_page: PAGE },
      });
      const cursor = { actions: entries.length === PAGE ? ["next"] : [],
                       meta: { page, pageSize: PAGE },
                       data: { folder, extension, depth, page } };
      return { entries, cursor };
    }

    async entriesByFolder(folder, extension, depth) {
      const { entries, cursor } = await this.entriesPage(folder, extension, depth, 1);
      return withCursor(entries, cursor);
    }

    async traverseCursor(cursor, action) {
      const data = cursor.data && cursor.data.toJS ? cursor.data.toJS() : cursor.data;
      const page = action === "next" ? data.page + 1
        : action === "prev" ? Math.max(1, data.page - 1) : 1;
      return this.entriesPage(data.folder, data.extension, data.depth, page);
    }

    async allEntriesByFolder(folder, extension, depth) {
      const term = searchTerm();
      if (!term) return (await this.entriesPage(folder, extension, depth, 1)).entries;
      return this.request({
        action: "entriesByFolder",
        params: { branch: this.branch, folder, extension, depth, search: term,
                  per_page: SEARCHED },
      });
    }

    // Decap loaded an entry into the form: the answer says the version (draft blob) it is,
    // kept here, per tab, as the base of this form's save and what watch.js watches for
    // someone else's save. Not the session's memory on the server, which any other tab of the
    // session (the workflow board, the same article) moves to a newer version: a save of this
    // form merged against that would overwrite the other editor's fields with its old values.
    async request(payload) {
      const answer = await super.request(payload);
      const params = payload.params || {};
      const watch = window.gitCmsWatch;
      let slug = null;
      if (payload.action === "unpublishedEntryDataFile") slug = params.slug;
      if (payload.action === "getEntry") slug = (/([^/]+)\.json$/.exec(params.path || "") || [])[1];
      if (slug && answer && typeof answer === "object") {
        if (answer.version) versions.set(slug, answer.version);
        else versions.delete(slug);
        if (watch) watch.loaded(slug);
      }
      return answer;
    }

    // A save: with the answers to a conflict shown before (conflicts.js), and what it merged
    // or why it could not, read from the whole answer (Decap's `request` keeps only `error`).
    async persistEntry(entry, options) {
      const path = entry.dataFiles && entry.dataFiles[0] ? entry.dataFiles[0].path : "";
      const slug = (/([^/]+)\.json$/.exec(path) || [])[1] || "";
      const conflicts = window.gitCmsConflicts;
      const resolve = conflicts && conflicts.take(slug);
      const assets = await Promise.all(entry.assets.map(async (asset) => (
        { path: asset.path, content: await asset.toBase64(), encoding: "base64" })));
      const response = await fetch(this.proxyUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json; charset=utf-8" },
        body: JSON.stringify({
          branch: this.branch,
          action: "persistEntry",
          params: {
            branch: this.branch, dataFiles: entry.dataFiles, assets,
            options: { ...options, status: options.status || this.options.initialWorkflowStatus,
                       ...(resolve ? { resolve } : {}) },
            cmsLabelPrefix: this.cmsLabelPrefix,
            ...(versions.has(slug) ? { base: versions.get(slug) } : {}),
          },
        }),
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        if (answer.version) versions.set(slug, answer.version);
        if (window.gitCmsWatch) window.gitCmsWatch.saved(slug);
        if (conflicts) conflicts.saved(slug, answer);
        return answer;
      }
      if (response.status === 409 && Array.isArray(answer.conflicts) && conflicts) {
        conflicts.conflicted(slug, answer, (response.headers.get("ETag") || "").replace(/"/g, ""));
        throw new Error("someone else saved this article: choose in the notice, then save again");
      }
      const error = new Error(answer.error || answer.detail || `HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }

    // Decap words the toast of a refused discard as its success ("Unpublished changes
    // deleted"); roles.js puts the refusal's reason there instead.
    async deleteUnpublishedEntry(collection, slug) {
      try {
        return await super.deleteUnpublishedEntry(collection, slug);
      } catch (error) {
        window.gitCmsRefusal = error.message || String(error);
        throw error;
      }
    }
  }

  CMS.registerBackend("git_cms", GitCmsBackend);
})();
