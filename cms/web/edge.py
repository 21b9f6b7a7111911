"""What delivery answers tell the caches in front: the keys each depends on (`cms.edge.keys`)
and how long a cache that purges may keep it.

Every answer of the delivery API and of `/media/` that a cache may keep (200, 304, and 404:
an article not published yet is a 404 until the purge of its publication) carries
`Surrogate-Key` and `Cache-Tag`, and, with `CMS_EDGE_MAX_AGE` > 0, `Surrogate-Control` and
`CDN-Cache-Control: max-age=<it>`, read by Fastly, Varnish (`deploy/varnish/default.vcl`) and
Cloudflare, never by browsers, which keep `Cache-Control`.
"""

from __future__ import annotations

from flask import Flask, Response, g, request

from cms.content.media_paths import from_url_path
from cms.edge import keys
from cms.web.services import services

KEPT = (200, 304, 404)
# the headers that differ from one answer to the next (the others are the same for all)
PER_ANSWER = ("surrogate-key", "cache-tag")


def headers(named: list[str], max_age: int) -> dict[str, str]:
    """The headers of an answer depending on `named`."""
    found = keys.headers(named)
    if max_age > 0:
        found["Surrogate-Control"] = found["CDN-Cache-Control"] = f"max-age={max_age}"
    return found


def article_keys(slug: str, shown: list[str]) -> list[str]:
    """An article's answer: its page, the article, and those it shows as previous and next."""
    return [keys.page(slug), keys.article(slug), *(keys.article(s) for s in shown)]


def request_keys() -> list[str] | None:
    """The keys of the delivery answer being made (None: the route is no delivery route)."""
    given: list[str] | None = g.get("edge_keys")
    if given is not None:
        return given
    endpoint, view = request.endpoint, request.view_args or {}
    if endpoint == "delivery.articles":
        filters = {name: request.args.getlist(name) for name in keys.FILTERS}
        return keys.list_keys(filters, "q" in request.args)
    if endpoint == "delivery.article":
        return article_keys(view["slug"], [])
    if endpoint in ("delivery.history", "delivery.at_revision"):
        return [keys.article(view["slug"])]
    if endpoint == "delivery.sync":
        return [keys.SYNC]
    if endpoint in ("delivery.atom", "delivery.json_feed"):
        return [keys.FEED]
    if endpoint == "delivery.sitemap":
        return [keys.SITEMAP, keys.SITEMAP_INDEX]
    if endpoint == "delivery.sitemap_file":
        return [keys.SITEMAP, keys.sitemap_file(view["number"])]
    if endpoint == "media_files.file":
        path = from_url_path(view.get("rest", ""))
        return [keys.media(path)] if path else None
    return None


def init(app: Flask) -> None:
    max_age = services(app).settings.edge_max_age

    @app.after_request
    def tag(response: Response) -> Response:
        if response.status_code in KEPT and request.blueprint in ("delivery", "media_files"):
            named = request_keys()
            if named is not None:
                response.headers.update(headers(named, max_age))
        return response
