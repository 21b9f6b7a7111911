"""The index's answers about the draft line and history, for editors."""

from __future__ import annotations

import json
from typing import Any

from cms.index import search
from cms.index.tables import REVISION_COLUMNS, Tables

ARTICLE_COLUMNS = (
    "a.slug, a.blob, a.revision, a.publish_at, a.created_at, a.created_name, a.created_email, "
    "a.updated_at, a.updated_name, a.updated_email, l.blob, l.revision, l.published_at, "
    "a.problems, a.content, l.content"
)
# A draft with a `publish_at` is due when that time has come and nothing was published since.
DUE = (
    "a.problems IS NULL AND a.publish_at IS NOT NULL AND a.publish_at <= :now"
    " AND NOT EXISTS (SELECT 1 FROM revisions r"
    " WHERE r.slug = a.slug AND r.line = 'published' AND r.blob IS NOT NULL"
    " AND r.date >= a.publish_at) AND NOT EXISTS (SELECT 1 FROM live l"
    " WHERE l.slug = a.slug AND l.blob = a.blob)"
)
# The SQL twin of `articles.state`: a live article is `published` or `changed`, whatever its
# schedule; one that differs from its draft only in `publish_at` is `published`.
STATE = (
    "CASE WHEN a.problems IS NOT NULL THEN 'invalid' "
    "WHEN l.blob IS NULL THEN (CASE WHEN a.publish_at > :now THEN 'scheduled' "
    "ELSE 'draft' END) WHEN l.blob = a.blob OR COALESCE(l.content, l.blob) = "
    "COALESCE(a.content, a.blob) THEN 'published' ELSE 'changed' END"
)


class DraftQueries:
    """Reading the draft line, revisions and commits."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    def article(self, slug: str, now: int) -> dict[str, Any] | None:
        row = self.tables.db.execute(
            f"SELECT {ARTICLE_COLUMNS}, {STATE} FROM articles a LEFT JOIN live l "
            "ON l.slug = a.slug WHERE a.slug = :slug",
            {"slug": slug, "now": now},
        ).fetchone()
        return _article_row(row) if row else None

    def articles(
        self,
        *,
        now: int,
        state: str | None = None,
        section: str | None = None,
        tag: str | None = None,
        q: str | None = None,
        sort: str | None = None,
        limit: int,
        offset: int,
        valid: bool = False,
    ) -> tuple[list[dict[str, Any]], int]:
        """Return one page of articles, most recently updated first (best match first with
        `sort="relevance"` and `q`), and the total; with `valid`, only valid articles."""
        where: list[str] = ["a.problems IS NULL"] if valid else []
        args: dict[str, Any] = {"now": now, "limit": limit, "offset": offset}
        if state is not None:
            where.append(f"{STATE} = :state")
            args["state"] = state
        if section is not None:
            where.append("a.section = :section")
            args["section"] = section
        if tag is not None:
            where.append("a.id IN (SELECT article FROM tags WHERE tag = :tag)")
            args["tag"] = tag.lower()
        source, order = "articles a LEFT JOIN live l ON l.slug = a.slug", "a.updated_at DESC"
        count = None
        if q is not None:
            if not self.tables.matching(q, "a.id", "fulltext", None, where, args):
                return [], 0
            if sort == "relevance":
                # as `LiveQueries._ranked`: bm25 for the RANK_WINDOW newest matches, then
                # the older ones; the total counts them all
                where[-1] = "fulltext MATCH :q"
                matches = (
                    "FROM fulltext JOIN articles a ON a.id = fulltext.rowid LEFT JOIN "
                    f"live l ON l.slug = a.slug WHERE {' AND '.join(where)}"
                )
                count = f"SELECT COUNT(*) {matches}"
                ranked = (
                    f"SELECT a.id AS id, {search.rank('fulltext')} AS score {matches} "
                    "ORDER BY fulltext.rowid DESC LIMIT :window"
                )
                source = (
                    f"({ranked}) m JOIN articles a ON a.id = m.id "
                    "LEFT JOIN live l ON l.slug = a.slug"
                )
                where, order = [], f"m.score, {order}"
                args["window"] = search.RANK_WINDOW
        columns = f"{ARTICLE_COLUMNS}, {STATE}"
        rows, total = self._page(columns, source, where, args, f"{order}, a.slug", count)
        if count is not None and len(rows) < limit and total > search.RANK_WINDOW:
            # past the window: older matches, unscored, the last created first
            rows += self.tables.db.execute(
                f"SELECT {columns} FROM (SELECT a.id AS id, -fulltext.rowid AS n {matches} "
                "ORDER BY fulltext.rowid DESC LIMIT :rest OFFSET :skip) m JOIN articles a ON "
                "a.id = m.id LEFT JOIN live l ON l.slug = a.slug ORDER BY m.n",
                {
                    **args,
                    "rest": limit - len(rows),
                    "skip": search.RANK_WINDOW + max(offset - search.RANK_WINDOW, 0),
                },
            ).fetchall()
        return [_article_row(r) for r in rows], total

    def _page(
        self,
        columns: str,
        source: str,
        where: list[str],
        args: dict[str, Any],
        order: str,
        count: str | None = None,
    ) -> tuple[list[tuple[Any, ...]], int]:
        """One page of rows (args carry :limit and :offset) and how many there are in all
        (`count`, when given, is the statement that counts them)."""
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        db = self.tables.db
        total = db.execute(count or f"SELECT COUNT(*) FROM {source} {clause}", args).fetchone()[0]
        rows = db.execute(
            f"SELECT {columns} FROM {source} {clause} ORDER BY {order} LIMIT :limit OFFSET :offset",
            args,
        ).fetchall()
        return rows, total

    def due(self, now: int) -> list[str]:
        """Slugs of scheduled drafts whose time has come."""
        rows = self.tables.db.execute(
            f"SELECT a.slug FROM articles a WHERE {DUE} ORDER BY a.publish_at", {"now": now}
        )
        return [r[0] for r in rows]

    def pending(self, now: int) -> list[str]:
        """Slugs of valid drafts with a schedule still to run: a `publish_at` ahead, or due."""
        rows = self.tables.db.execute(
            "SELECT a.slug FROM articles a WHERE a.problems IS NULL AND a.publish_at > :now "
            f"OR ({DUE}) ORDER BY a.publish_at, a.slug",
            {"now": now},
        )
        return [r[0] for r in rows]

    def revisions_exist(self) -> bool:
        return self.tables.db.execute("SELECT 1 FROM revisions LIMIT 1").fetchone() is not None

    def slugs(self) -> list[str]:
        return [r[0] for r in self.tables.db.execute("SELECT slug FROM articles ORDER BY slug")]

    def count(self) -> int:
        return self.tables.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]

    def unpublished(self, now: int, limit: int) -> list[str]:
        """Slugs of the valid articles whose draft is not what is live (states draft,
        changed, scheduled), most recently updated first, at most `limit`: one walk of the
        articles, newest first, that stops at `limit` (no count)."""
        return [
            r[0]
            for r in self.tables.db.execute(
                f"SELECT a.slug FROM articles a LEFT JOIN live l ON l.slug = a.slug "
                f"WHERE {STATE} IN ('draft', 'changed', 'scheduled') "
                "ORDER BY a.updated_at DESC, a.slug LIMIT :limit",
                {"now": now, "limit": limit},
            )
        ]

    def sections(self) -> list[str]:
        """Every section an article on the draft line has, in order."""
        return [
            r[0]
            for r in self.tables.db.execute(
                "SELECT DISTINCT section FROM articles WHERE section IS NOT NULL ORDER BY section"
            )
        ]

    def revisions(
        self, slug: str, *, line: str | None = None, limit: int, offset: int, since: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """Return one page of an article's revisions, newest first, and the total.

        In the index's order of commits (see `catch_up`), which follows the commit graph, not
        the commits' dates (whole seconds, and whatever a committer's clock said). With
        `since`, only those after that point of the order (see `life_start`).
        """
        where, args = "slug = ? AND seq > ?", [slug, since]
        if line is not None:  # the versions of the article on that line, valid ones only
            where += " AND line = ? AND blob IS NOT NULL AND valid"
            args.append(line)
        db = self.tables.db
        total = db.execute(f"SELECT COUNT(*) FROM revisions WHERE {where}", args).fetchone()[0]
        rows = db.execute(
            f"SELECT {REVISION_COLUMNS} FROM revisions WHERE {where} "
            "ORDER BY seq DESC LIMIT ? OFFSET ?",
            [*args, limit, offset],
        ).fetchall()
        return [_revision_row(r) for r in rows], total

    def resolve(self, prefix: str, line: str | None = None) -> list[tuple[str, int]]:
        """Return up to two distinct (commit, date) whose id starts with `prefix`."""
        clause = "" if line is None else "AND line = :line"
        return self.tables.db.execute(
            f"SELECT DISTINCT sha, date FROM commits WHERE sha >= :lo AND sha < :hi {clause} "
            "ORDER BY sha LIMIT 2",
            {"lo": prefix, "hi": prefix + "g", "line": line},
        ).fetchall()

    def revision_with(self, slug: str, blobs: list[str]) -> str | None:
        """The newest draft revision of `slug`'s current life whose file was one of `blobs`
        (an If-Match an editor read): the base of a merged save. None when none was."""
        if not blobs:
            return None
        marks = ", ".join("?" * len(blobs))
        row = self.tables.db.execute(
            f"SELECT sha FROM revisions WHERE slug = ? AND line = 'main' AND seq > ? "
            f"AND blob IN ({marks}) ORDER BY seq DESC LIMIT 1",
            [slug, self.life_start(slug), *blobs],
        ).fetchone()
        return row[0] if row else None

    def life_start(self, slug: str) -> int:
        """Where the current life of `slug` began in the index's order of commits: after the
        last commit that removed it from `main` (0 if none did)."""
        row = self.tables.db.execute(
            "SELECT MAX(seq) FROM revisions WHERE slug = ? AND line = 'main' AND blob IS NULL",
            (slug,),
        ).fetchone()
        return row[0] or 0

    def position(self, sha: str, line: str) -> int | None:
        """Where the commit `sha` of `line` is in the index's order of commits (None: unknown)."""
        row = self.tables.db.execute(
            "SELECT seq FROM commits WHERE sha = ? AND line = ?", (sha, line)
        ).fetchone()
        return row[0] if row else None

    def life_of(self, slug: str, revision: str) -> str | None:
        """The commit on `main` that began the life of `slug` that its revision `revision`
        belongs to: its first revision after the last delete before `revision` (None: the
        revision is not in the index)."""
        at = self.position(revision, "main")
        if at is None:
            return None
        row = self.tables.db.execute(
            "SELECT sha FROM revisions WHERE slug = :slug AND line = 'main' AND seq <= :at AND "
            "seq > COALESCE((SELECT MAX(seq) FROM revisions WHERE slug = :slug AND "
            "line = 'main' AND blob IS NULL AND seq < :at), 0) ORDER BY seq LIMIT 1",
            {"slug": slug, "at": at},
        ).fetchone()
        return row[0] if row else None

    def on_line(self, sha: str, line: str) -> bool:
        return (
            self.tables.db.execute(
                "SELECT 1 FROM commits WHERE sha = ? AND line = ?", (sha, line)
            ).fetchone()
            is not None
        )


def _article_row(row: tuple[Any, ...]) -> dict[str, Any]:
    (
        slug,
        blob,
        revision,
        publish_at,
        c_at,
        c_name,
        c_email,
        u_at,
        u_name,
        u_email,
        live_blob,
        live_revision,
        live_at,
        problems,
        content,
        live_content,
        state,
    ) = row
    return {
        "problems": json.loads(problems) if problems else None,
        "slug": slug,
        "blob": blob,
        "revision": revision,
        "publish_at": publish_at,
        "created_at": c_at,
        "created_by": {"name": c_name, "email": c_email},
        "updated_at": u_at,
        "updated_by": {"name": u_name, "email": u_email},
        "live_blob": live_blob,
        "published_revision": live_revision,
        "published_at": live_at,
        "content": content,
        "live_content": live_content,
        "state": state,
    }


def _revision_row(row: tuple[Any, ...]) -> dict[str, Any]:
    sha, parent, date, name, email, message, action, blob, line = row
    return {
        "revision": sha,
        "parent": parent,
        "date": date,
        "author": {"name": name, "email": email},
        "message": message,
        "action": action,
        "blob": blob,
        "line": line,
    }
