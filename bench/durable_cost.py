"""What `CMS_DURABLE=true` costs: saves per second through the store with `durable=True`
(objects and refs fsynced before the save is acknowledged) and with `durable=False`, in the same
run, saves interleaved, on a real disk.

    .venv/bin/python -m bench.durable_cost                 # 200 saves each, in the temp dir
    .venv/bin/python -m bench.durable_cost --saves 500 --dir /srv/scratch

Each save is an update of one of 20 articles (a new paragraph text, so a new blob, three trees
and a commit), as an editor's save is. Prints saves/s for both, the median and 95th percentile
latency, and the ratio. Warns when the directory is on tmpfs, where fsync costs nothing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cms.content.identity import Person
from cms.store import ArticleStore

EDITOR = Person("Durability Bench", "bench@example.org")
ARTICLES = 20


def body(text: str) -> list[dict[str, str]]:
    return [{"type": "paragraph", "text": f"Paragraph {n}: {text}"} for n in range(8)]


def filesystem(path: Path) -> str:
    out = subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=200, help="saves for each setting")
    parser.add_argument("--dir", default=None, help="where to make the two repositories")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="cms-durable-cost-", dir=args.dir))
    fs = filesystem(workdir)
    print(f"{args.saves} saves each, interleaved, in {workdir} ({fs})")
    if fs in ("tmpfs", "ramfs"):
        print("warning: this is a memory filesystem; fsync is free here", file=sys.stderr)
    try:
        stores = {}
        for durable in (True, False):
            path = workdir / ("durable" if durable else "plain")
            ArticleStore.init(str(path))
            store = ArticleStore(str(path), durable=durable)
            for n in range(ARTICLES):
                store.create({"slug": f"a{n}", "title": f"Article {n}", "body": body("0")}, EDITOR)
            stores[durable] = store
        times: dict[bool, list[float]] = {True: [], False: []}
        for i in range(args.saves):
            order = (True, False) if i % 2 == 0 else (False, True)
            for durable in order:
                store = stores[durable]
                began = time.perf_counter()
                store.patch(f"a{i % ARTICLES}", {"body": body(str(i + 1))}, EDITOR, {"*"})
                times[durable].append(time.perf_counter() - began)
        rates = {}
        for durable, label in ((False, "durable=False"), (True, "durable=True ")):
            t = times[durable]
            rates[durable] = len(t) / sum(t)
            p95 = sorted(t)[int(len(t) * 0.95) - 1]
            print(
                f"{label}: {rates[durable]:7.1f} saves/s  median "
                f"{statistics.median(t) * 1000:6.2f} ms  p95 {p95 * 1000:6.2f} ms"
            )
        print(
            f"ratio: durable saves take {rates[False] / rates[True]:.2f}x as long "
            f"({rates[True] / rates[False]:.0%} of the throughput)"
        )
        for store in stores.values():
            ok, output = store.repo.fsck()
            assert ok, output
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
