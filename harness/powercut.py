"""A simulated power cut: what a file system would keep if the power went now, worked out from
a journal of every change and every sync the processes made (the LD_PRELOAD shim
`harness/powercut.c`, compiled here with gcc).

`Disk.snapshot(root)` reads the tree before the processes start (it is synced first); `replay`
applies the journal to it, keeping for each file its content as of its last fsync and for
each folder its entries as of its last fsync (`syncfs`/`sync`: everything). `differences`
checks the model against the real files after the processes are killed (so a change the shim
missed fails the test instead of being silently assumed durable); `cut` rewrites the tree to
what was durable: unsynced writes undone, files created since their folder's last sync gone,
unsynced renames and removals undone, new files whose data was never synced left empty.

Not modelled (the test's report says so): writes through shared memory maps (only SQLite's
`-shm` files, rebuilt on open, which the comparison skips), directory renames, and a disk that
acknowledges a flush it did not make; a cut is at one instant after every journalled call
(never inside one), and it loses *every* unsynced change, the harshest of the orders a real
disk could keep.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SOURCE = Path(__file__).with_name("powercut.c")
SKIPPED = ("-shm",)


def build(folder: Path) -> Path:
    """Compile the shim into `folder`; return the shared object's path."""
    out = folder / "powercut.so"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O2", "-Wall", "-o", str(out), str(SOURCE), "-ldl"],
        check=True,
        capture_output=True,
    )
    return out


def environment(shim: Path, root: Path, journal: Path) -> dict[str, str]:
    """The variables that make a process journal its changes under `root`."""
    return {
        "LD_PRELOAD": str(shim),
        "POWERCUT_ROOT": str(root),
        "POWERCUT_LOG": str(journal),
    }


@dataclass
class Disk:
    root: str
    # folder path -> {name: node}; node ids are the model's, inode numbers get reused
    entries: dict[str, dict[str, int]] = field(default_factory=dict)
    content: dict[int, bytearray] = field(default_factory=dict)
    folders: set[int] = field(default_factory=set)
    # what a cut would keep, recorded at the first change since the last sync
    durable_entries: dict[str, dict[str, int]] = field(default_factory=dict)
    durable_content: dict[int, bytes] = field(default_factory=dict)
    by_inode: dict[int, int] = field(default_factory=dict)  # inode -> node, as of now
    unmodelled: list[str] = field(default_factory=list)
    syncs: int = 0
    processes: int = 0  # how many wrote to the journal
    _ids: itertools.count = field(default_factory=itertools.count)

    @classmethod
    def snapshot(cls, root: Path) -> Disk:
        os.sync()
        disk = cls(os.path.realpath(root))
        for folder, dirs, files in os.walk(disk.root):
            disk.entries.setdefault(folder, {})
            for name in dirs:
                path = os.path.join(folder, name)
                disk.entries[folder][name] = disk._node(os.lstat(path).st_ino, folder=True)
                disk.entries.setdefault(path, {})
            for name in files:
                path = os.path.join(folder, name)
                node = disk._node(os.lstat(path).st_ino)
                disk.content[node] = bytearray(Path(path).read_bytes())
                disk.entries[folder][name] = node
        return disk

    def _node(self, inode: int, *, folder: bool = False) -> int:
        node = next(self._ids)
        self.by_inode[inode] = node
        if folder:
            self.folders.add(node)
        else:
            self.content[node] = bytearray()
        return node

    # -- the journal ---------------------------------------------------------------------

    def replay(self, journal: bytes) -> None:
        at = 0
        pids = set()
        while at < len(journal):
            end = journal.index(b"\n", at)
            head = journal[at:end].decode("utf-8", "surrogateescape")
            at = end + 1
            kind, _, rest = head.partition(" ")
            words, *paths = rest.split("\t")
            pids.add(words.split()[0])
            nums = words.split()[1:]
            if kind == "W":
                inode, offset, length = (int(n) for n in nums)
                self._write(inode, offset, journal[at : at + length])
                at += length
            elif kind == "C":
                inode, created, trunc = (int(n) for n in nums)
                self._create(paths[0], inode, bool(created), bool(trunc))
            elif kind == "T":
                inode, length = int(nums[0]), int(nums[1])
                data = self._changing(self._file(inode))
                del data[length:]
                data.extend(bytes(max(0, length - len(data))))
            elif kind == "A":
                inode, offset, length = (int(n) for n in nums)
                data = self._changing(self._file(inode))
                data.extend(bytes(max(0, offset + length - len(data))))
            elif kind == "R":
                self._rename(paths[0], paths[1])
            elif kind == "L":
                node = self._lookup(paths[0])
                self._dir_changing(os.path.dirname(paths[1]))[os.path.basename(paths[1])] = node
            elif kind == "U":
                self._dir_changing(os.path.dirname(paths[0])).pop(os.path.basename(paths[0]), None)
                self.entries.pop(paths[0], None)
            elif kind == "M":
                parent, name = os.path.split(paths[0])
                self._dir_changing(parent)[name] = self._node(int(nums[0]), folder=True)
                self.entries[paths[0]] = {}
                self.durable_entries[paths[0]] = {}  # its own entries: none on disk yet
            elif kind == "F":
                inode, is_dir = int(nums[0]), nums[1] == "1"
                if is_dir:
                    self.durable_entries.pop(paths[0], None)
                else:
                    self.durable_content.pop(self._file(inode), None)
            elif kind == "S":
                self.durable_entries.clear()
                self.durable_content.clear()
                self.syncs += 1
            elif kind == "X":
                if not paths[0].endswith(SKIPPED):
                    self.unmodelled.append(f"{nums[0] if nums else ''} {paths[0]}")
            else:
                raise ValueError(f"unknown journal record {head!r}")
        self.processes = len(pids)

    def _file(self, inode: int) -> int:
        node = self.by_inode.get(inode)
        if node is None or node in self.folders:
            raise ValueError(f"a write to inode {inode}, which the journal never named")
        return node

    def _changing(self, node: int) -> bytearray:
        self.durable_content.setdefault(node, bytes(self.content[node]))
        return self.content[node]

    def _dir_changing(self, folder: str) -> dict[str, int]:
        current = self.entries.setdefault(folder, {})
        self.durable_entries.setdefault(folder, dict(current))
        return current

    def _lookup(self, path: str) -> int:
        return self.entries[os.path.dirname(path)][os.path.basename(path)]

    def _write(self, inode: int, offset: int, data: bytes) -> None:
        content = self._changing(self._file(inode))
        if len(content) < offset:
            content.extend(bytes(offset - len(content)))
        content[offset : offset + len(data)] = data

    def _create(self, path: str, inode: int, created: bool, trunc: bool) -> None:
        folder, name = os.path.split(path)
        if created:
            node = self._node(inode)
            self.durable_content[node] = b""  # a new file's data is on disk only once synced
            self._dir_changing(folder)[name] = node
        else:
            node = self.entries[folder][name]
            self.by_inode[inode] = node
            del self._changing(node)[:]

    def _rename(self, src: str, dst: str) -> None:
        if src in self.entries:
            raise ValueError(f"a folder was renamed ({src}), which the model does not follow")
        node = self._dir_changing(os.path.dirname(src)).pop(os.path.basename(src))
        self._dir_changing(os.path.dirname(dst))[os.path.basename(dst)] = node

    # -- after the processes are gone ----------------------------------------------------

    def differences(self) -> tuple[list[str], list[str]]:
        """Where the model's present differs from the real files: (unexplained, in flight).

        A process killed inside a call has made the change without journalling it; such a
        change is unsynced (a sync is journalled after it returns, and one lost that way only
        makes the cut harsher), so at most two paths per process (a rename's two ends) are
        explained: a file on disk the model lacks, a file the model has and the disk does not
        (an unlink, or a rename's source), an empty folder on disk the model lacks (a mkdir),
        a file whose model content has changes no sync covered, or a file holding what the
        model has at a path gone from disk (a rename onto a file that was synced)."""
        found, flight = [], []
        real: dict[str, bytes | None] = {}
        for folder, dirs, files in os.walk(self.root):
            for name in dirs:
                real[os.path.join(folder, name)] = None
            for name in files:
                if not name.endswith(SKIPPED):
                    real[os.path.join(folder, name)] = Path(folder, name).read_bytes()
        model = self._tree(durable=False)
        # what a rename cut off before its record moved: the source is gone from disk and its
        # content is at the destination, which may have been a synced file the model keeps
        moved = {model[p] for p in model if p not in real and model[p] is not None}
        for path in sorted(set(real) | set(model)):
            if path not in model:
                # a file, or an empty folder, made by a call cut off before its record
                cut_off = real[path] is not None or not os.listdir(path)
                (flight if cut_off else found).append(f"on disk, not in the model: {path}")
            elif path not in real:
                # a removal or rename cut off before its record
                flight.append(f"in the model, not on disk: {path}")
            elif real[path] != model[path]:
                node = self.entries[os.path.dirname(path)][os.path.basename(path)]
                cut_off = node in self.durable_content or real[path] in moved
                (flight if cut_off else found).append(f"content differs: {path}")
        if len(flight) > 2 * self.processes:
            found += flight
        return found + [f"not modelled: {what}" for what in self.unmodelled], flight

    def _tree(self, *, durable: bool) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {}

        def walk(folder: str) -> None:
            current = self.entries.get(folder, {})
            names = self.durable_entries.get(folder, current) if durable else current
            for name, node in names.items():
                path = os.path.join(folder, name)
                if path.endswith(SKIPPED):
                    continue
                if node in self.folders:
                    out[path] = None
                    walk(path)
                else:
                    data = self.content[node]
                    out[path] = bytes(self.durable_content.get(node, data) if durable else data)

        walk(self.root)
        return out

    def cut(self) -> dict[str, int]:
        """Rewrite the tree as the power cut leaves it; return how much it undid."""
        now, kept = self._tree(durable=False), self._tree(durable=True)
        modes = {p: os.stat(p).st_mode & 0o7777 for p in now if os.path.exists(p)}
        for name in os.listdir(self.root):
            path = os.path.join(self.root, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        for path, data in sorted(kept.items()):
            if data is None:
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                Path(path).write_bytes(data)
            if path in modes:
                os.chmod(path, modes[path])
        os.sync()
        return {
            "files gone": sum(1 for p in now if p not in kept),
            "files changed": sum(1 for p in now if p in kept and now[p] != kept[p]),
            "files back": sum(1 for p in kept if p not in now),
        }
