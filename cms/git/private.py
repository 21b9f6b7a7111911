"""The CMS's private state folder, `<git dir>/cms/`: what never enters the history (tokens,
sessions, the index, the webhook outbox, mirror state, keys, locks).

One home for its paths (`path`), for writing a file in it so that a reader sees the old
content or the new and never a part (`write_bytes`, `write_json`), and for opening a SQLite
database in it (`connect`), with one rule for how long a connection waits for another writer.
Files and folders are private to the server's user (0600 and 0700).
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from typing import Any

from cms.git.objects import fsync_path

FOLDER = "cms"
# seconds a SQLite connection waits for another process's write to end, for every database
BUSY_TIMEOUT = 60.0


def path(git_dir: str, *parts: str) -> str:
    """The path of `parts` inside the private folder of `git_dir`; the folders on the way are
    made (0700) when missing."""
    full = os.path.join(git_dir, FOLDER, *parts)
    folder = os.path.dirname(full) if parts else full
    os.makedirs(folder, mode=0o700, exist_ok=True)
    return full


def write_bytes(target: str, data: bytes, *, durable: bool = True, mode: int = 0o600) -> None:
    """Replace the file `target` with `data` atomically (`mode`: 0600, or 0700 for a script).
    With `durable`, the bytes and the folder entry naming them are on disk when this returns."""
    folder = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if durable:
        fsync_path(folder)


def create_once(target: str, data: bytes) -> bool:
    """Create `target` holding `data` unless it exists (False then); a reader never sees it
    empty or partial, and it is on disk, with its folder entry, when this returns."""
    if os.path.exists(target):
        return False  # nothing to write: a read-only volume starts as before
    folder = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, target)  # fails if it exists, unlike a rename
        except FileExistsError:
            return False
    finally:
        os.unlink(tmp)
    fsync_path(folder)
    return True


def write_json(target: str, data: Any, *, durable: bool = True) -> None:
    """`write_bytes` of `data` as indented JSON."""
    write_bytes(target, json.dumps(data, indent=2).encode("utf-8"), durable=durable)


def read_json(source: str, default: Any) -> Any:
    """The JSON in `source`, or `default` when there is no such file."""
    try:
        with open(source, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def connect(
    database: str, *, read_only: bool = False, check_same_thread: bool = True
) -> sqlite3.Connection:
    """A connection to the SQLite file `database` in autocommit mode (transactions are
    explicit), waiting up to BUSY_TIMEOUT for other writers; `read_only` opens it read-only."""
    if read_only:
        return sqlite3.connect(
            f"file:{database}?mode=ro",
            uri=True,
            timeout=BUSY_TIMEOUT,
            isolation_level=None,
            check_same_thread=check_same_thread,
        )
    return sqlite3.connect(
        database, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=check_same_thread
    )
