"""Translations: an article's group with what is stale, and a translation started from its
source (see `cms.integrity.translations` for the rules a group keeps).

A translation is stale when the source's draft or live content differs from the source at
`translated_from`; what changed is the source's field diff from that revision to its draft.
"""

from __future__ import annotations

from typing import Any

from cms.content.articles import Article, validate
from cms.content.diff import changes as field_changes
from cms.content.identity import Person
from cms.content.layout import MAIN, PUBLISHED
from cms.errors import ArticleNotFound, ValidationFailed
from cms.store.base import Writes
from cms.store.drafts import Drafts
from cms.store.reading import Reading

# the fields a new translation does not take from its source
NOT_COPIED = ("slug", "publish_at", "translation_of", "translated_from")


class Translating:
    """The store's `translating` part."""

    def __init__(self, reading: Reading, writes: Writes, drafts: Drafts) -> None:
        self.reading = reading
        self.writes = writes
        self.drafts = drafts

    def source_of(self, slug: str) -> str:
        """The source of the group `slug` belongs to (itself, when it translates nothing)."""
        article = self.reading.get(slug)
        return article.fields.get("translation_of") or slug

    def group(self, slug: str) -> list[dict[str, Any]]:
        """The members of the group of `slug`, source first: language, slug, state, and for
        a translation `translated_from`, `stale` and `source_changes`. Raises
        ArticleNotFound."""
        tips = self.reading.catch_up()
        source_slug = self.source_of(slug)
        try:
            source = self.reading.get(source_slug)
        except ArticleNotFound:
            source = None  # the source was deleted: its translations stand alone
        out: list[dict[str, Any]] = []
        if source is not None:
            out.append(_member(source, role="source"))
        live = self.reading.file_at(tips[PUBLISHED], source_slug)
        for linked in self.writes.groups.members(tips[MAIN], source_slug):
            article = self.reading.get(linked["slug"])
            entry = _member(article, role="translation")
            entry.update(self._staleness(article, source, live[1] if live else None))
            out.append(entry)
        return out

    def _staleness(
        self, article: Article, source: Article | None, live: dict[str, Any] | None
    ) -> dict[str, Any]:
        made_from = article.fields.get("translated_from")
        if source is None:
            return {"translated_from": made_from, "stale": False, "source_changes": None}
        if made_from is None:
            return {"translated_from": None, "stale": True, "source_changes": None}
        try:
            then, meta = self.reading.at_revision(source.slug, made_from, "translated_from")
        except (ArticleNotFound, ValidationFailed):
            return {"translated_from": made_from, "stale": True, "source_changes": None}
        changed = field_changes(then, source.fields)
        stale = bool(changed) or (live is not None and bool(field_changes(then, live)))
        return {
            "translated_from": made_from,
            "stale": stale,
            "source_changes": {
                "from_": meta["revision"],
                "to": source.meta["revision"],
                "changes": changed,
            },
        }

    def start(self, slug: str, data: Any, editor: Person, *, may_schedule: bool = False) -> Article:
        """Create a draft translating `slug` into `data["language"]`, prefilled with the
        source's fields (those `data` gives win), `translation_of` and `translated_from`
        set to the source and its current revision. Raises ArticleNotFound,
        ValidationFailed (also for a source that is itself a translation), ArticleExists."""
        if not isinstance(data, dict):
            raise ValidationFailed(
                "The body must be a JSON object.", {"_schema": ["Must be a JSON object."]}
            )
        if not isinstance(data.get("language"), str):
            raise ValidationFailed(
                "Say which language to translate into.",
                {"language": ["Missing data for required field."]},
            )
        source = self.reading.get(slug)
        prefilled = {k: v for k, v in source.fields.items() if k not in NOT_COPIED}
        doc = {
            **prefilled,
            **data,
            "translation_of": slug,
            "translated_from": source.meta["revision"],
        }
        validate(doc)
        return self.drafts.create(doc, editor, may_schedule=may_schedule)


def _member(article: Article, *, role: str) -> dict[str, Any]:
    return {
        "slug": article.slug,
        "language": article.fields.get("language", "en"),
        "title": article.fields.get("title"),
        "role": role,
        "state": article.meta["state"],
    }
