"""What frontends see: published articles only, shaped for reading. No Flask here.

An article is live when its file is on `published` (and still on `main`). The public shape is
the article's own fields, less the editorial `publish_at`, plus when it was published, its
revision on the published line, a summary (the editor's, or one generated from the body),
a word count and reading time, and its neighbours by publication time. No email address is
part of any of it.
"""

from __future__ import annotations

import builtins
import functools
import json
from typing import Any

from . import layout, public, search
from .errors import ArticleNotFound, Gone, RevisionNotFound
from .layout import PUBLISHED
from .store import ArticleStore
from .text import search_text
from .times import iso


class Delivery:
    """Read-only views of the published line."""

    def __init__(self, store: ArticleStore) -> None:
        self.store = store
        self.index = store.index

    def _cards(self, rows: builtins.list[dict[str, Any]]) -> builtins.list[dict[str, Any]]:
        """The public card of each listed file (see `public`): the one the index kept, or
        worked out and kept; after a bulk push, that is on the first read of each."""
        missing = {r["blob"]: self._doc(r["blob"]) for r in rows if r["card"] is None}
        made = self._keep(missing)
        return [made[r["blob"]] if r["card"] is None else json.loads(r["card"]) for r in rows]

    def _keep(self, docs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Work out the cards of these files and keep them in the index."""
        cards = {blob: public.card(doc) for blob, doc in docs.items()}
        if cards:
            self.index.keep_cards(cards)
        return cards

    def _doc(self, blob: str) -> dict[str, Any]:
        doc = json.loads(self.store.repo.read(blob))
        return doc if isinstance(doc, dict) else {}

    def _text(self, blob: str) -> str:
        """The plain text of a file's body."""
        return search_text(self._doc(blob))

    def _render(self, blob: str) -> dict[str, Any]:
        """All the public fields of one file: its card and its body."""
        doc = self._doc(blob)
        card = self.index.card(blob) or self._keep({blob: doc})[blob]
        return {**card, "body": doc["body"]} if "body" in doc else card

    @staticmethod
    def _when(row: dict[str, Any]) -> dict[str, Any]:
        return {"published_at": iso(row["published_at"]), "updated_at": iso(row["updated_at"]),
                "revision": row["revision"]}

    def _public(self, row: dict[str, Any]) -> dict[str, Any]:
        return {**self._render(row["blob"]), **self._when(row)}

    def article(self, slug: str) -> dict[str, Any]:
        """The live version of `slug` with `previous` and `next`; raises ArticleNotFound."""
        self.store.catch_up()
        row = self.index.live(slug)
        if row is None:
            raise ArticleNotFound(f"There is no published article '{slug}'.")
        previous, following = self.index.neighbours(slug)
        return {**self._public(row), "previous": previous, "next": following}

    def list(self, *, page: int, per_page: int, **filters: Any
             ) -> tuple[builtins.list[dict[str, Any]], int]:
        """One page of live articles, newest first, and the total: each its card (see
        `public`) and when and at which revision it was published, all serialized."""
        self.store.catch_up()
        rows, total = self.index.live_list(limit=per_page, offset=(page - 1) * per_page,
                                           **filters)
        cards = self._cards(rows)
        items = [{**card, **self._when(row)} for card, row in zip(cards, rows, strict=True)]
        if filters.get("sort") == "relevance" and filters.get("q"):
            for item, row in zip(items, rows, strict=True):
                item["highlight"] = search.highlight(
                    filters["q"], item.get("title") or "", item.get("summary") or "",
                    functools.partial(self._text, row["blob"]), item.get("language"))
        return items, total

    def latest(self, limit: int) -> builtins.list[dict[str, Any]]:
        """The newest live articles, whole, for feeds and sitemaps."""
        self.store.catch_up()
        rows, _ = self.index.live_list(limit=limit, offset=0)
        return [self._public(row) for row in rows]

    def history(self, slug: str, *, page: int, per_page: int
                ) -> tuple[builtins.list[dict[str, Any]], int]:
        """The published versions of a live article, newest first."""
        self._live_or_404(slug)
        rows, total = self.index.revisions(slug, line=PUBLISHED, limit=per_page,
                                           offset=(page - 1) * per_page)
        items = [{"revision": r["revision"], "published_at": iso(r["date"]),
                  "title": json.loads(self.store.repo.read(r["blob"])).get("title")}
                 for r in rows]
        return items, total

    def at(self, slug: str, revision: str) -> dict[str, Any]:
        """A live article as it was published at `revision` (a commit on the published line)."""
        self._live_or_404(slug)
        sha, date = self.store.resolve(revision, line=PUBLISHED)
        found = self.store.file_at(sha, slug)
        if found is None or found[2]:  # absent then, or not a valid article
            raise RevisionNotFound(f"'{slug}' was not published at {sha[:12]}.")
        return {**self._render(found[0]), "published_at": iso(int(date.timestamp())),
                "revision": sha}

    def _live_or_404(self, slug: str) -> None:
        self.store.catch_up()
        if self.index.live(slug) is None:
            raise ArticleNotFound(f"There is no published article '{slug}'.")

    def sync(self, token: str | None) -> dict[str, Any]:
        """Every live article (no token), or what changed since the state a token names.

        Raises Gone for a token that names no state of the published line.
        """
        tip = self.store.catch_up()[PUBLISHED]
        live = self.index.live_blobs()
        if token is None or token == tip:
            slugs = sorted(live) if token is None else []
            return {"changed": [self._synced(s) for s in slugs], "deleted": [],
                    "next_token": tip}
        if not isinstance(token, str) or len(token) != 40 or tip is None or not (
            self.index.on_line(token, PUBLISHED)
        ):
            raise Gone("That sync token names no known state; sync again without a token.",
                       {"token": ["Unknown or expired token."]})
        changed, deleted = [], []
        for path, blob in sorted(self.store.repo.changes(token, tip, layout.ROOT).items()):
            slug = layout.slug_from_path(path)
            if slug is None:
                continue
            if blob is not None and live.get(slug) == blob:
                changed.append(self._synced(slug))
            elif self._was_valid(token, slug):  # a client never got an invalid file
                deleted.append(slug)
        return {"changed": changed, "deleted": deleted, "next_token": tip}

    def _was_valid(self, commit: str, slug: str) -> bool:
        found = self.store.file_at(commit, slug)
        return found is not None and not found[2]

    def _synced(self, slug: str) -> dict[str, Any]:
        row = self.index.live(slug)
        assert row is not None
        return self._public(row)
