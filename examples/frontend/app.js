// Sample frontend for the delivery API: a list of published articles and one article at a
// time, routed by the URL hash. Text from the API only ever reaches the page as text nodes
// (textContent, append) or as attribute values; never as HTML.
"use strict";

(() => {
  const DEFAULT_API = "http://127.0.0.1:8000";
  const PER_PAGE = 20;
  const SITE = "Newsroom";
  const API = apiBase();
  const PREVIEW = previewUrl();
  const view = document.getElementById("view");
  let navigation = 0; // bumped on every route change, so a slow answer can't paint over a newer page

  class HttpError extends Error {
    constructor(status) {
      super(`HTTP ${status}`);
      this.status = status;
    }
  }

  class NetworkError extends Error {}

  // The API's base URL: `?api=...` when it is an http(s) URL; the page's own server when the
  // CMS serves this page (at /frontend/, as `make run` does); else the default.
  function apiBase() {
    const raw = new URLSearchParams(window.location.search).get("api");
    if (raw) {
      const url = safeUrl(raw);
      if (url) return url.replace(/\/+$/, "");
    }
    if (window.location.pathname.startsWith("/frontend/")) return window.location.origin;
    return DEFAULT_API;
  }

  // `?preview=<url>`: a preview link from the CMS (an http(s) URL), or null.
  function previewUrl() {
    const raw = new URLSearchParams(window.location.search).get("preview");
    return raw ? safeUrl(raw) : null;
  }

  // `value` as an absolute http(s) URL, or null (so no `javascript:` link can be made).
  function safeUrl(value) {
    try {
      const url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch {
      return null;
    }
  }

  // Fetch JSON from the API. `no-cache` revalidates with the ETag (a cheap 304 when nothing
  // changed) instead of trusting the browser cache's max-age, so new articles show on reload.
  async function getJSON(path) {
    return fetchJSON(API + path);
  }

  async function fetchJSON(url) {
    let response;
    try {
      response = await fetch(url, { cache: "no-cache" });
    } catch (error) {
      throw new NetworkError(String(error));
    }
    if (!response.ok) throw new HttpError(response.status);
    return response.json();
  }

  // A new element; `attrs` values are set as attributes (`text` becomes textContent), and
  // children (nodes or strings, which become text nodes) are appended. Null/false are skipped.
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child !== undefined && child !== null && child !== false) node.append(child);
    }
    return node;
  }

  function articleHref(slug) {
    return `#/articles/${encodeURIComponent(slug)}`;
  }

  const DATE = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric" });

  function dateElement(iso) {
    if (!iso) return null;
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return null;
    return el("time", { datetime: iso, "data-testid": "published-date", text: DATE.format(date) });
  }

  // Children separated by " · ", skipping the missing ones.
  function joined(parts) {
    const present = parts.filter(Boolean);
    return present.flatMap((part, i) => (i ? [" · ", part] : [part]));
  }

  function show(token, title, ...nodes) {
    if (token !== navigation) return false;
    view.removeAttribute("aria-busy");
    view.replaceChildren(...nodes.filter(Boolean));
    document.title = title ? `${title} — ${SITE}` : SITE;
    (view.querySelector("h1") || view).focus({ preventScroll: true });
    window.scrollTo(0, 0);
    return true;
  }

  function heading(text, testid) {
    return el("h1", { tabindex: "-1", "data-testid": testid, text });
  }

  function backLink() {
    return el("p", { class: "back" },
      el("a", { href: "#/", "data-testid": "back-link", text: "← All articles" }));
  }

  function showProblem(token, error) {
    if (PREVIEW && error instanceof HttpError && error.status >= 400 && error.status < 500) {
      show(token, "Preview unavailable",
        el("section", { class: "problem", "data-testid": "preview-unavailable" },
          heading("This preview link no longer works", "problem-title"),
          el("p", { text: error.status === 410 ? "It has expired; ask the newsroom for a new one."
                                                : "It is not a valid preview link." })));
      return;
    }
    if (error instanceof HttpError && error.status === 404) {
      show(token, "Article not found",
        el("section", { class: "problem", "data-testid": "not-found" },
          heading("Article not found", "problem-title"),
          el("p", { text: "There is no published article at this address." }),
          backLink()));
      return;
    }
    let reason = "The page could not show what the API sent.";
    if (error instanceof HttpError) reason = `The API answered with ${error.message}.`;
    if (error instanceof NetworkError) reason = `Could not reach the API at ${API}.`;
    const retry = el("button", { type: "button", class: "retry", "data-testid": "retry",
                                 text: "Try again" });
    retry.addEventListener("click", route);
    show(token, "Something went wrong",
      el("section", { class: "problem", "data-testid": "error" },
        heading("Something went wrong", "problem-title"),
        el("p", { text: reason }),
        error instanceof NetworkError && el("p", {}, "Start it with ",
          el("code", { text: "cms serve" }),
          " or name it in the address: ", el("code", { text: "?api=http://host:port" }), "."),
        retry));
  }

  // ----- the list -----

  async function showList(token) {
    const data = await getJSON(`/api/v1/articles?per_page=${PER_PAGE}`);
    document.documentElement.lang = "en";
    languages({ translations: [] });  // the list has no alternates
    const items = data.items || [];
    const list = el("ol", { class: "article-list", "data-testid": "article-list" });
    for (const item of items) {
      list.append(el("li", { class: "article-item", "data-testid": "article-item",
                             lang: item.language },
        el("h2", { class: "article-item-title" },
          el("a", { href: articleHref(item.slug), "data-testid": "article-link",
                    text: item.title })),
        el("p", { class: "meta", lang: "en" }, ...joined([
          item.section && el("span", { class: "section", "data-testid": "article-section",
                                       text: item.section }),
          dateElement(item.published_at),
        ])),
        item.summary && el("p", { class: "article-item-summary",
                                  "data-testid": "article-summary", text: item.summary })));
    }
    const total = data.meta && data.meta.total;
    show(token, "",
      heading("Latest articles", "list-title"),
      items.length ? list : el("p", { class: "status", text: "Nothing has been published yet." }),
      total > items.length
        && el("p", { class: "status", text: `Showing the newest ${items.length} of ${total}.` }));
  }

  // ----- one article -----

  function figure(image, className, lazy) {
    const src = safeUrl(image.src);
    if (!src) return null;
    const caption = (image.caption || image.credit) && el("figcaption", {},
      image.caption && el("span", { class: "caption", text: image.caption }),
      image.caption && image.credit && " ",
      image.credit && el("span", { class: "credit", text: image.credit }));
    // images from the CMS's media library carry their size (no layout jump while loading)
    // and a srcset of resized copies: the browser picks the smallest that fills the column
    const size = (n) => (Number.isInteger(n) && n > 0 ? n : null);
    const srcset = safeSrcset(image.srcset);
    return el("figure", { class: className },
      el("img", { src, srcset, sizes: srcset && COLUMN_SIZES, width: size(image.width),
                  height: size(image.height), alt: image.alt || "",
                  loading: lazy ? "lazy" : null, decoding: "async" }),
      caption);
  }

  // The article column is at most 44rem wide (style.css), less its padding.
  const COLUMN_SIZES = "(max-width: 44rem) calc(100vw - 2.5rem), 41.5rem";

  // A srcset whose every candidate is an http(s) URL with a width, or null.
  function safeSrcset(value) {
    if (typeof value !== "string" || !value) return null;
    const candidates = value.split(",").map((part) => part.trim().split(/\s+/));
    const safe = candidates.every(([url, width, ...rest]) =>
      safeUrl(url) && /^\d+w$/.test(width || "") && rest.length === 0);
    return safe ? candidates.map(([url, width]) => `${safeUrl(url)} ${width}`).join(", ") : null;
  }

  function block(item) {
    switch (item.type) {
      case "paragraph":
        return el("p", { text: item.text });
      case "heading": {
        const level = Math.min(4, Math.max(2, Number(item.level) || 2));
        return el(`h${level}`, { text: item.text });
      }
      case "quote":
        return el("figure", { class: "quote" },
          el("blockquote", {}, el("p", { text: item.text })),
          item.cite && el("figcaption", { text: `— ${item.cite}` }));
      case "list":
        return el(item.ordered ? "ol" : "ul", {},
          ...(item.items || []).map((text) => el("li", { text })));
      case "image":
        return figure(item, "body-image", true);
      case "embed": {
        const url = safeUrl(item.url);
        return url && el("p", { class: "embed" }, "Embedded content: ",
          el("a", { href: url, rel: "noopener noreferrer", text: url }));
      }
      default:
        return null; // a block type this frontend doesn't know yet
    }
  }

  function byline(authors) {
    if (!authors || !authors.length) return null;
    const names = authors.map((author) => {
      const url = author.url && safeUrl(author.url);
      return url ? el("a", { href: url, rel: "author", text: author.name })
        : el("span", { text: author.name });
    });
    const parts = names.flatMap((name, i) => {
      if (i === 0) return [name];
      return [i === names.length - 1 ? " and " : ", ", name];
    });
    return el("span", { class: "byline", "data-testid": "byline" }, "By ", ...parts);
  }

  function summaryBox(article) {
    if (!article.summary) return null;
    const panel = el("div", { id: "summary-panel", class: "summary-panel",
                              "data-testid": "summary-panel", hidden: true },
      el("p", { lang: article.language, "data-testid": "summary-text", text: article.summary }),
      article.summary_generated && el("p", { class: "note", "data-testid": "summary-note",
                                             text: "This summary was generated from the article." }));
    const toggle = el("button", { type: "button", class: "summary-toggle",
                                  "aria-expanded": "false", "aria-controls": "summary-panel",
                                  "data-testid": "summary-toggle",
                                  text: "No time to read? Get a summary" });
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      panel.hidden = !open;
    });
    return el("div", { class: "summary", lang: "en" }, toggle, panel);
  }

  function neighbour(target, rel, label) {
    if (!target) return null;
    return el("a", { href: articleHref(target.slug), rel, class: `neighbour ${rel}`,
                     "data-testid": rel === "prev" ? "previous-link" : "next-link" },
      el("span", { class: "neighbour-label", text: label }),
      el("span", { class: "neighbour-title", text: target.title }));
  }

  // The article's live translations (`translations` from the delivery API): a language
  // switcher, and `<link rel="alternate" hreflang>` in the head for search engines.
  function languages(article) {
    document.querySelectorAll('link[rel="alternate"][hreflang]').forEach((l) => l.remove());
    const members = article.translations || [];
    for (const member of members) {
      const link = document.createElement("link");
      link.rel = "alternate";
      link.hreflang = member.language;
      link.href = new URL(articleHref(member.slug), window.location.href).href;
      document.head.append(link);
    }
    if (members.length < 2) return null;
    return el("nav", { class: "languages", lang: "en", "aria-label": "Languages",
                       "data-testid": "language-switcher" },
      ...members.map((member) => member.slug === article.slug
        ? el("span", { lang: member.language, "aria-current": "true", text: member.language })
        : el("a", { href: articleHref(member.slug), lang: member.language,
                    hreflang: member.language, "data-testid": "language-link",
                    title: member.title, text: member.language })));
  }

  async function showArticle(token, slug) {
    const article = await getJSON(`/api/v1/articles/${encodeURIComponent(slug)}`);
    showLoaded(token, article, false);
  }

  // A draft from a preview link: the same page, marked as a preview, no way elsewhere.
  async function showPreview(token) {
    showLoaded(token, await fetchJSON(PREVIEW), true);
  }

  function showLoaded(token, article, preview) {
    const minutes = article.reading_time_minutes;
    document.documentElement.lang = article.language || "en";
    const source = article.source && article.source.name;
    show(token, article.title,
      preview ? el("p", { class: "preview-banner", "data-testid": "preview-banner",
                          text: "Preview of an unpublished draft" }) : backLink(),
      !preview && languages(article),
      el("article", { class: "article", lang: article.language, "data-testid": "article" },
        el("header", { class: "article-header" },
          article.section && el("p", { class: "section", lang: "en", text: article.section }),
          heading(article.title, "article-title"),
          el("p", { class: "meta", lang: "en" }, ...joined([
            byline(article.authors),
            dateElement(article.published_at),
            minutes && el("span", { "data-testid": "reading-time", text: `${minutes} min read` }),
            source && el("span", { text: `Source: ${source}` }),
          ]))),
        summaryBox(article),
        article.image && figure(article.image, "lead-image", false),
        el("div", { class: "article-body", "data-testid": "article-body" },
          ...(article.body || []).map(block))),
      (article.previous || article.next) && el("nav", { class: "neighbours", lang: "en",
                                                        "aria-label": "More articles" },
        neighbour(article.previous, "prev", "Previous article"),
        neighbour(article.next, "next", "Next article")));
  }

  // ----- routing -----

  async function route() {
    const token = ++navigation;
    view.setAttribute("aria-busy", "true");
    const path = window.location.hash.replace(/^#/, "") || "/";
    const match = /^\/articles\/([^/?#]+)\/?$/.exec(path);
    try {
      if (PREVIEW) {
        await showPreview(token);
      } else if (match) {
        await showArticle(token, decodeURIComponent(match[1]));
      } else if (path === "/") {
        await showList(token);
      } else {
        throw new HttpError(404);
      }
    } catch (error) {
      if (error instanceof URIError) error = new HttpError(404);
      if (!(error instanceof HttpError) && !(error instanceof NetworkError)) console.error(error);
      showProblem(token, error);
    }
  }

  document.querySelector("[data-testid=api-base]").textContent = API;
  window.addEventListener("hashchange", route);
  route();
})();
