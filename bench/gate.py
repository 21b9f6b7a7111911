"""Big pushes through the git gate, beside the same push into a repository without it.

Two pushes, each timed into three fresh copies of one repository made like `cms init` makes
it: without the gate (plain git), with `receive.fsckObjects` only, and with the whole gate
(`cms.gate.install`: the pre-receive hook and fsck). One push brings 1,000 commits, each
changing one of 100 articles; the other one commit adding 10,000 articles. Rounds interleave
the three variants so drift on a shared machine hits all alike. Each push's CPU seconds (all
its processes) are printed beside its wall time: on a busy machine the wall time is mostly
waiting for a core.
"""

from __future__ import annotations

import random
import resource
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from cms.content import canonical, layout
from cms.integrity.gate import install
from cms.store import ArticleStore

from .articles import changed, make_article, slug_for
from .report import Row
from .stats import median

VARIANTS = ("plain", "fsck", "gate")
AUTHOR = "Plain Git <plain@example.org>"


def _git(*args: str, data: bytes | None = None) -> None:
    subprocess.run(["git", *args], input=data, check=True, capture_output=True)


def _fast_import(src: Path, commits: list[dict[str, bytes]], start: int) -> None:
    """Add `commits` (each: path -> bytes) on top of `main` in `src` with git fast-import."""
    out = bytearray()
    for n, files in enumerate(commits):
        message = f"Edit by hand {n}\n".encode()
        out += b"commit refs/heads/main\n"
        out += b"committer %s %d +0000\n" % (AUTHOR.encode(), start + n)
        out += b"data %d\n%s" % (len(message), message)
        if n == 0:
            out += b"from refs/heads/main^0\n"
        for path, data in files.items():
            out += b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data)
    out += b"done\n"
    _git("--git-dir", str(src), "fast-import", "--quiet", "--done", data=bytes(out))


def _many_commits(rng: random.Random, n: int, articles: int) -> list[dict[str, bytes]]:
    docs: dict[int, dict[str, Any]] = {}
    commits = []
    for i in range(n):
        k = i % articles
        docs[k] = changed(rng, docs[k]) if k in docs else make_article(rng, k)
        commits.append({layout.article_path(slug_for(k)): canonical.dumps(docs[k])})
    return commits


def _many_files(rng: random.Random, n: int) -> list[dict[str, bytes]]:
    return [
        {layout.article_path(slug_for(k)): canonical.dumps(make_article(rng, k)) for k in range(n)}
    ]


def _prepare(base: Path, target: Path, variant: str) -> None:
    shutil.copytree(base, target, symlinks=True)
    if variant == "fsck":
        _git("--git-dir", str(target), "config", "receive.fsckObjects", "true")
    elif variant == "gate":
        install(str(target), "cms@localhost")


def _push_seconds(src: Path, target: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one push: git push, receive-pack, the hook and everything they
    ran (children's CPU is counted once each has been waited for, as all are by the end)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    _git("--git-dir", str(src), "push", "-q", str(target), "main")
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def run(workdir: str, quick: bool, rounds: int | None = None) -> dict[str, Any]:
    """Time both pushes into each variant; returns {push: {variant: [seconds]}, sizes}."""
    folder = Path(workdir) / "gate"
    folder.mkdir()
    base = folder / "base"
    ArticleStore.init(str(base))
    rng = random.Random(7)
    commits, files = (200, 2000) if quick else (1000, 10000)
    rounds = rounds or (1 if quick else 3)
    pushes = {
        f"{commits:,} commits": _many_commits(rng, commits, 100),
        f"{files:,} files": _many_files(rng, files),
    }
    times: dict[str, dict[str, list[float]]] = {}
    cpu: dict[str, dict[str, list[float]]] = {}
    for name, content in pushes.items():
        src = folder / "src"
        _git("clone", "-q", "--bare", str(base), str(src))
        _fast_import(src, content, 1767225600)
        times[name] = {v: [] for v in VARIANTS}
        cpu[name] = {v: [] for v in VARIANTS}
        for round_ in range(rounds):
            for variant in VARIANTS:
                target = folder / f"{variant}-{round_}"
                _prepare(base, target, variant)
                wall, used = _push_seconds(src, target)
                times[name][variant].append(wall)
                cpu[name][variant].append(used)
                shutil.rmtree(target)
        shutil.rmtree(src)
        print(
            f"  push of {name}: "
            + ", ".join(
                f"{v} {median(t):.2f}s (CPU {median(cpu[name][v]):.2f}s)"
                for v, t in times[name].items()
            ),
            flush=True,
        )
    return {"pushes": times, "cpu": cpu, "commits": commits, "files": files}


def rows(measured: dict[str, Any]) -> list[Row]:
    """One informational row per push: through the gate, beside plain git and fsck only."""
    out = []
    for name, times in measured.get("pushes", {}).items():
        gated, plain, fsck = (median(times[v]) for v in ("gate", "plain", "fsck"))
        cpu = {v: median(t) for v, t in measured["cpu"][name].items()}
        out.append(
            Row(
                f"gate_push_{name.split()[-1]}_s",
                f"git push of {name} through the gate",
                "info",
                gated,
                "s",
                f"{gated:.2f} s, CPU {cpu['gate']:.2f} s (hook and fsck)",
                plain,
                f"no gate {plain:.2f} s (CPU {cpu['plain']:.2f}); fsck only {fsck:.2f} s",
                gated / plain if plain else None,
                f"{gated / plain:.1f}x" if plain else "-",
                None,
                {"seconds": times, "cpu_seconds": measured["cpu"][name]},
            )
        )
    return out
