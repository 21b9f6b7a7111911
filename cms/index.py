"""A derived index of the content repository, in SQLite beside it (`<git dir>/cms/index.sqlite`).

It answers what git answers slowly at scale (an article's revisions, who created it and when,
lists with filters and full-text search) and is only ever a function of git: it remembers the
commit it reflects and catches up by reading the commits after it (`git log old..new`), never by
re-reading everything. Delete the file and it is rebuilt from history. Every process opens it;
SQLite's locking makes them agree.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import layout, messages
from .repository import CommitRecord, Repository

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE tips (ref TEXT PRIMARY KEY, sha TEXT NOT NULL);
CREATE TABLE commits (seq INTEGER PRIMARY KEY AUTOINCREMENT, sha TEXT NOT NULL UNIQUE,
    date INTEGER NOT NULL);
CREATE TABLE revisions (slug TEXT NOT NULL, seq INTEGER NOT NULL, sha TEXT NOT NULL,
    parent TEXT, date INTEGER NOT NULL, author_name TEXT NOT NULL, author_email TEXT NOT NULL,
    message TEXT NOT NULL, action TEXT NOT NULL, blob TEXT, PRIMARY KEY (slug, seq));
CREATE TABLE articles (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, blob TEXT NOT NULL,
    revision TEXT NOT NULL, title TEXT, section TEXT, language TEXT,
    created_at INTEGER NOT NULL, created_name TEXT NOT NULL, created_email TEXT NOT NULL,
    updated_at INTEGER NOT NULL, updated_name TEXT NOT NULL, updated_email TEXT NOT NULL);
CREATE INDEX articles_updated ON articles (updated_at DESC, slug);
CREATE INDEX articles_section ON articles (section, updated_at DESC);
CREATE TABLE tags (tag TEXT NOT NULL, article INTEGER NOT NULL, PRIMARY KEY (tag, article))
    WITHOUT ROWID;
CREATE INDEX tags_article ON tags (article);
CREATE VIRTUAL TABLE fulltext USING fts5(title, summary, body,
    tokenize = 'unicode61 remove_diacritics 2');
"""
ARTICLE_COLUMNS = (
    "slug, blob, revision, created_at, created_name, created_email, "
    "updated_at, updated_name, updated_email"
)
REVISION_COLUMNS = "sha, parent, date, author_name, author_email, message, action, blob"


def _plain_text(doc: dict[str, Any]) -> str:
    parts: list[str] = []
    for block in doc.get("body") or []:
        if not isinstance(block, dict):
            continue
        for key in ("text", "caption", "alt", "cite"):
            if isinstance(block.get(key), str):
                parts.append(block[key])
        parts += [i for i in block.get("items") or [] if isinstance(i, str)]
    return "\n".join(parts)


def fts_query(q: str) -> str | None:
    """Turn free text into an FTS5 query matching all its words (None: no words)."""
    words = re.findall(r"\w+", q)
    return " ".join(f'"{w}"' for w in words) or None


class Index:
    def __init__(self, repo: Repository, committer_email: str) -> None:
        self.repo = repo
        self.committer_email = committer_email
        folder = os.path.join(repo.git_dir, "cms")
        os.makedirs(folder, exist_ok=True)
        self.path = os.path.join(folder, "index.sqlite")
        self._local = threading.local()
        self._known: str | None = None

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection (a transaction cannot be shared between threads)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                self._create(db)
            local.db, local.pid = db, os.getpid()
        return local.db

    @staticmethod
    def _create(db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                tables = db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'fulltext_%' AND name NOT LIKE 'sqlite_%'"
                ).fetchall()
                for (name,) in tables:
                    db.execute(f'DROP TABLE IF EXISTS "{name}"')
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._known = None
            raise

    def _tip(self, db: sqlite3.Connection) -> str | None:
        row = db.execute("SELECT sha FROM tips WHERE ref = 'main'").fetchone()
        return row[0] if row else None

    # -- keeping up with git ----------------------------------------------------

    def sync(self, tip: str | None) -> None:
        """Bring the index up to `main`, if `tip` (where the caller saw `main`) is news to it.

        `main` is read again under the index's write lock, so the index never runs ahead of it;
        when `main` no longer descends from what the index reflects (a force push), the index
        is rebuilt from history.
        """
        if tip == self._known or tip is None:
            return
        with self._writing() as db:
            tip = self.repo.ref("main")
            current = self._tip(db)
            if tip is not None and current != tip:
                if current is not None and not self.repo.is_ancestor(current, tip):
                    self._clear(db)
                    current = None
                for record in self.repo.log(current, tip):
                    self._apply(db, record, {})
                db.execute("INSERT OR REPLACE INTO tips VALUES ('main', ?)", (tip,))
        self._known = tip

    def record(self, record: CommitRecord, docs: dict[str, dict[str, Any]]) -> None:
        """Add a commit this process just made, without asking git, if it follows the tip."""
        parent = record.parents[0] if record.parents else None
        with self._writing() as db:
            follows = self._tip(db) == parent
            if follows:
                self._apply(db, record, docs)
                db.execute("INSERT OR REPLACE INTO tips VALUES ('main', ?)", (record.sha,))
        if follows:
            self._known = record.sha
        else:
            self.sync(self.repo.ref("main"))

    def _clear(self, db: sqlite3.Connection) -> None:
        for table in ("tips", "commits", "revisions", "articles", "tags", "fulltext"):
            db.execute(f"DELETE FROM {table}")

    def _action(self, record: CommitRecord) -> str:
        action = messages.trailers(record.message).get("Action", "")
        if record.committer_email == self.committer_email and action in messages.VERBS:
            return action
        return "external"

    def _apply(self, db: sqlite3.Connection, record: CommitRecord,
               docs: dict[str, dict[str, Any]]) -> None:
        seq = db.execute(
            "INSERT INTO commits (sha, date) VALUES (?, ?)", (record.sha, record.date)
        ).lastrowid
        action = self._action(record)
        parent = record.parents[0] if record.parents else None
        for path, blob in record.changes.items():
            slug = layout.slug_from_path(path)
            if slug is None:
                continue
            db.execute(
                f"INSERT INTO revisions (slug, seq, {REVISION_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (slug, seq, record.sha, parent, record.date, record.author.name,
                 record.author.email, record.message, action, blob),
            )
            row = db.execute("SELECT id FROM articles WHERE slug = ?", (slug,)).fetchone()
            if blob is None:
                if row:
                    self._forget(db, row[0])
                continue
            doc = docs.get(slug)
            if doc is None:
                doc = self._parse(blob)
            self._remember(db, row[0] if row else None, slug, blob, doc, record)

    def _parse(self, blob: str) -> dict[str, Any]:
        try:
            doc = json.loads(self.repo.read(blob))
        except ValueError:
            return {}
        return doc if isinstance(doc, dict) else {}

    def _forget(self, db: sqlite3.Connection, article: int) -> None:
        db.execute("DELETE FROM articles WHERE id = ?", (article,))
        db.execute("DELETE FROM tags WHERE article = ?", (article,))
        db.execute("DELETE FROM fulltext WHERE rowid = ?", (article,))

    def _remember(self, db: sqlite3.Connection, article: int | None, slug: str, blob: str,
                  doc: dict[str, Any], record: CommitRecord) -> None:
        def text(key: str) -> str | None:
            value = doc.get(key)
            return value if isinstance(value, str) else None

        who = (record.date, record.author.name, record.author.email)
        fields = (blob, record.sha, text("title"), text("section"), text("language"))
        if article is None:
            article = db.execute(
                "INSERT INTO articles (slug, blob, revision, title, section, language, "
                "created_at, created_name, created_email, updated_at, updated_name, "
                "updated_email) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (slug, *fields, *who, *who),
            ).lastrowid
        else:
            db.execute(
                "UPDATE articles SET blob = ?, revision = ?, title = ?, section = ?, "
                "language = ?, updated_at = ?, updated_name = ?, updated_email = ? "
                "WHERE id = ?",
                (*fields, *who, article),
            )
            db.execute("DELETE FROM tags WHERE article = ?", (article,))
            db.execute("DELETE FROM fulltext WHERE rowid = ?", (article,))
        tags = doc.get("tags")
        if not isinstance(tags, list):
            tags = []
        db.executemany(
            "INSERT OR IGNORE INTO tags VALUES (?, ?)",
            [(t.lower(), article) for t in tags if isinstance(t, str)],
        )
        db.execute(
            "INSERT INTO fulltext (rowid, title, summary, body) VALUES (?, ?, ?, ?)",
            (article, text("title") or "", text("summary") or "", _plain_text(doc)),
        )

    # -- questions ------------------------------------------------------------------

    def article(self, slug: str) -> dict[str, Any] | None:
        row = self.db.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE slug = ?", (slug,)
        ).fetchone()
        return _article_row(row) if row else None

    def articles(
        self, *, section: str | None = None, tag: str | None = None, q: str | None = None,
        limit: int, offset: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """Return one page of articles, most recently updated first, and the total."""
        where, args = [], []
        if section is not None:
            where.append("a.section = ?")
            args.append(section)
        if tag is not None:
            where.append("a.id IN (SELECT article FROM tags WHERE tag = ?)")
            args.append(tag.lower())
        if q is not None:
            match = fts_query(q)
            if match is None:
                return [], 0
            where.append("a.id IN (SELECT rowid FROM fulltext WHERE fulltext MATCH ?)")
            args.append(match)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        db = self.db
        total = db.execute(f"SELECT COUNT(*) FROM articles a {clause}", args).fetchone()[0]
        rows = db.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a {clause} "
            "ORDER BY a.updated_at DESC, a.slug LIMIT ? OFFSET ?",
            [*args, limit, offset],
        ).fetchall()
        return [_article_row(r) for r in rows], total

    def revisions_exist(self) -> bool:
        return self.db.execute("SELECT 1 FROM revisions LIMIT 1").fetchone() is not None

    def slugs(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT slug FROM articles ORDER BY slug")]

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]

    def revisions(self, slug: str, *, limit: int, offset: int
                  ) -> tuple[list[dict[str, Any]], int]:
        """Return one page of an article's revisions, newest first, and the total."""
        db = self.db
        total = db.execute("SELECT COUNT(*) FROM revisions WHERE slug = ?", (slug,)).fetchone()[0]
        rows = db.execute(
            f"SELECT {REVISION_COLUMNS} FROM revisions WHERE slug = ? "
            "ORDER BY seq DESC LIMIT ? OFFSET ?",
            (slug, limit, offset),
        ).fetchall()
        return [_revision_row(r) for r in rows], total

    def resolve(self, prefix: str) -> list[tuple[str, int]]:
        """Return up to two (commit, date) on `main` whose id starts with `prefix`."""
        return self.db.execute(
            "SELECT sha, date FROM commits WHERE sha >= ? AND sha < ? ORDER BY sha LIMIT 2",
            (prefix, prefix + "g"),
        ).fetchall()


def _article_row(row: tuple[Any, ...]) -> dict[str, Any]:
    slug, blob, revision, c_at, c_name, c_email, u_at, u_name, u_email = row
    return {
        "slug": slug, "blob": blob, "revision": revision,
        "created_at": c_at, "created_by": {"name": c_name, "email": c_email},
        "updated_at": u_at, "updated_by": {"name": u_name, "email": u_email},
    }


def _revision_row(row: tuple[Any, ...]) -> dict[str, Any]:
    sha, parent, date, name, email, message, action, blob = row
    return {
        "revision": sha, "parent": parent, "date": date,
        "author": {"name": name, "email": email}, "message": message, "action": action,
        "blob": blob,
    }
