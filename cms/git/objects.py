"""Git objects without a working tree: write blobs, trees and commits, read trees.

Objects are written as loose objects (zlib, temp file, rename), which is all git needs to see
them; reading goes through GitPython's object database (a persistent `git cat-file --batch`).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from cms.content import identity
from cms.content.identity import Person

MODE_FILE = 0o100644
MODE_TREE = 0o040000

# name -> (mode, binary sha)
Tree = dict[str, tuple[int, bytes]]


_FOLDERS: set[str] = set()  # object folders known to exist (git never removes them while used)
_COUNTER = itertools.count()


def write_object(objects_dir: str, kind: str, data: bytes, *, durable: bool = False) -> str:
    """Store one object and return its hex id. Writing an object that exists is a no-op.

    With `durable`, the object's bytes and its name in the folder are on disk when this returns
    (an object that was already there is synced too: a non-durable writer may have just made it).
    """
    raw = f"{kind} {len(data)}\0".encode() + data
    sha = hashlib.sha1(raw).hexdigest()
    folder = os.path.join(objects_dir, sha[:2])
    path = os.path.join(folder, sha[2:])
    if os.path.exists(path):
        if durable:
            fsync_path(path)
        return sha
    new_folder = folder not in _FOLDERS and not os.path.isdir(folder)
    if new_folder:
        os.makedirs(folder, exist_ok=True)
    _FOLDERS.add(folder)
    tmp = os.path.join(folder, f"tmp_obj_{os.getpid()}_{next(_COUNTER)}")
    # created read-only, as git leaves objects; the descriptor may still write
    flags, mode = os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444
    try:
        fd = os.open(tmp, flags, mode)
    except FileNotFoundError:  # `git prune` removed the emptied folder meanwhile
        os.makedirs(folder, exist_ok=True)
        new_folder = True
        fd = os.open(tmp, flags, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(zlib.compress(raw, 1))
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if durable:
        fsync_path(folder)
        if new_folder:
            fsync_path(objects_dir)
    return sha


def fsync_path(path: str) -> None:
    """fsync a file or a folder by its path."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def serialize_tree(tree: Tree) -> bytes:
    """Return the bytes of a tree object, entries in git's order (directories sort as `name/`).

    Plain Python rather than GitPython's writer, which validates every entry name again and
    made saving cost grow with the size of the folder being rewritten.
    """
    entries = sorted(
        (name.encode() + (b"/" if mode == MODE_TREE else b""), name.encode(), mode, sha)
        for name, (mode, sha) in tree.items()
    )
    return b"".join(b"%o %s\0%s" % (mode, name, sha) for _, name, mode, sha in entries)


def parse_tree(data: bytes) -> Tree:
    """Return a tree object's entries: name -> (mode, binary sha)."""
    tree: Tree = {}
    at, end = 0, len(data)
    while at < end:
        space = data.index(b" ", at)
        nul = data.index(b"\0", space)
        tree[data[space + 1 : nul].decode("utf-8", "surrogateescape")] = (
            int(data[at:space], 8),
            data[nul + 1 : nul + 21],
        )
        at = nul + 21
    return tree


def serialize_commit(
    tree: str,
    parents: list[str],
    author: Person,
    committer: Person,
    when: int,
    message: str,
    authored: int | None = None,
) -> bytes:
    """The bytes of a commit object made at `when`; `authored` (default: `when`) is the author
    date, as git keeps for a change written earlier than it was committed (an archive's).
    Raises ValueError for an identity that could break its header (every caller validates
    identities first; this is the last guard)."""
    for person in (author, committer):
        found = identity.problems(person.name, person.email)
        if found:
            raise ValueError(f"refusing to write the identity {person!r} into a commit: {found}")
    lines = [f"tree {tree}"]
    lines += [f"parent {p}" for p in parents]
    lines.append(
        f"author {author.name} <{author.email}> {when if authored is None else authored} +0000"
    )
    lines.append(f"committer {committer.name} <{committer.email}> {when} +0000")
    return ("\n".join(lines) + "\n\n" + message).encode()


class TreeCache:
    """Parsed trees by id. Trees never change, so an entry is never stale.

    Bounded by trees (`size`) and by their entries in all (`entries`): a tree's size grows
    with the repository (an `articles/xx/` folder holds about n/256 files), so a bound by
    count alone let the cache grow with it, about 120 MB at 100,000 articles during an
    import whose every commit leaves new large trees. 300,000 entries (some 60 MB) still
    hold every current folder of a repository of 250,000 articles."""

    def __init__(self, size: int = 2048, entries: int = 300_000) -> None:
        self._size = size
        self._budget = entries
        self._entries = 0
        self._trees: OrderedDict[bytes, Tree] = OrderedDict()

    def __contains__(self, binsha: object) -> bool:
        return binsha in self._trees

    def _keep(self, binsha: bytes, tree: Tree) -> None:
        old = self._trees.pop(binsha, None)
        if old is not None:
            self._entries -= len(old)
        self._trees[binsha] = tree
        self._entries += len(tree)
        while len(self._trees) > 1 and (
            len(self._trees) > self._size or self._entries > self._budget
        ):
            _, dropped = self._trees.popitem(last=False)
            self._entries -= len(dropped)

    def put(self, binsha: bytes, tree: Tree) -> None:
        """Remember a tree this process just wrote: the next save starts from it."""
        self._keep(binsha, dict(tree))

    def get(self, odb: Any, binsha: bytes) -> Tree:
        tree = self._trees.get(binsha)
        if tree is None:
            tree = parse_tree(odb.stream(binsha).read())
            self._keep(binsha, tree)
        else:
            self._trees.move_to_end(binsha)
        return dict(tree)


# what a long-lived reader (`git cat-file --batch`) may keep mapped of the packs: git maps
# them in windows and by default keeps up to 8 GiB of them, so a reader that lives through
# a bulk write (an import: a pack per batch, each read while the next is written) holds
# every pack it touched, and its RSS grows with the repository; beyond the limit git unmaps
# the least recently used window (the pages stay in the page cache for the next map)
PACK_WINDOWS = ("core.packedGitWindowSize=16m", "core.packedGitLimit=64m")
READER_OPTIONS = tuple(arg for option in PACK_WINDOWS for arg in ("-c", option))


class ObjectStream:
    """Objects read through one `git cat-file --batch` process (and sizes through one
    `--batch-check`), with no round trip per object: reading 10,000 objects starts two git
    processes, not 10,000. Use it in a `with` block."""

    def __init__(self, git_dir: str) -> None:
        self.git_dir = git_dir
        self._proc = subprocess.Popen(
            ["git", "--git-dir", git_dir, *READER_OPTIONS, "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def __enter__(self) -> ObjectStream:
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.close()
        except OSError:
            pass  # git was ended early (see `many`)
        self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    def many(self, shas: list[str]) -> Iterator[tuple[str, bytes]]:
        """Yield (id, bytes) of each object in order; raises LookupError for one git does not
        have. The requests are written by a thread while the answers are read, so there is
        no round trip per object. Read it to the end."""
        stdin, stdout = self._proc.stdin, self._proc.stdout
        assert stdin is not None and stdout is not None

        def ask() -> None:
            try:
                for sha in shas:
                    stdin.write(sha.encode() + b"\n")
                stdin.flush()
            except (OSError, ValueError):
                pass  # the reader stopped early and ended the process (below)

        asking = threading.Thread(target=ask, daemon=True)
        asking.start()
        done = False
        try:
            for sha in shas:
                header = stdout.readline().split()
                if len(header) != 3:
                    raise LookupError(f"object {sha} is missing")
                data = stdout.read(int(header[2]) + 1)[:-1]
                yield sha, data
            done = True
        finally:
            if not done:  # answers left unread would block the writer for ever
                self._proc.kill()
            asking.join()

    def read(self, sha: str) -> bytes:
        """Return one object's bytes; raises LookupError if git does not have it."""
        return next(iter(dict(self.many([sha])).values()))

    def sizes(self, shas: list[str]) -> dict[str, int]:
        """Return the size of each object, without reading it."""
        if not shas:
            return {}
        out = subprocess.run(
            [
                "git",
                "--git-dir",
                self.git_dir,
                "cat-file",
                "--batch-check=%(objectname) %(objectsize)",
            ],
            input="\n".join(shas).encode() + b"\n",
            capture_output=True,
            check=True,
        ).stdout
        sizes = {}
        for line in out.decode().splitlines():
            sha, _, size = line.partition(" ")
            if not size.isdigit():
                raise LookupError(f"object {sha} is missing")
            sizes[sha] = int(size)
        return sizes
