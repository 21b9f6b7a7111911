"""Keeping the repository packed: the loose objects saves leave behind go into packs.

Every save writes about five loose objects (a blob, three trees, a commit), one file each; a
newsroom's repository would grow by some 25 KB a save and git's own commands slow down as
they pile up. `pack` runs git's own `git repack -d -l --geometric=2`: the loose objects
reachable from a ref go into one new pack (deltas found among them), and the packs are
rolled up so that each is at least twice the size of the next smaller one (a handful of
packs, each rewritten rarely, not the whole repository every time). `-d` then removes what
is now packed twice: packs rolled up into the new one, and loose objects the new pack holds
(`git prune-packed`).

Why that is safe beside everything else that touches the repository:
- nothing is pruned: no `git prune`, no `gc --prune`. An object removed is always one a pack
  holds; an object a writer has written but no ref names yet (a save between its objects and
  its compare-and-swap, a push in its quarantine, an import's pack being indexed) is neither
  packed nor removed, so git's grace period for unreachable objects never comes into it;
- readers (our `git cat-file --batch` children, `git upload-pack` serving a replica's
  fetch or a clone, `git log`) that miss an object look again in the packs that appeared,
  as git does for `gc` on any server; a pack being removed stays readable to a process that
  has it open;
- a push's pack being received carries a `.keep` file, which repack leaves alone;
- `objects/xx/` folders may be removed when emptied: `cms.git.objects.write_object` makes
  the folder again when it is gone.

It runs in the idle scheduling classes (`chrt --idle`, `ionice -c 3`: only when nothing else
wants the CPU or the disk; `nice 19` without chrt), with one thread for deltas
(`pack.threads=1`), in its own process: it never takes a lock a save or a read waits for.
`Packer` is the job the server's elected process runs (see `cms.replication.leader`,
`cms.web.background`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)
_FANOUT = re.compile(r"[0-9a-f]{2}")
_LOOSE = re.compile(r"[0-9a-f]{38}")
# what repack is given: git's own rules, one delta thread, no bitmaps to keep up to date
REPACK = (
    "-c",
    "pack.threads=1",
    "-c",
    "repack.writeBitmaps=false",
    "repack",
    "-d",
    "-l",
    "-q",
    "--geometric=2",
)


def loose_objects(git_dir: str) -> int:
    """How many loose objects the repository holds (one look at each `objects/xx/`)."""
    objects = os.path.join(git_dir, "objects")
    count = 0
    try:
        folders = [e.path for e in os.scandir(objects) if _FANOUT.fullmatch(e.name)]
    except FileNotFoundError:
        return 0
    for folder in folders:
        try:
            with os.scandir(folder) as entries:
                count += sum(1 for e in entries if _LOOSE.fullmatch(e.name))
        except FileNotFoundError:
            continue  # emptied and removed meanwhile
    return count


def pack(git_dir: str) -> None:
    """Pack the loose objects reachable from the refs and roll the packs up (see above).

    Raises OSError when git fails."""
    result = subprocess.run(
        [*_idle(), "git", "--git-dir", git_dir, *REPACK],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise OSError(0, f"git repack failed: {result.stderr.strip()[:500]}")


def _idle() -> list[str]:
    """The command prefix that runs git when nothing else wants the CPU or the disk: the
    idle scheduling class (`chrt --idle 0`, else `nice -n 19`) and the idle I/O class
    (`ionice -c 3`), each where the tool is installed."""
    prefix = ["chrt", "--idle", "0"] if shutil.which("chrt") else []
    if not prefix and shutil.which("nice"):
        prefix = ["nice", "-n", "19"]
    return prefix + (["ionice", "-c", "3"] if shutil.which("ionice") else [])


@dataclass
class Packer:
    """Every `interval` seconds, pack when at least `threshold` loose objects wait."""

    git_dir: str
    interval: float
    threshold: int
    runs: int = 0  # repacks made by this packer
    last_s: float = 0.0  # how long the last one took

    def step(self) -> bool:
        """Pack if the threshold is reached; whether it packed."""
        if loose_objects(self.git_dir) < self.threshold:
            return False
        t0 = time.perf_counter()
        pack(self.git_dir)
        self.runs += 1
        self.last_s = time.perf_counter() - t0
        log.info("packed %s in %.1fs", self.git_dir, self.last_s)
        return True

    def run(self, stop: threading.Event) -> None:
        """The job: `step` until `stop` is set; a failed repack is logged and tried again at
        the next interval (the repository stays as it was: repack replaces nothing it has not
        written whole)."""
        while not stop.wait(self.interval):
            try:
                self.step()
            except OSError:
                log.warning("packing %s failed; trying again later", self.git_dir, exc_info=True)
