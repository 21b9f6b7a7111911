"""Group commit: durable saves that share their syncs and their branch moves.

A durable save must not be answered before its objects, the moved branch and the folder
entries naming them are on disk, and a branch must never be on disk before the objects it
names. Paying that per save (an fsync per object, the ref and its folder) is what made
durable saves slow. Here a save, under the CMS's write turn (`Repository.exclusive`), writes
its objects without syncing them and *stages* its commits: the chain of staged commits grows
on the pending tips, which the next save plans on, so history is one commit per save, each
authored by its editor, exactly as before. Then, outside the write turn, the save waits for
its ticket: one waiter (of any process) becomes the leader by an flock, takes every save
staged so far, makes one `syncfs` (objects and the ref lock files it has written), moves the
branches once by git's compare-and-swap, fsyncs the ref folder, and marks the tickets done;
every waiter then answers with its own result. Saves staged while a leader syncs form the
next batch.

The state shared by the processes is a small file in the private folder, `groupcommit.state`,
read and written under an flock of its own; it is coordination only, never needed after a
crash, and carries the boot id so that a state left before a reboot (naming commits whose
objects may be gone) is ignored. A branch moved meanwhile by someone else (a `git push`)
fails the whole pending chain: each of its saves raises RefMoved and is planned again by the
write loop. A leader killed mid-batch leaves `moving` behind; the next leader finishes or
abandons that move line by line.

Without durability there is nothing to share: `stage` moves the branches at once and `wait`
returns.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cms.content.layout import LINES, MAIN, PUBLISHED
from cms.errors import RefMoved, StorageUnavailable
from cms.git import private
from cms.git import refs as gitrefs
from cms.git.objects import fsync_path

STATE_SIZE = 4096  # the state is rewritten in place, padded to this size
KEPT_FAILURES = 64
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Ticket:
    """A staged save: its place in the sequence of saves, and the chain (epoch) it joined."""

    seq: int
    epoch: int


def syncfs(path: str) -> None:
    """Make everything written on the file system holding `path` durable (syncfs(2)).

    Raises OSError when the kernel reports a write-back error."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


BOOT = _boot_id()  # a state written before the machine last started is not this one's


class GroupCommit:
    """The staged chain of one repository and the batches that make it durable."""

    def __init__(
        self, git_dir: str, branches: Callable[[], Mapping[str, str | None]], *, durable: bool
    ) -> None:
        """`branches` reads where the lines point (`Repository.tips`, the one place both
        are read, in the order that never shows a publication before its draft)."""
        self.git_dir = git_dir
        self.branches = branches
        self.objects_dir = os.path.join(git_dir, "objects")
        self.durable = durable
        self._fds: dict[str, tuple[int, int]] = {}  # name -> (pid, fd): fds do not cross forks
        self._sharing = threading.Lock()  # the state, between this process's threads
        self._leading = threading.Lock()  # the leader's turn, between this process's threads

    # -- the saver's side (under the write turn) -----------------------------------------

    def tips(self) -> dict[str, str | None]:
        """Where the next save plans: the end of the staged chain, else the branches."""
        if self.durable:
            with self._state() as state:
                if state["pending"]:
                    return dict(state["tips"])
        return dict(self.branches())

    def stage(self, updates: list[tuple[str, str | None, str]]) -> Ticket | None:
        """Add one save's branch moves `(line, old, new)` to the chain (durable), or make them
        now (not durable: None). `old` is where the save planned, as `tips` said.

        Raises RefMoved (not durable) when a branch moved meanwhile."""
        refs = [(f"refs/heads/{line}", old, new) for line, old, new in updates]
        if not self.durable:
            gitrefs.compare_and_swap(self.git_dir, refs)
            return None
        withdrawn_first = [line for line, _, _ in updates] == [PUBLISHED, MAIN]
        while True:
            with self._state() as state:
                if not state["pending"] or (not withdrawn_first and not state["withdrawn_first"]):
                    return self._append(state, updates, withdrawn_first)
                busy = Ticket(state["seq"], state["epoch"])
            # a save that must move `published` before `main` (withdrawing an article it
            # deletes) is never batched with saves that need the other order
            self._settle(busy)

    def _append(
        self, state: dict[str, Any], updates: list[tuple[str, str | None, str]], pm: bool
    ) -> Ticket:
        if not state["pending"]:
            # a new chain starts where the branches are, or where this save saw them (if a
            # push moved one since, the batch's compare-and-swap refuses it)
            base = dict(self.branches())
            base.update({line: old for line, old, _ in updates})
            state.update(base=base, tips=dict(base), withdrawn_first=pm, pending=True)
        for line, old, new in updates:
            if state["tips"][line] != old:
                raise RefMoved(state["tips"][line])
            state["tips"][line] = new
        state["seq"] += 1
        return Ticket(state["seq"], state["epoch"])

    def current(self) -> Ticket | None:
        """The last staged save, when one is pending (a save that found nothing to change
        answers from the chain, so it waits for it too)."""
        if not self.durable:
            return None
        with self._state() as state:
            return Ticket(state["seq"], state["epoch"]) if state["pending"] else None

    # -- everyone's side (outside the write turn) ----------------------------------------

    def wait(self, ticket: Ticket | None) -> None:
        """Return once the save of `ticket` is on disk and its branches moved.

        Raises RefMoved when its chain was refused (a branch moved outside the CMS: plan
        again), StorageUnavailable when the batch could not be written."""
        if ticket is None:
            return
        while not self._settle(ticket):
            pass

    def settle(self) -> None:
        """Make every staged save durable (before a write that does not go through the chain,
        under the write turn)."""
        ticket = self.current()
        if ticket is not None:
            try:
                self.wait(ticket)
            except (RefMoved, StorageUnavailable):
                pass  # those saves fail on their own; the chain is empty now

    def _settle(self, ticket: Ticket) -> bool:
        """True once `ticket` is done (raises when it failed); otherwise lead one batch."""
        with self._state() as state:
            if self._outcome(state, ticket):
                return True
        with self._leading, self._flock("groupcommit.lock"):
            with self._state() as state:
                if self._outcome(state, ticket):
                    return True
                self._take_over(state)
                moving = state["moving"] = {
                    "seq": state["seq"],
                    "epoch": state["epoch"],
                    "base": dict(state["base"]),
                    "tips": dict(state["tips"]),
                    "order": [PUBLISHED, MAIN] if state["withdrawn_first"] else [MAIN, PUBLISHED],
                }
            self._lead(moving)
        return False

    def _take_over(self, state: dict[str, Any]) -> None:
        """Adopt what a leader that died mid-batch (its `moving` left behind) already moved:
        each line it moved counts as the chain's base, and this batch syncs it again."""
        stale = state["moving"]
        if stale is None or stale["epoch"] != state["epoch"]:
            return
        now = self.branches()
        for line in LINES:
            current = now[line]
            if current == stale["tips"][line]:
                state["base"][line] = current

    def _lead(self, moving: dict[str, Any]) -> None:
        """Make one batch durable: one sync, the branches moved once, their folder synced."""
        updates = []
        now = self.branches()
        for line in moving["order"]:
            old, new = moving["base"][line], moving["tips"][line]
            current = now[line]
            if new == old or current == new:
                continue  # not moved by this batch, or moved already by a leader that died
            updates.append((f"refs/heads/{line}", old, new))
        failure = None
        try:
            gitrefs.compare_and_swap(
                self.git_dir, updates, durable=True, flush=lambda: syncfs(self.objects_dir)
            )
            if not updates:
                syncfs(self.objects_dir)
                fsync_path(os.path.join(self.git_dir, "refs", "heads"))
        except RefMoved:
            failure = "moved"
        except (OSError, StorageUnavailable) as e:
            failure = f"storage: {e.strerror if isinstance(e, OSError) else e}"
        with self._state() as state:
            state["moving"] = None
            if state["epoch"] != moving["epoch"]:
                return
            if failure is not None:
                # every save of the chain fails, those staged on it since included
                state["failed"][str(state["epoch"])] = failure
                for old in sorted(state["failed"], key=int)[:-KEPT_FAILURES]:
                    del state["failed"][old]
                state["epoch"] += 1
                state["pending"] = False
                return
            state["done"] = moving["seq"]
            state["base"] = dict(moving["tips"])
            if state["seq"] == moving["seq"]:
                state["pending"] = False

    @staticmethod
    def _outcome(state: dict[str, Any], ticket: Ticket) -> bool:
        failure = state["failed"].get(str(ticket.epoch))
        if failure == "moved":
            raise RefMoved(None)
        if failure is not None:
            raise StorageUnavailable(
                f"The content repository cannot be written: {failure[len('storage: ') :]}."
            )
        return ticket.seq <= state["done"]

    # -- the shared state ----------------------------------------------------------------

    @contextmanager
    def _flock(self, name: str) -> Iterator[int]:
        """Hold an flock on the private file `name` (the caller holds a thread lock too: an
        flock excludes processes, not the threads sharing a descriptor)."""
        fd = self._fd(name)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    @contextmanager
    def _state(self) -> Iterator[dict[str, Any]]:
        with self._sharing, self._flock("groupcommit.state") as fd:
            raw = os.pread(fd, STATE_SIZE, 0).rstrip(b"\0 \n")
            state = json.loads(raw) if raw else {}
            if state.get("boot") != BOOT:
                state = self._fresh()
            before = json.dumps(state, sort_keys=True)
            yield state
            after = json.dumps(state, sort_keys=True)
            if after != before:
                data = after.encode()
                if len(data) > STATE_SIZE:
                    raise StorageUnavailable("group commit state too large")
                os.pwrite(fd, data.ljust(STATE_SIZE, b" "), 0)

    def _fresh(self) -> dict[str, Any]:
        tips = dict(self.branches())
        return {
            "boot": BOOT,
            "seq": 0,
            "done": 0,
            "epoch": 0,
            "pending": False,
            "withdrawn_first": False,
            "base": dict(tips),
            "tips": dict(tips),
            "moving": None,
            "failed": {},
        }

    def _fd(self, name: str) -> int:
        held = self._fds.get(name)
        if held is None or held[0] != os.getpid():
            fd = os.open(private.path(self.git_dir, name), os.O_RDWR | os.O_CREAT, 0o600)
            self._fds[name] = held = (os.getpid(), fd)
        return held[1]
