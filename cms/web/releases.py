"""Releases: several articles made live in one commit on `published`, all or nothing."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from cms.content.fields import Strict, Text
from cms.store import ArticleStore, releases
from cms.web.request_helpers import Parser, editor, requires
from cms.web.schemas import ArticleSchema


class ReleaseArgs(Strict):
    slugs = fields.List(fields.String(), required=True,
                        validate=validate.Length(min=1, max=releases.RELEASE_MAX))
    message = Text(max=releases.MESSAGE_MAX,
                   metadata={"description": "The commit subject (default: Publish N "
                                            "articles: ...)."})


class ReleaseSchema(Schema):
    revision = fields.String(metadata={"description": "The commit on `published`."})
    articles = fields.List(fields.Nested(ArticleSchema))


class ReleaseBlueprint(Blueprint):
    ARGUMENTS_PARSER = Parser()


blp = ReleaseBlueprint("releases", __name__, url_prefix="/api/v1/manage",
                       description="Publish several articles in one commit (editor).")


def problems(view: Any) -> Any:
    for code in (400, 401, 403, 409, 413, 415, 422, 429):
        view = blp.alt_response(code, response=HTTPStatus(code).name)(view)
    return view


@blp.route("/releases", methods=["POST"])
@requires("editor")
@blp.arguments(ReleaseArgs())
@blp.response(200, ReleaseSchema)
@blp.doc(summary="Publish several articles at once, in one commit on `published`, all or "
                 "nothing (409/422 name each slug at fault)")
@problems
def create(args: dict[str, Any]) -> Any:
    store: ArticleStore = current_app.extensions["cms.store"]
    sha, articles = releases.release(store, args["slugs"], editor(), args.get("message"))
    return {"revision": sha, "articles": [a.to_dict() for a in articles]}
