"""Releases: several articles made live in one commit on `published`, all or nothing."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from cms.content.fields import Strict, Text
from cms.store import releases
from cms.web import paths
from cms.web.documented import TOKEN, problems
from cms.web.request_helpers import Parser, editor, requires
from cms.web.schemas import ArticleSchema
from cms.web.services import services


class ReleaseArgs(Strict):
    slugs = fields.List(
        fields.String(), required=True, validate=validate.Length(min=1, max=releases.RELEASE_MAX)
    )
    message = Text(
        max=releases.MESSAGE_MAX,
        metadata={"description": "The commit subject (default: Publish N articles: ...)."},
    )


class ReleaseSchema(Schema):
    revision = fields.String(metadata={"description": "The commit on `published`."})
    articles = fields.List(fields.Nested(ArticleSchema))


class ReleaseBlueprint(Blueprint):
    ARGUMENTS_PARSER = Parser()


blp = ReleaseBlueprint(
    "releases",
    __name__,
    url_prefix=paths.MANAGE,
    description="Publish several articles in one commit (editor).",
)


@blp.route("/releases", methods=["POST"])
@requires("editor")
@blp.arguments(ReleaseArgs())
@blp.response(200, ReleaseSchema)
@blp.doc(
    summary="Publish several articles at once, in one commit on `published`, all or "
    "nothing (409/422 name each slug at fault)"
)
@problems(blp, *TOKEN, 400, 409, 413, 415, 422)
def create(args: dict[str, Any]) -> Any:
    sha, articles = releases.release(services().store, args["slugs"], editor(), args.get("message"))
    return {"revision": sha, "articles": [a.to_dict() for a in articles]}
