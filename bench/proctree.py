"""The memory of a process tree, read from /proc while it runs.

`run(command)` starts `command` and, every `every` seconds until it ends, reads the resident
set size (`VmRSS` of /proc/<pid>/status) of it and of every descendant (found through
/proc/<pid>/task/<tid>/children). It returns the wall time, the peak of the tree's total
(the sum over the processes alive at one sample) and, per kind of process (its command and
first git subcommand, e.g. `git cat-file`), the largest RSS one of them reached: which process
grows, and by how much.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TreeMemory:
    seconds: float
    peak_total_mb: float
    peak_by_kind_mb: dict[str, float] = field(default_factory=dict)
    samples: int = 0
    # (seconds since start, total MB, MB by kind) every ~`trend_every` seconds: how the
    # tree grows, and which process does
    trend: list[tuple[float, float, dict[str, float]]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "peak_total_mb": self.peak_total_mb,
            "peak_by_kind_mb": self.peak_by_kind_mb,
            "samples": self.samples,
            "trend": self.trend,
        }


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return out


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += _children(p)
    return found


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _kind(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return "?"
    if not argv:
        return "?"
    name = os.path.basename(argv[0])
    if name == "git":
        args = argv[1:]
        while args and args[0] in ("-c", "--git-dir", "-C"):
            args = args[2:]  # an option and its value
        sub = next((a for a in args if not a.startswith("-")), "")
        return f"git {sub}".strip()
    if "python" in name and len(argv) > 1:
        return f"python {os.path.basename(argv[1])}"
    return name


def run(
    command: list[str], *, every: float = 0.05, trend_every: float = 5.0, **popen: Any
) -> TreeMemory:
    """Run `command` to its end, sampling its tree; raises RuntimeError if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, **popen)
    peak, samples = 0, 0
    by_kind: dict[str, int] = {}
    trend: list[tuple[float, float, dict[str, float]]] = []
    kinds: dict[int, str] = {}
    next_trend = 0.0
    while proc.poll() is None:
        total = 0
        now_by_kind: dict[str, int] = {}
        for pid in _tree(proc.pid):
            rss = _rss_kb(pid)
            if not rss:
                continue
            kind = kinds.get(pid) or kinds.setdefault(pid, _kind(pid))
            total += rss
            by_kind[kind] = max(by_kind.get(kind, 0), rss)
            now_by_kind[kind] = now_by_kind.get(kind, 0) + rss
        peak = max(peak, total)
        samples += 1
        now = time.perf_counter() - t0
        if now >= next_trend:
            kinds_mb = {k: round(v / 1024, 1) for k, v in now_by_kind.items()}
            trend.append((round(now, 1), round(total / 1024, 1), kinds_mb))
            next_trend = now + trend_every
        time.sleep(every)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{command[0]} failed with {proc.returncode}")
    return TreeMemory(
        elapsed,
        peak / 1024,
        {k: round(v / 1024, 1) for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])},
        samples,
        trend,
    )
