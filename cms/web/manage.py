"""Management API: editors create, edit, delete and restore articles and read their history."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from flask import Response, g, request, url_for
from flask_smorest import Blueprint

from cms.content.articles import Article
from cms.content.document import SLUG_MAX, SLUG_RE
from cms.errors import ArticleNotFound, BadRequest, Forbidden
from cms.store import ArticleStore, blaming, watching
from cms.web import documented, paths
from cms.web.cookies import session_id, sessions
from cms.web.pages import page
from cms.web.request_helpers import (
    PATCH_TYPES,
    Parser,
    editor,
    etag_header,
    if_match,
    if_match_problems,
    json_body,
    may_schedule,
    requires,
)
from cms.web.schemas import (
    ArticleListSchema,
    ArticleSchema,
    BlameSchema,
    ChangesArgs,
    ChangesSchema,
    DiffArgs,
    DiffSchema,
    ManageListArgs,
    PageArgs,
    PublishArgs,
    RestoreArgs,
    RevisionArticleSchema,
    RevisionListSchema,
    SaveArgs,
    TranslationGroupSchema,
)
from cms.web.services import services


class CMSBlueprint(Blueprint):
    ARGUMENTS_PARSER = Parser()


blp = CMSBlueprint(
    "manage",
    __name__,
    url_prefix=paths.MANAGE,
    description="Editors' API. Every call needs `Authorization: Bearer <token>`.",
)
ARTICLE_BODY = {"content": {"application/json": {"schema": "ArticleInput"}}, "required": True}
PATCH_BODY = {
    "content": {"application/merge-patch+json": {"schema": "ArticlePatch"}},
    "required": True,
}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "schema": {"type": "string"},
    "description": "The ETag of the article as you read it.",
}
_SLUG = re.compile(SLUG_RE)


# every view here may answer a bad token (401), a lower role (403), too many bad tokens (429)
problems = partial(documented.problems, blp, *documented.TOKEN)


def store() -> ArticleStore:
    return services().store


def checked(slug: str) -> str:
    if len(slug) > SLUG_MAX or not _SLUG.fullmatch(slug):
        raise ArticleNotFound(
            f"'{slug}' is not a valid slug, so there is no such article.",
            {"slug": ["Not a valid slug."]},
        )
    return slug


def wants_merge() -> bool:
    """`Prefer: merge` (RFC 7240): merge a stale If-Match instead of refusing it."""
    prefs = ",".join(request.headers.getlist("Prefer"))
    return any(p.split(";")[0].strip().lower() == "merge" for p in prefs.split(","))


def publishing(args: dict[str, Any]) -> bool:
    """Whether `?publish=true` asks to publish in the same call; only an editor may."""
    if args["publish"] and not g.token.can("editor"):
        raise Forbidden(
            f"publish=true needs the editor role; your token has {g.token.role}.",
            {"publish": ["Only an editor may publish."]},
        )
    return bool(args["publish"])


def merged_headers(article: Article) -> dict[str, str]:
    headers = etag_header(article.etag)
    if "merged" in article.meta:
        headers["Preference-Applied"] = "merge"
    return headers


@blp.route("/articles", methods=["POST"])
@requires("author")
@blp.arguments(SaveArgs(), location="query", error_status_code=400)
@blp.doc(requestBody=ARTICLE_BODY, summary="Create a draft (`publish=true`: and publish it)")
@blp.response(201, ArticleSchema)
@problems(400, 409, 413, 415, 422)
def create(args: dict[str, Any]) -> Any:
    article = store().create(
        json_body(), editor(), may_schedule=may_schedule(), publish=publishing(args)
    )
    location = url_for("manage.show", slug=article.slug)
    return article.to_dict(), 201, {**etag_header(article.etag), "Location": location}


@blp.route("/articles", methods=["GET"])
@requires("author")
@blp.arguments(ManageListArgs(), location="query", error_status_code=400)
@blp.response(200, ArticleListSchema)
@blp.doc(summary="List all articles, drafts included")
@problems(400)
def index(args: dict[str, Any]) -> Any:
    number, size = args.pop("page"), args.pop("per_page")
    articles, total = store().list(page=number, per_page=size, **args)
    return page([a.to_dict() for a in articles], total, number, size)


@blp.route("/articles/<slug>", methods=["GET"])
@requires("author")
@blp.response(200, ArticleSchema)
@blp.doc(summary="The current draft")
@problems(404)
def show(slug: str) -> Any:
    article = store().get(checked(slug))
    return article.to_dict(), 200, etag_header(article.etag)


@blp.route("/articles/<slug>", methods=["PUT"])
@requires("author")
@blp.arguments(SaveArgs(), location="query", error_status_code=400)
@blp.doc(
    requestBody=ARTICLE_BODY,
    parameters=[IF_MATCH],
    summary="Replace the draft (`publish=true`: and publish it)",
)
@blp.response(200, ArticleSchema)
@problems(400, 404, 409, 412, 413, 415, 422, 428)
@if_match_problems
def replace(args: dict[str, Any], slug: str) -> Any:
    article = store().replace(
        checked(slug),
        json_body(),
        editor(),
        if_match(),
        may_schedule=may_schedule(),
        merge=wants_merge(),
        publish=publishing(args),
    )
    return article.to_dict(), 200, merged_headers(article)


@blp.route("/articles/<slug>", methods=["PATCH"])
@requires("author")
@blp.doc(
    requestBody=PATCH_BODY,
    parameters=[IF_MATCH],
    summary="Change the draft with a JSON Merge Patch (RFC 7396)",
)
@blp.response(200, ArticleSchema)
@problems(400, 404, 409, 412, 413, 415, 422, 428)
@if_match_problems
def patch(slug: str) -> Any:
    article = store().patch(
        checked(slug),
        json_body(PATCH_TYPES),
        editor(),
        if_match(),
        may_schedule=may_schedule(),
        merge=wants_merge(),
    )
    return article.to_dict(), 200, merged_headers(article)


@blp.route("/articles/<slug>", methods=["DELETE"])
@requires("editor")
@blp.doc(parameters=[IF_MATCH], summary="Delete the article (its history stays)")
@blp.response(204)
@problems(404, 412, 428)
@if_match_problems
def delete(slug: str) -> Any:
    store().delete(checked(slug), editor(), if_match())
    return "", 204


@blp.route("/articles/<slug>/publish", methods=["POST"])
@requires("editor")
@blp.arguments(PublishArgs(), required=False)
@blp.response(200, ArticleSchema)
@blp.doc(
    summary="Publish the draft now, a named revision of it, or schedule it (a future publish_at)"
)
@problems(400, 404, 409, 413, 415, 422)
def publish(args: dict[str, Any], slug: str) -> Any:
    article = store().publish(
        checked(slug), editor(), revision=args.get("revision"), publish_at=args.get("publish_at")
    )
    return article.to_dict(), 200, etag_header(article.etag)


@blp.route("/articles/<slug>/unpublish", methods=["POST"])
@requires("editor")
@blp.response(200, ArticleSchema)
@blp.doc(summary="Withdraw from delivery; the draft stays")
@problems(404, 409)
def unpublish(slug: str) -> Any:
    article = store().unpublish(checked(slug), editor())
    return article.to_dict(), 200, etag_header(article.etag)


@blp.route("/articles/<slug>/revisions", methods=["GET"])
@requires("author")
@blp.arguments(PageArgs(), location="query", error_status_code=400)
@blp.response(200, RevisionListSchema)
@blp.doc(summary="History of the article, newest first")
@problems(400, 404)
def revisions(args: dict[str, Any], slug: str) -> Any:
    items, total = store().revisions(checked(slug), page=args["page"], per_page=args["per_page"])
    return page(items, total, args["page"], args["per_page"])


@blp.route("/articles/<slug>/revisions/<revision>", methods=["GET"])
@requires("author")
@blp.response(200, RevisionArticleSchema)
@blp.doc(summary="The article as it was at a revision (also after delete)")
@problems(400, 404)
def revision(slug: str, revision: str) -> Any:
    doc, meta = store().reading.at_revision(checked(slug), revision)
    # an invalid file shows only its slug and what is wrong (its fields may not even dump)
    return {"slug": slug, "meta": meta} if "problems" in meta else {**doc, "meta": meta}


@blp.route("/articles/<slug>/diff", methods=["GET"])
@requires("author")
@blp.arguments(DiffArgs(), location="query", error_status_code=400)
@blp.response(200, DiffSchema)
@blp.doc(summary="Field-level changes between two revisions (`to` defaults to the draft)")
@problems(400, 404)
def diff(args: dict[str, Any], slug: str) -> Any:
    result = store().reading.diff(checked(slug), args["from_"], args.get("to"))
    return {"from_": result["from"], "to": result["to"], "changes": result["changes"]}


@blp.route("/articles/<slug>/blame", methods=["GET"])
@requires("author")
@blp.arguments(PageArgs(), location="query", error_status_code=400)
@blp.response(200, BlameSchema)
@blp.doc(summary="Who last changed each field and each body block (paginated over blocks)")
@problems(400, 404)
def blame(args: dict[str, Any], slug: str) -> Any:
    found = blaming.blame(store().reading, checked(slug))
    number, size = args["page"], args["per_page"]
    blocks = [{"index": i, **b} for i, b in enumerate(found["blocks"])]
    body, headers = page(blocks[(number - 1) * size : number * size], len(blocks), number, size)
    return {**body, "revision": found["revision"], "fields_": found["fields"]}, 200, headers


def _version_had(slug: str, since: str | None) -> str:
    """The ETag the caller has: `since`, else what this workbench session loaded or last
    saved; raises BadRequest naming `since` when there is neither."""
    if since:
        return since.strip('"')
    sid = session_id()
    base = sessions().base(sid, slug) if sid else None
    if not base:
        raise BadRequest(
            "Say which version of the article you have: since=<its ETag>.",
            {"since": ["Missing data for required field."]},
        )
    return base


def _changes_etag(since: str, now: str) -> str:
    """The answer's ETag: the draft's own while nothing changed since your version (so the
    ETag an article was read with can be sent as If-None-Match), else both versions."""
    return f'"{now}"' if since == now else f'"{since}..{now}"'


@blp.route("/articles/<slug>/changes", methods=["GET"])
@requires("author")
@blp.arguments(ChangesArgs(), location="query", error_status_code=400)
@blp.response(200, ChangesSchema)
@blp.doc(
    summary="Who saved the draft since the version you have (`since`), and which fields "
    "changed; 304 for If-None-Match while nobody did (the workbench asks every few seconds)"
)
@problems(304, 400, 404)
def changes(args: dict[str, Any], slug: str) -> Any:
    slug = checked(slug)
    since = _version_had(slug, args.get("since"))
    reading = store().reading
    now = watching.current(reading, slug)
    if now is None:
        raise ArticleNotFound(f"There is no article '{slug}'.")
    # the cheap answer of almost every poll: two ref reads and cached trees, no index
    if request.if_none_match.contains(_changes_etag(since, now).strip('"')):
        response = Response(status=304)
        response.headers["ETag"] = _changes_etag(since, now)
        return response
    found = watching.since(reading, slug, since)
    return found, 200, {"ETag": _changes_etag(since, found["etag"]), "Vary": "Cookie"}


@blp.route("/articles/<slug>/restore", methods=["POST"])
@requires("editor")
@blp.arguments(RestoreArgs())
@blp.doc(
    parameters=[{**IF_MATCH, "required": False, "description": "Needed while the article exists."}]
)
@blp.response(200, ArticleSchema)
@problems(400, 404, 412, 413, 415, 422, 428)
@if_match_problems
def restore(args: dict[str, Any], slug: str) -> Any:
    article = store().drafts.restore(
        checked(slug), args["revision"], editor(), if_match(), may_schedule=may_schedule()
    )
    return article.to_dict(), 200, etag_header(article.etag)


@blp.route("/articles/<slug>/translations", methods=["GET"])
@requires("author")
@blp.doc(
    summary="The article's translation group: each member's language and state, and "
    "for a translation whether it is stale and what changed in its source"
)
@blp.response(200, TranslationGroupSchema)
@problems(404)
def translations(slug: str) -> Any:
    return {"items": store().translating.group(checked(slug))}


@blp.route("/articles/<slug>/translations", methods=["POST"])
@requires("author")
@blp.doc(
    requestBody={"content": {"application/json": {"schema": {"type": "object"}}}, "required": True},
    summary="Start a translation: a draft in `language` prefilled with this article's fields",
)
@blp.response(201, ArticleSchema)
@problems(400, 404, 409, 413, 415, 422)
def start_translation(slug: str) -> Any:
    article = store().translating.start(
        checked(slug), json_body(), editor(), may_schedule=may_schedule()
    )
    location = url_for("manage.show", slug=article.slug)
    return article.to_dict(), 201, {**etag_header(article.etag), "Location": location}
