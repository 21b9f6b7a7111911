"""The article and its blocks as marshmallow schemas: they validate every write, render every
response and produce the OpenAPI document.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
)

SLUG_RE = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_MAX = 120
BCP47_RE = r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$"
REVISION_RE = re.compile(r"^[0-9a-f]{7,40}$")  # always with fullmatch


def _bad_characters(allow_newlines: bool):
    allowed = {"\n", "\t"} if allow_newlines else set()

    def check(value: str) -> None:
        for ch in value:
            if ch in allowed:
                continue
            category = unicodedata.category(ch)
            if category == "Cc":
                raise ValidationError(f"Control character U+{ord(ch):04X} is not allowed.")
            if category == "Cs":
                raise ValidationError("Unpaired surrogate characters are not allowed.")

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


class Url(fields.Url):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            schemes={"http", "https"},
            require_tld=False,
            validate=[validate.Length(max=2000), _bad_characters(False)],
            **kwargs,
        )


def rfc3339(value: datetime) -> str:
    """`2026-11-28T10:00:00Z` (the year always four digits)."""
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


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


class ImageSchema(Strict):
    src = Url(required=True)
    alt = Text(required=True, max=1000)
    caption = Text(max=2000)
    credit = Text(max=300)


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
    src = Url(required=True)
    alt = Text(required=True, max=1000)
    caption = Text(max=2000)
    credit = Text(max=300)


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


class PersonSchema(Schema):
    name = fields.String()
    email = fields.String()


class MetaSchema(Schema):
    revision = fields.String()
    state = fields.String(validate=validate.OneOf(["draft", "published", "changed", "scheduled"]))
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    created_by = fields.Nested(PersonSchema)
    updated_by = fields.Nested(PersonSchema)
    published_revision = fields.String(allow_none=True)
    published_at = UTCDateTime(allow_none=True)


class ArticleSchema(ArticleFields):
    """An article as the management API returns it: its fields plus a read-only `meta`."""

    meta = fields.Nested(MetaSchema, dump_only=True)


class PageMetaSchema(Schema):
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class PageArgs(Schema):
    class Meta:
        unknown = EXCLUDE  # cache-busters and tracking parameters are not errors

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ManageListArgs(PageArgs):
    state = fields.String(validate=validate.OneOf(["draft", "published", "changed", "scheduled"]))
    section = fields.String(validate=validate.Length(max=60))
    tag = fields.String(validate=validate.Length(max=50))
    q = fields.String(validate=validate.Length(min=1, max=200))


class ArticleListSchema(Schema):
    items = fields.List(fields.Nested(ArticleSchema))
    meta = fields.Nested(PageMetaSchema)


class RevisionSchema(Schema):
    revision = fields.String()
    parent = fields.String(allow_none=True)
    date = UTCDateTime()
    author = fields.Nested(PersonSchema)
    message = fields.String()
    action = fields.String(
        validate=validate.OneOf(
            ["create", "update", "publish", "unpublish", "delete", "restore", "external"]
        )
    )
    published = fields.Boolean()


class RevisionListSchema(Schema):
    items = fields.List(fields.Nested(RevisionSchema))
    meta = fields.Nested(PageMetaSchema)


class RevisionArticleSchema(ArticleFields):
    """An article as it was at one revision."""

    meta = fields.Nested(
        Schema.from_dict({"revision": fields.String(), "date": UTCDateTime()}, name="AtRevision"),
        dump_only=True,
    )


class DiffArgs(Schema):
    from_ = fields.String(required=True, data_key="from")
    to = fields.String()


class ChangeSchema(Schema):
    op = fields.String(validate=validate.OneOf(["add", "remove", "replace"]))
    path = fields.String()
    old = fields.Raw()
    new = fields.Raw()


class DiffSchema(Schema):
    from_ = fields.String(data_key="from")
    to = fields.String()
    changes = fields.List(fields.Nested(ChangeSchema))


class RestoreArgs(Strict):
    revision = fields.String(required=True, validate=FullMatch(REVISION_RE))


class NeighbourSchema(Schema):
    slug = fields.String()
    title = fields.String()


class PublicArticleSchema(ArticleFields):
    """A live article as frontends get it."""

    class Meta:
        exclude = ("publish_at",)

    summary_generated = fields.Boolean()
    word_count = fields.Integer()
    reading_time_minutes = fields.Integer()
    published_at = UTCDateTime()
    updated_at = UTCDateTime()
    revision = fields.String()
    previous = fields.Nested(NeighbourSchema, allow_none=True)
    next = fields.Nested(NeighbourSchema, allow_none=True)


class PublicCardSchema(PublicArticleSchema):
    """What a list shows of a live article and a function of its file alone (see `public`)."""

    class Meta:
        exclude = ("publish_at", "body", "previous", "next", "published_at", "updated_at",
                   "revision")


class PublicListItemSchema(PublicArticleSchema):
    """A card with when and at which revision it was published."""

    class Meta:
        exclude = ("publish_at", "body", "previous", "next")


class PublicListSchema(Schema):
    items = fields.List(fields.Nested(PublicListItemSchema))
    meta = fields.Nested(PageMetaSchema)


class DeliveryListArgs(PageArgs):
    section = fields.String(validate=validate.Length(max=60))
    tag = fields.String(validate=validate.Length(max=50))
    author = fields.String(validate=validate.Length(max=200))
    language = fields.String(validate=validate.Length(max=35))
    q = fields.String(validate=validate.Length(min=1, max=200))


class PublishedVersionSchema(Schema):
    revision = fields.String()
    published_at = UTCDateTime()
    title = fields.String()


class PublishedVersionListSchema(Schema):
    items = fields.List(fields.Nested(PublishedVersionSchema))
    meta = fields.Nested(PageMetaSchema)


class PublishedAtRevisionSchema(PublicArticleSchema):
    class Meta:
        exclude = ("publish_at", "previous", "next", "updated_at")


class SyncArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    token = fields.String(validate=validate.Length(max=100))


class SyncedArticleSchema(PublicArticleSchema):
    class Meta:
        exclude = ("publish_at", "previous", "next")


class SyncSchema(Schema):
    changed = fields.List(fields.Nested(SyncedArticleSchema))
    deleted = fields.List(fields.String())
    next_token = fields.String(allow_none=True)


class PublishArgs(Strict):
    revision = fields.String(validate=FullMatch(REVISION_RE))
    publish_at = UTCDateTime()


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


_article_fields = ArticleFields()


def validate_article(data: Any) -> dict[str, Any]:
    """Validate `data` as an article and return it in canonical form (JSON-ready, ordered).

    Raises ValidationError with messages keyed by field.
    """
    if not isinstance(data, dict):
        raise ValidationError({"_schema": ["The article must be a JSON object."]})
    return _article_fields.dump(_article_fields.load(data))


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
