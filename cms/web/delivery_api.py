"""Delivery API: public, read-only, published content only; cacheable and open to any origin."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, wraps
from typing import Any

from flask import Response, current_app, g, jsonify, request, url_for
from flask_smorest import Blueprint

from cms.delivery import feeds
from cms.delivery.cards import PublicArticleSchema
from cms.delivery.service import Delivery
from cms.delivery.sitemap import sitemap_index
from cms.edge import keys
from cms.web import documented, edge
from cms.web.addresses import external
from cms.web.pages import page
from cms.web.request_helpers import Parser
from cms.web.schemas import (
    DeliveryListArgs,
    FeedArgs,
    PageArgs,
    PublicListSchema,
    PublishedAtRevisionSchema,
    PublishedVersionListSchema,
    SyncArgs,
    SyncSchema,
)
from cms.web.services import services


class PublicBlueprint(Blueprint):
    ARGUMENTS_PARSER = Parser()


blp = PublicBlueprint(
    "delivery",
    __name__,
    description="Frontends' API: published content, no token, cacheable, any origin.",
)
PUBLIC: dict[str, Any] = {"security": []}


def delivery() -> Delivery:
    return services().delivery


# every view here answers a matching If-None-Match with 304
problems = partial(documented.problems, blp, 304)


LIST_PARAMS = frozenset(DeliveryListArgs().fields)
PAGE_PARAMS = frozenset(PageArgs().fields)
SYNC_PARAMS = frozenset(SyncArgs().fields)
FEED_PARAMS = frozenset(FeedArgs().fields)


def cache_params(path: str) -> frozenset[str] | None:
    """The query parameters the delivery route at `path` reads, so that the response cache
    keys on those alone (None for a path that is no delivery route)."""
    if path == "/api/v1/articles":
        return LIST_PARAMS
    if path == "/api/v1/sync":
        return SYNC_PARAMS
    if path.startswith("/api/v1/articles/"):
        parts = path.split("/")[4:]
        return PAGE_PARAMS if len(parts) == 2 and parts[1] == "history" else frozenset()
    if path in ("/feed.xml", "/feed.json"):
        return FEED_PARAMS
    if path.startswith("/sitemap"):
        return frozenset()
    return None


def cached(view: Callable[..., Any]) -> Callable[..., Any]:
    """Add a strong ETag, answer If-None-Match with 304, and set Cache-Control. (Finished
    responses are kept and served again by `response_cache.ResponseCache`.)"""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code != 200:
            return response
        response.add_etag()
        response.headers["Cache-Control"] = services().settings.delivery_cache_control
        return response.make_conditional(request)

    return wrapper


@blp.route("/api/v1/articles", methods=["GET"])
@cached
@blp.arguments(DeliveryListArgs(), location="query", error_status_code=400)
@blp.response(200, PublicListSchema)
@blp.doc(summary="Published articles, newest first (bodies left out)", **PUBLIC)
@problems(400)
def articles(args: dict[str, Any]) -> Any:
    number, size = args.pop("page"), args.pop("per_page")
    items, total = delivery().list(page=number, per_page=size, **args)
    body, headers = page(items, total, number, size, args)
    return jsonify(body), headers  # items come serialized: not dumped again


@blp.route("/api/v1/articles/<slug>", methods=["GET"])
@cached
@blp.response(200, PublicArticleSchema)
@blp.doc(summary="The live version of one article", **PUBLIC)
@problems(404)
def article(slug: str) -> Any:
    # the article comes serialized from the index: not dumped again
    text, shown = delivery().live_article(slug)
    g.edge_keys = edge.article_keys(slug, shown)
    return Response(text, mimetype="application/json")


@blp.route("/api/v1/articles/<slug>/history", methods=["GET"])
@cached
@blp.arguments(PageArgs(), location="query", error_status_code=400)
@blp.response(200, PublishedVersionListSchema)
@blp.doc(summary="The published versions of an article, newest first", **PUBLIC)
@problems(400, 404)
def history(args: dict[str, Any], slug: str) -> Any:
    items, total = delivery().history(slug, page=args["page"], per_page=args["per_page"])
    return page(items, total, args["page"], args["per_page"], {})


@blp.route("/api/v1/articles/<slug>/history/<revision>", methods=["GET"])
@cached
@blp.response(200, PublishedAtRevisionSchema)
@blp.doc(summary="An article as it was published at a revision of the published line", **PUBLIC)
@problems(400, 404)
def at_revision(slug: str, revision: str) -> Any:
    return delivery().at(slug, revision)


@blp.route("/api/v1/sync", methods=["GET"])
@cached
@blp.arguments(SyncArgs(), location="query", error_status_code=400)
@blp.response(200, SyncSchema)
@blp.doc(
    summary="Delta sync: everything, or what changed since `token`, in pages of `limit`", **PUBLIC
)
@problems(400, 410)
def sync(args: dict[str, Any]) -> Any:
    return Response(delivery().sync(args.get("token"), args["limit"]), mimetype="application/json")


def _site() -> feeds.Site:
    settings = services().settings
    home = settings.site_url or external("/")
    # url_for's path starts with the script root, which `external` adds itself
    path = url_for("delivery.article", slug="SLUG").removeprefix(request.script_root)
    template = settings.article_url or external(path).replace("SLUG", "{slug}")
    return feeds.Site(title=settings.site_title, home_url=home, article_url=template)


@blp.route("/feed.xml", methods=["GET"])
@cached
@blp.doc(
    summary="Atom 1.0 feed of the newest published articles",
    **PUBLIC,
    responses={
        "200": {
            "description": "Atom feed",
            "content": {"application/atom+xml": {"schema": {"type": "string"}}},
        }
    },
)
@blp.arguments(FeedArgs(), location="query", error_status_code=400)
def atom(args: dict[str, Any]) -> Any:
    body = feeds.atom(_site(), delivery().latest(50, args.get("language")), external(request.path))
    return Response(body, mimetype="application/atom+xml")


@blp.route("/feed.json", methods=["GET"])
@cached
@blp.doc(
    summary="JSON Feed 1.1 of the newest published articles",
    **PUBLIC,
    responses={
        "200": {
            "description": "JSON Feed",
            "content": {"application/feed+json": {"schema": {"type": "object"}}},
        }
    },
)
@blp.arguments(FeedArgs(), location="query", error_status_code=400)
def json_feed(args: dict[str, Any]) -> Any:
    body = feeds.json_feed(
        _site(), delivery().latest(50, args.get("language")), external(request.path)
    )
    return Response(current_app.json.dumps(body), mimetype="application/feed+json")


SITEMAP_DOC = {
    "responses": {
        "200": {
            "description": "Sitemap",
            "content": {"application/xml": {"schema": {"type": "string"}}},
        }
    }
}


@blp.route("/sitemap.xml", methods=["GET"])
@cached
@blp.doc(
    summary="Sitemap of every published article; past `CMS_SITEMAP_MAX_URLS` (50,000) "
    "a sitemap index of `/sitemap-N.xml` files",
    **PUBLIC,
    **SITEMAP_DOC,
)
def sitemap() -> Any:
    per_file = services().settings.sitemap_max_urls
    files = delivery().sitemap_files(per_file)
    if files == 1:
        body = delivery().sitemap_file(_site(), 1, per_file)
        g.edge_keys = [keys.SITEMAP, keys.SITEMAP_INDEX, keys.sitemap_file(1)]
    else:
        body = sitemap_index(
            [
                url_for("delivery.sitemap_file", number=n, _external=True)
                for n in range(1, files + 1)
            ]
        )
    return Response(body, mimetype="application/xml")


@blp.route("/sitemap-<int:number>.xml", methods=["GET"])
@cached
@blp.doc(summary="One file of the sitemap index", **PUBLIC, **SITEMAP_DOC)
@problems(404)
def sitemap_file(number: int) -> Any:
    body = delivery().sitemap_file(_site(), number, services().settings.sitemap_max_urls)
    return Response(body, mimetype="application/xml")
