"""What the public sees of one article file, a function of the file's content alone.

An article's card is its own fields, less the editorial `publish_at` and the body, plus a
summary (the editor's, or one generated from the body), whether it was generated, a word
count and a reading time, already serialized by `PublicCardSchema` (so a field git let in
that the schema does not know never shows). Lists show cards; one article is its card and
its body. Since a card depends on nothing but the file, the index keeps it by blob id.
"""

from __future__ import annotations

import json
from typing import Any

from marshmallow import Schema, fields

from cms.content.document import ArticleFields
from cms.content.fields import UTCDateTime
from cms.content.text import has_own_summary, prose, word_count
from cms.delivery.summary import ELLIPSIS, derive, reading_time_minutes

# a provisional summary (see `quick_card`) is at most this long
LEAD_CHARS = 300


class NeighbourSchema(Schema):
    slug = fields.String()
    title = fields.String()


class TranslationLinkSchema(Schema):
    language = fields.String()
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
    # the live members of its translation group (see `LiveQueries.translations`)
    translations = fields.List(fields.Nested(TranslationLinkSchema))


class PublicCardSchema(PublicArticleSchema):
    """What a list shows of a live article and a function of its file alone (see `public`)."""

    class Meta:
        exclude = (
            "publish_at",
            "body",
            "previous",
            "next",
            "published_at",
            "updated_at",
            "revision",
            "translations",
        )


class PublicDocumentSchema(PublicArticleSchema):
    """All the public fields of a live article that are a function of its file alone: its
    card and its body (see `public`); delivery adds when and at which revision it went live."""

    class Meta:
        exclude = (
            "publish_at",
            "previous",
            "next",
            "published_at",
            "updated_at",
            "revision",
            "translations",
        )


CARD = PublicCardSchema()
DOCUMENT = PublicDocumentSchema()


def card(doc: dict[str, Any]) -> dict[str, Any]:
    """The card of an article file's parsed content."""
    summary, generated, words = derive(doc)
    return CARD.dump(
        {
            **doc,
            "summary": summary,
            "summary_generated": generated,
            "word_count": words,
            "reading_time_minutes": reading_time_minutes(words),
        }
    )


def quick_card(doc: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A card worked out in well under a millisecond, and whether it is provisional.

    With the editor's own summary it is the card. Without one, generating a summary takes
    tens of milliseconds, so a reader who meets a file whose card is not made yet (just after
    a bulk push) gets the start of the body as its summary, marked generated, until the real
    card is made off the request path.
    """
    if has_own_summary(doc):
        return card(doc), False
    words = word_count(doc)
    return CARD.dump(
        {
            **doc,
            "summary": lead(doc),
            "summary_generated": True,
            "word_count": words,
            "reading_time_minutes": reading_time_minutes(words),
        }
    ), True


def lead(doc: dict[str, Any]) -> str:
    """The start of the body's first paragraph, cut at a word within LEAD_CHARS."""
    first = next(iter(prose(doc.get("body") or [])), "")
    if len(first) <= LEAD_CHARS:
        return first
    return first[:LEAD_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:") + ELLIPSIS


def document(doc: dict[str, Any], card: dict[str, Any]) -> str:
    """The public document of an article file (see `PublicDocumentSchema`) as JSON text,
    given its card."""
    dumped = DOCUMENT.dump({**card, "body": doc.get("body") or []})
    return json.dumps(dumped, ensure_ascii=False, separators=(",", ":"))


def with_fields(document: str, extra: dict[str, Any]) -> str:
    """A document's JSON text with more fields appended (no parsing of the document)."""
    return document[:-1] + "," + json.dumps(extra, ensure_ascii=False, separators=(",", ":"))[1:]
