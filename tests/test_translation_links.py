"""The translation links of a tree, kept from commit to commit (`cms.integrity.links`): the
same answers as reading every article, and a save of a translation that reads only what
it changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cms.content.identity import Person
from cms.content.layout import MAIN
from cms.integrity.links import Links
from cms.store import ArticleStore
from tests.conftest import article

EVE = Person("Eve Editor", "eve@example.org")


def links_at(store: ArticleStore, commit: str | None, sources: list[str]) -> dict[str, Any]:
    fresh = Links(store.repo)  # worked out from nothing: every article of the tree read
    return {s: fresh.members(commit, s) for s in sources}


def test_moved_links_agree_with_links_read_from_scratch(store):
    for slug in ("one", "two"):
        store.create(article(slug=slug, language="en"), EVE)
    store.create(article(slug="one-ru", language="ru", translation_of="one"), EVE)
    kept = Links(store.repo)
    first = store.repo.tips()[MAIN]
    assert [m["slug"] for m in kept.members(first, "one")] == ["one-ru"]

    store.create(article(slug="one-de", language="de", translation_of="one"), EVE)
    moved = store.get("one-ru")
    store.patch("one-ru", {"translation_of": "two"}, EVE, {moved.etag})
    store.create(article(slug="two-fr", language="fr", translation_of="two"), EVE)
    store.delete("two-fr", EVE, {store.get("two-fr").etag})
    now = store.repo.tips()[MAIN]

    sources = ["one", "two", "one-ru"]
    answers = {s: kept.members(now, s) for s in sources}
    assert answers == links_at(store, now, sources)
    assert [m["slug"] for m in answers["one"]] == ["one-de"]
    assert answers["two"] == [
        {"slug": "one-ru", "language": "ru", "translation_of": "two"},
    ]
    # and back to an older commit
    assert {s: kept.members(first, s) for s in sources} == links_at(store, first, sources)


def counting(store: ArticleStore) -> Callable[[], int]:
    """Count the objects the store reads from git from now on."""
    read, seen = store.repo.read, []

    def counted(sha: str) -> bytes:
        seen.append(sha)
        return read(sha)

    store.repo.read = counted  # type: ignore[method-assign]
    return lambda: len(seen)


def test_saving_a_translation_reads_only_what_changed_not_every_article(store):
    for n in range(60):
        store.create(article(slug=f"story-{n}", language="en"), EVE)
    source = store.get("story-0")
    store.create(
        article(
            slug="story-0-ru",
            language="ru",
            translation_of="story-0",
            translated_from=source.meta["revision"],
        ),
        EVE,
    )  # the first check of this process works the links out from every article
    reads = counting(store)
    for n in range(3):
        current = store.get("story-0-ru")
        store.patch("story-0-ru", {"title": f"Саммит {n}"}, EVE, {current.etag})
    # three saves of 62 articles: each reads the saved file and a few trees, not 62 files
    assert reads() < 40, reads()
    assert store.translating.group("story-0-ru")[1]["slug"] == "story-0-ru"
