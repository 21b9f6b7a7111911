"""Draft preview over HTTP: `/api/v1/preview/...` for signed-in users (any role), signed
preview links anyone holding one can open, with the images their draft uses
(`cms.delivery.preview_media`), and their revocation by an editor (see
`cms.delivery.preview`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, jsonify, request, url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from cms.content.fields import UTCDateTime
from cms.content.media_paths import from_url_path
from cms.delivery.cards import PublicArticleSchema
from cms.delivery.preview import DEFAULT_LINK_LIFETIME, MAX_LINK_LIFETIME, Preview, PreviewLinks
from cms.delivery.preview_media import described, linked_file
from cms.errors import MediaNotFound
from cms.web.documented import problems
from cms.web.manage import checked
from cms.web.media import base_url, library
from cms.web.pages import page
from cms.web.request_helpers import Parser, requires
from cms.web.schemas import PageArgs, PageMetaSchema, PublicListItemSchema
from cms.web.services import services


class PreviewBlueprint(Blueprint):
    ARGUMENTS_PARSER = Parser()


blp = PreviewBlueprint(
    "preview", __name__, description="Drafts as frontends would see them, and preview links."
)


class PreviewLinkArgs(Schema):
    class Meta:
        unknown = "raise"

    expires_in = fields.Integer(
        strict=True,
        load_default=DEFAULT_LINK_LIFETIME,
        validate=validate.Range(min=1, max=MAX_LINK_LIFETIME),
    )


class PreviewLinkSchema(Schema):
    url = fields.String()
    expires_at = UTCDateTime()


class PreviewArticleSchema(PublicArticleSchema):
    """A draft shaped like a live article (`published_at` null when it never went live)."""

    published_at = UTCDateTime(allow_none=True)


class PreviewListItemSchema(PublicListItemSchema):
    published_at = UTCDateTime(allow_none=True)


class PreviewListSchema(Schema):
    items = fields.List(fields.Nested(PreviewListItemSchema))
    meta = fields.Nested(PageMetaSchema)


def preview() -> Preview:
    return services().preview


def links() -> PreviewLinks:
    return services().preview_links


@blp.after_request
def not_cached(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"  # drafts are not for shared caches
    return response


@blp.route("/api/v1/preview/articles", methods=["GET"])
@requires("author")
@blp.arguments(PageArgs(), location="query", error_status_code=400)
@blp.response(200, PreviewListSchema)
@blp.doc(summary="Drafts, most recently updated first, shaped like the delivery list")
@problems(blp, 400, 401, 403, 429)
def articles(args: dict[str, Any]) -> Any:
    items, total = preview().list(page=args["page"], per_page=args["per_page"])
    body, headers = page(items, total, args["page"], args["per_page"])
    return jsonify(body), headers


@blp.route("/api/v1/preview/articles/<slug>", methods=["GET"])
@requires("author")
@blp.response(200, PreviewArticleSchema)
@blp.doc(summary="One draft shaped like the delivery API's article")
@problems(blp, 401, 403, 404, 429)
def article(slug: str) -> Any:
    return jsonify(preview().article(checked(slug)))


@blp.route("/api/v1/manage/articles/<slug>/preview-link", methods=["POST"])
@requires("author")
@blp.arguments(PreviewLinkArgs(), required=False)
@blp.response(201, PreviewLinkSchema)
@blp.doc(summary="A signed link that shows this draft to anyone holding it, until it expires")
@problems(blp, 400, 401, 403, 404, 413, 415, 422, 429)
def make_link(args: dict[str, Any], slug: str) -> Any:
    link, expires = links().make(checked(slug), args["expires_in"])
    url = url_for("preview.linked", link=link, _external=True)
    return (
        {"url": url, "expires_at": datetime.fromtimestamp(expires, UTC)},
        201,
        {"Location": url},
    )


@blp.route("/api/v1/preview/links/<link>", methods=["GET"])
@blp.response(200, PreviewArticleSchema)
@blp.doc(
    summary="The draft a preview link names, as it is now (no token: the link is the "
    "credential); 404 once its article was deleted, 410 once expired or revoked",
    security=[],
)
@problems(blp, 404, 410, 429)
def linked(link: str) -> Any:
    shown = links().article(preview(), link)
    own = url_for("preview.linked", link=link, _external=True)
    return jsonify(described(shown, library(), base_url(), own))


@blp.route("/api/v1/preview/links/<link>/media/<path:rest>", methods=["GET"])
@blp.doc(
    summary="An image the linked draft uses (`?w=N`: a resized rendition), while the link is valid",
    security=[],
    responses={
        "200": {
            "description": "The image",
            "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
@problems(blp, 400, 404, 410, 429)
def linked_media(link: str, rest: str) -> Any:
    draft = links().draft(link)
    path = from_url_path(rest)
    if path is None:
        raise MediaNotFound(f"There is no media file '{rest[:100]}'.")
    media = library()
    file = linked_file(draft.fields, path, media)
    assert file.info is not None
    made = (
        None
        if "w" not in request.args
        else media.rendition(file.blob, file.info, request.args["w"])
    )
    data, content_type = (
        (media.original(file.blob), file.info.content_type) if made is None else made[:2]
    )
    return Response(data, mimetype=content_type)


@blp.route("/api/v1/manage/articles/<slug>/preview-links", methods=["DELETE"])
@requires("editor")
@blp.response(204)
@blp.doc(
    summary="Revoke every preview link of this article made until now (410 from then "
    "on); links made afterwards work"
)
@problems(blp, 401, 403, 404, 429, 503)
def revoke_links(slug: str) -> Any:
    preview().store.get(checked(slug))
    links().revoke(slug)
    return "", 204
