"""A read replica's copy of its source: the two lines fetched from a git URL, over and over.

`--repo` of a replica is a bare repository that only ever changes by fetching `main` and
`published` from the source (force included: a source whose history was rewritten is followed,
and the index, which checks ancestry, rebuilds). It is marked as a replica by
`<git dir>/cms/replica.json`, which also keeps what the last fetches did, so any worker can
answer `/healthz` with the lag: the seconds since a fetch last succeeded.

A fetch brings both lines' commits (named in `FETCH_HEAD`, so no other ref ever shows), and the
replica's own `main` and `published` then move to them together (one `git update-ref`
transaction). With `verify_key` (the public half
of the primary's `CMS_SIGNING_KEY`) they move only if every commit newly on `published` carries
a good signature by that key and `published` only moves forward (the primary never rewrites
it): otherwise the replica keeps serving what it has, records the commit it refused, and its
lag grows until the source holds something it can take. A first copy checks only the tip of
`published`: a signed commit vouches for the history it was made on (the primary built it
there), so a primary that began signing late can still be copied.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from cms import times
from cms.errors import BadRequest, CMSError
from cms.git import private, signing
from cms.git.private import read_json, write_json
from cms.git.remotes import check_url, first_error, git_call, redact, scrub
from cms.git.repository import Repository
from cms.replication import leader
from cms.replication.mirrors import LINES

log = logging.getLogger(__name__)
FETCH_TIMEOUT = 60.0
# every this many fetches git may pack what the fetches brought (`gc --auto`)
MAINTENANCE_EVERY = 60
REFSPECS = [f"refs/heads/{line}" for line in LINES]
ZERO = "0" * 40


class ReplicaError(BadRequest):
    """The replica cannot be set up (an unusable source, or `--repo` holds its own history)."""


def iso(seconds: float | None) -> str | None:
    return None if seconds is None else times.iso(int(seconds))


class Replica:
    """The replica whose repository's git directory is `git_dir`, copying `source`; with
    `verify_key`, only what that public key signed on `published`."""

    def __init__(self, git_dir: str, source: str, verify_key: str | None = None) -> None:
        self.git_dir = git_dir
        self.source = source
        self.verify_key = verify_key
        self.path = private.path(git_dir, "replica.json")

    @classmethod
    def prepare(
        cls, path: str, source: str, timeout: float = FETCH_TIMEOUT, verify_key: str | None = None
    ) -> Replica:
        """Make `path` a replica of `source` and return it: a new repository filled by a first
        fetch when there is none, else the replica already there (its source may change).

        Raises ReplicaError for a bad URL, an unusable `verify_key`, a first fetch that fails
        or is refused (nothing is left behind), or a repository at `path` that is not a
        replica (it would be overwritten).
        """
        problems = check_url(source)
        if problems:
            raise ReplicaError(
                f"Cannot copy {redact(source)}: {problems[0]}", {"replica_of": problems}
            )
        if verify_key is not None:
            try:
                signing.public_key(verify_key)
            except CMSError as e:
                raise ReplicaError(
                    e.detail,
                    {
                        "verify_signatures": [
                            "The public half of the primary's signing key (a .pub file)."
                        ]
                    },
                ) from e
        existed = os.path.exists(path)
        if existed:
            try:
                repo = Repository(path)
            except FileNotFoundError as e:
                raise ReplicaError(f"{path} exists and is not a git repository.") from e
            replica = cls(repo.git_dir, source, verify_key)
            if not os.path.exists(replica.path) and any(repo.tips().values()):
                raise ReplicaError(
                    f"{path} holds its own history and is not a replica; a replica's fetches "
                    "would overwrite it. Give --repo a new path.",
                    {"repo": ["Not a replica."]},
                )
            replica._save(replica._state() | {"source": source})
            return replica
        repo = Repository.init(path)
        replica = cls(repo.git_dir, source, verify_key)
        error = replica.fetch(timeout)
        if error is not None:
            shutil.rmtree(path, ignore_errors=True)
            raise ReplicaError(f"Cannot copy {redact(source)}: {error}", {"replica_of": [error]})
        return replica

    def _state(self) -> dict[str, Any]:
        default = {
            "source": self.source,
            "last_fetch_at": None,
            "last_attempt_at": None,
            "last_error": None,
            "fetches": 0,
            "tips": {line: None for line in LINES},
            "refused": None,
        }
        return default | read_json(self.path, {})

    def _save(self, state: dict[str, Any]) -> None:
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        write_json(self.path, state, durable=False)

    def fetch(self, timeout: float = FETCH_TIMEOUT, maintenance: bool = True) -> str | None:
        """Fetch both lines from the source and take them (see the module's docstring);
        record the outcome; return the error or the reason for refusing them, or None.
        Only what changed is transferred; an unchanged source costs one ref advertisement.
        `maintenance`: let git check afterwards whether the copy needs packing (one more
        process, so the fetcher asks for it only now and then)."""
        url, env = git_call(self.source, self.git_dir)
        command = [
            "git",
            "--git-dir",
            self.git_dir,
            "fetch",
            "--no-tags",
            "--quiet",
            "--auto-maintenance" if maintenance else "--no-auto-maintenance",
            "--",
            url,
            *REFSPECS,
        ]
        started = time.time()
        try:
            run = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                stdin=subprocess.DEVNULL,
            )
            error = (
                None
                if run.returncode == 0
                else scrub(
                    first_error(run.stderr) or f"git fetch exit {run.returncode}", self.source
                )
            )
        except subprocess.TimeoutExpired:
            error = f"no answer within {timeout:g} s"
        state = self._state() | {
            "source": self.source,
            "last_attempt_at": started,
            "last_error": error,
        }
        refused = None
        if error is None:
            refused = self._take(state.get("refused"))
            state["refused"] = refused
            if refused is None:
                # the source's tips as of `started`: what it had then is all here now
                state["last_fetch_at"] = started
                state["fetches"] += 1
            state["tips"] = dict(Repository(self.git_dir).tips())
        self._save(state)
        return error or (refused["reason"] if refused else None)

    def _take(self, before: dict[str, str] | None) -> dict[str, str] | None:
        """Move `main` and `published` to what the fetch brought, unless it is refused.
        Returns the refusal (`commit`, `reason`, `since`: `before`'s when it is the same
        commit again), or None."""
        coming = self._fetched()
        serving = dict(Repository(self.git_dir).tips())
        refused = self._refusal(serving["published"], coming["published"])
        commands = [
            f"update refs/heads/{line} {coming[line]} {serving[line] or ZERO}\n"
            for line in LINES
            if refused is None and coming[line] != serving[line]
        ]
        if commands:
            subprocess.run(
                ["git", "--git-dir", self.git_dir, "update-ref", "--stdin"],
                input="".join(commands),
                text=True,
                check=True,
                capture_output=True,
            )
        if refused is None:
            return None
        if before and before.get("commit") == refused["commit"]:
            refused["since"] = before["since"]
        return refused

    def _fetched(self) -> dict[str, str]:
        """The commit each line's fetch brought: FETCH_HEAD names them in REFSPECS' order
        (`<commit> TAB TAB branch 'main' of <url>`)."""
        with open(os.path.join(self.git_dir, "FETCH_HEAD"), encoding="utf-8") as f:
            rows = [line.split("\t") for line in f.read().splitlines()]
        fetched = {}
        for line, row in zip(LINES, rows, strict=True):
            if len(row) < 3 or not row[2].startswith(f"branch '{line}' of "):
                raise ReplicaError(f"git fetch named {row!r} for {line}.")
            fetched[line] = row[0]
        return fetched

    def _refusal(self, serving: str | None, coming: str | None) -> dict[str, str] | None:
        """Why `published` may not move from `serving` to `coming` (None: it may)."""
        if self.verify_key is None or coming is None or coming == serving:
            return None
        since = iso(time.time()) or ""
        if serving is not None:
            ancestry = subprocess.run(
                ["git", "--git-dir", self.git_dir, "merge-base", "--is-ancestor", serving, coming],
                capture_output=True,
            )
            if ancestry.returncode != 0:
                return {
                    "commit": coming,
                    "since": since,
                    "reason": (
                        f"the source's published is at {coming}, not a descendant of {serving} "
                        "that this replica serves: the primary never moves published back or "
                        "sideways"
                    ),
                }
        try:
            # a first copy: the tip's signature vouches for the history it was made on
            bad = signing.unsigned(
                self.git_dir,
                ["--no-walk", coming] if serving is None else [coming, f"^{serving}"],
                self.verify_key,
            )
        except CMSError as e:
            # anyone reads the reason in /healthz: the detail (a path on this server) is logged
            log.error("cannot check the signatures of the source's commits: %s", e.detail)
            return {
                "commit": coming,
                "since": since,
                "reason": (
                    "the signatures cannot be checked: the key given to check them with cannot "
                    "be read (see the server's log)"
                ),
            }
        if not bad:
            return None
        return {
            "commit": bad[0],
            "since": since,
            "reason": (
                f"commit {bad[0]} on the source's published is not signed by the primary's key"
            ),
        }

    def status(self) -> dict[str, Any]:
        """`source` (without credentials), `lag_seconds` (since the start of the last fetch
        whose lines were taken), `last_fetch_at`, `last_error`, the `tips` it serves, and
        `refused` (the `commit`, `reason` and `since`) while it refuses what the source
        holds."""
        state = self._state()
        last = state["last_fetch_at"]
        shown = {
            "source": redact(state["source"]),
            "lag_seconds": None if last is None else round(time.time() - last, 3),
            "last_fetch_at": iso(last),
            "last_error": state["last_error"],
            "tips": state["tips"],
        }
        if state.get("refused"):
            shown["refused"] = state["refused"]
        return shown

    def run(
        self,
        stop: threading.Event,
        interval: float,
        fetched: Callable[[], Any],
        timeout: float = FETCH_TIMEOUT,
    ) -> None:
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
        return leader.start(
            "cms-replica-fetcher",
            private.path(self.git_dir, "replica.lock"),
            lambda stop: self.run(stop, interval, fetched),
        )
