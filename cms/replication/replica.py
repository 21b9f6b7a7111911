"""A read replica's copy of its source: the two lines fetched from a git URL, over and over.

`--repo` of a replica is a bare repository that only ever changes by fetching `main` and
`published` from the source (force included: a source whose history was rewritten is followed,
and the index, which checks ancestry, rebuilds). It is marked as a replica by
`<git dir>/cms/replica.json`, which also keeps what the last fetches did, so any worker can
answer `/healthz` with the lag: the seconds since a fetch last succeeded.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cms.errors import BadRequest
from cms.git.refs import read_ref
from cms.git.remotes import (
    check_url,
    first_error,
    git_call,
    read_json,
    redact,
    scrub,
    write_json,
)
from cms.git.repository import Repository
from cms.replication import leader
from cms.replication.mirrors import LINES

log = logging.getLogger(__name__)
FETCH_TIMEOUT = 60.0
# every this many fetches git may pack what the fetches brought (`gc --auto`)
MAINTENANCE_EVERY = 60
REFSPECS = [f"+refs/heads/{line}:refs/heads/{line}" for line in LINES]


class ReplicaError(BadRequest):
    """The replica cannot be set up (an unusable source, or `--repo` holds its own history)."""


def iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Replica:
    """The replica whose repository's git directory is `git_dir`, copying `source`."""

    def __init__(self, git_dir: str, source: str) -> None:
        self.git_dir = git_dir
        self.source = source
        self.path = os.path.join(git_dir, "cms", "replica.json")

    @classmethod
    def prepare(cls, path: str, source: str, timeout: float = FETCH_TIMEOUT) -> Replica:
        """Make `path` a replica of `source` and return it: a new repository filled by a first
        fetch when there is none, else the replica already there (its source may change).

        Raises ReplicaError for a bad URL, a first fetch that fails (nothing is left
        behind), or a repository at `path` that is not a replica (it would be overwritten).
        """
        problems = check_url(source)
        if problems:
            raise ReplicaError(f"Cannot copy {redact(source)}: {problems[0]}",
                               {"replica_of": problems})
        existed = os.path.exists(path)
        if existed:
            try:
                repo = Repository(path)
            except FileNotFoundError as e:
                raise ReplicaError(f"{path} exists and is not a git repository.") from e
            replica = cls(repo.git_dir, source)
            if not os.path.exists(replica.path) and any(repo.ref(line) for line in LINES):
                raise ReplicaError(
                    f"{path} holds its own history and is not a replica; a replica's fetches "
                    "would overwrite it. Give --repo a new path.",
                    {"repo": ["Not a replica."]})
            replica._save(replica._state() | {"source": source})
            return replica
        repo = Repository.init(path)
        replica = cls(repo.git_dir, source)
        error = replica.fetch(timeout)
        if error is not None:
            shutil.rmtree(path, ignore_errors=True)
            raise ReplicaError(f"Cannot copy {redact(source)}: {error}",
                               {"replica_of": [error]})
        return replica

    def _state(self) -> dict[str, Any]:
        default = {"source": self.source, "last_fetch_at": None, "last_attempt_at": None,
                   "last_error": None, "fetches": 0, "tips": {line: None for line in LINES}}
        return default | read_json(self.path, {})

    def _save(self, state: dict[str, Any]) -> None:
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        write_json(self.path, state)

    def fetch(self, timeout: float = FETCH_TIMEOUT, maintenance: bool = True) -> str | None:
        """Fetch both lines from the source; record the outcome; return the error, or None.
        Only what changed is transferred; an unchanged source costs one ref advertisement.
        `maintenance`: let git check afterwards whether the copy needs packing (one more
        process, so the fetcher asks for it only now and then)."""
        url, env = git_call(self.source, self.git_dir)
        command = ["git", "--git-dir", self.git_dir, "fetch", "--atomic", "--no-tags",
                   "--no-write-fetch-head", "--quiet",
                   "--auto-maintenance" if maintenance else "--no-auto-maintenance",
                   "--", url, *REFSPECS]
        started = time.time()
        try:
            run = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                 env=env, stdin=subprocess.DEVNULL)
            error = None if run.returncode == 0 else scrub(
                first_error(run.stderr) or f"git fetch exit {run.returncode}", self.source)
        except subprocess.TimeoutExpired:
            error = f"no answer within {timeout:g} s"
        state = self._state() | {"source": self.source, "last_attempt_at": started,
                                 "last_error": error}
        if error is None:
            # the source's tips as of `started`: what it had then is all here now
            state["last_fetch_at"] = started
            state["fetches"] += 1
            state["tips"] = {line: read_ref(self.git_dir, f"refs/heads/{line}")
                             for line in LINES}
        self._save(state)
        return error

    def status(self) -> dict[str, Any]:
        """`source` (without credentials), `lag_seconds` (since the start of the last fetch
        that succeeded), `last_fetch_at`, `last_error` and the source's `tips` then."""
        state = self._state()
        last = state["last_fetch_at"]
        return {"source": redact(state["source"]),
                "lag_seconds": None if last is None else round(time.time() - last, 3),
                "last_fetch_at": iso(last), "last_error": state["last_error"],
                "tips": state["tips"]}

    def run(self, stop: threading.Event, interval: float, fetched: Callable[[], Any],
            timeout: float = FETCH_TIMEOUT) -> None:
        """Fetch every `interval` seconds until `stop` is set, calling `fetched()` after each
        fetch that succeeded (to bring the index up to the new refs before readers ask)."""
        rounds = 0
        while True:
            started = time.monotonic()
            rounds += 1
            try:
                if self.fetch(timeout, maintenance=rounds % MAINTENANCE_EVERY == 0) is None:
                    fetched()
            except Exception:  # a full disk, a locked index: the next round tries again
                log.exception("fetching from the source failed; will try again")
            if stop.wait(max(0.0, interval - (time.monotonic() - started))):
                return

    def start(self, interval: float, fetched: Callable[[], Any]) -> threading.Event:
        """Run the fetcher in this process once no other process of the server does."""
        return leader.start("cms-replica-fetcher",
                            os.path.join(self.git_dir, "cms", "replica.lock"),
                            lambda stop: self.run(stop, interval, fetched))

