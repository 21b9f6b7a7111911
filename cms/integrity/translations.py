"""The rules of a translation group: a source article and the articles whose
`translation_of` names it, at most one per language, none of them a source in turn.

The rules read other articles, so they take the articles of the tree being checked as a
mapping of slug to fields (lazily read); the store checks every write with them, the gate
every pushed tip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Problems = dict[str, list[str]]
Fields = dict[str, Any]


def group_problems(
    doc: Fields,
    read: Callable[[str], Fields | None],
    members: Callable[[str], Iterable[Fields]],
    before: Callable[[], Fields | None] = lambda: None,
) -> Problems:
    """The problems of `doc` (with its `slug`) among the other articles: `read(slug)` gives
    an article's fields (None: there is none), `members(source)` the articles whose
    `translation_of` is `source` (`doc` may be among them), `before()` the fields `doc`'s
    article had before this write (None: it is new).

    A link to an article that does not exist is refused unless the article already had it:
    deleting a source leaves its translations linked to the deleted slug (restoring the
    source brings the group back), and they must stay editable meanwhile."""
    slug, source = doc.get("slug"), doc.get("translation_of")
    others = [m for m in members(slug) if m.get("slug") != slug] if slug else []
    if source is None:
        return {}
    if others:
        return {
            "translation_of": [
                f"This article has translations ({', '.join(sorted(m['slug'] for m in others))}); "
                "a source cannot itself be a translation."
            ]
        }
    target = read(source)
    if target is None:
        if (before() or {}).get("translation_of") == source:
            return {}  # its source was deleted: the link it kept stands
        return {"translation_of": [f"There is no article '{source}'."]}
    if target.get("translation_of"):
        return {
            "translation_of": [
                f"'{source}' is itself a translation (of '{target['translation_of']}'); "
                "name the source instead: a translation of a translation is not allowed."
            ]
        }
    language = doc.get("language", "en")
    if target.get("language", "en").lower() == language.lower():
        return {"translation_of": [f"'{source}' is in the same language ({language})."]}
    taken = [
        m["slug"]
        for m in members(source)
        if m.get("slug") != slug and str(m.get("language", "en")).lower() == language.lower()
    ]
    if taken:
        return {
            "language": [f"'{source}' already has a translation into {language} ('{taken[0]}')."]
        }
    return {}
