"""What the public sees of one article file, a function of the file's content alone.

An article's card is its own fields, less the editorial `publish_at` and the body, plus a
summary (the editor's, or one generated from the body), whether it was generated, a word
count and a reading time, already serialized by `PublicCardSchema` (so a field git let in
that the schema does not know never shows). Lists show cards; one article is its card and
its body. Since a card depends on nothing but the file, the index keeps it by blob id.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from .document import ArticleFields, UTCDateTime
from .summary import derive, reading_time_minutes


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


CARD = PublicCardSchema()


def card(doc: dict[str, Any]) -> dict[str, Any]:
    """The card of an article file's parsed content."""
    summary, generated, words = derive(doc)
    return CARD.dump({**doc, "summary": summary, "summary_generated": generated,
                      "word_count": words, "reading_time_minutes": reading_time_minutes(words)})
