"""The purge outbox: `<git dir>/cms/purges.sqlite`.

- `cursors`: per line, the last commit already turned into purges;
- `purges`: the keys still to purge from each target, one row per span of commits, queued in
  the transaction that moves the cursors: a crash between two steps loses nothing (the cursors
  did not move, or the row is there), and however many workers look, a span is queued once;
- `targets`: per target, who is sending to it now (a lease, so two workers never send at
  once and one request carries everything due), what it answered last, and until when it
  is left alone after a failure (`resume_at`).

A worker takes every due row of a target at once and sends their keys, merged, in as few
requests as the target takes (`targets.send`): a push of ten thousand commits is one purge
per target, not one per key. A failed purge is tried again, after a wait that doubles up to
`retry_max` (or the longer `Retry-After` the cache asked for), until it goes through: nothing
is dropped. Meanwhile the target is sent nothing at all, not even purges queued since, so a
cache that is down or limits its rate gets one request carrying everything once the wait is
over, instead of one per commit made while it waited. A purge that went through is queued
once more `repeat_after` seconds later, for an answer a cache fetched while the commit was
being made (made from the state before, stored after the purge).
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cms.content.layout import MAIN, PUBLISHED
from cms.edge import keys as names
from cms.edge.changes import Span
from cms.edge.targets import Target
from cms.errors import StorageUnavailable
from cms.git import private
from cms.git.repository import Repository, Tips
from cms.times import iso
from cms.webhooks.outbox import lease_holder_gone

SCHEMA = """
CREATE TABLE IF NOT EXISTS cursors (line TEXT PRIMARY KEY, sha TEXT);
CREATE TABLE IF NOT EXISTS purges (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    keys TEXT NOT NULL,
    commits INTEGER NOT NULL,
    queued_at REAL NOT NULL,
    due_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    repeat INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS purges_due ON purges (target, due_at);
CREATE TABLE IF NOT EXISTS targets (
    url TEXT PRIMARY KEY,
    lease_owner TEXT,
    lease_until REAL,
    requests INTEGER NOT NULL DEFAULT 0,
    keys INTEGER NOT NULL DEFAULT 0,
    last_purge_at REAL,
    last_error TEXT,
    last_error_at REAL,
    resume_at REAL
);
"""
# columns added to a table after an outbox was first made, and their declarations
ADDED = {"targets": {"resume_at": "REAL"}}
# rows one send takes at most: their keys are merged into one set first
CLAIM_ROWS = 5000


@dataclass(frozen=True)
class Claim:
    """Due purges of one target that this worker holds the lease for."""

    target: str
    seqs: tuple[int, ...]
    keys: tuple[str, ...]
    first: tuple[str, ...]  # the keys of rows sent for the first time (repeated after)
    attempts: int
    owner: str
    queued_at: float = 0.0  # the oldest row's
    commits: int = 0


class Outbox:
    """The purges of one content repository. Thread- and process-safe."""

    def __init__(
        self,
        repo: Repository,
        targets: list[Target],
        *,
        max_keys: int = 2000,
        retry_max: float = 30.0,
        repeat_after: float = 0.0,
        lease: float = 30.0,
    ) -> None:
        self.path = os.path.join(repo.git_dir, private.FOLDER, "purges.sqlite")
        self.repo = repo
        self.targets = targets
        self.max_keys = max_keys
        self.retry_max = retry_max
        self.repeat_after = repeat_after
        self.lease = lease
        self._local = threading.local()
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            db: sqlite3.Connection | None = None
            try:
                private.path(self.repo.git_dir, "purges.sqlite")  # makes the folder
                db = private.connect(self.path, check_same_thread=False)
                db.row_factory = sqlite3.Row
                db.execute("PRAGMA journal_mode=WAL")
                # every transaction on disk before it is acknowledged (issue 27)
                db.execute("PRAGMA synchronous=FULL")
                db.executescript(SCHEMA)
                _add_columns(db)
                os.chmod(self.path, 0o600)
            except (OSError, sqlite3.Error) as e:
                if db is not None:
                    db.close()
                raise StorageUnavailable("The purge outbox cannot be opened right now.") from e
            weakref.finalize(self, db.close)
            local.db, local.pid = db, os.getpid()
        yield local.db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- turning commits into purges ------------------------------------------------------

    def tips(self) -> Tips:
        """Where the lines point now."""
        return self.repo.tips()

    def cursors(self) -> Tips | None:
        """Where the last span queued ended (None before the first look)."""
        with self._db() as db:
            rows = dict(db.execute("SELECT line, sha FROM cursors").fetchall())
        return Tips.of(rows) if rows else None

    def queue(self, until: Tips, derive: Callable[[Tips, Tips], Span | None]) -> bool:
        """Queue, for every target, the keys the commits after the cursors up to `until`
        changed (`derive(cursors, until)`; None: `until` is older than the cursors, and
        nothing is done), and move the cursors there, in one transaction;
        return whether anything was queued. A target new to the outbox is sent `all` first
        (what it kept before is not known), a new outbox starts from `until`, and with no
        target, nothing is worked out."""
        with self._write() as db:
            rows = dict(db.execute("SELECT line, sha FROM cursors").fetchall())
            since = Tips.of(rows)
            known = {r[0] for r in db.execute("SELECT url FROM targets")}
            now = time.time()
            new = [t.url for t in self.targets if t.url not in known]
            db.executemany("INSERT INTO targets (url) VALUES (?)", [(url,) for url in new])
            db.executemany(
                "INSERT INTO purges (target, keys, commits, queued_at, due_at)"
                " VALUES (?, ?, 0, ?, ?)",
                [(url, names.ALL, now, now) for url in new],
            )
            queued = bool(new)
            if rows and since != until and self.targets:
                span = derive(since, until)
                if span is None:
                    return queued  # another worker went further, in a later state
                found = sorted(span.keys)
                if len(found) > self.max_keys:
                    found = [names.ALL]
                if found:
                    db.executemany(
                        "INSERT INTO purges (target, keys, commits, queued_at, due_at)"
                        " VALUES (?, ?, ?, ?, ?)",
                        [(t.url, " ".join(found), span.commits, now, now) for t in self.targets],
                    )
                    queued = True
            db.executemany(
                "INSERT OR REPLACE INTO cursors (line, sha) VALUES (?, ?)", list(until.items())
            )
        return queued

    # -- sending ------------------------------------------------------------------------------

    def claim(self, target: Target) -> Claim | None:
        """Lease every due purge of `target` (None: nothing due, or another worker sends to
        it now)."""
        now = time.time()
        with self._db() as db:
            if (
                db.execute(
                    "SELECT 1 FROM purges JOIN targets ON targets.url = purges.target"
                    " WHERE purges.target = ? AND due_at <= ?"
                    " AND (resume_at IS NULL OR resume_at <= ?) LIMIT 1",
                    (target.url, now, now),
                ).fetchone()
                is None
            ):
                return None  # the usual case, without taking the write lock
        with self._write() as db:
            held = db.execute(
                "SELECT lease_owner, lease_until, resume_at FROM targets WHERE url = ?",
                (target.url,),
            ).fetchone()
            if held is None or (held["resume_at"] or 0) > now:
                return None
            owner = held["lease_owner"]
            if owner and held["lease_until"] > now and not lease_holder_gone(owner):
                return None
            rows = db.execute(
                "SELECT seq, keys, attempts, repeat, queued_at, commits FROM purges"
                " WHERE target = ? AND due_at <= ? ORDER BY seq LIMIT ?",
                (target.url, now, CLAIM_ROWS),
            ).fetchall()
            if not rows:
                return None
            db.execute(
                "UPDATE targets SET lease_owner = ?, lease_until = ? WHERE url = ?",
                (self._owner, now + self.lease, target.url),
            )
        merged: dict[str, None] = {}
        first: dict[str, None] = {}
        for row in rows:
            for key in row["keys"].split():
                merged[key] = None
                if not row["repeat"]:
                    first[key] = None
        found = tuple(merged)
        if len(found) > self.max_keys or names.ALL in merged:
            found = (names.ALL,)
            first = dict.fromkeys(found) if first else {}
        return Claim(
            target.url,
            tuple(r["seq"] for r in rows),
            found,
            tuple(first),
            max(r["attempts"] for r in rows),
            self._owner,
            min(r["queued_at"] for r in rows),
            sum(r["commits"] for r in rows),
        )

    def complete(
        self,
        claim: Claim,
        requests: int,
        error: str | None,
        *,
        done: int = 0,
        retry_after: float | None = None,
    ) -> None:
        """Record a send: gone from the outbox (and queued once more, later, when it was a
        first sending), or due again after a wait that doubles with each failure (at least
        `retry_after`, when the cache asked for it). A send that failed after its first
        `done` keys went through (in `requests` requests) keeps only the rest."""
        now = time.time()
        marks = ", ".join("?" * len(claim.seqs))
        with self._write() as db:
            held = db.execute(
                "SELECT lease_owner FROM targets WHERE url = ?", (claim.target,)
            ).fetchone()
            if held is None or held["lease_owner"] != claim.owner:
                return  # the lease was taken over: that worker sends them again
            if error is None:
                db.execute(f"DELETE FROM purges WHERE seq IN ({marks})", claim.seqs)
                self._repeat(db, claim.target, claim.first, now)
                db.execute(
                    "UPDATE targets SET requests = requests + ?, keys = keys + ?,"
                    " last_purge_at = ?, lease_owner = NULL, lease_until = NULL,"
                    " resume_at = NULL WHERE url = ?",
                    (requests, len(claim.keys), now, claim.target),
                )
                return
            wait = min(self.retry_max, 0.5 * 2 ** min(claim.attempts, 20))
            if retry_after is not None:
                wait = max(wait, retry_after)
            if done > 0:
                # those went through: one row of the rest, as old as the oldest it replaces
                sent, rest = claim.keys[:done], claim.keys[done:]
                first = set(claim.first)
                db.execute(f"DELETE FROM purges WHERE seq IN ({marks})", claim.seqs)
                db.execute(
                    "INSERT INTO purges (target, keys, commits, queued_at, due_at, attempts,"
                    " repeat) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        claim.target,
                        " ".join(rest),
                        claim.commits,
                        claim.queued_at,
                        now + wait,
                        claim.attempts + 1,
                        0 if first.intersection(rest) else 1,
                    ),
                )
                self._repeat(db, claim.target, tuple(k for k in sent if k in first), now)
                db.execute(
                    "UPDATE targets SET requests = requests + ?, keys = keys + ?,"
                    " last_purge_at = ? WHERE url = ?",
                    (requests, done, now, claim.target),
                )
            else:
                db.execute(
                    f"UPDATE purges SET attempts = attempts + 1, due_at = ? WHERE seq IN ({marks})",
                    (now + wait, *claim.seqs),
                )
            db.execute(
                "UPDATE targets SET last_error = ?, last_error_at = ?, lease_owner = NULL,"
                " lease_until = NULL, resume_at = ? WHERE url = ?",
                (error, now, now + wait, claim.target),
            )

    def _repeat(
        self, db: sqlite3.Connection, target: str, keys: tuple[str, ...], now: float
    ) -> None:
        """Queue `keys`, just sent for the first time, once more `repeat_after` from now."""
        if keys and self.repeat_after > 0:
            db.execute(
                "INSERT INTO purges (target, keys, commits, queued_at, due_at, repeat)"
                " VALUES (?, ?, 0, ?, ?, 1)",
                (target, " ".join(keys), now, now + self.repeat_after),
            )

    # -- what is waiting --------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The backlog: commits not yet turned into purges (None before a server first
        looked), and per target what waits to be purged, since when, and what it answered
        last (times RFC 3339)."""
        cursors = self.cursors()
        tips = self.tips()
        behind: int | None = 0 if cursors is not None else None
        for line in (MAIN, PUBLISHED):
            since, tip = cursors[line] if cursors else None, tips[line]
            if behind is not None and tip != since:
                span = f"{since}..{tip}" if since else tip
                try:
                    count = (
                        int(self.repo.git.git.rev_list("--count", "--first-parent", span))
                        if tip
                        else 0
                    )
                except Exception:  # noqa: BLE001 - the cursor's commit is gone
                    count = 0
                # a line moved back (a force push) holds no commit after the cursor: one
                behind += max(1, count)
        found = []
        with self._db() as db:
            for target in self.targets:
                waiting = db.execute(
                    "SELECT count(*) AS n, min(queued_at) AS oldest, max(attempts) AS tries,"
                    " group_concat(keys, ' ') AS keys FROM purges WHERE target = ?"
                    " AND repeat = 0",
                    (target.url,),
                ).fetchone()
                kept = db.execute("SELECT * FROM targets WHERE url = ?", (target.url,)).fetchone()
                found.append(
                    {
                        "target": target.shown,
                        "pending": waiting["n"],
                        "pending_keys": len(set((waiting["keys"] or "").split())),
                        "oldest_pending_at": _iso(waiting["oldest"]),
                        "attempts": waiting["tries"] or 0,
                        "requests": kept["requests"] if kept else 0,
                        "keys_purged": kept["keys"] if kept else 0,
                        "last_purge_at": _iso(kept["last_purge_at"]) if kept else None,
                        "last_error": kept["last_error"] if kept else None,
                        "last_error_at": _iso(kept["last_error_at"]) if kept else None,
                    }
                )
        return {"commits_behind": behind, "targets": found}


def _add_columns(db: sqlite3.Connection) -> None:
    """Bring an outbox made by an earlier version up to SCHEMA (CREATE TABLE IF NOT EXISTS
    leaves a table that exists as it is)."""
    for table, columns in ADDED.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, declared in columns.items():
            if name not in have:
                try:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declared}")
                except sqlite3.OperationalError as e:  # another process added it just now
                    if "duplicate column" not in str(e):
                        raise


def _iso(moment: float | None) -> str | None:
    return None if moment is None else iso(int(moment))
