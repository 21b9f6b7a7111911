"""Keeping the index up with git: reading the commits after the ones it reflects.

For each line (`main`, `published`) the index remembers the commit it reflects and catches up
by reading the commits after it (`git log old..new`), never by re-reading everything. When a
line no longer descends from that commit (a force push) both lines are rebuilt from their
history (their commits share one order, which revisions are listed in).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from cms.content import canonical, layout, messages
from cms.content.layout import LINES, MAIN, PUBLISHED
from cms.content.text import has_own_summary, search_text
from cms.git.objects import MODE_FILE, ObjectStream
from cms.git.repository import CommitRecord, Repository, Tips, blob_id
from cms.index import search
from cms.index.tables import REVISION_COLUMNS, CardMaker, Tables
from cms.integrity import rules
from cms.times import seconds

# A publication of up to this many articles works out their cards as it is indexed, so reads
# never wait for a summary; a bulk push of more keeps only the quick ones (no summary to
# generate) and leaves the rest to the first read of each.
CARDS_AT_PUBLISH = 50
# a catch-up reads the files its commits wrote this many commits at a time, through one
# `git cat-file --batch` (a round trip per file cost more than checking it)
READ_AHEAD = 500
# full-text rows kept by blob: the published line's row of a draft just indexed is not built
# again, nor the row of a file restored or written twice
ROWS_KEPT = 1024


class CatchUp:
    """Writing to the index: what git says, commit by commit."""

    def __init__(
        self,
        tables: Tables,
        repo: Repository,
        committer_email: str,
        make_card: CardMaker | None = None,
    ) -> None:
        """`committer_email` tells the CMS's own commits from others' (`messages.action`);
        `make_card`, when given, works out the cards of what is published as it is indexed
        (without it, delivery works them out on first read)."""
        self.tables = tables
        self.repo = repo
        self.committer_email = committer_email
        self.make_card = make_card
        # what one `apply_all` of this thread holds: files read ahead, full-text rows to write
        self._run = threading.local()
        self._rows: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._rows_lock = threading.Lock()
        # how many files were checked by the rules (never twice for one blob at one path)
        self.checked = 0

    def catch_up(self) -> Tips:
        """Bring the index up to both lines of history; return where they point."""
        tips = self.repo.tips()
        # against the file itself: other processes move the index too, and a line may go
        # back to a commit this process saw before they did
        if tips != self.tables.tips():
            with self.tables.writing() as db:
                tips = self._catch_up_lines(db)
        return tips

    def _catch_up_lines(self, db: sqlite3.Connection) -> Tips:
        """Apply the new commits of both lines in one order, which is the order of revisions
        (see `interleave`). Commits the CMS makes are recorded as they are made (`record`),
        in that same order, so a rebuilt index agrees with a kept one."""
        # read the refs again under the index's write lock: the index never runs ahead of them
        tips = self.repo.tips()
        since = {line: self.tables.tip(db, line) for line in LINES}
        if any(
            old is not None and old != tip and (tip is None or not self.repo.is_ancestor(old, tip))
            for old, tip in ((since[line], tips[line]) for line in LINES)
        ):
            # a line no longer descends from what the index reflects (a force push): both
            # are read again, so that their commits keep one order
            for line in LINES:
                self._clear(db, line)
            since = dict.fromkeys(LINES)
        new: dict[str, list[CommitRecord]] = {MAIN: [], PUBLISHED: []}
        for line in LINES:
            tip = tips[line]
            if tip is not None and tip != since[line]:
                new[line] = list(self.repo.log(since[line], tip))
        self.apply_all(db, self.interleave(new[MAIN], new[PUBLISHED]))
        for line, records in new.items():
            if records:
                db.execute("INSERT OR REPLACE INTO tips VALUES (?, ?)", (line, tips[line]))
        return tips

    def apply_all(
        self,
        db: sqlite3.Connection,
        commits: Iterable[tuple[str, CommitRecord]],
        cards: bool = True,
    ) -> None:
        """`apply` each of `commits` (line, record) in order inside the transaction `db`.

        The files they wrote that the index has no verdict on are read READ_AHEAD commits at
        a time through one `git cat-file --batch`, and each article's full-text row is written
        once, as its last version here leaves it (an article saved 20 times in a push is
        stemmed and put into FTS5 once, not 20 times)."""
        run = self._run
        run.text = {}
        try:
            chunk: list[tuple[str, CommitRecord]] = []
            for item in commits:
                chunk.append(item)
                if len(chunk) >= READ_AHEAD:
                    self._apply_chunk(db, chunk, cards)
                    chunk = []
            self._apply_chunk(db, chunk, cards)
            for (table, article), (blob, doc) in run.text.items():
                self._write_text(db, table, article, blob, doc)
        finally:
            run.text = None
            run.files = None

    def _apply_chunk(
        self, db: sqlite3.Connection, chunk: list[tuple[str, CommitRecord]], cards: bool
    ) -> None:
        self._run.files = self._read_ahead(db, chunk)
        for line, record in chunk:
            self.apply(db, line, record, {}, cards)

    def _read_ahead(
        self, db: sqlite3.Connection, chunk: list[tuple[str, CommitRecord]]
    ) -> dict[str, bytes | int]:
        """The plain article files `chunk` wrote that have no verdict yet: blob -> its bytes,
        or its size when that is over the limit (such a file is never read whole)."""
        wanted: dict[str, None] = {}
        for _, record in chunk:
            for path, blob in record.changes.items():
                if blob is None or record.modes.get(path, MODE_FILE) != MODE_FILE:
                    continue
                slug = layout.slug_from_path(path)
                if slug is not None and not self._kept(db, blob, slug):
                    wanted[blob] = None
        if not wanted:
            return {}
        with ObjectStream(self.repo.git_dir) as objects:
            sizes = objects.sizes(list(wanted))
            small = [b for b in wanted if not rules.size_problems(sizes[b])]
            found: dict[str, bytes | int] = {b: sizes[b] for b in wanted}
            found.update(objects.many(small))
        return found

    @staticmethod
    def _kept(db: sqlite3.Connection, blob: str, slug: str) -> bool:
        return (
            db.execute("SELECT 1 FROM checks WHERE blob = ? AND slug = ?", (blob, slug)).fetchone()
            is not None
        )

    def record(self, line: str, record: CommitRecord, docs: dict[str, dict[str, Any]]) -> None:
        """Add a commit this process just made, without asking git, if it follows the tip."""
        parent = record.parents[0] if record.parents else None
        with self.tables.writing() as db:
            follows = self.tables.tip(db, line) == parent
            if follows:
                self.apply(db, line, record, docs)
                db.execute("INSERT OR REPLACE INTO tips VALUES (?, ?)", (line, record.sha))
        if not follows:
            self.catch_up()

    def _clear(self, db: sqlite3.Connection, line: str) -> None:
        db.execute("DELETE FROM tips WHERE line = ?", (line,))
        db.execute("DELETE FROM commits WHERE line = ?", (line,))
        db.execute("DELETE FROM revisions WHERE line = ?", (line,))
        tables = (
            ("articles", "tags", "fulltext")
            if line == MAIN
            else ("live", "live_tags", "live_authors", "live_text")
        )
        for table in tables:
            db.execute(f"DELETE FROM {table}")

    def interleave(
        self, drafts: list[CommitRecord], published: list[CommitRecord]
    ) -> Iterator[tuple[str, CommitRecord]]:
        """Both lines' commits as one sequence by the commit graph: each line keeps its own
        order, and a commit the CMS made on `published` comes right after the draft commit
        its `Revision:` trailer names (the one it published, or that was current when it
        withdrew the article), which is where the CMS made it. Other commits on `published`
        go by date, after the draft commits of the same second."""
        at = {record.sha: n for n, record in enumerate(drafts)}
        i = j = 0
        while i < len(drafts) or j < len(published):
            if j == len(published):
                yield MAIN, drafts[i]
                i += 1
                continue
            if i < len(drafts):
                source = self._source(published[j])
                waits = (
                    at.get(source, -1) >= i
                    if source is not None
                    else (drafts[i].date <= published[j].date)
                )
                if waits:
                    yield MAIN, drafts[i]
                    i += 1
                    continue
            yield PUBLISHED, published[j]
            j += 1

    def _source(self, record: CommitRecord) -> str | None:
        """The draft commit a CMS commit on `published` names in `Revision:`, if any."""
        if self._action(record) == "external":
            return None
        return messages.trailers(record.message).get("Revision")

    def _action(self, record: CommitRecord) -> str:
        return messages.action(record.message, record.committer_email, self.committer_email)

    def apply(
        self,
        db: sqlite3.Connection,
        line: str,
        record: CommitRecord,
        docs: dict[str, dict[str, Any]],
        cards: bool = True,
    ) -> None:
        """Index one commit of `line` inside the transaction `db` (its tip is the caller's
        to move); `docs`: the content of articles it wrote, when the caller has it."""
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
            doc, problems = docs.get(slug), None
            if doc is None and blob is not None:
                doc, problems = self._check(db, path, slug, record.modes.get(path, MODE_FILE), blob)
            db.execute(
                f"INSERT INTO revisions (slug, seq, {REVISION_COLUMNS}, valid) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    slug,
                    seq,
                    record.sha,
                    parent,
                    record.date,
                    record.author.name,
                    record.author.email,
                    record.message,
                    action,
                    blob,
                    line,
                    problems is None,
                ),
            )
            table = "articles" if line == MAIN else "live"
            row = db.execute(f"SELECT id FROM {table} WHERE slug = ?", (slug,)).fetchone()
            if blob is None or (problems and line == PUBLISHED):
                # an invalid file on the published line is never delivered, not even the
                # version before it: what is live is what `published` holds
                if row:
                    self._forget(db, line, row[0])
                continue
            if line == MAIN:
                self._remember_draft(
                    db, row[0] if row else None, slug, blob, doc or {}, record, problems
                )
            else:
                assert doc is not None
                self._remember_live(db, row[0] if row else None, slug, blob, doc, record)
                if (
                    cards
                    and self.make_card is not None
                    and (len(record.changes) <= CARDS_AT_PUBLISH or has_own_summary(doc))
                ):
                    db.execute(
                        "INSERT OR IGNORE INTO cards VALUES (?, ?)",
                        (blob, json.dumps(self.make_card(doc), ensure_ascii=False)),
                    )

    def _check(
        self, db: sqlite3.Connection, path: str, slug: str, mode: int, blob: str
    ) -> tuple[dict[str, Any] | None, rules.Problems | None]:
        """The fields a file holds, or None and its problems (`rules.check_article`). The
        verdict on a plain file is kept by blob and path, so it is never worked out twice: the
        other line, a file written again and later catch-ups only parse it."""
        if mode != MODE_FILE:
            return None, rules.check_article(path, mode, bytes)
        kept = db.execute(
            "SELECT problems FROM checks WHERE blob = ? AND slug = ?", (blob, slug)
        ).fetchone()
        read_ahead = getattr(self._run, "files", None) or {}
        data = read_ahead.get(blob)
        if kept is None:
            # a file over the size limit is ruled out by its size, never read whole
            size = data if isinstance(data, int) else len(data) if data is not None else None
            problems = rules.size_problems(self.repo.size(blob) if size is None else size)
            fields: dict[str, Any] = {}
            if not problems:
                data = self.repo.read(blob) if not isinstance(data, bytes) else data
                fields, problems = rules.read_checked(path, data)
            self.checked += 1
            db.execute(
                "INSERT OR REPLACE INTO checks VALUES (?, ?, ?)",
                (blob, slug, json.dumps(problems) if problems else None),
            )
            return (None, problems) if problems else (fields, None)
        kept_problems: dict[str, list[str]] | None = json.loads(kept[0]) if kept[0] else None
        if kept_problems:
            return None, kept_problems
        return rules.loose(data if isinstance(data, bytes) else self.repo.read(blob)), None

    def verdict(self, blob: str, slug: str) -> bool | None:
        """Whether the file `blob` at `slug`'s path was found to be a valid article when it
        was indexed (None: the index kept no verdict on it)."""
        row = self.tables.db.execute(
            "SELECT problems FROM checks WHERE blob = ? AND slug = ?", (blob, slug)
        ).fetchone()
        return None if row is None else row[0] is None

    def _forget(self, db: sqlite3.Connection, line: str, article: int) -> None:
        tables: tuple[tuple[str, str], ...] = (
            ("articles", "id"),
            ("tags", "article"),
            ("fulltext", "rowid"),
        )
        if line == PUBLISHED:
            tables = (
                ("live", "id"),
                ("live_tags", "article"),
                ("live_authors", "article"),
                ("live_text", "rowid"),
            )
        pending = getattr(self._run, "text", None)
        for table, key in tables:
            db.execute(f"DELETE FROM {table} WHERE {key} = ?", (article,))
            if pending is not None:
                pending.pop((table, article), None)

    def _remember_draft(
        self,
        db: sqlite3.Connection,
        article: int | None,
        slug: str,
        blob: str,
        doc: dict[str, Any],
        record: CommitRecord,
        problems: rules.Problems | None = None,
    ) -> None:
        who = (record.date, record.author.name, record.author.email)
        fields = (
            blob,
            content_id(blob, doc),
            record.sha,
            _text(doc, "title"),
            _text(doc, "section"),
            _text(doc, "language"),
            seconds(doc.get("publish_at")),
            json.dumps(problems) if problems else None,
        )
        if article is None:
            article = db.execute(
                "INSERT INTO articles (slug, blob, content, revision, title, section, language, "
                "publish_at, problems, created_at, created_name, created_email, updated_at, "
                "updated_name, updated_email) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (slug, *fields, *who, *who),
            ).lastrowid
        else:
            db.execute(
                "UPDATE articles SET blob = ?, content = ?, revision = ?, title = ?, "
                "section = ?, language = ?, publish_at = ?, problems = ?, updated_at = ?, "
                "updated_name = ?, "
                "updated_email = ? WHERE id = ?",
                (*fields, *who, article),
            )
        assert article is not None
        self._words(
            db,
            "tags",
            "fulltext",
            article,
            blob,
            doc,
            [(t.lower(), article) for t in _list(doc, "tags") if isinstance(t, str)],
        )

    def _remember_live(
        self,
        db: sqlite3.Connection,
        article: int | None,
        slug: str,
        blob: str,
        doc: dict[str, Any],
        record: CommitRecord,
    ) -> None:
        fields = (
            blob,
            content_id(blob, doc),
            record.sha,
            _text(doc, "title"),
            _text(doc, "section"),
            _text(doc, "language"),
            _text(doc, "translation_of") or slug,
        )
        if article is None:
            article = db.execute(
                "INSERT INTO live (slug, blob, content, revision, title, section, language, "
                "grp, published_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (slug, *fields, record.date, record.date),
            ).lastrowid
        else:
            db.execute(
                "UPDATE live SET blob = ?, content = ?, revision = ?, title = ?, section = ?, "
                "language = ?, grp = ?, updated_at = ? WHERE id = ?",
                (*fields, record.date, article),
            )
        assert article is not None
        # live_tags and live_authors carry published_at: a tag's page walks their primary key
        at = db.execute("SELECT published_at FROM live WHERE id = ?", (article,)).fetchone()[0]
        self._words(
            db,
            "live_tags",
            "live_text",
            article,
            blob,
            doc,
            [(t.lower(), at, article) for t in _list(doc, "tags") if isinstance(t, str)],
        )
        db.execute("DELETE FROM live_authors WHERE article = ?", (article,))
        names = {
            a["name"].lower()
            for a in _list(doc, "authors")
            if isinstance(a, dict) and isinstance(a.get("name"), str)
        }
        db.executemany(
            "INSERT INTO live_authors VALUES (?, ?, ?)", [(n, at, article) for n in names]
        )

    def _words(
        self,
        db: sqlite3.Connection,
        tags_table: str,
        text_table: str,
        article: int,
        blob: str,
        doc: dict[str, Any],
        tags: list[tuple[Any, ...]],
    ) -> None:
        db.execute(f"DELETE FROM {tags_table} WHERE article = ?", (article,))
        if tags:
            marks = ", ".join("?" * len(tags[0]))
            db.executemany(f"INSERT OR IGNORE INTO {tags_table} VALUES ({marks})", tags)
        pending = getattr(self._run, "text", None)
        if pending is not None:  # in `apply_all`: the article's last version is written
            pending[(text_table, article)] = (blob, doc)
        else:
            self._write_text(db, text_table, article, blob, doc)

    def _write_text(
        self, db: sqlite3.Connection, table: str, article: int, blob: str, doc: dict[str, Any]
    ) -> None:
        db.execute(f"DELETE FROM {table} WHERE rowid = ?", (article,))
        db.execute(
            f"INSERT INTO {table} (rowid, {', '.join(search.COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
            (article, *self.text_row(blob, doc)),
        )

    def text_row(self, blob: str, doc: dict[str, Any]) -> tuple[str, ...]:
        """The full-text columns of the file `blob` (whose fields are `doc`), built once and
        kept for the next line or write of the same file."""
        with self._rows_lock:
            row = self._rows.get(blob)
            if row is not None:
                self._rows.move_to_end(blob)
                return row
        row = search.row(doc, search_text(doc))
        with self._rows_lock:
            self._rows[blob] = row
            if len(self._rows) > ROWS_KEPT:
                self._rows.popitem(last=False)
        return row


def content_id(blob: str, doc: dict[str, Any]) -> str | None:
    """The blob id the file would have without `publish_at` (None: it has none), so that a
    draft that differs from what is live only in its schedule counts as live."""
    if "publish_at" not in doc:
        return None
    return blob_id(canonical.dumps({k: v for k, v in doc.items() if k != "publish_at"}))


def _text(doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    return value if isinstance(value, str) else None


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    return value if isinstance(value, list) else []
