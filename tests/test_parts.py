"""The store and the index are made of parts, each a small class that owns its state, and a
call names the part it goes to (as dulwich's `Repo` holds `object_store` and `refs`)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import cms
from cms.content import layout
from cms.content.identity import Person
from cms.index import Index
from cms.store import ArticleStore
from harness import article

ROOT = Path(cms.__file__).parent
EDITOR = Person("Eve Editor", "eve@example.org")


def defined_classes(package: str) -> dict[str, str]:
    """Every class defined in the modules of `package` (cms/store, cms/index), by name: module."""
    found = {}
    for path in sorted((ROOT / package).glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                found[node.name] = path.name
    return found


def test_no_class_of_the_store_or_the_index_is_stacked_on_another() -> None:
    stacked = []
    for package in ("store", "index"):
        own = defined_classes(package)
        for path in sorted((ROOT / package).glob("*.py")):
            for node in ast.parse(path.read_text()).body:
                if not isinstance(node, ast.ClassDef):
                    continue
                bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
                stacked += [
                    f"cms/{package}/{path.name}: {node.name}({base})"
                    for base in sorted(bases & own.keys())
                ]
    assert stacked == []
    assert ArticleStore.__mro__ == (ArticleStore, object)
    assert Index.__mro__ == (Index, object)


def test_the_store_and_the_index_hold_their_parts(repo: Path) -> None:
    store = ArticleStore(str(repo))
    parts = {
        name: type(getattr(store, name)).__module__
        for name in ("reading", "writes", "drafts", "publishing")
    }
    assert parts == {
        "reading": "cms.store.reading",
        "writes": "cms.store.base",
        "drafts": "cms.store.drafts",
        "publishing": "cms.store.publishing",
    }
    index = {
        name: type(getattr(store.index, name)).__module__
        for name in ("tables", "writer", "batches", "drafts", "live", "states", "cards")
    }
    assert index == {
        "tables": "cms.index.tables",
        "writer": "cms.index.catch_up",
        "batches": "cms.index.batches",
        "drafts": "cms.index.drafts",
        "live": "cms.index.live",
        "states": "cms.index.states",
        "cards": "cms.index.cards",
    }
    # the index's parts share one set of tables (one connection per thread)
    assert {
        id(getattr(store.index, name).tables)
        for name in ("writer", "batches", "drafts", "live", "states", "cards")
    } == {id(store.index.tables)}


def test_a_write_and_a_read_through_the_parts_are_what_git_holds(repo: Path, git: Any) -> None:
    store = ArticleStore(str(repo))
    created = store.drafts.create(article("Harbour opens"), EDITOR)
    live = store.publishing.publish(created.slug, EDITOR)
    store.drafts.patch(created.slug, {"summary": "It is open."}, EDITOR, {live.etag})

    assert git("log", "--format=%s", "main").splitlines()[:2] == [
        "Update harbour-opens: summary",
        "Create harbour-opens",
    ]
    assert git("log", "--format=%s", "published").splitlines()[0] == "Publish harbour-opens"
    read = store.reading.get(created.slug)
    assert read.fields["summary"] == "It is open."
    assert read.meta["state"] == "changed"
    assert (
        store.index.drafts.article(created.slug, 0)["revision"] == git("rev-parse", "main").strip()
    )
    assert (
        store.index.live.article(created.slug)["blob"]
        == git("rev-parse", f"published:{layout.article_path(created.slug)}").strip()
    )
    assert store.index.states.live_count() == 1
    assert store.index.catch_up() == {
        "main": git("rev-parse", "main").strip(),
        "published": git("rev-parse", "published").strip(),
    }
