"""Writing an export to disk, never through a link: a JSON array (`*.json`), JSON Lines
(`*.jsonl`) or a folder of `<slug>.json` files.

An export folder can hold what someone else put there. A symbolic link named like one of its
files would make a plain `open()` overwrite whatever it points at, and a link anywhere in the
path would put the whole export somewhere else. So the path is walked a component at a time
from `/` (or the current folder), each opened with O_NOFOLLOW relative to the one before
(`dir_fd`), and each file is opened the same way in the folder so reached: a link at any step
is refused, and none can be swapped in between the check and the write. A file already at a
path is overwritten only when it is a plain file with no other hard link (writing it would
change the file its other names show too); a pipe is never waited on.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Iterator
from typing import IO, Any

from cms.content import canonical
from cms.errors import BadRequest

_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a pipe fails at once when nothing reads it, instead of waiting
_FILE = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
LINK = "a symbolic link (an export never writes through one)"


class UnsafeTarget(BadRequest):
    """A path the export would write through is a link, or a file it must not overwrite."""


def problems(path: str, slugs: Iterable[str]) -> list[str]:
    """One `path: reason` line for each path that exporting `slugs` to `path` would refuse to
    write (nothing to refuse where nothing is there yet). Writes nothing."""
    folder, names = (
        (path, [f"{slug}.json" for slug in slugs])
        if _is_folder(path)
        else (os.path.dirname(path), [os.path.basename(path)])
    )
    try:
        fd = _open_folder(folder, path, create=False)
    except UnsafeTarget as e:
        return [e.detail]
    if fd is None:
        return []
    try:
        return [
            f"{os.path.join(folder, name)}: {reason}"
            for name in names
            if (reason := _refusal(fd, name)) is not None
        ]
    finally:
        os.close(fd)


def write(items: Iterator[dict[str, Any]], path: str) -> Iterator[str]:
    """Write export records to `path`: a JSON array for `*.json`, JSON Lines for `*.jsonl`,
    otherwise a folder of `<slug>.json` files (made if missing, as are the folders above
    the file). Yields each slug as it is written. Raises UnsafeTarget for a path `problems`
    names (which a check just before keeps to what changed since)."""
    folder = path if _is_folder(path) else os.path.dirname(path)
    fd = _open_folder(folder, path, create=True)
    assert fd is not None
    try:
        if not _is_folder(path):
            with _create(fd, os.path.basename(path), path, "w") as f:
                if path.endswith(".jsonl"):
                    for item in items:
                        f.write(json.dumps(item, ensure_ascii=False) + "\n")
                        yield item["slug"]
                else:
                    yield from _array_file(items, f)
            return
        for item in items:
            name = f"{item['slug']}.json"
            with _create(fd, name, os.path.join(path, name), "wb") as out:
                out.write(canonical.dumps(item))
            yield item["slug"]
    finally:
        os.close(fd)


def _is_folder(path: str) -> bool:
    return not path.endswith((".json", ".jsonl"))


def _open_folder(path: str, target: str, *, create: bool) -> int | None:
    """A descriptor of the folder `path` (where `target` is written), reached a component at
    a time without following a link; None when it is missing and not to be made. Raises
    UnsafeTarget."""
    here = "/" if os.path.isabs(path) else ""
    fd = os.open(here or ".", _FOLDER)
    try:
        for part in (p for p in path.split("/") if p not in ("", ".")):
            here = os.path.join(here, part)
            try:
                step = _step(fd, part, create)
            except OSError as e:
                raise UnsafeTarget(_blocked(fd, part, here, target, e)) from e
            os.close(fd)
            if step is None:
                return None
            fd = step
    except BaseException:
        os.close(fd)
        raise
    return fd


def _step(fd: int, name: str, create: bool) -> int | None:
    try:
        return os.open(name, _FOLDER, dir_fd=fd)
    except FileNotFoundError:
        if not create:
            return None
    try:
        os.mkdir(name, dir_fd=fd)
    except FileExistsError:
        pass  # made meanwhile: opened below, still without following a link
    return os.open(name, _FOLDER, dir_fd=fd)


def _blocked(fd: int, name: str, here: str, target: str, error: OSError) -> str:
    """Why the folder `here` (`name` in `fd`) on the way to `target` cannot be entered."""
    try:
        mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
    except OSError:
        mode = 0
    if stat.S_ISLNK(mode):
        return (
            f"{here}: a symbolic link in the path (an export follows none; give the real "
            f"path: {os.path.realpath(target)})"
        )
    if mode and not stat.S_ISDIR(mode):
        return f"{here}: not a folder"
    return f"{here}: {error.strerror}"


def _refusal(fd: int, name: str) -> str | None:
    """Why the export must not write `name` in the folder `fd`; None: it may."""
    try:
        return _unsafe(os.stat(name, dir_fd=fd, follow_symlinks=False))
    except FileNotFoundError:
        return None


def _unsafe(st: os.stat_result) -> str | None:
    if stat.S_ISLNK(st.st_mode):
        return LINK
    if stat.S_ISDIR(st.st_mode):
        return "a folder, not a file"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if st.st_nlink > 1:
        return "a file with other hard links (writing it would change them too)"
    return None


def _create(folder: int, name: str, where: str, mode: str) -> IO[Any]:
    """`name` in `folder`, opened to be written from its start, never through a link."""
    try:
        fd = os.open(name, _FILE, 0o666, dir_fd=folder)
    except OSError as e:
        raise UnsafeTarget(f"{where}: {_refusal(folder, name) or e.strerror}") from e
    try:
        reason = _unsafe(os.fstat(fd))
        if reason is not None:
            raise UnsafeTarget(f"{where}: {reason}")
        os.set_blocking(fd, True)
        os.ftruncate(fd, 0)
        return os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8")
    except BaseException:
        os.close(fd)
        raise


def _array_file(items: Iterator[dict[str, Any]], f: IO[str]) -> Iterator[str]:
    f.write("[")
    first = True
    for item in items:
        f.write("\n" if first else ",\n")
        f.write(json.dumps(item, ensure_ascii=False, indent=2))
        first = False
        yield item["slug"]
    f.write("\n]\n" if not first else "]\n")
