"""What the parts of the proxy backend share: who is calling, and the store as Decap sees it.

An entry of the collection is a live article as published; an unpublished entry is an article
whose draft on `main` differs from what is live (see `workflow`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cms.content import layout
from cms.content.articles import Article
from cms.content.identity import Person
from cms.content.layout import PUBLISHED
from cms.errors import ArticleNotFound, NotFound
from cms.git.repository import Tips
from cms.store import ArticleStore
from cms.store.workflow import Workflow
from cms.workbench.files import COLLECTION, to_decap

Action = tuple[type, Callable[..., Any]]  # a parameters schema, and what runs the action


@dataclass
class Bases:
    """Per session: the draft blob of each article as the session last loaded or saved it."""

    remember: Callable[[str, str | None], None]
    base: Callable[[str], str | None]


@dataclass
class User:
    """Who is calling: the commit author, whether they may publish, and their session's
    memory of what they loaded (None for a caller without a session)."""

    person: Person
    is_editor: bool
    bases: Bases | None


class Workbench:
    """The store, the workflow statuses and what each action needs of them."""

    def __init__(self, store: ArticleStore, workflow: Workflow) -> None:
        self.store = store
        self.workflow = workflow

    def tips(self) -> Tips:
        return self.store.catch_up()

    def blob(self, line: str, slug: str, tips: Tips) -> str | None:
        return self.store.repo.lookup(tips[line], layout.article_path(slug))

    def raw(self, blob: str) -> str:
        """The entry file of a stored article file, as Decap reads it."""
        return json.dumps(to_decap(json.loads(self.store.repo.read(blob))), ensure_ascii=False)

    def remember(self, user: User, slug: str, blob: str | None) -> None:
        if user.bases is not None:
            user.bases.remember(slug, blob)

    def base(self, user: User, slug: str) -> str | None:
        return user.bases.base(slug) if user.bases is not None else None

    def key(self, params: dict[str, Any], by_id: bool = False) -> str:
        """The slug an unpublished entry's parameters name (`id` is "articles/<slug>" where
        `by_id`, a file's id elsewhere); raises NotFound."""
        collection, slug = params.get("collection"), params.get("slug")
        if by_id and params.get("id"):
            collection, _, slug = params["id"].partition("/")
        if (
            collection != COLLECTION
            or not slug
            or not layout.slug_from_path(layout.article_path(slug))
        ):
            raise NotFound(f"There is no unpublished entry {collection}/{slug}.")
        return slug

    def unpublished(self, slug: str) -> tuple[Article, str | None] | None:
        """The draft of `slug` and its live blob, when they differ; else None."""
        try:
            draft = self.store.get(slug)
        except ArticleNotFound:
            return None
        live = self.blob(PUBLISHED, slug, self.tips())
        return None if live == draft.etag else (draft, live)
