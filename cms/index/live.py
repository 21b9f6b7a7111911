"""The index's answers about the published line, for frontends.

An article is live when its file is on `published` and still on `main`: deleting removes it
from both lines in one ref transaction, and `withdrawn` keeps a deleted article out of
delivery even if that transaction were cut in half.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from cms.index import search
from cms.index.tables import Tables

LIVE_COLUMNS = "l.slug, l.blob, l.revision, l.published_at, l.updated_at, l.title"
VISIBLE = "l.id NOT IN (SELECT article FROM withdrawn)"
# a delivery filter: the table whose index lists its articles by (value, published_at, article)
LIVE_FILTERS = {
    "tag": ("live_tags", "tag", "article"),
    "author": ("live_authors", "name", "article"),
    "section": ("live", "section", "id"),
    "language": ("live", "language", "id"),
}


class LiveQueries:
    """Reading the published line."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self._totals: dict[tuple[Any, ...], int] = {}

    def article(self, slug: str) -> dict[str, Any] | None:
        """A live article's row, None when it is not live."""
        row = self.tables.db.execute(
            f"SELECT {LIVE_COLUMNS} FROM live l WHERE l.slug = ? AND {VISIBLE}",
            (slug,),
        ).fetchone()
        return _live_row(row) if row else None

    def articles(
        self,
        *,
        section: str | None = None,
        tag: str | None = None,
        author: str | None = None,
        language: str | None = None,
        q: str | None = None,
        sort: str | None = None,
        fallback: str | None = None,
        limit: int,
        offset: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """Return one page of live articles, newest `published_at` first (best match first
        with `sort="relevance"` and `q`), each with its kept card (JSON, or None), and the
        total.

        Both walk one index already in (published_at, article) order, the first filter's
        (tag, author, section, language) or `live_order`; only the page's rows are read.
        With `fallback` (and `language`), the articles in `language` and those in `fallback`
        whose group has no live member in `language`, in one ordering.
        """
        given = {
            "tag": tag and tag.lower(),
            "author": author and author.lower(),
            "section": section,
            "language": None if fallback else language,
        }
        args: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        ranked = q is not None and sort == "relevance"
        if fallback is not None and language is not None and not ranked:
            return self._fallback(args, language, fallback, q, limit, offset)
        walk, key, where = "live k", "k.id", list[str]()
        for name in args:
            table, column, article = LIVE_FILTERS[name]
            if not where and not ranked:  # a ranked list walks the full-text match instead
                walk, key = f"{table} k", f"k.{article}"
                where.append(f"k.{column} = :{name}")
            else:
                where.append(f"{key} IN (SELECT {article} FROM {table} WHERE {column} = :{name})")
        if fallback is not None and language is not None:
            # a group's member in `language` hides the group's member in `fallback`
            where.append(
                f"{key} IN (SELECT f.id FROM live f WHERE f.language = :language OR "
                "(f.language = :fallback AND NOT EXISTS (SELECT 1 FROM live t WHERE "
                "t.grp = f.grp AND t.language = :language AND t.id NOT IN "
                "(SELECT article FROM withdrawn))))"
            )
            args.update(language=language, fallback=fallback)
        if q is not None and not self.tables.matching(q, key, "live_text", language, where, args):
            return [], 0
        if ranked:
            return self._ranked(where[:-1], args, limit, offset)
        with self.tables.reading() as db:
            if db.execute("SELECT 1 FROM withdrawn LIMIT 1").fetchone():
                where.append(f"{key} NOT IN (SELECT article FROM withdrawn)")
            clause = f"WHERE {' AND '.join(where)}" if where else ""
            count = f"SELECT COUNT(*) FROM {walk} {clause}"
            total = self._total(db, count, args)
            rows = db.execute(
                f"SELECT {LIVE_COLUMNS}, c.card FROM (SELECT {key} AS id, k.published_at AS at "
                f"FROM {walk} {clause} ORDER BY k.published_at DESC, {key} DESC LIMIT :limit "
                "OFFSET :offset) p JOIN live l ON l.id = p.id LEFT JOIN cards c "
                "ON c.blob = l.blob ORDER BY p.at DESC, p.id DESC",
                {**args, "limit": limit, "offset": offset},
            ).fetchall()
        return [{**_live_row(r[:-1]), "card": r[-1]} for r in rows], total

    def _fallback(
        self,
        args: dict[str, Any],
        language: str,
        fallback: str,
        q: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """`articles` in `language` and those in `fallback` whose group has no live member in
        `language`: two walks of live_language, one per language, merged in (published_at,
        id) order, so a page reads its rows and those before it, never every article in
        both languages (as a set to test each row against would)."""
        where = [
            f"k.id IN (SELECT {article} FROM {table} WHERE {column} = :{name})"
            for name in args
            for table, column, article in [LIVE_FILTERS[name]]
        ]
        args = {**args, "language": language, "fallback": fallback}
        matched = q is None or self.tables.matching(q, "k.id", "live_text", language, where, args)
        if not matched:
            return [], 0
        with self.tables.reading() as db:
            if db.execute("SELECT 1 FROM withdrawn LIMIT 1").fetchone():
                where.append("k.id NOT IN (SELECT article FROM withdrawn)")
            more = "".join(f" AND {w}" for w in where)
            walk = (
                f"SELECT k.id AS id, k.published_at AS at FROM live k WHERE k.language = "
                f":language{more} UNION ALL SELECT k.id, k.published_at FROM live k WHERE "
                "k.language = :fallback AND NOT EXISTS (SELECT 1 FROM live t WHERE t.grp = "
                "k.grp AND t.language = :language AND t.id NOT IN (SELECT article FROM "
                f"withdrawn)){more}"
            )
            total = self._total(db, f"SELECT COUNT(*) FROM ({walk})", args)
            rows = db.execute(
                f"SELECT {LIVE_COLUMNS}, c.card FROM ({walk} ORDER BY at DESC, id DESC "
                "LIMIT :limit OFFSET :offset) p JOIN live l ON l.id = p.id LEFT JOIN cards c "
                "ON c.blob = l.blob ORDER BY p.at DESC, p.id DESC",
                {**args, "limit": limit, "offset": offset},
            ).fetchall()
        return [{**_live_row(r[:-1]), "card": r[-1]} for r in rows], total

    def _total(self, db: sqlite3.Connection, count: str, args: dict[str, Any]) -> int:
        """The answer to the query `count`, remembered: a total is a function of the query and
        of the commits the index reflects, so the pages of one list share it."""
        seen = (*self.tables.tips(db).values(), count, *sorted(args.items()))
        total = self._totals.get(seen)
        if total is None:
            total = db.execute(count, args).fetchone()[0]
            if len(self._totals) >= 1024:
                self._totals.clear()
            self._totals[seen] = total
        return total

    def _ranked(
        self, filters: list[str], args: dict[str, Any], limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """`articles` by BM25 rank (ties: the last to go live first) among the RANK_WINDOW
        matches that went live last, then any older matches, the last to go live first, so
        every match is on a page and the total counts them all. `filters` are conditions on
        `k.id`, the live article, and `args` carry the FTS5 query as :q."""
        query = args  # what the count depends on: the pages of one search share their total
        args = {**args, "window": search.RANK_WINDOW, "limit": limit, "offset": offset}
        with self.tables.reading() as db:
            if db.execute("SELECT 1 FROM withdrawn LIMIT 1").fetchone():
                filters = [*filters, "k.id NOT IN (SELECT article FROM withdrawn)"]
            # FTS5 walks its matches by rowid (= live id), newest first, and stops at the
            # window, so bm25 is worked out for at most RANK_WINDOW rows however common the
            # words; the live table is joined only when a filter needs it
            source = "live_text JOIN live k ON k.id = live_text.rowid" if filters else "live_text"
            matches = f"FROM {source} WHERE {' AND '.join(['live_text MATCH :q', *filters])}"
            # counting reads the posting lists without scoring: about a microsecond a match
            total = self._total(db, f"SELECT COUNT(*) {matches}", query)
            page = (
                f"SELECT {LIVE_COLUMNS}, c.card FROM ({{ids}}) p JOIN live l ON l.id = "
                "p.id LEFT JOIN cards c ON c.blob = l.blob ORDER BY p.n"
            )
            rows = db.execute(
                page.format(
                    ids=(
                        f"SELECT id, row_number() OVER (ORDER BY score, id DESC) AS n FROM (SELECT "
                        f"live_text.rowid AS id, {search.rank('live_text')} AS score {matches} "
                        "ORDER BY live_text.rowid DESC LIMIT :window) "
                        "ORDER BY score, id DESC LIMIT :limit OFFSET :offset"
                    )
                ),
                args,
            ).fetchall()
            if len(rows) < limit and total > search.RANK_WINDOW:
                # past the window: older matches, unscored
                rows += db.execute(
                    page.format(
                        ids=(
                            f"SELECT live_text.rowid AS id, -live_text.rowid AS n {matches} "
                            "ORDER BY live_text.rowid DESC LIMIT :rest OFFSET :skip"
                        )
                    ),
                    {
                        **args,
                        "rest": limit - len(rows),
                        "skip": search.RANK_WINDOW + max(offset - search.RANK_WINDOW, 0),
                    },
                ).fetchall()
        return [{**_live_row(r[:-1]), "card": r[-1]} for r in rows], total

    def translations(self, slug: str) -> list[dict[str, str]]:
        """The live members of the translation group of `slug`, source first, then by
        language: `{language, slug, title}` each; empty when it has no live translation."""
        rows = self.tables.db.execute(
            f"SELECT l.language, l.slug, l.title FROM live l WHERE l.grp = (SELECT grp FROM "
            f"live WHERE slug = ?) AND {VISIBLE} ORDER BY l.slug != l.grp, l.language",
            (slug,),
        ).fetchall()
        if len(rows) < 2:
            return []
        return [{"language": r[0] or "en", "slug": r[1], "title": r[2]} for r in rows]

    def group_members(self, group: str) -> list[str]:
        """The slugs of the live articles of the translation group `group` (its source's
        slug), the source among them when it is live, by slug."""
        rows = self.tables.db.execute(
            f"SELECT l.slug FROM live l WHERE l.grp = ? AND {VISIBLE} ORDER BY l.slug", (group,)
        ).fetchall()
        return [r[0] for r in rows]

    def group_links(self, slugs: list[str]) -> dict[str, list[dict[str, Any]]]:
        """For each of `slugs` that has live translations, its group's live members as
        `translations` shows them, plus `source` (whether it is the group's source), for
        lists and a sitemap's hreflang links."""
        rows: list[tuple[Any, ...]] = []
        for at in range(0, len(slugs), 500):  # within SQLite's limit of bound variables
            chunk = slugs[at : at + 500]
            marks = ",".join("?" * len(chunk))
            rows += self.tables.db.execute(
                f"SELECT k.slug, l.language, l.slug, l.title, l.slug = l.grp FROM live k "
                f"JOIN live l ON l.grp = k.grp WHERE k.slug IN ({marks}) AND {VISIBLE} "
                "AND k.id NOT IN (SELECT article FROM withdrawn) "
                "AND EXISTS (SELECT 1 FROM live o WHERE o.grp = k.grp AND o.id != k.id) "
                "ORDER BY k.slug, l.slug != l.grp, l.language",
                chunk,
            ).fetchall()
        out: dict[str, list[dict[str, Any]]] = {}
        for of, language, member, title, source in rows:
            out.setdefault(of, []).append(
                {
                    "language": language or "en",
                    "slug": member,
                    "title": title,
                    "source": bool(source),
                }
            )
        return {k: v for k, v in out.items() if len(v) > 1}

    def has_translations(self) -> bool:
        """Whether any live article translates another (a sitemap then names alternates)."""
        return (
            self.tables.db.execute("SELECT 1 FROM live WHERE grp != slug LIMIT 1").fetchone()
            is not None
        )

    def order(self) -> list[str]:
        """Every live article's slug, in the order they went live (previous/next order)."""
        return [
            r[0]
            for r in self.tables.db.execute(
                f"SELECT l.slug FROM live l WHERE {VISIBLE} ORDER BY l.published_at, l.id"
            )
        ]

    def neighbours(self, slug: str) -> tuple[dict[str, str] | None, dict[str, str] | None]:
        """The live articles in the language of `slug` published just before and just after
        it (a reader of one language pages through that language; an article without a
        `language` is English, as the schema's default says)."""
        db = self.tables.db
        here = db.execute(
            "SELECT published_at, id, language FROM live WHERE slug = ?", (slug,)
        ).fetchone()
        if here is None:
            return None, None
        # each probe walks live_language for one stored value: "en" and files without one
        spelled = [here[2]] if (here[2] or "en") != "en" else ["en", None]
        visible = f"SELECT l.published_at, l.id, l.slug, l.title FROM live l WHERE {VISIBLE} AND"

        def first(*queries: str) -> list[tuple[Any, ...]] | None:
            # ties on the second first, then across seconds: each query walks the index
            # (a row-value comparison would walk every article sharing the second)
            for query in queries:
                found = [
                    row
                    for language in spelled
                    for row in db.execute(
                        f"{visible} l.language IS :language AND {query} LIMIT 1",
                        {"at": here[0], "id": here[1], "language": language},
                    ).fetchall()
                ]
                if found:
                    return found
            return None

        before = first(
            "l.published_at = :at AND l.id < :id ORDER BY l.id DESC",
            "l.published_at < :at ORDER BY l.published_at DESC, l.id DESC",
        )
        after = first(
            "l.published_at = :at AND l.id > :id ORDER BY l.id",
            "l.published_at > :at ORDER BY l.published_at, l.id",
        )

        def pair(rows: list[tuple[Any, ...]] | None, nearest: Any) -> dict[str, str] | None:
            if not rows:
                return None
            row = nearest(rows, key=lambda r: (r[0], r[1]))
            return {"slug": row[2], "title": row[3]}

        return pair(before, max), pair(after, min)

    def blobs(self) -> dict[str, str]:
        """Every live article's slug and blob."""
        return dict(
            self.tables.db.execute(f"SELECT l.slug, l.blob FROM live l WHERE {VISIBLE}").fetchall()
        )


def _live_row(row: tuple[Any, ...]) -> dict[str, Any]:
    slug, blob, revision, published_at, updated_at, title = row
    return {
        "slug": slug,
        "blob": blob,
        "revision": revision,
        "published_at": published_at,
        "updated_at": updated_at,
        "title": title,
    }
