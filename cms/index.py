"""A derived index of the content repository, in SQLite beside it (`<git dir>/cms/index.sqlite`).

It answers what git answers slowly at scale (an article's revisions on both lines of history,
who created it and when, what is live, lists with filters and full-text search) and is only
ever a function of git: for each line (`main`, `published`) it remembers the commit it reflects
and catches up by reading the commits after it (`git log old..new`), never by re-reading
everything. When a line no longer descends from that commit (a force push) the line is rebuilt
from its history. Delete the file and it is rebuilt. Every process opens it; SQLite's locking
makes them agree.
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

from . import layout, messages, public
from .articles import seconds
from .repository import CommitRecord, Repository
from .summary import has_own_summary

MAIN, PUBLISHED = "main", "published"
LINES = (MAIN, PUBLISHED)
SCHEMA_VERSION = 6
SCHEMA = """
CREATE TABLE tips (line TEXT PRIMARY KEY, sha TEXT NOT NULL);
CREATE TABLE commits (seq INTEGER PRIMARY KEY AUTOINCREMENT, sha TEXT NOT NULL,
    line TEXT NOT NULL, date INTEGER NOT NULL, UNIQUE (sha, line));
CREATE TABLE revisions (slug TEXT NOT NULL, seq INTEGER NOT NULL, line TEXT NOT NULL,
    sha TEXT NOT NULL, parent TEXT, date INTEGER NOT NULL, author_name TEXT NOT NULL,
    author_email TEXT NOT NULL, message TEXT NOT NULL, action TEXT NOT NULL, blob TEXT,
    PRIMARY KEY (slug, seq));
CREATE INDEX revisions_line ON revisions (line, seq);
CREATE TABLE articles (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, blob TEXT NOT NULL,
    revision TEXT NOT NULL, title TEXT, section TEXT, language TEXT, publish_at INTEGER,
    created_at INTEGER NOT NULL, created_name TEXT NOT NULL, created_email TEXT NOT NULL,
    updated_at INTEGER NOT NULL, updated_name TEXT NOT NULL, updated_email TEXT NOT NULL);
CREATE INDEX articles_updated ON articles (updated_at DESC, slug);
CREATE INDEX articles_publish_at ON articles (publish_at);
CREATE TABLE tags (tag TEXT NOT NULL, article INTEGER NOT NULL, PRIMARY KEY (tag, article))
    WITHOUT ROWID;
CREATE INDEX tags_article ON tags (article);
CREATE VIRTUAL TABLE fulltext USING fts5(title, summary, body,
    tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE live (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, blob TEXT NOT NULL,
    revision TEXT NOT NULL, published_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    title TEXT, section TEXT, language TEXT);
CREATE INDEX live_order ON live (published_at, id);
CREATE INDEX live_section ON live (section, published_at, id);
CREATE INDEX live_language ON live (language, published_at, id);
CREATE TABLE live_tags (tag TEXT NOT NULL, published_at INTEGER NOT NULL,
    article INTEGER NOT NULL, PRIMARY KEY (tag, published_at, article)) WITHOUT ROWID;
CREATE INDEX live_tags_article ON live_tags (article);
CREATE TABLE live_authors (name TEXT NOT NULL, published_at INTEGER NOT NULL,
    article INTEGER NOT NULL, PRIMARY KEY (name, published_at, article)) WITHOUT ROWID;
CREATE INDEX live_authors_article ON live_authors (article);
CREATE VIRTUAL TABLE live_text USING fts5(title, summary, body,
    tokenize = 'unicode61 remove_diacritics 2');
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
"""
ARTICLE_COLUMNS = (
    "a.slug, a.blob, a.revision, a.publish_at, a.created_at, a.created_name, a.created_email, "
    "a.updated_at, a.updated_name, a.updated_email, l.blob, l.revision, l.published_at"
)
# A publication of up to this many articles works out their cards as it is indexed, so reads
# never wait for a summary; a bulk push of more keeps only the quick ones (no summary to
# generate) and leaves the rest to the first read of each.
CARDS_AT_PUBLISH = 50
LIVE_COLUMNS = "l.slug, l.blob, l.revision, l.published_at, l.updated_at, l.title"
VISIBLE = "l.id NOT IN (SELECT article FROM withdrawn)"
# a delivery filter: the table whose index lists its articles by (value, published_at, article)
LIVE_FILTERS = {
    "tag": ("live_tags", "tag", "article"), "author": ("live_authors", "name", "article"),
    "section": ("live", "section", "id"), "language": ("live", "language", "id"),
}
REVISION_COLUMNS = "sha, parent, date, author_name, author_email, message, action, blob, line"
# A draft with a `publish_at` is due when that time has come and nothing was published since.
DUE = (
    "a.publish_at IS NOT NULL AND a.publish_at <= :now AND NOT EXISTS (SELECT 1 FROM revisions r"
    " WHERE r.slug = a.slug AND r.line = 'published' AND r.blob IS NOT NULL"
    " AND r.date >= a.publish_at) AND NOT EXISTS (SELECT 1 FROM live l"
    " WHERE l.slug = a.slug AND l.blob = a.blob)"
)
STATE = (
    "CASE WHEN l.blob = a.blob THEN 'published' WHEN a.publish_at > :now THEN 'scheduled' "
    "WHEN l.blob IS NULL THEN 'draft' ELSE 'changed' END"
)


def plain_text(doc: dict[str, Any]) -> str:
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
        self._totals: dict[tuple[Any, ...], int] = {}

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection (a transaction cannot be shared between threads)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            try:
                db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:
                # a read-only repository: answer from the index as it is
                db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=60,
                                     isolation_level=None)
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
    def _writing(self) -> Iterator[sqlite3.Connection]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back already (disk full)
                db.execute("ROLLBACK")
            raise

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """One snapshot of the index for several statements (a reader never waits: WAL)."""
        db = self.db
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    @staticmethod
    def _tip(db: sqlite3.Connection, line: str) -> str | None:
        row = db.execute("SELECT sha FROM tips WHERE line = ?", (line,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def _tips(db: sqlite3.Connection) -> dict[str, str | None]:
        """The commit of each line the index reflects (None for a line it has not seen)."""
        return {line: None for line in LINES} | dict(db.execute("SELECT line, sha FROM tips"))

    # -- keeping up with git ----------------------------------------------------

    def sync(self) -> dict[str, str | None]:
        """Bring the index up to both lines of history; return where they point."""
        tips = {line: self.repo.ref(line) for line in LINES}
        # against the file itself: other processes move the index too, and a line may go
        # back to a commit this process saw before they did
        if tips != self._tips(self.db):
            with self._writing() as db:
                for line in LINES:
                    tips[line] = self._catch_up(db, line)
        return tips

    def _catch_up(self, db: sqlite3.Connection, line: str) -> str | None:
        # read the ref again under the index's write lock, so the index never runs ahead of it
        tip = self.repo.ref(line)
        current = self._tip(db, line)
        if current == tip:
            return tip
        if current is not None and (tip is None or not self.repo.is_ancestor(current, tip)):
            self._clear(db, line)
            current = None
        if tip is None:
            return None
        for record in self.repo.log(current, tip):
            self._apply(db, line, record, {})
        db.execute("INSERT OR REPLACE INTO tips VALUES (?, ?)", (line, tip))
        return tip

    def record(self, line: str, record: CommitRecord, docs: dict[str, dict[str, Any]]) -> None:
        """Add a commit this process just made, without asking git, if it follows the tip."""
        parent = record.parents[0] if record.parents else None
        with self._writing() as db:
            follows = self._tip(db, line) == parent
            if follows:
                self._apply(db, line, record, docs)
                db.execute("INSERT OR REPLACE INTO tips VALUES (?, ?)", (line, record.sha))
        if not follows:
            self.sync()

    def _clear(self, db: sqlite3.Connection, line: str) -> None:
        db.execute("DELETE FROM tips WHERE line = ?", (line,))
        db.execute("DELETE FROM commits WHERE line = ?", (line,))
        db.execute("DELETE FROM revisions WHERE line = ?", (line,))
        tables = ("articles", "tags", "fulltext") if line == MAIN else (
            "live", "live_tags", "live_authors", "live_text")
        for table in tables:
            db.execute(f"DELETE FROM {table}")

    def _action(self, record: CommitRecord) -> str:
        action = messages.trailers(record.message).get("Action", "")
        if record.committer_email == self.committer_email and action in messages.VERBS:
            return action
        return "external"

    def _apply(self, db: sqlite3.Connection, line: str, record: CommitRecord,
               docs: dict[str, dict[str, Any]]) -> None:
        seq = db.execute(
            "INSERT INTO commits (sha, line, date) VALUES (?, ?, ?)",
            (record.sha, line, record.date),
        ).lastrowid
        action = self._action(record)
        parent = record.parents[0] if record.parents else None
        for path, blob in record.changes.items():
            slug = layout.slug_from_path(path)
            if slug is None:
                continue
            db.execute(
                f"INSERT INTO revisions (slug, seq, {REVISION_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (slug, seq, record.sha, parent, record.date, record.author.name,
                 record.author.email, record.message, action, blob, line),
            )
            table = "articles" if line == MAIN else "live"
            row = db.execute(f"SELECT id FROM {table} WHERE slug = ?", (slug,)).fetchone()
            if blob is None:
                if row:
                    self._forget(db, line, row[0])
                continue
            doc = docs.get(slug)
            if doc is None:
                doc = self._parse(blob)
            if line == MAIN:
                self._remember_draft(db, row[0] if row else None, slug, blob, doc, record)
            else:
                self._remember_live(db, row[0] if row else None, slug, blob, doc, record)
                if len(record.changes) <= CARDS_AT_PUBLISH or has_own_summary(doc):
                    db.execute("INSERT OR IGNORE INTO cards VALUES (?, ?)",
                               (blob, json.dumps(public.card(doc), ensure_ascii=False)))

    def _parse(self, blob: str) -> dict[str, Any]:
        try:
            doc = json.loads(self.repo.read(blob))
        except ValueError:
            return {}
        return doc if isinstance(doc, dict) else {}

    def _forget(self, db: sqlite3.Connection, line: str, article: int) -> None:
        tables: tuple[tuple[str, str], ...] = (
            ("articles", "id"), ("tags", "article"), ("fulltext", "rowid"))
        if line == PUBLISHED:
            tables = (("live", "id"), ("live_tags", "article"), ("live_authors", "article"),
                      ("live_text", "rowid"))
        for table, key in tables:
            db.execute(f"DELETE FROM {table} WHERE {key} = ?", (article,))

    def _remember_draft(self, db: sqlite3.Connection, article: int | None, slug: str,
                        blob: str, doc: dict[str, Any], record: CommitRecord) -> None:
        who = (record.date, record.author.name, record.author.email)
        fields = (blob, record.sha, _text(doc, "title"), _text(doc, "section"),
                  _text(doc, "language"), seconds(doc.get("publish_at")))
        if article is None:
            article = db.execute(
                "INSERT INTO articles (slug, blob, revision, title, section, language, "
                "publish_at, created_at, created_name, created_email, updated_at, updated_name, "
                "updated_email) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (slug, *fields, *who, *who),
            ).lastrowid
        else:
            db.execute(
                "UPDATE articles SET blob = ?, revision = ?, title = ?, section = ?, "
                "language = ?, publish_at = ?, updated_at = ?, updated_name = ?, "
                "updated_email = ? WHERE id = ?",
                (*fields, *who, article),
            )
        assert article is not None
        self._words(db, "tags", "fulltext", article, doc, [
            (t.lower(), article) for t in _list(doc, "tags") if isinstance(t, str)])

    def _remember_live(self, db: sqlite3.Connection, article: int | None, slug: str,
                       blob: str, doc: dict[str, Any], record: CommitRecord) -> None:
        fields = (blob, record.sha, _text(doc, "title"), _text(doc, "section"),
                  _text(doc, "language"))
        if article is None:
            article = db.execute(
                "INSERT INTO live (slug, blob, revision, title, section, language, "
                "published_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (slug, *fields, record.date, record.date),
            ).lastrowid
        else:
            db.execute(
                "UPDATE live SET blob = ?, revision = ?, title = ?, section = ?, language = ?, "
                "updated_at = ? WHERE id = ?",
                (*fields, record.date, article),
            )
        assert article is not None
        # live_tags and live_authors carry published_at: a tag's page walks their primary key
        at = db.execute("SELECT published_at FROM live WHERE id = ?", (article,)).fetchone()[0]
        self._words(db, "live_tags", "live_text", article, doc, [
            (t.lower(), at, article) for t in _list(doc, "tags") if isinstance(t, str)])
        db.execute("DELETE FROM live_authors WHERE article = ?", (article,))
        names = {a["name"].lower() for a in _list(doc, "authors")
                 if isinstance(a, dict) and isinstance(a.get("name"), str)}
        db.executemany("INSERT INTO live_authors VALUES (?, ?, ?)",
                       [(n, at, article) for n in names])

    @staticmethod
    def _words(db: sqlite3.Connection, tags_table: str, text_table: str, article: int,
               doc: dict[str, Any], tags: list[tuple[Any, ...]]) -> None:
        db.execute(f"DELETE FROM {tags_table} WHERE article = ?", (article,))
        if tags:
            marks = ", ".join("?" * len(tags[0]))
            db.executemany(f"INSERT OR IGNORE INTO {tags_table} VALUES ({marks})", tags)
        db.execute(f"DELETE FROM {text_table} WHERE rowid = ?", (article,))
        db.execute(
            f"INSERT INTO {text_table} (rowid, title, summary, body) VALUES (?, ?, ?, ?)",
            (article, _text(doc, "title") or "", _text(doc, "summary") or "", plain_text(doc)),
        )

    # -- the draft line, for editors ------------------------------------------------------

    def article(self, slug: str, now: int) -> dict[str, Any] | None:
        row = self.db.execute(
            f"SELECT {ARTICLE_COLUMNS}, {STATE} FROM articles a LEFT JOIN live l "
            "ON l.slug = a.slug WHERE a.slug = :slug", {"slug": slug, "now": now},
        ).fetchone()
        return _article_row(row) if row else None

    def articles(
        self, *, now: int, state: str | None = None, section: str | None = None,
        tag: str | None = None, q: str | None = None, limit: int, offset: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """Return one page of articles, most recently updated first, and the total."""
        where: list[str] = []
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
        if q is not None and not _matching(q, "a.id", "fulltext", where, args):
            return [], 0
        rows, total = self._page(f"{ARTICLE_COLUMNS}, {STATE}",
                                 "articles a LEFT JOIN live l ON l.slug = a.slug", where, args,
                                 "a.updated_at DESC, a.slug")
        return [_article_row(r) for r in rows], total

    def _page(self, columns: str, source: str, where: list[str], args: dict[str, Any],
              order: str) -> tuple[list[tuple[Any, ...]], int]:
        """One page of rows (args carry :limit and :offset) and how many there are in all."""
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        db = self.db
        total = db.execute(f"SELECT COUNT(*) FROM {source} {clause}", args).fetchone()[0]
        rows = db.execute(
            f"SELECT {columns} FROM {source} {clause} ORDER BY {order} "
            "LIMIT :limit OFFSET :offset", args,
        ).fetchall()
        return rows, total

    def due(self, now: int) -> list[str]:
        """Slugs of scheduled drafts whose time has come."""
        rows = self.db.execute(
            f"SELECT a.slug FROM articles a WHERE {DUE} ORDER BY a.publish_at", {"now": now}
        )
        return [r[0] for r in rows]

    def revisions_exist(self) -> bool:
        return self.db.execute("SELECT 1 FROM revisions LIMIT 1").fetchone() is not None

    def slugs(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT slug FROM articles ORDER BY slug")]

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]

    def revisions(self, slug: str, *, line: str | None = None, limit: int, offset: int
                  ) -> tuple[list[dict[str, Any]], int]:
        """Return one page of an article's revisions, newest first, and the total.

        Commit times have whole seconds; within one second a line keeps its own order, and a
        publication sorts after the draft edits it can only have followed.
        """
        where, args = "slug = ?", [slug]
        if line is not None:
            where += " AND line = ? AND blob IS NOT NULL"
            args.append(line)
        db = self.db
        total = db.execute(f"SELECT COUNT(*) FROM revisions WHERE {where}", args).fetchone()[0]
        rows = db.execute(
            f"SELECT {REVISION_COLUMNS} FROM revisions WHERE {where} "
            "ORDER BY date DESC, line DESC, seq DESC LIMIT ? OFFSET ?",
            [*args, limit, offset],
        ).fetchall()
        return [_revision_row(r) for r in rows], total

    def resolve(self, prefix: str, line: str | None = None) -> list[tuple[str, int]]:
        """Return up to two distinct (commit, date) whose id starts with `prefix`."""
        clause = "" if line is None else "AND line = :line"
        return self.db.execute(
            f"SELECT DISTINCT sha, date FROM commits WHERE sha >= :lo AND sha < :hi {clause} "
            "ORDER BY sha LIMIT 2", {"lo": prefix, "hi": prefix + "g", "line": line},
        ).fetchall()

    # -- the published line, for frontends ----------------------------------------------------
    # An article is live when its file is on `published` and still on `main`: deleting removes
    # it from both lines in one ref transaction, and `withdrawn` keeps a deleted article out of
    # delivery even if that transaction were cut in half.

    def live(self, slug: str) -> dict[str, Any] | None:
        row = self.db.execute(
            f"SELECT {LIVE_COLUMNS} FROM live l WHERE l.slug = ? AND {VISIBLE}", (slug,),
        ).fetchone()
        return _live_row(row) if row else None

    def live_list(
        self, *, section: str | None = None, tag: str | None = None, author: str | None = None,
        language: str | None = None, q: str | None = None, limit: int, offset: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """Return one page of live articles, newest `published_at` first, each with its kept
        card (JSON, or None), and the total.

        Both walk one index already in (published_at, article) order, the first filter's
        (tag, author, section, language) or `live_order`; only the page's rows are read.
        """
        given = {"tag": tag and tag.lower(), "author": author and author.lower(),
                 "section": section, "language": language}
        args: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        walk, key, where = "live k", "k.id", list[str]()
        for name in args:
            table, column, article = LIVE_FILTERS[name]
            if not where:
                walk, key = f"{table} k", f"k.{article}"
                where.append(f"k.{column} = :{name}")
            else:
                where.append(f"{key} IN (SELECT {article} FROM {table} WHERE {column} = :{name})")
        if q is not None and not _matching(q, key, "live_text", where, args):
            return [], 0
        with self._reading() as db:
            if db.execute("SELECT 1 FROM withdrawn LIMIT 1").fetchone():
                where.append(f"{key} NOT IN (SELECT article FROM withdrawn)")
            clause = f"WHERE {' AND '.join(where)}" if where else ""
            count = f"SELECT COUNT(*) FROM {walk} {clause}"
            # a total is a function of the query and of the commits the index reflects, so
            # the pages of one list share it
            seen = (*self._tips(db).values(), count, *sorted(args.items()))
            total = self._totals.get(seen)
            if total is None:
                total = db.execute(count, args).fetchone()[0]
                if len(self._totals) >= 1024:
                    self._totals.clear()
                self._totals[seen] = total
            rows = db.execute(
                f"SELECT {LIVE_COLUMNS}, c.card FROM (SELECT {key} AS id, k.published_at AS at "
                f"FROM {walk} {clause} ORDER BY k.published_at DESC, {key} DESC LIMIT :limit "
                "OFFSET :offset) p JOIN live l ON l.id = p.id LEFT JOIN cards c "
                "ON c.blob = l.blob ORDER BY p.at DESC, p.id DESC",
                {**args, "limit": limit, "offset": offset},
            ).fetchall()
        return [{**_live_row(r[:-1]), "card": r[-1]} for r in rows], total

    def neighbours(self, slug: str) -> tuple[dict[str, str] | None, dict[str, str] | None]:
        """The live articles published just before and just after `slug`."""
        db = self.db
        here = db.execute("SELECT published_at, id FROM live WHERE slug = ?",
                          (slug,)).fetchone()
        if here is None:
            return None, None
        key = {"at": here[0], "id": here[1]}
        visible = f"SELECT l.slug, l.title FROM live l WHERE {VISIBLE} AND"

        def first(*queries: str) -> tuple[str, str] | None:
            # ties on the second first, then across seconds: each query walks the index
            # (a row-value comparison would walk every article sharing the second)
            for query in queries:
                row = db.execute(f"{visible} {query} LIMIT 1", key).fetchone()
                if row is not None:
                    return row
            return None

        before = first("l.published_at = :at AND l.id < :id ORDER BY l.id DESC",
                       "l.published_at < :at ORDER BY l.published_at DESC, l.id DESC")
        after = first("l.published_at = :at AND l.id > :id ORDER BY l.id",
                      "l.published_at > :at ORDER BY l.published_at, l.id")

        def pair(row: tuple[str, str] | None) -> dict[str, str] | None:
            return {"slug": row[0], "title": row[1]} if row else None

        return pair(before), pair(after)

    def card(self, blob: str) -> dict[str, Any] | None:
        """The public card kept for a file (see `public`), if any."""
        row = self.db.execute("SELECT card FROM cards WHERE blob = ?", (blob,)).fetchone()
        return json.loads(row[0]) if row else None

    def keep_cards(self, cards: dict[str, dict[str, Any]]) -> None:
        """Keep cards worked out on reading, in one transaction; a cache, so a busy, full or
        read-only disk only means working them out again next time."""
        try:
            with self._writing() as db:
                db.executemany("INSERT OR IGNORE INTO cards VALUES (?, ?)", [
                    (blob, json.dumps(card, ensure_ascii=False)) for blob, card in cards.items()])
        except sqlite3.OperationalError:
            pass

    def on_line(self, sha: str, line: str) -> bool:
        return self.db.execute("SELECT 1 FROM commits WHERE sha = ? AND line = ?",
                               (sha, line)).fetchone() is not None

    def live_slugs(self) -> dict[str, str]:
        """Every live article's slug and blob."""
        return dict(self.db.execute(
            f"SELECT l.slug, l.blob FROM live l WHERE {VISIBLE}").fetchall())


def _statements(script: str) -> Iterator[str]:
    """The statements of an SQL script one by one (a trigger's body holds semicolons too)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement
            statement = ""


def _matching(q: str, key: str, table: str, where: list[str], args: dict[str, Any]) -> bool:
    """Add a full-text condition on `table` for the words of `q`; False if it has none."""
    match = fts_query(q)
    if match is None:
        return False
    where.append(f"{key} IN (SELECT rowid FROM {table} WHERE {table} MATCH :q)")
    args["q"] = match
    return True


def _text(doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    return value if isinstance(value, str) else None


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    return value if isinstance(value, list) else []


def _article_row(row: tuple[Any, ...]) -> dict[str, Any]:
    (slug, blob, revision, publish_at, c_at, c_name, c_email, u_at, u_name, u_email,
     live_blob, live_revision, live_at, state) = row
    return {
        "slug": slug, "blob": blob, "revision": revision, "publish_at": publish_at,
        "created_at": c_at, "created_by": {"name": c_name, "email": c_email},
        "updated_at": u_at, "updated_by": {"name": u_name, "email": u_email},
        "live_blob": live_blob, "published_revision": live_revision, "published_at": live_at,
        "state": state,
    }


def _live_row(row: tuple[Any, ...]) -> dict[str, Any]:
    slug, blob, revision, published_at, updated_at, title = row
    return {"slug": slug, "blob": blob, "revision": revision, "published_at": published_at,
            "updated_at": updated_at, "title": title}


def _revision_row(row: tuple[Any, ...]) -> dict[str, Any]:
    sha, parent, date, name, email, message, action, blob, line = row
    return {
        "revision": sha, "parent": parent, "date": date,
        "author": {"name": name, "email": email}, "message": message, "action": action,
        "blob": blob, "line": line,
    }
