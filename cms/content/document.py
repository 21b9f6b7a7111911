"""The stored article document: the article and its blocks as marshmallow schemas.

Every write is validated here before it reaches git; the HTTP shapes built on it are in
`cms.web.schemas`, the public card in `cms.public`.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
)

from cms.content.media_paths import is_media_path
from cms.times import rfc3339

SLUG_RE = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_MAX = 120
BCP47_RE = r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$"
REVISION_RE = re.compile(r"^[0-9a-f]{7,40}$")  # a commit id or its prefix; always fullmatch
# the state of an article: how its draft stands to what is live (see `articles.state`), or
# `invalid` for a file git let in that is not a valid article (see `rules`)
STATES = ("draft", "published", "changed", "scheduled", "invalid")


# Unicode's control characters (category Cc) and surrogates (Cs), as one character class:
# a regex finds the first in C, where a loop over unicodedata.category took most of the time
# of validating a long article
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_BUT_NEWLINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _bad_characters(allow_newlines: bool):
    pattern = _CONTROL_BUT_NEWLINES if allow_newlines else _CONTROL

    def check(value: str) -> None:
        found = pattern.search(value)
        if found is None:
            return
        ch = found.group()
        if unicodedata.category(ch) == "Cs":
            raise ValidationError("Unpaired surrogate characters are not allowed.")
        raise ValidationError(f"Control character U+{ord(ch):04X} is not allowed.")

    return check


class FullMatch(validate.Regexp):
    """Regexp that must match the whole string (`$` alone lets a trailing newline through)."""

    def __call__(self, value: Any) -> Any:
        regex: re.Pattern[str] = self.regex  # type: ignore[assignment]
        if not isinstance(value, str) or regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class StrictBoolean(fields.Boolean):
    """Only JSON true or false (Python would let 1 and 0 pass as True and False)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Text(fields.String):
    """A string of printable text; newlines and tabs only where `multiline` is set."""

    def __init__(self, *, min: int = 1, max: int, multiline: bool = False, **kwargs: Any):
        validators = [validate.Length(min=min, max=max), _bad_characters(multiline)]
        super().__init__(validate=validators, **kwargs)
        self.multiline = multiline


class Url(fields.Url):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            schemes={"http", "https"},
            require_tld=False,
            validate=[validate.Length(max=2000), _bad_characters(False)],
            **kwargs,
        )


class UTCDateTime(fields.AwareDateTime):
    """An RFC 3339 time with an offset, years 1900 to 9998; stored and rendered in UTC."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = moment.astimezone(UTC)
        except (OverflowError, ValueError) as e:
            raise ValidationError("Not a time this CMS can store.") from e
        if not 1900 <= moment.year <= 9998:
            raise ValidationError("The year must be between 1900 and 9998.")
        return moment

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = self._deserialize(value, attr, obj)
        return rfc3339(value)


class Strict(Schema):
    class Meta:
        unknown = RAISE


class ImageSource(fields.String):
    """An http(s) URL, or the path of a file in the media library (`media/<xx>/<sha256>.<ext>`),
    which delivery turns into its public URL."""

    _url = validate.URL(
        schemes={"http", "https"}, require_tld=False,
        error="Must be an http(s) URL or a media path (media/<xx>/<sha256>.<ext>).")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=[validate.Length(max=2000), _bad_characters(False)], **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        value = super()._deserialize(value, attr, data, **kwargs)
        return value if is_media_path(value) else self._url(value)


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


BLOCK_TEXT_MAX = 20000


def _block_type(name: str) -> fields.String:
    return fields.String(required=True, validate=validate.OneOf([name]))


class ParagraphBlock(Strict):
    type = _block_type("paragraph")
    text = Text(required=True, max=BLOCK_TEXT_MAX, multiline=True)


class HeadingBlock(Strict):
    type = _block_type("heading")
    text = Text(required=True, max=300)
    level = fields.Integer(required=True, strict=True, validate=validate.Range(min=2, max=4))


class QuoteBlock(Strict):
    type = _block_type("quote")
    text = Text(required=True, max=BLOCK_TEXT_MAX, multiline=True)
    cite = Text(max=300)


class ListBlock(Strict):
    type = _block_type("list")
    items = fields.List(
        Text(max=BLOCK_TEXT_MAX, multiline=True),
        required=True,
        validate=validate.Length(min=1, max=500),
    )
    ordered = StrictBoolean(required=True)


class ImageBlock(Strict):
    type = _block_type("image")
    src = ImageSource(required=True)
    alt = Text(required=True, max=1000)
    caption = Text(max=2000)
    credit = Text(max=300)
    width = fields.Integer(dump_only=True)
    height = fields.Integer(dump_only=True)
    srcset = fields.String(dump_only=True)


class EmbedBlock(Strict):
    type = _block_type("embed")
    url = Url(required=True)


BLOCK_SCHEMAS: dict[str, type[Schema]] = {
    "paragraph": ParagraphBlock,
    "heading": HeadingBlock,
    "quote": QuoteBlock,
    "list": ListBlock,
    "image": ImageBlock,
    "embed": EmbedBlock,
}
_BLOCKS = {name: cls() for name, cls in BLOCK_SCHEMAS.items()}


class Block(fields.Field):
    """One body block; its `type` picks the schema (documented as a oneOf)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError("Each block must be an object.")
        kind = value.get("type")
        schema = _BLOCKS.get(kind) if isinstance(kind, str) else None
        if schema is None:
            raise ValidationError({"type": [f"Must be one of: {', '.join(_BLOCKS)}."]})
        return schema.load(value)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        return _BLOCKS[value["type"]].dump(value)


def block_openapi(converter: Any, field: Any, **kwargs: Any) -> dict[str, Any]:
    """Describe a Block in OpenAPI as a oneOf over the block schemas, told apart by `type`."""
    if not isinstance(field, Block):
        return {}
    refs = {name: f"#/components/schemas/{cls.__name__}" for name, cls in BLOCK_SCHEMAS.items()}
    return {
        "oneOf": [{"$ref": ref} for ref in refs.values()],
        "discriminator": {"propertyName": "type", "mapping": refs},
    }


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

    @pre_load
    def drop_meta(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and "meta" in data:
            data = {k: v for k, v in data.items() if k != "meta"}
        if isinstance(data, dict) and isinstance(data.get("tags"), list):
            # lower-cased before the length rules run: "İ" lower-cases to two characters
            data = {**data, "tags": [t.lower() if isinstance(t, str) else t
                                     for t in data["tags"]]}
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
            path = str(key) if prefix is None else (
                prefix if key == "_schema" else f"{prefix}.{key}")
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
