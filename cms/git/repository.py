"""The content repository as the store sees it: objects, trees, refs and history, over GitPython
and git's own file formats. Nothing here knows about articles.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import git
from gitdb.util import hex_to_bin

from cms.content.layout import LINES, MAIN, PUBLISHED
from cms.errors import RefMoved
from cms.git import bare, packs, private, rawcommit, signing
from cms.git import refs as gitrefs
from cms.git.groupcommit import GroupCommit, Ticket
from cms.git.objects import (
    MODE_FILE,
    MODE_TREE,
    PACK_WINDOWS,
    ObjectStream,
    Person,
    Tree,
    TreeCache,
    parse_tree,
    serialize_commit,
    serialize_tree,
    write_object,
)

NULL_SHA = "0" * 40


@dataclass
class Batch:
    """Writes held back until a batch ends: objects (id -> (kind, data)), and where each branch
    it moved pointed before it (`started`) and points now (`refs`)."""

    objects: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    started: dict[str, str | None] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Tips(Mapping[str, str | None]):
    """Where the two lines of history point (None: that branch does not exist), as read
    together by `Repository.tips`.

    Also the mapping {line: commit} it replaces, in the lines' order (`layout.LINES`), so
    `tips[MAIN]`, `dict(tips)` and comparing with such a dict read as before."""

    main: str | None
    published: str | None

    @classmethod
    def of(cls, lines: Mapping[str, str | None]) -> Tips:
        """The tips a {line: commit} mapping names (a line it lacks: None)."""
        return cls(main=lines.get(MAIN), published=lines.get(PUBLISHED))

    def __getitem__(self, line: str) -> str | None:
        if line == MAIN:
            return self.main
        if line == PUBLISHED:
            return self.published
        raise KeyError(line)

    def __iter__(self) -> Iterator[str]:
        return iter(LINES)

    def __len__(self) -> int:
        return len(LINES)

    def __hash__(self) -> int:
        return hash((self.main, self.published))


@dataclass
class CommitRecord:
    """One commit on a line of history and the files it changed against its first parent."""

    sha: str
    parents: list[str]
    author: Person
    committer_email: str
    date: int
    message: str
    # path -> new blob id, or None when the commit removed the file
    changes: dict[str, str | None] = field(default_factory=dict)
    # path -> mode, for the changed files that are not plain files (links, executables)
    modes: dict[str, int] = field(default_factory=dict)
    # path -> git's status letter (A, M, D, T), when read from git
    statuses: dict[str, str] = field(default_factory=dict)
    committed: int | None = None  # the committer date, when read from git


def _close(opened: list[tuple[int, git.Repo]]) -> None:
    """Close the GitPython repositories of `opened` that this process opened (a forked child
    leaves its parent's alone)."""
    pid = os.getpid()
    for owner, repo in list(opened):
        if owner == pid:
            repo.close()


class Repository:
    """A git repository read through GitPython and written object by object; `close()` ends
    the processes it reads through."""

    def __init__(self, path: str, *, durable: bool = False, signing_key: str | None = None) -> None:
        """`signing_key`: an SSH private key that signs every commit written (`signing`).

        Raises FileNotFoundError when there is no repository at `path`, and NotBareRepository
        when it has a working tree the CMS's writes would leave behind (see `bare`)."""
        try:
            probe = git.Repo(path)
        except (git.NoSuchPathError, git.InvalidGitRepositoryError) as e:
            raise FileNotFoundError(f"no git repository at {path}") from e
        try:
            bare.refuse_working_trees(probe)
        finally:
            probe.close()
        self.path = os.path.abspath(path)
        self.git_dir = os.fspath(probe.common_dir)
        self.objects_dir = os.path.join(self.git_dir, "objects")
        self.durable = durable
        self.signing_key = signing_key
        self._local = threading.local()
        self._trees = TreeCache()
        self._trees_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._flock: tuple[int, int] | None = None  # (pid, fd) of <git dir>/cms/write.lock
        self._commit_trees: dict[str, str] = {}  # commit -> its root tree; commits never change
        # every thread's GitPython repository, with the process that opened it (`close`)
        self._opened: list[tuple[int, git.Repo]] = []
        # their `git cat-file` processes end when this Repository goes, if not closed before,
        # rather than whenever the garbage collector reaches GitPython's reference cycles
        weakref.finalize(self, _close, self._opened)
        # durable saves share their syncs and branch moves (`cms.store.commits` stages them)
        self.group = GroupCommit(self.git_dir, self.tips, durable=durable)

    @classmethod
    def init(cls, path: str, *, durable: bool = False) -> Repository:
        """Create a bare repository whose HEAD is `main` (a no-op if one exists); return it."""
        try:
            git.Repo(path).close()
        except (git.NoSuchPathError, git.InvalidGitRepositoryError):
            os.makedirs(path, exist_ok=True)
            git.Repo.init(path, bare=True, initial_branch="main").close()
        return cls(path, durable=durable)

    @property
    def git(self) -> git.Repo:
        """This thread's GitPython repository (each keeps its own `git cat-file` process)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.repo = git.Repo(self.git_dir)
            # its `git cat-file` children keep a bounded part of the packs mapped
            local.repo.git.set_persistent_git_options(c=list(PACK_WINDOWS))
            local.pid = os.getpid()
            self._opened.append((local.pid, local.repo))
        return local.repo

    def close(self) -> None:
        """End the `git cat-file` processes this process's threads keep open for reading.
        The repository stays usable: a later read starts them again."""
        _close(self._opened)

    # -- reading ---------------------------------------------------------------

    def ref(self, name: str) -> str | None:
        batch = self._batch()
        if batch is not None and name in batch.refs:
            return batch.refs[name]
        return gitrefs.read_ref(self.git_dir, f"refs/heads/{name}")

    def tips(self) -> Tips:
        """Where `main` and `published` point: the one place both are read.

        `published` is read first. Whatever it then holds was made from a draft already on
        `main` (a publication names a draft revision that `main` had when it was made), and
        `main` only moves on from there, so a publication is never seen before the revision
        it publishes; reading `main` first could see a publication of a draft it lacks."""
        published = self.ref(PUBLISHED)
        return Tips(main=self.ref(MAIN), published=published)

    def read(self, sha: str) -> bytes:
        batch = self._batch()
        if batch is not None and sha in batch.objects:
            return batch.objects[sha][1]
        return self.git.odb.stream(hex_to_bin(sha)).read()

    def size(self, sha: str) -> int:
        """The size in bytes of an object, without reading it."""
        batch = self._batch()
        if batch is not None and sha in batch.objects:
            return len(batch.objects[sha][1])
        return int(self.git.odb.info(hex_to_bin(sha)).size)

    def tree(self, sha: bytes) -> Tree:
        with self._trees_lock:
            batch = self._batch()
            if batch is not None and sha.hex() in batch.objects and sha not in self._trees:
                self._trees.put(sha, parse_tree(batch.objects[sha.hex()][1]))
            return self._trees.get(self.git.odb, sha)

    def root_tree(self, commit: str | None) -> Tree:
        if commit is None:
            return {}
        tree = self._commit_trees.get(commit)
        if tree is None:
            tree = self.read(commit).split(b"\n", 1)[0][5:].decode()
            self._remember_commit(commit, tree)
        return self.tree(hex_to_bin(tree))

    def _remember_commit(self, commit: str, tree: str) -> None:
        self._commit_trees[commit] = tree
        if len(self._commit_trees) > 4096:
            self._commit_trees.pop(next(iter(self._commit_trees)))

    def lookup(self, commit: str | None, path: str) -> str | None:
        """Return the blob id at `path` in `commit`, or None."""
        entry = self.entry(commit, path)
        return None if entry is None else entry[1]

    def entry(self, commit: str | None, path: str) -> tuple[int, str] | None:
        """Return the mode and object id of the file at `path` in `commit`, or None (a
        gitlink's id names a commit of another repository, not a blob)."""
        tree = self.root_tree(commit)
        *folders, name = path.split("/")
        for folder in folders:
            entry = tree.get(folder)
            if entry is None or entry[0] != MODE_TREE:
                return None
            tree = self.tree(entry[1])
        entry = tree.get(name)
        if entry is None or entry[0] == MODE_TREE:
            return None
        return entry[0], entry[1].hex()

    def log(self, since: str | None, until: str) -> Iterator[CommitRecord]:
        """Yield the first-parent commits after `since` up to `until`, oldest first.

        git lists the commits and their changes; each commit's own bytes are read and parsed
        here (`rawcommit`), so no byte an author, committer or message holds can confuse it.
        """
        span = f"{since}..{until}" if since else until
        out = self.git.git.log(
            "--reverse",
            "--first-parent",
            "--diff-merges=first-parent",
            "--root",
            "--no-renames",
            "--raw",
            "-z",
            "--no-abbrev",
            "--format=%H",
            span,
            "--",
            stdout_as_string=False,
        )
        commits: list[tuple[str, dict[str, str | None], dict[str, int], dict[str, str]]] = []
        fields = out.split(b"\0")
        i = 0
        while i < len(fields):
            token = fields[i].strip(b"\n")
            i += 1
            if token.startswith(b":"):
                _, mode, _, new_blob, status = token[1:].decode().split()
                path = fields[i].decode("utf-8", "surrogateescape")
                i += 1
                commits[-1][1][path] = None if status == "D" else new_blob
                commits[-1][3][path] = status[0]
                if status != "D" and int(mode, 8) != MODE_FILE:
                    commits[-1][2][path] = int(mode, 8)
            elif token:
                commits.append((token.decode(), {}, {}, {}))
        with ObjectStream(self.git_dir) as objects:
            for (sha, changes, modes, statuses), (_, raw) in zip(
                commits, objects.many([c[0] for c in commits]), strict=True
            ):
                c = rawcommit.parse(raw)
                yield CommitRecord(
                    sha,
                    c.parents,
                    c.author,
                    c.committer.email,
                    c.date,
                    c.message,
                    changes,
                    modes,
                    statuses,
                    c.committed,
                )

    def changes(self, old: str, new: str, under: str) -> dict[str, str | None]:
        """Files under `under` that differ between two commits: path -> new blob, or None if
        the file is gone in `new`."""
        out = self.git.git.diff_tree(
            "-r", "--no-renames", "--raw", "--no-abbrev", "-z", old, new, "--", under
        )
        fields = out.split("\0")
        changed: dict[str, str | None] = {}
        for meta, path in zip(fields[0::2], fields[1::2], strict=False):
            if meta.startswith(":"):
                new_blob, status = meta.split()[3:5]
                changed[path] = None if status == "D" else new_blob
        return changed

    def is_ancestor(self, older: str, newer: str) -> bool:
        result = subprocess.run(
            ["git", "--git-dir", self.git_dir, "merge-base", "--is-ancestor", older, newer],
            capture_output=True,
        )
        return result.returncode == 0

    # -- writing ---------------------------------------------------------------

    def write(self, kind: str, data: bytes) -> str:
        batch = self._batch()
        if batch is not None:
            sha = packs.object_id(kind, data)
            batch.objects[sha] = (kind, data)
            return sha
        durable = self.durable and not getattr(self._local, "deferred", False)
        return write_object(self.objects_dir, kind, data, durable=durable)

    def write_tree(self, tree: Tree) -> str:
        sha = self.write("tree", serialize_tree(tree))
        with self._trees_lock:
            self._trees.put(hex_to_bin(sha), tree)
        return sha

    def with_file(self, commit: str | None, path: str, blob: str | None) -> str:
        """Return the id of the root tree of `commit` with `path` set to `blob` (None: removed).

        Only the trees along `path` are read and written, so the cost does not depend on how
        many other files the repository holds.
        """
        *folders, name = path.split("/")
        trees = [self.root_tree(commit)]
        for folder in folders:
            entry = trees[-1].get(folder)
            trees.append(self.tree(entry[1]) if entry and entry[0] == MODE_TREE else {})
        child: tuple[int, bytes] | None = None
        if blob is not None:
            child = (MODE_FILE, hex_to_bin(blob))
        for tree, key in zip(reversed(trees), reversed([*folders, name]), strict=True):
            if child is None:
                tree.pop(key, None)
            else:
                tree[key] = child
            is_root = tree is trees[0]
            if not tree and not is_root:
                child = None
            else:
                child = (MODE_TREE, hex_to_bin(self.write_tree(tree)))
        assert child is not None
        return child[1].hex()

    def with_files(self, commit: str | None, changes: dict[str, str | None]) -> str:
        """Return the id of the root tree of `commit` with each path set to its blob (None:
        removed), reading and writing only the trees along those paths."""
        if len(changes) == 1:
            [(path, blob)] = changes.items()
            return self.with_file(commit, path, blob)
        return self.write_tree(self._edited(self.root_tree(commit), changes))

    def _edited(self, tree: Tree, changes: dict[str, str | None]) -> Tree:
        inner: dict[str, dict[str, str | None]] = {}
        for path, blob in changes.items():
            head, sep, rest = path.partition("/")
            if sep:
                inner.setdefault(head, {})[rest] = blob
            elif blob is None:
                tree.pop(head, None)
            else:
                tree[head] = (MODE_FILE, hex_to_bin(blob))
        for name, below in inner.items():
            entry = tree.get(name)
            child = self._edited(
                self.tree(entry[1]) if entry and entry[0] == MODE_TREE else {}, below
            )
            if child:
                tree[name] = (MODE_TREE, hex_to_bin(self.write_tree(child)))
            else:
                tree.pop(name, None)  # git keeps no empty folder
        return tree

    def commit(
        self,
        tree: str,
        parent: str | None,
        author: Person,
        committer: Person,
        when: int,
        message: str,
        authored: int | None = None,
        merged: str | None = None,
    ) -> str:
        """Write a commit on `parent`; with `merged`, a merge commit joining it as the second
        parent (a merged save: the editor's own commit, see `cms.store.commits`)."""
        parents = [parent] if parent else []
        if merged:
            parents.append(merged)
        data = serialize_commit(tree, parents, author, committer, when, message, authored)
        if self.signing_key:
            data = signing.sign(data, self.signing_key)
        sha = self.write("commit", data)
        self._remember_commit(sha, tree)
        return sha

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the CMS's write turn: a thread lock, and an flock shared by every CMS process
        on this repository (released by the kernel if the process dies). Without a writable
        lock file (a read-only repository) only the thread lock is held."""
        if getattr(self._local, "holding", False):
            yield  # this thread has the turn already (a batch)
            return
        with self._write_lock:
            fd = self._lock_file()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            self._local.holding = True
            try:
                yield
            finally:
                self._local.holding = False
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Write this thread's objects without syncing them: the group commit that will move
        a branch to them syncs them first (see `groupcommit`)."""
        self._local.deferred = True
        try:
            yield
        finally:
            self._local.deferred = False

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the write turn and keep this thread's writes in memory: objects, and branch
        moves (read back by `ref`, `read`, `tree`), then write the objects as one pack and move
        the branches in one compare-and-swap, from where they were when the batch first moved
        them. A batch that raises writes nothing.

        Raises RefMoved at the end when a branch moved meanwhile outside the CMS (plain git),
        or OSError when the pack cannot be written.
        """
        with self.exclusive():
            self.group.settle()  # the batch starts on the branches, with no save staged
            self._local.batch = batch = Batch()
            try:
                yield
            finally:
                self._local.batch = None
            packs.write(self.git_dir, batch.objects, durable=self.durable)
            gitrefs.compare_and_swap(
                self.git_dir,
                [(f"refs/heads/{b}", batch.started[b], sha) for b, sha in batch.refs.items()],
                durable=self.durable,
            )

    def _batch(self) -> Batch | None:
        return getattr(self._local, "batch", None)

    def _lock_file(self) -> int | None:
        if self._flock is None or self._flock[0] != os.getpid():
            try:
                # read-only is enough for flock, and keeps the filesystem free to go read-only
                fd = os.open(
                    private.path(self.git_dir, "write.lock"), os.O_RDONLY | os.O_CREAT, 0o600
                )
            except OSError:
                return None
            self._flock = (os.getpid(), fd)
        return self._flock[1]

    def staged_tips(self) -> Tips:
        """Where the next save plans, under the write turn: the end of the chain of saves
        staged for the group commit (see `groupcommit`), else `tips()`."""
        if self._batch() is not None:
            return self.tips()
        return Tips.of(self.group.tips())

    def stage(self, *updates: tuple[str, str | None, str]) -> Ticket | None:
        """Move branches as `move` does, or, durably, stage the moves for the group commit:
        the caller then waits for the ticket (`group.wait`) outside the write turn."""
        if self._batch() is not None:
            self.move(*updates)
            return None
        return self.group.stage(list(updates))

    def move(self, *updates: tuple[str, str | None, str]) -> None:
        """Compare-and-swap branches, all or none: each `(branch, old, new)`.

        Raises errors.RefMoved when a branch is not where the caller expected.
        """
        batch = self._batch()
        if batch is not None:
            for branch, old, _ in updates:
                if self.ref(branch) != old:
                    raise RefMoved(self.ref(branch))
            for branch, old, new in updates:
                batch.started.setdefault(branch, old)
                batch.refs[branch] = new
            return
        gitrefs.compare_and_swap(
            self.git_dir,
            [(f"refs/heads/{b}", old, new) for b, old, new in updates],
            durable=self.durable,
        )

    def fsck(self) -> tuple[bool, str]:
        result = subprocess.run(
            ["git", "--git-dir", self.git_dir, "fsck", "--no-progress"],
            capture_output=True,
            text=True,
        )
        return result.returncode == 0, (result.stdout + result.stderr).strip()


def blob_id(data: bytes) -> str:
    """The id git gives a blob with these bytes, without writing it."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
