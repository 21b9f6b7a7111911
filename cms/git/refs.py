"""Read a branch and move it by compare-and-swap, with git's own lock-file protocol.

Git updates a ref by creating `<ref>.lock` exclusively, writing the new id into it and renaming
it over the ref. Doing the same here means the CMS, other CMS processes and a person running
`git` by hand all exclude each other, without a working tree, an index file or a subprocess.

A process killed while holding a lock leaves the file behind, and git itself never removes such
a file. The CMS also holds an OS lock (`flock`) on its lock files while it has them, which the
kernel drops when the process dies: a lock file nobody holds that way, and that has been there
for a few seconds, was left by a dead writer (or is git's, which holds its locks for
milliseconds) and is removed.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable

from cms.errors import RefMoved, StorageUnavailable
from cms.git.objects import fsync_path

# A lock file that no live CMS process holds and that is older than this was left behind.
STALE_LOCK_SECONDS = 3.0
LOCK_WAIT_SECONDS = 10.0


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
    git_dir: str,
    updates: list[tuple[str, str | None, str]],
    *,
    durable: bool = False,
    flush: Callable[[], None] | None = None,
) -> None:
    """Move each `(ref, old, new)`: point `ref` at `new` if it still points at `old` (None: if
    it does not exist yet). Every ref is checked before any moves.

    With `durable`, each lock file is fsynced before it is renamed and the ref's folder after;
    `flush`, when given, is called instead of the lock files' fsyncs, once every lock holds its
    new id and before any ref moves: one sync (group commit's `syncfs`) covering them and the
    objects they name.

    Locks are taken in ref-name order, so writers of several refs cannot deadlock; the refs then
    move in the order given, so a caller chooses what a crash between two moves leaves behind.
    Raises RefMoved when a ref points elsewhere, StorageUnavailable when a lock cannot be had.
    """
    held: dict[str, tuple[str, int]] = {}
    try:
        for ref, old, new in sorted(updates):
            path = os.path.join(git_dir, ref)
            fd = _acquire(path + ".lock")
            held[ref] = (path, fd)
            current = read_ref(git_dir, ref)
            if current != old:
                raise RefMoved(current)
            os.write(fd, new.encode() + b"\n")
            if durable and flush is None:
                os.fsync(fd)
        if held and flush is not None:
            flush()
        for ref, _, _ in updates:
            path, fd = held[ref]
            os.replace(path + ".lock", path)
            if durable:
                fsync_path(os.path.dirname(path))
            del held[ref]
            os.close(fd)
    finally:
        for path, fd in held.values():
            os.close(fd)
            _unlink_quietly(path + ".lock")


def _acquire(lock: str) -> int:
    """Create `lock` exclusively and hold it; wait while another writer has it."""
    os.makedirs(os.path.dirname(lock), exist_ok=True)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    delay = 0.0005
    while True:
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if _break_if_stale(lock):
                continue
        except OSError as e:
            raise StorageUnavailable(f"cannot lock the branch: {e.strerror}") from e
        else:
            fcntl.flock(fd, fcntl.LOCK_EX)  # a prober holds it only for an instant
            return fd
        if time.monotonic() > deadline:
            raise StorageUnavailable("the branch is locked by another writer; try again")
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


def _break_if_stale(lock: str) -> bool:
    """Remove `lock` if its writer is gone; True when the caller may try again at once."""
    try:
        if time.time() - os.stat(lock).st_mtime < STALE_LOCK_SECONDS:
            return False
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live CMS writer holds it
        if os.fstat(fd).st_ino == os.stat(lock).st_ino:
            os.unlink(lock)
        return True
    except FileNotFoundError:
        return True
    finally:
        os.close(fd)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
