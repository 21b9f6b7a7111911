"""The index's tables, its SQLite connection per thread and process, and its transactions."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from cms.content.layout import LINES
from cms.git import private
from cms.git.repository import Tips
from cms.index import search

# what the index is given to work out an article's public card (see `cms.public.card`)
CardMaker = Callable[[dict[str, Any]], dict[str, Any]]
REVISION_COLUMNS = "sha, parent, date, author_name, author_email, message, action, blob, line"
# 7: full-text tables hold stems and the words as written (see `cms.search`)
# 8: articles' problems, revisions' validity, checks (see `cms.rules`)
# 9: a live file's public document is kept (see `cms.readiness`)
# 10: `content` of drafts and live files (a schedule alone is no change), revisions in graph order
# 11: a live article's translation group (`grp`: the source's slug, see `cms.store.translating`)
SCHEMA_VERSION = 11
SCHEMA = f"""
CREATE TABLE tips (line TEXT PRIMARY KEY, sha TEXT NOT NULL);
CREATE TABLE commits (seq INTEGER PRIMARY KEY AUTOINCREMENT, sha TEXT NOT NULL,
    line TEXT NOT NULL, date INTEGER NOT NULL, UNIQUE (sha, line));
CREATE TABLE revisions (slug TEXT NOT NULL, seq INTEGER NOT NULL, line TEXT NOT NULL,
    sha TEXT NOT NULL, parent TEXT, date INTEGER NOT NULL, author_name TEXT NOT NULL,
    author_email TEXT NOT NULL, message TEXT NOT NULL, action TEXT NOT NULL, blob TEXT,
    valid INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (slug, seq));
CREATE INDEX revisions_line ON revisions (line, seq);
-- `content` (in articles and live): the blob id the file would have without `publish_at`,
-- NULL when it has none; a draft differing from what is live only in its schedule is live
CREATE TABLE articles (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, blob TEXT NOT NULL,
    content TEXT, revision TEXT NOT NULL, title TEXT, section TEXT, language TEXT,
    publish_at INTEGER,
    created_at INTEGER NOT NULL, created_name TEXT NOT NULL, created_email TEXT NOT NULL,
    updated_at INTEGER NOT NULL, updated_name TEXT NOT NULL, updated_email TEXT NOT NULL,
    problems TEXT);
CREATE INDEX articles_updated ON articles (updated_at DESC, slug);
CREATE INDEX articles_publish_at ON articles (publish_at);
CREATE TABLE tags (tag TEXT NOT NULL, article INTEGER NOT NULL, PRIMARY KEY (tag, article))
    WITHOUT ROWID;
CREATE INDEX tags_article ON tags (article);
CREATE VIRTUAL TABLE fulltext USING fts5({", ".join(search.COLUMNS)}, {search.FTS_OPTIONS});
CREATE TABLE live (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, blob TEXT NOT NULL,
    content TEXT, revision TEXT NOT NULL, published_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL, title TEXT, section TEXT, language TEXT, grp TEXT NOT NULL);
CREATE INDEX live_order ON live (published_at, id);
CREATE INDEX live_group ON live (grp, language);
CREATE INDEX live_section ON live (section, published_at, id);
CREATE INDEX live_language ON live (language, published_at, id);
CREATE TABLE live_tags (tag TEXT NOT NULL, published_at INTEGER NOT NULL,
    article INTEGER NOT NULL, PRIMARY KEY (tag, published_at, article)) WITHOUT ROWID;
CREATE INDEX live_tags_article ON live_tags (article);
CREATE TABLE live_authors (name TEXT NOT NULL, published_at INTEGER NOT NULL,
    article INTEGER NOT NULL, PRIMARY KEY (name, published_at, article)) WITHOUT ROWID;
CREATE INDEX live_authors_article ON live_authors (article);
CREATE VIRTUAL TABLE live_text USING fts5({", ".join(search.COLUMNS)}, {search.FTS_OPTIONS});
-- Live articles no longer on main (a delete cut in half between its two refs, or a plain-git
-- delete on main alone) are not delivered. The triggers keep this usually empty list, so lists
-- walk one index in order instead of checking every live article against main.
CREATE TABLE withdrawn (article INTEGER PRIMARY KEY);
CREATE TRIGGER live_added AFTER INSERT ON live
    WHEN NOT EXISTS (SELECT 1 FROM articles WHERE slug = NEW.slug)
    BEGIN INSERT OR IGNORE INTO withdrawn VALUES (NEW.id); END;
CREATE TRIGGER live_removed AFTER DELETE ON live
    BEGIN DELETE FROM withdrawn WHERE article = OLD.id; END;
CREATE TRIGGER draft_added AFTER INSERT ON articles
    BEGIN DELETE FROM withdrawn WHERE article IN (SELECT id FROM live WHERE slug = NEW.slug); END;
CREATE TRIGGER draft_removed AFTER DELETE ON articles
    BEGIN INSERT OR IGNORE INTO withdrawn SELECT id FROM live WHERE slug = OLD.slug; END;
CREATE TABLE cards (blob TEXT PRIMARY KEY, card TEXT NOT NULL);
-- what `rules.check_article` found in a file (NULL: a valid article), so each is read once
CREATE TABLE checks (blob TEXT NOT NULL, slug TEXT NOT NULL, problems TEXT,
    PRIMARY KEY (blob, slug)) WITHOUT ROWID;
-- a live file's whole public JSON (its card and body), so a read serves it as it is
CREATE TABLE documents (blob TEXT PRIMARY KEY, json TEXT NOT NULL);
"""


class Tables:
    """The index file: its schema, a connection per thread, and its transactions. Every other
    part of the index reads and writes through these."""

    def __init__(self, git_dir: str) -> None:
        self.path = private.path(git_dir, "index.sqlite")
        self._local = threading.local()
        self._language_sets: dict[tuple[Any, ...], tuple[str, ...]] = {}

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection (a transaction cannot be shared between threads)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            try:
                db = private.connect(self.path)
                db.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:
                # a read-only repository: answer from the index as it is
                db = private.connect(self.path, read_only=True)
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
                    "AND name NOT LIKE 'sqlite_%' ORDER BY sql NOT LIKE 'CREATE VIRTUAL%'"
                ).fetchall()
                for (name,) in tables:
                    db.execute(f'DROP TABLE IF EXISTS "{name}"')
                for statement in _statements(SCHEMA):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for every write this thread makes until the batch ends (its reads
        see them), committed then. Rolled back if the batch raises, or if a write in it
        failed (a caller may carry on after a failed index write: the index is derived, and
        catches up from git)."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        self._local.batch, self._local.failed = True, False
        try:
            yield
        except BaseException:
            self._local.failed = True
            raise
        finally:
            self._local.batch = False
            if db.in_transaction:  # not when SQLite rolled back already (disk full)
                db.execute("ROLLBACK" if self._local.failed else "COMMIT")

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (or the batch's, inside one)."""
        db = self.db
        if getattr(self._local, "batch", False):
            # no savepoint: FTS5 writes its pending terms out at each one
            try:
                yield db
            except BaseException:
                self._local.failed = True
                raise
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back already (disk full)
                db.execute("ROLLBACK")
            raise

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """One snapshot of the index for several statements (a reader never waits: WAL)."""
        db = self.db
        if getattr(self._local, "batch", False):
            yield db  # inside the batch's transaction
            return
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    @staticmethod
    def tip(db: sqlite3.Connection, line: str) -> str | None:
        """The commit of `line` the index reflects, as `db` sees it (None: not seen)."""
        row = db.execute("SELECT sha FROM tips WHERE line = ?", (line,)).fetchone()
        return row[0] if row else None

    def tips(self, db: sqlite3.Connection | None = None) -> Tips:
        """The commit of each line the index reflects (None for a line it has not seen), as
        `db` (default: this thread's connection) sees it."""
        found = dict((db or self.db).execute("SELECT line, sha FROM tips"))
        return Tips.of({line: found.get(line) for line in LINES})

    def matching(
        self,
        q: str,
        key: str,
        table: str,
        language: str | None,
        where: list[str],
        args: dict[str, Any],
    ) -> bool:
        """Add a full-text condition on `table` for the words of `q` (in `language`, or in
        those of the articles it holds) as the last of `where`; False if `q` has no words."""
        match = search.match(q, (language,) if language else self._languages(table))
        if match is None:
            return False
        where.append(f"{key} IN (SELECT rowid FROM {table} WHERE {table} MATCH :q)")
        args["q"] = match
        return True

    def _languages(self, table: str) -> tuple[str, ...]:
        """The languages of the articles a full-text table holds (live or drafts), kept per
        state of the index."""
        db = self.db
        source = "live" if table == "live_text" else "articles"
        seen = (*self.tips(db).values(), source)
        found = self._language_sets.get(seen)
        if found is None:
            found = tuple(
                sorted(
                    {r[0] or "en" for r in db.execute(f"SELECT DISTINCT language FROM {source}")}
                )
            ) or ("en",)
            if len(self._language_sets) >= 64:
                self._language_sets.clear()
            self._language_sets[seen] = found
        return found


def _statements(script: str) -> Iterator[str]:
    """The statements of an SQL script one by one (a trigger's body holds semicolons too)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement
            statement = ""
