"""Media over HTTP: the editors' library (upload, list, read, delete) and the public files.

Thin views over `cms.store.media.MediaLibrary`. An upload is `multipart/form-data` with one
`file` part (its file name is kept as the item's name) and an optional `alt` part, and only
this route reads a body over the app's 1 MiB JSON limit. The list takes `q`: the files whose
names or alt text hold its words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextvars import ContextVar
from functools import partial
from typing import Any

from flask import Response, request, url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from werkzeug.wsgi import get_current_url

from cms.content.media_paths import from_url_path
from cms.errors import MediaNotFound, UnsupportedMediaType, ValidationFailed
from cms.store.media import MediaLibrary
from cms.web import documented, paths
from cms.web.pages import page
from cms.web.request_helpers import Parser, editor, requires
from cms.web.schemas import PageArgs, PageMetaSchema
from cms.web.services import services

# room for the multipart framing around a file of the largest size allowed
MULTIPART_SLACK = 64 * 1024
IMMUTABLE = "public, max-age=31536000, immutable"


class MediaBlueprint(Blueprint):
    ARGUMENTS_PARSER = Parser()


manage_blp = MediaBlueprint(
    "media",
    __name__,
    url_prefix=paths.MANAGE,
    description="The media library: images in the content repository.",
)
public_blp = MediaBlueprint(
    "media_files", __name__, description="Published media files, and resized renditions."
)


class MediaSchema(Schema):
    path = fields.String(metadata={"example": "media/3f/3f5e...9a.jpg"})
    name = fields.String(
        allow_none=True,
        metadata={
            "description": "The file name it was first uploaded under (null: none was given)",
            "example": "night-market.jpg",
        },
    )
    names = fields.List(
        fields.String(),
        metadata={"description": "Every name these bytes were uploaded under, first first"},
    )
    alt = fields.String(
        allow_none=True,
        metadata={"description": "Alternative text, when an upload gave one (the latest)"},
    )
    url = fields.String(
        metadata={"description": "Public URL (404 until an article using it is published)."}
    )
    content_type = fields.String(allow_none=True)
    bytes = fields.Integer()
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)
    sha256 = fields.String()
    published = fields.Boolean()
    problems = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={
            "description": "Only for a file that got into git "
            "without meeting the rules of an upload "
            "(it is not served)."
        },
    )


class MediaListArgs(PageArgs):
    q = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "Only files whose names or alt text hold every word of it (any case)"
        },
    )


class MediaListSchema(Schema):
    items = fields.List(fields.Nested(MediaSchema))
    meta = fields.Nested(PageMetaSchema)


UPLOAD_BODY = {
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "alt": {"type": "string", "maxLength": 1000},
                },
            }
        }
    },
    "required": True,
}


def library() -> MediaLibrary:
    return services().media


_BASE: ContextVar[str] = ContextVar("cms_media_base", default="")


class MediaBase:
    """WSGI middleware that notes where public media URLs start for the request it passes on:
    `CMS_MEDIA_URL` (a CDN), or this server's own root. Delivery reads it (`base_url`) both in
    Flask's views and in the article reads answered before Flask (`fast_reads`)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], configured: str | None) -> None:
        self.app = app
        self.configured = configured

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        base = self.configured or get_current_url(environ, root_only=True)
        token = _BASE.set(base.rstrip("/"))
        try:
            return self.app(environ, start_response)
        finally:
            _BASE.reset(token)


def base_url() -> str:
    """Where public media URLs start for the request being answered ("" outside one)."""
    return _BASE.get()


def _path(rest: str) -> str:
    path = from_url_path(rest)
    if path is None:
        raise MediaNotFound(
            f"There is no media file '{rest}'.",
            {"path": ["Not a media path (media/<xx>/<sha256>.<ext>)."]},
        )
    return path


problems = partial(documented.problems, manage_blp, *documented.TOKEN)


@manage_blp.route("/media", methods=["POST"])
@requires("author")
@manage_blp.doc(requestBody=UPLOAD_BODY, summary="Upload an image (JPEG, PNG, WebP or GIF)")
@manage_blp.response(201, MediaSchema)
@problems(400, 413, 415, 422)
def upload() -> Any:
    media = library()
    request.max_content_length = media.max_bytes + MULTIPART_SLACK
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType(
            "Send the file as multipart/form-data in a part named 'file'.",
            {"Content-Type": ["Expected multipart/form-data."]},
        )
    parts = request.files
    try:
        part = parts.get("file")
        if part is None:
            raise ValidationFailed(
                "Send the image in a form part named 'file'.",
                {"file": ["Missing data for required field."]},
            )
        data, name = part.stream.read(media.max_bytes + 1), part.filename
    finally:
        for each in parts.values():
            each.close()  # a large part waits in a temporary file
    stored = media.upload(data, editor(), name, request.form.get("alt"))
    location = url_for("media.show", rest=stored.path)
    return stored.to_dict(base_url()), 201, {"Location": location}


@manage_blp.route("/media", methods=["GET"])
@requires("author")
@manage_blp.arguments(MediaListArgs(), location="query", error_status_code=400)
@manage_blp.response(200, MediaListSchema)
@manage_blp.doc(
    summary="Every file in the library, drafts' included, in path order; `q` "
    "searches their names and alt text"
)
@problems(400)
def index(args: dict[str, Any]) -> Any:
    files, total = library().list(page=args["page"], per_page=args["per_page"], q=args.get("q"))
    root = base_url()
    return page([f.to_dict(root) for f in files], total, args["page"], args["per_page"])


@manage_blp.route("/media/<path:rest>", methods=["GET"])
@requires("author")
@manage_blp.response(200, MediaSchema)
@manage_blp.doc(summary="One file of the library (`media/` may be left out of its path)")
@problems(404)
def show(rest: str) -> Any:
    return library().get(_path(rest)).to_dict(base_url())


@manage_blp.route("/media/<path:rest>", methods=["DELETE"])
@requires("editor")
@manage_blp.response(204)
@manage_blp.doc(summary="Delete a file no published article uses")
@problems(404, 409)
def delete(rest: str) -> Any:
    library().delete(_path(rest), editor())
    return "", 204


@public_blp.route("/media/<path:rest>", methods=["GET"])
@documented.problems(public_blp, 304, 400, 404)
@public_blp.doc(
    summary="A published media file; `?w=N` a resized WebP rendition "
    "(N one of 320, 640, 960, 1280, 1920)",
    security=[],
    responses={
        "200": {
            "description": "The image",
            "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def file(rest: str) -> Any:
    media = library()
    blob, info = media.live(_path(rest))
    made = None if "w" not in request.args else media.rendition(blob, info, request.args["w"])
    if made is None:
        data, content_type, etag = media.original(blob), info.content_type, blob
    else:
        data, content_type, etag = made
    response = Response(data, mimetype=content_type)
    response.set_etag(etag)
    response.headers["Cache-Control"] = IMMUTABLE
    return response.make_conditional(request)
