"""The stored article document: the article as marshmallow schemas (its body's block types
are `cms.content.blocks`, the field types `cms.content.fields`).

Every write is validated here before it reaches git; the HTTP shapes built on it are in
`cms.web.schemas`, the public card in `cms.delivery.cards`.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields, post_load, pre_load, validate

from cms.content.blocks import Block
from cms.content.fields import FullMatch, ImageSource, Strict, Text, Url, UTCDateTime

SLUG_RE = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_MAX = 120
BCP47_RE = r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$"
REVISION_RE = re.compile(r"^[0-9a-f]{7,40}$")  # a commit id or its prefix; always fullmatch
# the state of an article: how its draft stands to what is live (see `articles.state`), or
# `invalid` for a file git let in that is not a valid article (see `rules`)
STATES = ("draft", "published", "changed", "scheduled", "invalid")


class ImageSchema(Strict):
    src = ImageSource(required=True)
    alt = Text(required=True, max=1000)
    caption = Text(max=2000)
    credit = Text(max=300)
    # delivery adds these to an image stored in the media library
    width = fields.Integer(dump_only=True)
    height = fields.Integer(dump_only=True)
    srcset = fields.String(dump_only=True)


class LinkedNameSchema(Strict):
    name = Text(required=True, max=200)
    url = Url()


class ArticleFields(Strict):
    """The article's own fields, in the order they are stored."""

    slug = fields.String(validate=[validate.Length(max=SLUG_MAX), FullMatch(SLUG_RE)])
    title = Text(required=True, max=300)
    summary = Text(min=0, max=600, multiline=True)
    section = fields.String(validate=[validate.Length(max=60), FullMatch(SLUG_RE)])
    tags = fields.List(Text(max=50), validate=validate.Length(max=50))
    authors = fields.List(fields.Nested(LinkedNameSchema), validate=validate.Length(max=50))
    source = fields.Nested(LinkedNameSchema)
    language = fields.String(
        load_default="en", validate=[validate.Length(max=35), FullMatch(BCP47_RE)]
    )
    image = fields.Nested(ImageSchema)
    publish_at = UTCDateTime()
    body = fields.List(Block(), required=True, validate=validate.Length(min=1, max=2000))
    # the article this one translates (see `cms.integrity.translations`) and the source's
    # revision it was made from, which is what tells a stale translation from a fresh one
    translation_of = fields.String(validate=[validate.Length(max=SLUG_MAX), FullMatch(SLUG_RE)])
    translated_from = fields.String(validate=FullMatch(REVISION_RE.pattern))

    @pre_load
    def drop_meta(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and "meta" in data:
            data = {k: v for k, v in data.items() if k != "meta"}
        if isinstance(data, dict) and isinstance(data.get("tags"), list):
            # lower-cased before the length rules run: "İ" lower-cases to two characters
            data = {**data, "tags": [t.lower() if isinstance(t, str) else t for t in data["tags"]]}
        return data

    @post_load
    def translated_from_needs_source(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if "translated_from" in data and "translation_of" not in data:
            raise ValidationError(
                {
                    "translated_from": [
                        "Only a translation (an article with translation_of) has a source revision."
                    ]
                }
            )
        if data.get("translation_of") is not None and data.get("translation_of") == data.get(
            "slug"
        ):
            raise ValidationError({"translation_of": ["An article cannot translate itself."]})
        return data

    @post_load
    def normalize_tags(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if "tags" in data:
            seen: dict[str, None] = {}
            for tag in data["tags"]:
                seen.setdefault(tag.lower(), None)
            data["tags"] = list(seen)
        return data


_article_fields = ArticleFields()


def validate_article(data: Any) -> dict[str, Any]:
    """Validate `data` as an article and return it in canonical form (JSON-ready, ordered).

    Raises ValidationError with messages keyed by field.
    """
    if not isinstance(data, dict):
        raise ValidationError({"_schema": ["The article must be a JSON object."]})
    return _article_fields.dump(_article_fields.load(data))


def article_errors(data: Any) -> dict[str, list[str]]:
    """What `validate_article` would raise about `data`, flattened (empty: it is valid),
    without making the canonical form, which is half the cost: for checking files in bulk."""
    if not isinstance(data, dict):
        return {"_schema": ["The article must be a JSON object."]}
    try:
        _article_fields.load(data)
    except ValidationError as e:
        return flatten_errors(e.messages)
    return {}


def flatten_errors(messages: Any, prefix: str | None = None) -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into {"body.2.text": [...]}."""
    if isinstance(messages, dict):
        out: dict[str, list[str]] = {}
        for key, value in messages.items():
            path = (
                str(key) if prefix is None else (prefix if key == "_schema" else f"{prefix}.{key}")
            )
            for k, v in flatten_errors(value, path).items():
                out.setdefault(k, []).extend(v)
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {"_schema" if prefix is None else prefix: list(messages)}
    if isinstance(messages, list):
        out = {}
        for item in messages:
            for k, v in flatten_errors(item, prefix).items():
                out.setdefault(k, []).extend(v)
        return out
    return {"_schema" if prefix is None else prefix: [str(messages)]}
