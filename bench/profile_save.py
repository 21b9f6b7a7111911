"""`python -m bench.profile_save [--articles N] [--seconds S] [--repo DIR] [--top K]`: where a
save's CPU goes, at scale.

Builds (or reuses, with `--repo` pointing at one it built before) a repository of N published
articles, starts `cms serve` (2 workers), drives saves over HTTP from 8 clients as
`bench.http_saves` does (three creates in four, one PATCH in four) while `py-spy record` samples
both workers, and prints:

- the workers' CPU per acknowledged save (utime + stime of the worker processes, /proc), and
- the profile's top rows: the functions holding the most samples by themselves ("self") and
  with what they call ("total"), as a share of all samples in the workers.

py-spy (the dev extra) reads the workers' stacks from outside with ptrace, so the profiled
process runs unchanged; it must be allowed to (root, or `kernel.yama.ptrace_scope` 0).
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cms.auth.tokens import TokenStore
from cms.delivery import cards as public
from cms.store import ArticleStore

from . import build, http_saves
from .servers import start_cms

PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")


def prepare(repo_dir: str, n: int, seed: int) -> tuple[ArticleStore, str]:
    """A repository of `n` published articles at `repo_dir` (built unless it is there) and a
    fresh editor token for it."""
    git_dir = os.path.join(repo_dir, "repo")
    if not os.path.isdir(git_dir):
        store = ArticleStore.init(git_dir, make_card=public.card)
        t0 = time.perf_counter()
        built = build.bulk_load(store, n, random.Random(seed))
        print(
            f"built {n:,} articles: write {built.write_s:.1f}s, index {built.index_s:.1f}s",
            flush=True,
        )
        publish_s = build.publish_all(store)
        print(f"published: index {publish_s:.1f}s ({time.perf_counter() - t0:.0f}s)", flush=True)
    else:
        store = ArticleStore(git_dir, make_card=public.card)
        store.catch_up()
    _, token = TokenStore(git_dir).create("Bench Editor", "bench@example.org", "editor")
    return store, token


def top_rows(raw: str, k: int) -> tuple[int, list[tuple[str, int, int]]]:
    """From py-spy's raw (collapsed) stacks: the number of samples and the `k` functions with
    the most samples of their own, each as (function, self, total)."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        samples += count
        own[_short(frames[-1])] += count
        for name in {_short(f) for f in frames}:
            total[name] += count
    return samples, [(name, n, total[name]) for name, n in own.most_common(k)]


def top_total(raw: str, k: int, skip: tuple[str, ...]) -> list[tuple[str, int]]:
    """The `k` CMS functions (cms/ in their file) with the most samples including callees."""
    total: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        names = {_short(f) for f in stack.split(";") if "cms/" in f}
        for name in names:
            if not name.startswith(skip):
                total[name] += int(count_text)
    return total.most_common(k)


def _short(frame: str) -> str:
    """`function (path/to/file.py:line)` as `function (file.py)` (one row per function)."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    parts = path.split("/")
    inside = parts[parts.index("cms") :] if "cms" in parts else parts[-2:]
    return f"{name} ({'/'.join(inside)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_save", description=__doc__)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--repo", help="folder to build the repository in, or reuse it from")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", help="also write py-spy's raw stacks to this file")
    args = parser.parse_args(argv)
    if not os.path.exists(PY_SPY):
        parser.error("py-spy is not installed (pip install -e '.[dev]')")
    repo_dir = args.repo or tempfile.mkdtemp(prefix="profile-save-")
    os.makedirs(repo_dir, exist_ok=True)
    store, token = prepare(repo_dir, args.articles, args.seed)
    workdir = tempfile.mkdtemp(prefix="profile-run-")
    server = start_cms(store.repo.git_dir, workdir, "/healthz")
    raw_path = os.path.join(workdir, "stacks.txt")
    try:
        seed = int(time.time())  # new slugs each run, so a reused repository takes them
        http_saves.run(server, token, args.clients, 2.0, 400, seed)  # warm both workers up
        spy = subprocess.Popen(
            [
                PY_SPY,
                "record",
                "--pid",
                str(server.process.pid),
                "--subprocesses",
                "--format",
                "raw",
                "--rate",
                str(args.rate),
                "--nonblocking",
                "--gil",
                "--output",
                raw_path,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(1.0)  # py-spy attached
        cpu0 = server.worker_cpu_s()
        result, _ = http_saves.run(server, token, args.clients, args.seconds, 1_000_000, seed + 1)
        cpu = server.worker_cpu_s() - cpu0
        spy.send_signal(2)  # SIGINT: py-spy writes what it sampled and exits
        _, errors = spy.communicate(timeout=60)
    finally:
        server.stop()
    print(
        f"{args.articles:,} articles, {result.clients} clients, {result.elapsed_s:.1f}s: "
        f"{result.acknowledged} saves ({result.per_second:.0f}/s, failures {result.failures}); "
        f"worker CPU {cpu * 1000 / max(result.acknowledged, 1):.2f} ms per save",
        flush=True,
    )
    if not os.path.exists(raw_path):
        print(f"py-spy wrote no profile: {errors.decode(errors='replace')[-2000:]}")
        return 1
    raw = Path(raw_path).read_text()
    if args.out:
        Path(args.out).write_text(raw)
    # `--gil`: only the thread holding the GIL is sampled, so a thread waiting on a lock, a
    # socket or a condition (most of a gthread worker's threads) is not counted as CPU
    samples, rows = top_rows(raw, args.top)
    print(f"\n{samples} samples; top {args.top} functions by own samples:")
    print(f"{'self %':>7} {'total %':>8}  function")
    for name, n, total in rows:
        print(f"{100 * n / samples:7.1f} {100 * total / samples:8.1f}  {name}")
    print(f"\ntop {args.top} CMS functions by samples including what they call:")
    for name, total in top_total(raw, args.top, ("handle", "run ", "__call__", "wsgi_app")):
        print(f"{100 * total / samples:7.1f}  {name}")
    shutil.rmtree(workdir, ignore_errors=True)
    if not args.repo:
        shutil.rmtree(repo_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
