// Decap's preview pane for articles: the entry as the delivery API would show it (the
// server works out the summary, word count and reading time from the unsaved fields), laid
// out like the sample frontend. Text only ever reaches the page as text, never as HTML.
"use strict";
(() => {
  const h = window.h;

  async function render(data) {
    const response = await fetch("/api/v1/decap/preview", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(data),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok || body.errors) {
      throw new Error(Object.keys(body.errors || {}).join(", ") || body.detail);
    }
    return body;
  }

  function safeUrl(value) {
    try {
      const url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch {
      return null;
    }
  }

  // An image's address: a URL as it is; a library path (media/...) through Decap's getAsset,
  // which loads the file (drafts' too) and gives a blob: URL.
  function address(src, getAsset) {
    if (typeof src !== "string") return null;
    if (src.startsWith("media/")) {
      const asset = getAsset(src);
      return asset ? String(asset) || null : null;
    }
    return safeUrl(src);
  }

  function figure(image, key, getAsset) {
    const src = address(image.src, getAsset);
    return src && h("figure", { key, className: "image" },
      h("img", { src, alt: image.alt || "" }),
      (image.caption || image.credit) && h("figcaption", {},
        [image.caption, image.credit].filter(Boolean).join(" ")));
  }

  function block(item, i, getAsset) {
    switch (item.type) {
      case "paragraph": return h("p", { key: i }, item.text);
      case "heading": return h(`h${Math.min(4, Math.max(2, Number(item.level) || 2))}`,
                               { key: i }, item.text);
      case "quote": return h("blockquote", { key: i }, h("p", {}, item.text),
                             item.cite && h("cite", {}, `— ${item.cite}`));
      case "list": return h(item.ordered ? "ol" : "ul", { key: i },
                            (item.items || []).map((text, j) => h("li", { key: j }, text)));
      case "image": return figure(item, i, getAsset);
      case "embed": return h("p", { key: i, className: "embed" }, `Embedded: ${item.url}`);
      default: return null;
    }
  }

  const ArticlePreview = window.createClass({
    getInitialState() {
      this.asked = 0;
      return { shown: null, problem: null };
    },
    componentDidMount() { this.load(); },
    componentDidUpdate(previous) {
      if (previous.entry !== this.props.entry) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.load(), 300);
      }
    },
    componentWillUnmount() { clearTimeout(this.timer); },
    load() {
      const asked = ++this.asked;
      render(this.props.entry.get("data").toJS())
        .then((shown) => asked === this.asked && this.setState({ shown, problem: null }))
        .catch((error) => asked === this.asked && this.setState({ problem: error.message }));
    },
    render() {
      const { shown, problem } = this.state;
      if (!shown) {
        return h("p", { className: "status" },
                 problem ? `Not a valid article yet: ${problem}` : "Loading preview…");
      }
      return h("article", { className: "article", lang: shown.language },
        problem && h("p", { className: "status" }, `Not a valid article yet: ${problem}`),
        shown.section && h("p", { className: "section" }, shown.section),
        h("h1", {}, shown.title),
        h("p", { className: "meta", "data-testid": "preview-meta" },
          [shown.authors && shown.authors.length &&
             `By ${shown.authors.map((a) => a.name).join(", ")}`,
           `${shown.reading_time_minutes} min read`].filter(Boolean).join(" · ")),
        shown.summary && h("aside", { className: "summary" },
          h("strong", {}, "No time to read? "), shown.summary,
          shown.summary_generated && h("em", {}, " (generated from the article)")),
        shown.image && figure(shown.image, "lead", this.props.getAsset),
        h("div", { className: "body" },
          (shown.body || []).map((item, i) => block(item, i, this.props.getAsset))));
    },
  });

  window.CMS.registerPreviewTemplate("articles", ArticlePreview);
  window.CMS.registerPreviewStyle("/admin/preview.css");
})();
