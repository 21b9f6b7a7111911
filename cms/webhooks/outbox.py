"""Webhooks, their secrets and the delivery outbox: `<git dir>/cms/webhooks.sqlite`.

The file lives inside the git directory, like the tokens, so secrets never reach a commit, a
clone or a push. It holds:

- `webhooks`: each webhook, its secret (needed in clear to sign) and the event types it wants;
- `cursors`: per line, the last commit already turned into events;
- `events` and `deliveries`: one delivery per event per webhook that wanted it, queued in the
  same transaction that moves the cursors, so an event is queued exactly once however many
  workers look, and a crash between two steps loses nothing (the cursors did not move).

Delivery is at least once and in commit order per webhook: only the oldest pending delivery of
a webhook may be sent (a redelivery asked for by hand is the exception), so while it waits for
a retry, the later ones wait too. A worker claims a delivery by writing a lease into its row
(under `BEGIN IMMEDIATE`), so two workers never send the same attempt at once; the lease of a
worker that died is taken over at once when its process is gone, otherwise when it expires;
the worker renews the leases of what it is still sending, so a live sender keeps its own. A
webhook has one attempt in flight at most, in all workers together.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import threading
import time
import weakref
from base64 import b64encode
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from hashlib import sha1
from typing import Any

from cms.content.layout import LINES
from cms.errors import Conflict, NotFound, StorageUnavailable
from cms.git import private
from cms.git.repository import Repository, Tips
from cms.store.groups import Groups
from cms.times import iso
from cms.webhooks import feed

SCHEMA = """
CREATE TABLE IF NOT EXISTS webhooks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT NOT NULL,
    active INTEGER NOT NULL,
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (line TEXT PRIMARY KEY, sha TEXT);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    webhook TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event INTEGER NOT NULL REFERENCES events (seq),
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    tries INTEGER NOT NULL DEFAULT 0,
    response_status INTEGER,
    error TEXT,
    next_attempt_at REAL,
    replay INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until REAL
);
CREATE INDEX IF NOT EXISTS deliveries_queue ON deliveries (webhook, status, replay, seq);
"""
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# eight attempts over about 31 hours
DEFAULT_RETRY_DELAYS = (5, 30, 120, 600, 3600, 21600, 86400)


def _now_iso() -> str:
    return iso(int(time.time()))


def _iso(moment: float | None) -> str | None:
    return None if moment is None else iso(int(moment))


@dataclass(frozen=True)
class Claim:
    """One delivery attempt a worker holds the lease for."""

    seq: int
    id: str
    webhook: str
    url: str
    secret: str
    body: str
    owner: str


class Outbox:
    """The webhooks of one content repository and their deliveries. Thread- and process-safe."""

    def __init__(
        self,
        repo: Repository,
        committer_email: str,
        *,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        lease: float = 60.0,
    ) -> None:
        self.path = os.path.join(repo.git_dir, private.FOLDER, "webhooks.sqlite")
        self.repo = repo
        self.committer_email = committer_email
        self.retry_delays = retry_delays
        self.lease = lease
        self._local = threading.local()
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        # kept across catch-ups: each then reads only the files its commits changed
        self.groups = Groups(repo)

    # -- the connection ----------------------------------------------------------------

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection (autocommit; transactions are explicit)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            # opened on first use, so an app on a read-only or full disk still starts
            db: sqlite3.Connection | None = None
            try:
                private.path(self.repo.git_dir, "webhooks.sqlite")  # makes the folder
                db = private.connect(self.path, check_same_thread=False)
                db.row_factory = sqlite3.Row
                db.execute("PRAGMA journal_mode=WAL")
                # every transaction on disk before it is acknowledged (issue 27)
                db.execute("PRAGMA synchronous=FULL")
                db.execute("PRAGMA foreign_keys=ON")
                db.executescript(SCHEMA)
                os.chmod(self.path, 0o600)
            except (OSError, sqlite3.Error) as e:
                if db is not None:
                    db.close()
                raise StorageUnavailable("The webhook store cannot be opened right now.") from e
            weakref.finalize(self, db.close)
            local.db, local.pid = db, os.getpid()
        yield local.db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken before reading (BEGIN IMMEDIATE)."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- webhooks ----------------------------------------------------------------------

    def create(self, url: str, events: list[str], description: str) -> dict[str, Any]:
        """Add an active webhook; return it with its `secret` (the only time it is shown).

        The webhook hears of commits made after this call: the events of everything before it
        are queued first, in the same transaction, for the webhooks that already exist.
        """
        webhook_id = "wh_" + secrets.token_hex(8)
        secret = "whsec_" + b64encode(secrets.token_bytes(32)).decode()
        with self._write() as db:
            self._queue_all(db)
            db.execute(
                "INSERT INTO webhooks (id, url, events, description, active, secret, created_at)"
                " VALUES (?, ?, ?, ?, 1, ?, ?)",
                (webhook_id, url, json.dumps(events), description, secret, _now_iso()),
            )
            row = self._webhook(db, webhook_id)
        return {**row, "secret": secret}

    def webhooks(self, *, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
        """One page of webhooks, oldest first, and the total."""
        with self._db() as db:
            total = db.execute("SELECT count(*) FROM webhooks").fetchone()[0]
            rows = db.execute(
                "SELECT * FROM webhooks ORDER BY seq LIMIT ? OFFSET ?",
                (per_page, (page - 1) * per_page),
            ).fetchall()
        return [_webhook(r) for r in rows], total

    def get(self, webhook_id: str) -> dict[str, Any]:
        """The webhook (without its secret); raises NotFound."""
        with self._db() as db:
            return self._webhook(db, webhook_id)

    def update(self, webhook_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change `url`, `events`, `description` or `active`; return the webhook.
        Raises NotFound."""
        columns = {
            k: (json.dumps(v) if k == "events" else int(v) if k == "active" else v)
            for k, v in changes.items()
            if k in ("url", "events", "description", "active")
        }
        with self._write() as db:
            self._webhook(db, webhook_id)
            if columns:
                # what happened before the change is queued as the webhooks were until now
                self._queue_all(db)
                assignments = ", ".join(f"{k} = ?" for k in columns)
                db.execute(
                    f"UPDATE webhooks SET {assignments} WHERE id = ?",
                    (*columns.values(), webhook_id),
                )
            return self._webhook(db, webhook_id)

    def delete(self, webhook_id: str) -> None:
        """Remove the webhook and its deliveries; raises NotFound."""
        with self._write() as db:
            self._webhook(db, webhook_id)
            db.execute("DELETE FROM deliveries WHERE webhook = ?", (webhook_id,))
            db.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,))
            db.execute("DELETE FROM events WHERE seq NOT IN (SELECT event FROM deliveries)")

    def _webhook(self, db: sqlite3.Connection, webhook_id: str) -> dict[str, Any]:
        row = db.execute("SELECT * FROM webhooks WHERE id = ?", (webhook_id,)).fetchone()
        if row is None:
            raise NotFound(f"There is no webhook '{webhook_id}'.")
        return _webhook(row)

    # -- deliveries --------------------------------------------------------------------

    def deliveries(
        self, webhook_id: str, *, page: int, per_page: int
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the webhook's deliveries, newest first, and the total.
        Raises NotFound."""
        with self._db() as db:
            self._webhook(db, webhook_id)
            total = db.execute(
                "SELECT count(*) FROM deliveries WHERE webhook = ?", (webhook_id,)
            ).fetchone()[0]
            rows = db.execute(
                "SELECT d.*, e.id AS event_id, e.type FROM deliveries d"
                " JOIN events e ON e.seq = d.event WHERE d.webhook = ?"
                " ORDER BY d.seq DESC LIMIT ? OFFSET ?",
                (webhook_id, per_page, (page - 1) * per_page),
            ).fetchall()
        return [_delivery(r) for r in rows], total

    def redeliver(self, webhook_id: str, delivery_id: str) -> dict[str, Any]:
        """Queue the delivery to be sent again now, ahead of the webhook's order, with a fresh
        retry schedule and the same `webhook-id`; return it. Raises NotFound, or Conflict
        when the webhook is inactive."""
        with self._write() as db:
            webhook = self._webhook(db, webhook_id)
            if not webhook["active"]:
                raise Conflict(f"The webhook '{webhook_id}' is inactive; set active to true first.")
            found = db.execute(
                "UPDATE deliveries SET status = ?, tries = 0, next_attempt_at = ?, replay = 1"
                " WHERE webhook = ? AND id = ?",
                (PENDING, time.time(), webhook_id, delivery_id),
            ).rowcount
            if not found:
                raise NotFound(f"The webhook '{webhook_id}' has no delivery '{delivery_id}'.")
            row = db.execute(
                "SELECT d.*, e.id AS event_id, e.type FROM deliveries d"
                " JOIN events e ON e.seq = d.event WHERE d.id = ?",
                (delivery_id,),
            ).fetchone()
        return _delivery(row)

    # -- turning commits into deliveries ------------------------------------------------

    def tips(self) -> Tips:
        """Where `main` and `published` point (`Repository.tips`: a publication is never
        seen before the revision it publishes)."""
        return self.repo.tips()

    def catch_up(self, tips: Tips | None = None) -> bool:
        """Queue the events of the commits not yet seen, up to the current tips; return
        whether the cursors are now at those tips (False: more to do on the next call)."""
        wanted = dict(tips or self.tips())
        with self._db() as db:
            if self._cursors(db) == wanted:
                return True
        with self._write() as db:
            return self._queue(db, wanted)

    def _moved_first(self) -> str:
        """The line whose ref file was written first (a packed ref counts as oldest)."""

        def moved(line: str) -> int:
            try:
                return os.stat(os.path.join(self.repo.git_dir, "refs", "heads", line)).st_mtime_ns
            except OSError:
                return 0

        return min(LINES, key=moved)

    def _queue_all(self, db: sqlite3.Connection) -> None:
        tips = dict(self.tips())
        while not self._queue(db, tips):
            pass

    def _cursors(self, db: sqlite3.Connection) -> dict[str, str | None]:
        rows = dict(db.execute("SELECT line, sha FROM cursors").fetchall())
        return {line: rows.get(line) for line in LINES}

    def _queue(self, db: sqlite3.Connection, tips: dict[str, str | None]) -> bool:
        """Inside a write transaction: queue the events after the cursors, move them."""
        cursors = self._cursors(db)
        if cursors == tips:
            return True
        seen = db.execute("SELECT count(*) FROM cursors").fetchone()[0] == len(LINES)
        hooks = db.execute("SELECT id, events FROM webhooks WHERE active = 1").fetchall()
        if not seen or not hooks:
            # a new outbox starts from now, and nobody listens: nothing to walk
            moved = dict(tips)
        else:
            events, moved = feed.pending(
                self.repo,
                cursors,
                tips,
                self.committer_email,
                first=self._moved_first(),
                groups=self.groups,
            )
            wants = [(h["id"], set(json.loads(h["events"]))) for h in hooks]
            now = time.time()
            for event in events:
                targets = [hook for hook, types in wants if event.type in types]
                if not targets:
                    continue
                db.execute(
                    "INSERT OR IGNORE INTO events (id, type, body) VALUES (?, ?, ?)",
                    (event.id, event.type, event.body),
                )
                seq = db.execute("SELECT seq FROM events WHERE id = ?", (event.id,)).fetchone()[0]
                db.executemany(
                    "INSERT OR IGNORE INTO deliveries (id, webhook, event, status,"
                    " next_attempt_at) VALUES (?, ?, ?, ?, ?)",
                    [(_message_id(hook, event.id), hook, seq, PENDING, now) for hook in targets],
                )
        db.executemany(
            "INSERT OR REPLACE INTO cursors (line, sha) VALUES (?, ?)", list(moved.items())
        )
        return moved == tips

    # -- sending -------------------------------------------------------------------------

    def claim(self, limit: int) -> list[Claim]:
        """Lease up to `limit` deliveries that are due: each active webhook's oldest pending
        one, and redeliveries asked for by hand. Returns what this worker must now send."""
        if limit <= 0:
            return []
        with self._db() as db:
            if not self._candidates(db, time.time()):
                return []  # the usual case, without taking the write lock
        with self._write() as db:
            now = time.time()
            claims = []
            for row in self._candidates(db, now)[:limit]:
                db.execute(
                    "UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE seq = ?",
                    (self._owner, now + self.lease, row["seq"]),
                )
                claims.append(
                    Claim(
                        row["seq"],
                        row["id"],
                        row["webhook"],
                        row["url"],
                        row["secret"],
                        row["body"],
                        self._owner,
                    )
                )
        return claims

    def _candidates(self, db: sqlite3.Connection, now: float) -> list[sqlite3.Row]:
        # each webhook's head, then redeliveries: a few index lookups per webhook, however
        # long the queue behind a slow receiver grows
        columns = (
            "SELECT d.seq, d.id, d.webhook, d.next_attempt_at, d.lease_owner,"
            " d.lease_until, w.url, w.secret, e.body FROM webhooks w"
        )
        rows = db.execute(
            f"{columns} JOIN deliveries d ON d.seq = (SELECT min(p.seq) FROM deliveries p"
            "  WHERE p.webhook = w.id AND p.status = ? AND p.replay = 0)"
            " JOIN events e ON e.seq = d.event WHERE w.active = 1"
            f" UNION ALL {columns} JOIN deliveries d ON d.webhook = w.id AND d.status = ?"
            "  AND d.replay = 1 JOIN events e ON e.seq = d.event WHERE w.active = 1",
            (PENDING, PENDING),
        ).fetchall()
        rows.sort(key=lambda r: r["seq"])
        # one attempt in flight per webhook, in every worker together: a slow receiver holds
        # one sender at most, however many of its deliveries are due
        busy = {r["webhook"] for r in rows if _held(r, now)}
        due = []
        for row in rows:
            if row["webhook"] not in busy and row["next_attempt_at"] <= now:
                busy.add(row["webhook"])
                due.append(row)
        return due

    def renew(self, claims: list[Claim]) -> None:
        """Extend the leases of `claims`, still being sent, by the lease time from now, so
        that no other worker takes over a delivery whose sender is alive however long it
        takes. A lease taken over meanwhile stays with its new holder."""
        if not claims:
            return
        with self._write() as db:
            db.executemany(
                "UPDATE deliveries SET lease_until = ? WHERE seq = ? AND lease_owner = ?",
                [(time.time() + self.lease, c.seq, c.owner) for c in claims],
            )

    def complete(self, claim: Claim, status: int | None, error: str | None) -> None:
        """Record the attempt: delivered on a 2xx; a 410 fails it and deactivates the webhook;
        anything else is retried after the next delay, or failed when none is left. Nothing is
        recorded if the lease was taken over meanwhile (that worker records its own)."""
        now = time.time()
        with self._write() as db:
            row = db.execute(
                "SELECT tries FROM deliveries WHERE seq = ? AND lease_owner = ?",
                (claim.seq, claim.owner),
            ).fetchone()
            if row is None:
                return
            tries = row["tries"] + 1
            next_at: float | None = None
            if status is not None and 200 <= status < 300:
                outcome = DELIVERED
            elif status == 410:
                outcome = FAILED
                db.execute("UPDATE webhooks SET active = 0 WHERE id = ?", (claim.webhook,))
            elif tries <= len(self.retry_delays):
                outcome, next_at = PENDING, now + self.retry_delays[tries - 1]
            else:
                outcome = FAILED
            db.execute(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1, tries = ?,"
                " response_status = ?, error = ?, next_attempt_at = ?, lease_owner = NULL,"
                " lease_until = NULL, replay = CASE WHEN ? = ? THEN replay ELSE 0 END"
                " WHERE seq = ?",
                (outcome, tries, status, error, next_at, outcome, PENDING, claim.seq),
            )


def _message_id(webhook: str, event: str) -> str:
    """The `webhook-id` of one event to one webhook: the same on every retry and redelivery,
    and the same if the event were ever queued again."""
    return "msg_" + sha1(f"{webhook}\0{event}".encode()).hexdigest()[:24]


def _held(row: sqlite3.Row, now: float) -> bool:
    """Whether a live worker holds the lease of a delivery."""
    return (
        row["lease_until"] is not None
        and row["lease_until"] >= now
        and not lease_holder_gone(row["lease_owner"])
    )


def lease_holder_gone(owner: str | None) -> bool:
    """Whether the process that holds a lease has died (on this machine), so the lease can be
    taken over before it expires."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state in ("Z", "X")
    except FileNotFoundError:
        return True
    except (OSError, IndexError):
        return False


def _webhook(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "url": row["url"],
        "events": json.loads(row["events"]),
        "description": row["description"],
        "active": bool(row["active"]),
        "created_at": row["created_at"],
    }


def _delivery(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event": row["event_id"],
        "type": row["type"],
        "status": row["status"],
        "attempts": row["attempts"],
        "response_status": row["response_status"],
        "error": row["error"],
        "next_attempt_at": _iso(row["next_attempt_at"]) if row["status"] == PENDING else None,
    }
