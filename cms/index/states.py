"""The index's answers about past states of the published line, and the kept public documents.

Sync pages a delta between two states of `published` (two commits on it), so every page is
answered from the `revisions` table as of the later state, never from the live tables, which
may have moved on while a client pages. A state is a commit's `seq` on the line: `revisions`
holds every change of every article on the line with the `seq` of its commit.

The sitemap lists the live articles from the `live` table alone, in the order they first went
live (`id`), so the files of a sitemap index keep their URLs as new articles are appended.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from cms.content.layout import PUBLISHED
from cms.index.live import LIVE_COLUMNS, VISIBLE, _live_row
from cms.index.tables import Tables

# the latest revision of r.slug on the published line as of the state :b
# (`+line`: walk the (slug, seq) primary key, not the index by line, which holds every commit)
AT_STATE = (
    "r.seq = (SELECT MAX(x.seq) FROM revisions x WHERE x.slug = r.slug "
    "AND +x.line = 'published' AND x.seq <= :b)"
)
# when r.slug went live in the life it has at :b: its first revision after the last removal
WENT_LIVE = (
    "(SELECT y.date FROM revisions y WHERE y.slug = r.slug AND +y.line = 'published' "
    "AND y.seq <= :b AND y.seq > COALESCE((SELECT MAX(z.seq) FROM revisions z "
    "WHERE z.slug = r.slug AND +z.line = 'published' AND z.seq <= :b "
    "AND (z.blob IS NULL OR NOT z.valid)), 0) ORDER BY y.seq LIMIT 1)"
)
# live on `published` but no longer on `main` (see `live`): never delivered
WITHDRAWN = "(SELECT l.slug FROM live l JOIN withdrawn w ON w.article = l.id)"
# an invalid file (see `rules`) is never delivered: at a state where it is, the article is not
STATE_COLUMNS = f"r.slug, CASE WHEN r.valid THEN r.blob END, r.sha, r.date, {WENT_LIVE}"


class StateQueries:
    """Reading the published line as of one of its commits; the kept public documents."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    def state(self, sha: str) -> int | None:
        """The position of a commit on the published line (None: not on it, as far as the
        index knows)."""
        row = self.tables.db.execute(
            "SELECT seq FROM commits WHERE sha = ? AND line = ?", (sha, PUBLISHED)
        ).fetchone()
        return row[0] if row else None

    def live_at(self, state: int, after: str, limit: int) -> list[dict[str, Any]]:
        """The articles on the published line at `state`, by slug, the first `limit` after
        the slug `after`: each {slug, blob, revision, updated_at, published_at}."""
        rows = self.tables.db.execute(
            f"SELECT {STATE_COLUMNS} FROM revisions r WHERE r.slug > :after "
            f"AND +r.line = 'published' AND {AT_STATE} AND r.blob IS NOT NULL AND r.valid "
            f"AND r.slug NOT IN {WITHDRAWN} ORDER BY r.slug LIMIT :limit",
            {"after": after, "b": state, "limit": limit},
        ).fetchall()
        return [_state_row(r) for r in rows]

    def changed_between(
        self, since: int, state: int, after: str, limit: int
    ) -> list[tuple[str, dict[str, Any] | None, bool]]:
        """The articles that changed on the published line after `since` up to `state`, by
        slug, the first `limit` after `after`: (slug, its row at `state` as `live_at` gives
        it or None when it was not live then, whether it was live at `since`)."""
        with self.tables.reading() as db:
            slugs = [
                s
                for (s,) in db.execute(
                    "SELECT DISTINCT slug FROM revisions WHERE line = 'published' AND seq > :a "
                    "AND seq <= :b AND slug > :after ORDER BY slug LIMIT :limit",
                    {"a": since, "b": state, "after": after, "limit": limit},
                )
            ]
            withdrawn = {s for (s,) in db.execute(f"SELECT slug FROM {WITHDRAWN}")}
            found = []
            for slug in slugs:
                now = db.execute(
                    f"SELECT {STATE_COLUMNS} FROM revisions r WHERE r.slug = :slug "
                    f"AND +r.line = 'published' AND {AT_STATE}",
                    {"slug": slug, "b": state},
                ).fetchone()
                before = db.execute(
                    "SELECT CASE WHEN r.valid THEN r.blob END FROM revisions r "
                    "WHERE r.slug = :slug "
                    f"AND +r.line = 'published' AND {AT_STATE}",
                    {"slug": slug, "b": since},
                ).fetchone()
                row = _state_row(now) if now and now[1] is not None else None
                if slug in withdrawn:
                    row = None
                found.append((slug, row, bool(before and before[0] is not None)))
        return found

    def sitemap_rows(self, offset: int, limit: int) -> list[tuple[str, int]]:
        """(slug, updated_at) of live articles in the order they went live, a slice."""
        return self.tables.db.execute(
            "SELECT slug, updated_at FROM live WHERE id NOT IN (SELECT article FROM withdrawn) "
            "ORDER BY id LIMIT ? OFFSET ?",
            (limit, offset),
        ).fetchall()

    def sitemap_text(self, offset: int, limit: int, line: str) -> str:
        """The same slice as `sitemap_rows`, each article as `line` formatted by SQLite's
        printf with its slug and its updated_at as RFC 3339 UTC, one a line: 50,000 in
        milliseconds, where Python takes a tenth of a second."""
        row = self.tables.db.execute(
            "SELECT group_concat(printf(:line, slug, strftime('%Y-%m-%dT%H:%M:%SZ', "
            "updated_at, 'unixepoch')), char(10)) FROM (SELECT slug, updated_at FROM live "
            "WHERE id NOT IN (SELECT article FROM withdrawn) ORDER BY id LIMIT :limit "
            "OFFSET :offset)",
            {"line": line, "limit": limit, "offset": offset},
        ).fetchone()
        return row[0] or ""

    def live_rank(self, slug: str) -> int | None:
        """Where a live article is in the sitemap's order (0 for the first to go live of
        those live now), or None when it is not delivered."""
        db = self.tables.db
        row = db.execute(
            f"SELECT l.id FROM live l WHERE l.slug = ? AND {VISIBLE}", (slug,)
        ).fetchone()
        if row is None:
            return None
        return db.execute(
            f"SELECT COUNT(*) FROM live l WHERE l.id < ? AND {VISIBLE}", (row[0],)
        ).fetchone()[0]

    def live_count(self) -> int:
        """How many articles are live."""
        return self.tables.db.execute(
            "SELECT COUNT(*) FROM live WHERE id NOT IN (SELECT article FROM withdrawn)"
        ).fetchone()[0]

    # -- documents: an article file's public JSON, kept by blob id ------------------------

    def live_document(self, slug: str) -> dict[str, Any] | None:
        """A live article's row (as `LiveQueries.article` gives it) with its kept public
        document (JSON text, see `public.document`; None when not kept yet) under
        "document"."""
        row = self.tables.db.execute(
            f"SELECT {LIVE_COLUMNS}, d.json FROM live l LEFT JOIN documents d "
            f"ON d.blob = l.blob WHERE l.slug = ? AND {VISIBLE}",
            (slug,),
        ).fetchone()
        return {**_live_row(row[:-1]), "document": row[-1]} if row else None

    def documents(self, blobs: list[str]) -> dict[str, str]:
        """The public documents kept for these files, by blob (those kept)."""
        found: dict[str, str] = {}
        for start in range(0, len(blobs), 500):
            chunk = blobs[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            found.update(
                self.tables.db.execute(
                    f"SELECT blob, json FROM documents WHERE blob IN ({marks})", chunk
                ).fetchall()
            )
        return found

    def unfinished(
        self, limit: int, newest_first: bool, beyond: int | None = None
    ) -> list[tuple[int, str, str | None]]:
        """Live files whose public document is not kept yet, walking live articles by id
        from `beyond` (exclusive) in the direction asked: (id, blob, its kept card or None)."""
        order, past = ("DESC", "<") if newest_first else ("ASC", ">")
        where = f"AND l.id {past} :beyond" if beyond is not None else ""
        return self.tables.db.execute(
            "SELECT l.id, l.blob, c.card FROM live l LEFT JOIN documents d ON d.blob = l.blob "
            f"LEFT JOIN cards c ON c.blob = l.blob WHERE d.blob IS NULL {where} "
            f"ORDER BY l.id {order} LIMIT :limit",
            {"beyond": beyond, "limit": limit},
        ).fetchall()

    def keep_documents(self, made: dict[str, tuple[dict[str, Any] | None, str]]) -> None:
        """Keep cards and documents worked out off the request path ({blob: (card, document
        JSON)}; a card None and an empty document for a file that is never delivered), in
        one transaction; a cache, so a busy, full or read-only disk only means working them
        out again later."""
        try:
            with self.tables.writing() as db:
                db.executemany(
                    "INSERT OR IGNORE INTO cards VALUES (?, ?)",
                    [
                        (blob, json.dumps(card, ensure_ascii=False))
                        for blob, (card, _) in made.items()
                        if card is not None
                    ],
                )
                db.executemany(
                    "INSERT OR IGNORE INTO documents VALUES (?, ?)",
                    [(blob, document) for blob, (_, document) in made.items()],
                )
        except sqlite3.OperationalError:
            pass


def _state_row(row: tuple[Any, ...]) -> dict[str, Any]:
    slug, blob, revision, updated_at, published_at = row
    return {
        "slug": slug,
        "blob": blob,
        "revision": revision,
        "updated_at": updated_at,
        "published_at": published_at,
    }
