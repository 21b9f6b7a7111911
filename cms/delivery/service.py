"""What frontends see: published articles only, shaped for reading. No Flask here.

An article is live when its file is on `published` (and still on `main`). The public shape is
the article's own fields, less the editorial `publish_at`, plus when it was published, its
revision on the published line, a summary (the editor's, or one generated from the body),
a word count and reading time, and its neighbours by publication time. No email address is
part of any of it.

Reads never wait on bulk work (see `readiness`): the index is caught up in the background
after a large push, and an article's card and whole public JSON ("document") are kept in the
index by blob id, made off the request path, so a read serves them as they are.
"""

from __future__ import annotations

import builtins
import functools
import json
from collections.abc import Callable
from typing import Any

from cms.content.layout import PUBLISHED
from cms.content.text import search_text
from cms.delivery import cards as public
from cms.delivery import feeds, sitemap
from cms.delivery.readiness import MAX_BYTES, SMALL, Readiness
from cms.delivery.sync import position
from cms.errors import ArticleNotFound, Gone, RevisionNotFound
from cms.git.repository import Tips
from cms.index import search
from cms.store import ArticleStore
from cms.store.media import MediaLibrary
from cms.times import iso


class Delivery:
    """Read-only views of the published line."""

    def __init__(
        self,
        store: ArticleStore,
        *,
        max_bytes: int = MAX_BYTES,
        small: int = SMALL,
        media: MediaLibrary | None = None,
        media_url: Callable[[], str] | None = None,
    ) -> None:
        """`max_bytes`: an article file larger than this is not delivered (and never read
        whole); `small`: see `readiness.SMALL`; `media` and `media_url` (where public media
        URLs start, for the request being answered): images naming stored media get their
        public URL, size and srcset."""
        self.store = store
        self.index = store.index
        self.ready = Readiness(store, small=small, max_bytes=max_bytes)
        self.media = media
        self.media_url = media_url

    def _with_media(self, item: dict[str, Any]) -> dict[str, Any]:
        """`item` with its images that name stored media described (see `cms.store.media`)."""
        if self.media is None or self.media_url is None:
            return item
        return self.media.delivered(item, self.media_url())

    def _with_media_text(self, text: str) -> str:
        """The same for a JSON text; parsed only when it may name a media file."""
        if self.media is None or '"media/' not in text:
            return text
        return json.dumps(
            self._with_media(json.loads(text)), ensure_ascii=False, separators=(",", ":")
        )

    def _current(self, refs: Tips | None = None) -> Tips:
        return self.ready.current(refs)

    def _cards(
        self, rows: builtins.list[dict[str, Any]]
    ) -> builtins.list[tuple[dict[str, Any], dict[str, Any]]]:
        """(card, row) of each listed file that can be delivered: the card the index kept,
        or one worked out on the spot (see `public.quick_card`)."""
        shown = []
        for row in rows:
            if row["card"] is not None:
                shown.append((json.loads(row["card"]), row))
                continue
            try:
                card, provisional = public.quick_card(self.ready.read(row["blob"]))
            except ArticleNotFound:
                continue
            self._made(provisional)
            shown.append((card, row))
        return shown

    def _document(self, blob: str, kept: str | None) -> str:
        """The public document of a file as JSON text: the one kept, or one worked out now.
        Raises ArticleNotFound for a file that is not delivered."""
        if kept is not None:
            if not kept:
                raise ArticleNotFound("That article file is not delivered.")
            return kept
        doc = self.ready.read(blob)
        card = self.index.cards.card(blob)
        provisional = False
        if card is None:
            card, provisional = public.quick_card(doc)
        self._made(provisional)
        return public.document(doc, card)

    def _text(self, blob: str) -> str:
        """The plain text of a file's body ("" for one that is not delivered)."""
        try:
            return search_text(self.ready.read(blob))
        except ArticleNotFound:
            return ""

    def _made(self, provisional: bool) -> None:
        """Have the filler keep what a read had to work out itself."""
        if provisional:
            self.ready.provisional()
        else:
            self.ready.wake()

    def _documents(self, rows: builtins.list[dict[str, Any]]) -> builtins.list[str]:
        """The public JSON of each row's file that can be delivered, with when and at which
        revision it was published."""
        kept = self.index.states.documents([r["blob"] for r in rows])
        shown = []
        for row in rows:
            try:
                document = self._document(row["blob"], kept.get(row["blob"]))
            except ArticleNotFound:
                continue
            shown.append(public.with_fields(self._with_media_text(document), self._when(row)))
        return shown

    @staticmethod
    def _when(row: dict[str, Any]) -> dict[str, Any]:
        return {
            "published_at": iso(row["published_at"]),
            "updated_at": iso(row["updated_at"]),
            "revision": row["revision"],
        }

    def article(self, slug: str, refs: Tips | None = None) -> str:
        """The live version of `slug` with `previous` and `next`, as JSON text (`refs`: where
        the lines point, when the caller has just read them); raises ArticleNotFound."""
        return self.live_article(slug, refs)[0]

    def live_article(self, slug: str, refs: Tips | None = None) -> tuple[str, builtins.list[str]]:
        """`article(slug, refs)`, and the slugs it shows as `previous`, `next` and
        `translations` (what the answer depends on besides the article itself)."""
        self._current(refs)
        row = self.index.states.live_document(slug)
        if row is None:
            raise ArticleNotFound(f"There is no published article '{slug}'.")
        try:
            document = self._document(row["blob"], row["document"])
        except ArticleNotFound:
            raise ArticleNotFound(f"There is no published article '{slug}'.") from None
        previous, following = self.index.live.neighbours(slug)
        translations = self.index.live.translations(slug)
        text = public.with_fields(
            self._with_media_text(document),
            {
                **self._when(row),
                "previous": previous,
                "next": following,
                "translations": translations,
            },
        )
        shown = [n["slug"] for n in (previous, following) if n is not None]
        return text, shown + [t["slug"] for t in translations if t["slug"] != slug]

    def list(
        self, *, page: int, per_page: int, **filters: Any
    ) -> tuple[builtins.list[dict[str, Any]], int]:
        """One page of live articles, newest first, and the total: each its card (see
        `public`) and when and at which revision it was published, all serialized."""
        self._current()
        rows, total = self.index.live.articles(
            limit=per_page, offset=(page - 1) * per_page, **filters
        )
        shown = self._cards(rows)
        links = self.index.live.group_links([row["slug"] for _, row in shown])
        items = [
            {
                **self._with_media(card),
                **self._when(row),
                "translations": [
                    {k: v for k, v in m.items() if k != "source"}
                    for m in links.get(row["slug"], [])
                ],
            }
            for card, row in shown
        ]
        if filters.get("sort") == "relevance" and filters.get("q"):
            for item, (_, row) in zip(items, shown, strict=True):
                item["highlight"] = search.highlight(
                    filters["q"],
                    item.get("title") or "",
                    item.get("summary") or "",
                    functools.partial(self._text, row["blob"]),
                    item.get("language"),
                )
        return items, total

    def latest(self, limit: int, language: str | None = None) -> builtins.list[dict[str, Any]]:
        """The newest live articles (in `language`, when given), whole, for feeds."""
        self._current()
        rows, _ = self.index.live.articles(limit=limit, offset=0, language=language)
        return [json.loads(document) for document in self._documents(rows)]

    def sitemap_files(self, per_file: int) -> int:
        """How many sitemap files of `per_file` URLs the live articles fill (at least 1)."""
        self._current()
        return max(1, -(-self.index.states.live_count() // per_file))

    def sitemap_file(self, site: feeds.Site, number: int, per_file: int) -> bytes:
        """Sitemap file `number` (1-based): the live articles in the order they went live,
        `per_file` a file, each with its last change. No article file is read. Raises
        ArticleNotFound past the last file."""
        if not 1 <= number <= self.sitemap_files(per_file):
            raise ArticleNotFound(f"There is no sitemap file {number}.")
        offset = (number - 1) * per_file
        line = sitemap.urlset_line(site)
        if self.index.live.has_translations():
            # hreflang alternates: the file's slugs are read to look up their groups
            rows = self.index.states.sitemap_rows(offset, per_file)
            links = self.index.live.group_links([slug for slug, _ in rows])
            return sitemap.urlset(site, rows, links)
        if line is None:
            return sitemap.urlset(site, self.index.states.sitemap_rows(offset, per_file))
        return sitemap.urlset_document(self.index.states.sitemap_text(offset, per_file, line))

    def history(
        self, slug: str, *, page: int, per_page: int
    ) -> tuple[builtins.list[dict[str, Any]], int]:
        """The published versions of a live article in its current life (since it was last
        deleted), newest first."""
        self._live_or_404(slug)
        rows, total = self.index.drafts.revisions(
            slug,
            line=PUBLISHED,
            limit=per_page,
            offset=(page - 1) * per_page,
            since=self.index.drafts.life_start(slug),
        )
        items = [
            {
                "revision": r["revision"],
                "published_at": iso(r["date"]),
                "title": json.loads(self.store.repo.read(r["blob"])).get("title"),
            }
            for r in rows
        ]
        return items, total

    def at(self, slug: str, revision: str) -> dict[str, Any]:
        """A live article as it was published at `revision` (a commit on the published line)
        in its current life: a version from before it was deleted is not found."""
        self._live_or_404(slug)
        sha, date = self.store.reading.resolve(revision, line=PUBLISHED)
        found = self.store.reading.file_at(sha, slug)
        position = self.index.drafts.position(sha, PUBLISHED)
        # absent then, not a valid article, or published in an earlier life of the slug
        if (
            found is None
            or found[2]
            or position is None
            or (position <= self.index.drafts.life_start(slug))
        ):
            raise RevisionNotFound(f"'{slug}' was not published at {sha[:12]}.")
        blob = found[0]
        kept = self.index.states.documents([blob]).get(blob)
        if kept is None:
            doc = self.ready.read(blob)
            kept = public.document(doc, self.index.cards.card(blob) or public.card(doc))
        elif not kept:
            raise RevisionNotFound(f"'{slug}' was not published at {sha[:12]}.")
        return {
            **self._with_media(json.loads(kept)),
            "published_at": iso(int(date.timestamp())),
            "revision": sha,
        }

    def _live_or_404(self, slug: str) -> None:
        self._current()
        if self.index.live.article(slug) is None:
            raise ArticleNotFound(f"There is no published article '{slug}'.")

    def sync(self, token: str | None, limit: int) -> str:
        """One page of a delta sync as JSON text: every live article (no token), or what
        changed since the state a token names, at most `limit` slugs (changed or deleted),
        each page answered as of the state the delta's first page was (see `sync`).

        Raises Gone for a token that names no state of the published line.
        """
        where = position(token, self._current()[PUBLISHED])
        gone = Gone(
            "That sync token names no known state; sync again without a token.",
            {"token": ["Unknown or expired token."]},
        )
        if where.state is None:
            if token is not None:
                raise gone
            return _sync_page([], [], None, False)
        state = self.index.states.state(where.state)
        since = None if where.since is None else self.index.states.state(where.since)
        if state is None or (where.since is not None and since is None):
            raise gone
        changed, deleted, last = [], [], where.after
        if since is None:
            rows = self.index.states.live_at(state, where.after, limit + 1)
            more = len(rows) > limit
            changed = rows[:limit]
            last = changed[-1]["slug"] if changed else last
        else:
            found = self.index.states.changed_between(since, state, where.after, limit + 1)
            more = len(found) > limit
            for slug, row, was_live in found[:limit]:
                if row is not None:
                    changed.append(row)
                elif was_live:
                    deleted.append(slug)
                last = slug
        return _sync_page(self._documents(changed), deleted, where.token(more, last), more)


def _sync_page(
    changed: builtins.list[str], deleted: builtins.list[str], next_token: str | None, more: bool
) -> str:
    return (
        f'{{"changed":[{",".join(changed)}],"deleted":{json.dumps(deleted)},'
        f'"next_token":{json.dumps(next_token)},"has_more":{json.dumps(more)}}}'
    )
