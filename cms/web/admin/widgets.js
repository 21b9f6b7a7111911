// The `history` widget: the first field of the article form, a link to the article's history
// page (/admin/history?slug=<slug>: revisions, changes against the draft, restore) with its latest
// revision. It holds no value: nothing of it is saved with the article.
"use strict";
(() => {
  const h = window.h;
  const WHEN = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short",
                                                 hour: "2-digit", minute: "2-digit" });

  const HistoryControl = window.createClass({
    getInitialState() {
      return { latest: null, total: null };
    },
    componentDidMount() {
      this.load();
    },
    componentDidUpdate(previous) {
      if (this.slug(previous) !== this.slug(this.props)) this.load();
    },
    slug(props) {
      const entry = (props || this.props).entry;
      return entry && !entry.get("newRecord") ? entry.get("slug") : null;
    },
    load() {
      const slug = this.slug();
      if (!slug) return;
      fetch(`/api/v1/manage/articles/${encodeURIComponent(slug)}/revisions?per_page=1`,
            { credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : null))
        .then((page) => page && page.items.length && slug === this.slug()
              && this.setState({ latest: page.items[0], total: page.meta.total }))
        .catch(() => null);
    },
    render() {
      const slug = this.slug();
      const { latest, total } = this.state;
      const box = { className: this.props.classNameWrapper, id: this.props.forID,
                    "data-testid": "history-field" };
      if (!slug) return h("div", box, "Its revisions show here once it is saved.");
      return h("div", box,
        h("a", { href: `/admin/history?slug=${encodeURIComponent(slug)}`, target: "_blank",
                 rel: "noopener", "data-testid": "history-link" },
          "Revisions, changes and restore ↗"),
        latest && h("span", { style: { marginLeft: "1em", color: "#5b6375" } },
          `${total} revision${total === 1 ? "" : "s"}; latest: ${latest.action} by `
          + `${latest.author.name}, ${WHEN.format(new Date(latest.date))}`));
    },
  });

  window.CMS.registerWidget("history", HistoryControl, () => null);
})();
