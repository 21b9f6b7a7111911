"""Read a branch and move it by compare-and-swap, with git's own lock-file protocol.

Git updates a ref by creating `<ref>.lock` exclusively, writing the new id into it and renaming
it over the ref. Doing the same here means the CMS, other CMS processes and a person running
`git` by hand all exclude each other, without a working tree, an index file or a subprocess.
"""

from __future__ import annotations

import os
import time

from .errors import StorageUnavailable

# A lock older than this was left by a process that died while holding it: git and the CMS
# hold a ref lock for well under a millisecond.
STALE_LOCK_SECONDS = 10.0
LOCK_WAIT_SECONDS = 10.0


class RefMoved(Exception):
    """The ref no longer points where the caller expected; `current` is where it points."""

    def __init__(self, current: str | None) -> None:
        super().__init__(current)
        self.current = current


def read_ref(git_dir: str, ref: str) -> str | None:
    """Return the commit `ref` (e.g. `refs/heads/main`) points to, or None if there is none."""
    try:
        with open(os.path.join(git_dir, ref), "rb") as f:
            value = f.read().strip().decode()
        if value.startswith("ref: "):
            return read_ref(git_dir, value[5:])
        if value:
            return value
    except FileNotFoundError:
        pass
    return _read_packed_ref(git_dir, ref)


def _read_packed_ref(git_dir: str, ref: str) -> str | None:
    try:
        with open(os.path.join(git_dir, "packed-refs"), "rb") as f:
            target = ref.encode()
            for line in f:
                if line[:1] in (b"#", b"^"):
                    continue
                sha, _, name = line.rstrip(b"\n").partition(b" ")
                if name == target:
                    return sha.decode()
    except FileNotFoundError:
        pass
    return None


def compare_and_swap(
    git_dir: str, updates: list[tuple[str, str | None, str]], *, durable: bool = False
) -> None:
    """Move each `(ref, old, new)`: point `ref` at `new` if it still points at `old` (None: if
    it does not exist yet). Either every ref is checked and moved, or none is.

    Locks are taken in ref-name order, so writers of several refs cannot deadlock. Raises
    RefMoved when a ref points elsewhere, StorageUnavailable when a lock cannot be had or a
    ref cannot be written.
    """
    held: list[tuple[str, str, int]] = []
    try:
        for ref, old, new in sorted(updates):
            path = os.path.join(git_dir, ref)
            held.append((path, path + ".lock", _acquire(path + ".lock")))
            current = read_ref(git_dir, ref)
            if current != old:
                raise RefMoved(current)
            fd = held[-1][2]
            os.write(fd, new.encode() + b"\n")
            if durable:
                os.fsync(fd)
        for i, (path, lock, fd) in enumerate(held):
            os.close(fd)
            held[i] = (path, lock, -1)
        for path, lock, _ in held:
            os.replace(lock, path)
            if durable:
                _fsync_dir(os.path.dirname(path))
        held = []
    finally:
        for _, lock, fd in held:
            if fd >= 0:
                os.close(fd)
            _unlink_quietly(lock)


def _acquire(lock: str) -> int:
    os.makedirs(os.path.dirname(lock), exist_ok=True)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    delay = 0.0005
    while True:
        try:
            return os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            _break_if_stale(lock)
        except OSError as e:
            raise StorageUnavailable(f"cannot lock the branch: {e.strerror}") from e
        if time.monotonic() > deadline:
            raise StorageUnavailable("the branch is locked by another writer; try again")
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


def _break_if_stale(lock: str) -> None:
    try:
        if time.time() - os.stat(lock).st_mtime > STALE_LOCK_SECONDS:
            os.unlink(lock)
    except FileNotFoundError:
        pass


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
