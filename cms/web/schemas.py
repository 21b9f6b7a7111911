"""The HTTP API's shapes: query arguments, request bodies, responses and problems."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from cms.content.document import REVISION_RE, STATES, ArticleFields
from cms.content.fields import FullMatch, Strict, UTCDateTime
from cms.content.messages import ACTIONS
from cms.delivery.cards import PublicArticleSchema


class PersonSchema(Schema):
    name = fields.String()
    email = fields.String()


class MetaSchema(Schema):
    revision = fields.String()
    state = fields.String(validate=validate.OneOf(STATES))
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    created_by = fields.Nested(PersonSchema)
    updated_by = fields.Nested(PersonSchema)
    published_revision = fields.String(allow_none=True)
    published_at = UTCDateTime(allow_none=True)
    problems = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={
            "description": "Only for state `invalid`: what is wrong with the file git "
            "holds, by field; PUT or DELETE repairs it."
        },
    )
    merged = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={
            "description": "Only after a merged save (`Prefer: merge`): the paths that "
            "took the other editor's change (`theirs`) and yours."
        },
    )
    publish_at = UTCDateTime(
        allow_none=True,
        metadata={
            "description": "The pending schedule: when the draft goes live by itself (null when "
            "none is ahead). A live article keeps its state meanwhile."
        },
    )


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


class SearchArgs(PageArgs):
    """A list page that may search: `q`, and `sort=relevance` to rank by it."""

    q = fields.String(validate=validate.Length(min=1, max=200))
    sort = fields.String(
        validate=validate.OneOf(["relevance"]),
        metadata={
            "description": "`relevance`: best match for `q` first "
            "(BM25), each item with a `highlight`."
        },
    )


class Highlighted(Schema):
    """A list item of a search ranked by relevance."""

    highlight = fields.String(
        dump_only=True,
        metadata={
            "description": "With sort=relevance: where `q` matched, "
            "HTML-escaped, each match in <mark>."
        },
    )


class ManageListArgs(SearchArgs):
    state = fields.String(validate=validate.OneOf(STATES))
    section = fields.String(validate=validate.Length(max=60))
    tag = fields.String(validate=validate.Length(max=50))


class ArticleListItemSchema(ArticleSchema, Highlighted):
    pass


class ArticleListSchema(Schema):
    items = fields.List(fields.Nested(ArticleListItemSchema))
    meta = fields.Nested(PageMetaSchema)


class RevisionSchema(Schema):
    revision = fields.String()
    parent = fields.String(allow_none=True)
    date = UTCDateTime()
    author = fields.Nested(PersonSchema)
    message = fields.String()
    action = fields.String(validate=validate.OneOf(ACTIONS))
    published = fields.Boolean()


class RevisionListSchema(Schema):
    items = fields.List(fields.Nested(RevisionSchema))
    meta = fields.Nested(PageMetaSchema)


class OriginSchema(Schema):
    revision = fields.String()
    author = fields.Nested(PersonSchema)
    date = UTCDateTime(metadata={"description": "The commit's author date."})


class BlockOriginSchema(OriginSchema):
    index = fields.Integer()


class BlameSchema(Schema):
    revision = fields.String(metadata={"description": "The draft revision blamed."})
    fields_ = fields.Dict(
        data_key="fields", keys=fields.String(), values=fields.Nested(OriginSchema)
    )
    items = fields.List(
        fields.Nested(BlockOriginSchema), metadata={"description": "One page of the body's blocks."}
    )
    meta = fields.Nested(PageMetaSchema)


class RevisionArticleSchema(ArticleFields):
    """An article as it was at one revision."""

    meta = fields.Nested(
        Schema.from_dict(
            {
                "revision": fields.String(),
                "date": UTCDateTime(),
                "state": fields.String(validate=validate.OneOf(["invalid"])),
                "problems": MetaSchema().fields["problems"],
            },
            name="AtRevision",
        ),
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


class ChangesArgs(Schema):
    class Meta:
        unknown = EXCLUDE  # cache-busters are not errors

    since = fields.String(
        validate=validate.Regexp(r'^"?[0-9a-f]{40}"?$', error="Not an ETag of this article."),
        metadata={
            "description": "The ETag of the version you have (quoted or not). A workbench "
            "session that loaded the article may leave it out: the version it loaded or "
            "last saved, which its next save merges with."
        },
    )


class VersionSchema(Schema):
    etag = fields.String()
    revision = fields.String()


class SaveSchema(Schema):
    revision = fields.String()
    author = fields.Nested(PersonSchema)
    date = UTCDateTime()
    message = fields.String()


class ChangesSchema(Schema):
    etag = fields.String(metadata={"description": "The current draft's ETag (unquoted)."})
    revision = fields.String(metadata={"description": "The current draft's revision."})
    since = fields.Nested(VersionSchema, metadata={"description": "The version you have."})
    saves = fields.List(
        fields.Nested(SaveSchema),
        metadata={"description": "The draft revisions saved since, newest first (at most 20)."},
    )
    saved_count = fields.Integer(metadata={"description": "How many revisions were saved since."})
    changes = fields.List(
        fields.Nested(ChangeSchema),
        metadata={"description": "The field changes from your version to the draft, as diff."},
    )


class TranslationMemberSchema(Schema):
    slug = fields.String()
    language = fields.String()
    title = fields.String(allow_none=True)
    role = fields.String(metadata={"enum": ["source", "translation"]})
    state = fields.String()
    translated_from = fields.String(allow_none=True)
    stale = fields.Boolean()
    source_changes = fields.Nested(DiffSchema, allow_none=True)


class TranslationGroupSchema(Schema):
    items = fields.List(fields.Nested(TranslationMemberSchema))


class RestoreArgs(Strict):
    revision = fields.String(required=True, validate=FullMatch(REVISION_RE))


class PublicListItemSchema(PublicArticleSchema, Highlighted):
    """A card with when and at which revision it was published."""

    class Meta:
        exclude = ("publish_at", "body", "previous", "next")


class PublicListSchema(Schema):
    items = fields.List(fields.Nested(PublicListItemSchema))
    meta = fields.Nested(PageMetaSchema)


class DeliveryListArgs(SearchArgs):
    section = fields.String(validate=validate.Length(max=60))
    tag = fields.String(validate=validate.Length(max=50))
    author = fields.String(validate=validate.Length(max=200))
    language = fields.String(validate=validate.Length(max=35))
    # with `language`: also the articles in this language that have no live translation
    # into `language`
    fallback = fields.String(validate=validate.Length(max=35))

    @validates_schema
    def fallback_needs_language(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "fallback" in data and "language" not in data:
            raise ValidationError({"fallback": ["Needs language (the language wanted)."]})


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


class FeedArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    language = fields.String(validate=validate.Length(max=35))


class SyncArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    token = fields.String(validate=validate.Length(max=250))
    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(min=1, max=1000),
        metadata={"description": "At most this many changed or deleted articles in one answer."},
    )


class SyncedArticleSchema(PublicArticleSchema):
    class Meta:
        exclude = ("publish_at", "previous", "next")


class SyncSchema(Schema):
    changed = fields.List(fields.Nested(SyncedArticleSchema))
    deleted = fields.List(fields.String())
    next_token = fields.String(allow_none=True)
    has_more = fields.Boolean(
        metadata={"description": "More pages of this delta follow: ask again with `next_token`."}
    )


class SaveArgs(Schema):
    """The query of a create or a replace: `publish=true` (editor) publishes it in the same
    write."""

    class Meta:
        unknown = EXCLUDE

    publish = fields.Boolean(
        load_default=False,
        truthy={"true"},
        falsy={"false"},
        metadata={
            "description": "`true` (editor): publish what is saved in the same call: two "
            "commits, the draft on `main` and its publication on `published`, both branches "
            "moved at once."
        },
    )


class PublishArgs(Strict):
    revision = fields.String(validate=FullMatch(REVISION_RE))
    publish_at = UTCDateTime()


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
