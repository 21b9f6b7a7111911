"""Benchmark: the latency of one save through `cms.store.ArticleStore`, against repository size.

For each size N it builds a fresh content repository holding N articles, then times single saves
in this one process: 300 creates (`store.create`) and 300 updates of existing articles
(`store.replace` with the article's ETag as If-Match; the `store.get` before it is not timed).
A save rewrites only the trees along one article's path, so its cost should not grow with N;
the last line printed is the ratio of the median save time at the largest N to that at the
smallest.

The repository is not built by N saves: the N article blobs, the `articles/<xx>/` fan-out trees
and one "bulk load" commit are written directly with the `Repository` helpers, and `main` is
moved onto that commit. The store's first sync (`store.tips()`) then brings the SQLite index
up to date; its time is printed as "index catch-up". Each size gets 20 warm-up saves
(10 creates, 10 updates) before the timed ones.

By default every size is built first and the timed saves run in interleaved rounds (25 creates
and 25 updates per size, in turns), because a shared machine's speed drifts by tens of percent
over seconds, which would otherwise show up as a difference between sizes; `--sequential` runs
one size after another instead. After the timed saves, `git fsck` must be clean and
`store.count()` must equal the number of articles written; then the repository is removed.
Results also go to `bench/results-write-latency.json` (git-ignored).

Run it with `make bench`, or:

    .venv/bin/python bench/write_latency.py --sizes 1000 20000
    .venv/bin/python bench/write_latency.py --quick          # sizes 200 2000
    .venv/bin/python bench/write_latency.py --sizes 1000 20000 100000 --tmpdir /dev/shm
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cms import canonical, layout  # noqa: E402
from cms.gitobjects import MODE_FILE, MODE_TREE, Person, Tree  # noqa: E402
from cms.index import MAIN  # noqa: E402
from cms.schemas import validate_article  # noqa: E402
from cms.store import ArticleStore  # noqa: E402

DEFAULT_SIZES = [1000, 20000]
QUICK_SIZES = [200, 2000]
WARMUP_CREATES = 10
WARMUP_UPDATES = 10
TIMED = 300
BATCH = 25  # saves per size and operation in each interleaved round
RESULTS = Path(__file__).resolve().parent / "results-write-latency.json"
EDITOR = Person("Bench Editor", "bench@example.org")
LOADER = Person("Bench Loader", "loader@example.org")

WORDS = (
    "the council said on tuesday that a new plan for the harbour district would be put to "
    "residents next month after two years of talks with local businesses and transport groups "
    "critics argue the proposal does little to address rising rents while supporters point to "
    "cleaner streets more frequent buses and a promised library annex officials expect the "
    "first phase to cost about twelve million and to finish before the winter season although "
    "earlier schemes ran late engineers warned that the old sea wall needs urgent repair and "
    "several shop owners asked whether parking would survive the changes a spokesperson for "
    "the mayor declined to comment on the budget but confirmed that public meetings will be "
    "held in schools community halls and online during the consultation period researchers at "
    "the university found that similar projects elsewhere increased footfall by a modest margin "
    "yet also displaced some long standing tenants the debate is likely to continue well into "
    "the autumn as neighbours weigh convenience against cost and character"
).split()
TITLE_WORDS = (
    "Harbour Council River Transit Library Budget Schools Market Bridge Festival Housing "
    "Rents Parks Museum Station Coast Storm Water Energy Cycling Theatre Clinic Archive"
).split()
TITLE_VERBS = (
    "Weighs", "Delays", "Backs", "Rejects", "Reviews", "Expands", "Funds", "Questions",
    "Revives", "Trims",
)
TAGS = (
    "politics", "transport", "housing", "culture", "environment", "education", "health",
    "business", "science", "sport", "weather", "local",
)
SECTIONS = ("news", "opinion", "culture", "business", "science", "sport")
AUTHORS = ("Ana Ruiz", "Ben Okafor", "Chen Wei", "Dara Novak", "Eli Haddad", "Fay Lindqvist")


# -- generated articles ------------------------------------------------------------------


def slug_for(number: int) -> str:
    return f"bench-article-{number:06d}"


def _sentence_run(rng: random.Random, words: int) -> str:
    """About `words` words of filler prose, in sentences of 8 to 20 words."""
    sentences: list[str] = []
    left = words
    while left > 0:
        length = min(left, rng.randint(8, 20))
        start = rng.randrange(len(WORDS) - length)
        chunk = WORDS[start : start + length]
        sentences.append(" ".join(chunk).capitalize() + ".")
        left -= length
    return " ".join(sentences)


def paragraph(rng: random.Random) -> dict[str, Any]:
    return {"type": "paragraph", "text": _sentence_run(rng, rng.randint(52, 68))}


def make_article(rng: random.Random, number: int) -> dict[str, Any]:
    """An article as a client would send it: title, summary, section, 2 tags, 6-10 paragraphs."""
    a, b = rng.sample(TITLE_WORDS, 2)
    return {
        "slug": slug_for(number),
        "title": f"{a} {rng.choice(TITLE_VERBS)} {b} Plan, No. {number}",
        "summary": _sentence_run(rng, 25),
        "section": rng.choice(SECTIONS),
        "tags": rng.sample(TAGS, 2),
        "authors": [{"name": rng.choice(AUTHORS)}],
        "language": "en",
        "body": [paragraph(rng) for _ in range(rng.randint(6, 10))],
    }


def changed(rng: random.Random, fields: dict[str, Any]) -> dict[str, Any]:
    """A copy of an article's fields with one paragraph rewritten and the summary touched."""
    doc = json.loads(json.dumps(fields))
    body = doc["body"]
    body[rng.randrange(len(body))] = paragraph(rng)
    doc["summary"] = _sentence_run(rng, 25)
    return doc


# -- the store's API, before and after the published line ---------------------------------


# -- building a repository fast ------------------------------------------------------------


@dataclass
class Build:
    generate_s: float = 0.0  # generating + validating + serialising the docs
    blobs_s: float = 0.0  # writing the blobs
    trees_s: float = 0.0  # shard trees, root tree, commit, moving main
    index_catchup_s: float = 0.0  # the first store.tip()
    bytes_per_article: float = 0.0

    @property
    def repo_s(self) -> float:
        return self.generate_s + self.blobs_s + self.trees_s


def bulk_load(store: ArticleStore, n: int, rng: random.Random) -> Build:
    """Write `n` articles as one commit on `main` without going through the store's saves."""
    repo = store.repo
    build = Build()
    shards: dict[str, Tree] = {}
    total_bytes = 0
    for number in range(1, n + 1):
        t0 = time.perf_counter()
        doc = validate_article(make_article(rng, number))
        data = canonical.dumps(doc)
        t1 = time.perf_counter()
        blob = repo.write("blob", data)
        t2 = time.perf_counter()
        build.generate_s += t1 - t0
        build.blobs_s += t2 - t1
        total_bytes += len(data)
        slug = doc["slug"]
        shards.setdefault(layout.shard(slug), {})[f"{slug}.json"] = (
            MODE_FILE, bytes.fromhex(blob)
        )
    build.bytes_per_article = total_bytes / max(n, 1)

    t0 = time.perf_counter()
    articles: Tree = {
        name: (MODE_TREE, bytes.fromhex(repo.write_tree(tree))) for name, tree in shards.items()
    }
    old_tip = repo.ref(MAIN)
    root = repo.root_tree(old_tip)
    root[layout.ROOT] = (MODE_TREE, bytes.fromhex(repo.write_tree(articles)))
    tree = repo.write_tree(root)
    message = f"Bulk load {n} articles\n"
    new_tip = repo.commit(tree, old_tip, LOADER, LOADER, int(time.time()), message)
    repo.move((MAIN, old_tip, new_tip))
    build.trees_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    store.tips()
    assert repo.ref(MAIN) == new_tip
    build.index_catchup_s = time.perf_counter() - t0
    return build


# -- timing --------------------------------------------------------------------------------


@dataclass
class Stats:
    n: int
    operation: str
    samples: int
    median_ms: float
    p95_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    saves_per_s: float
    times_ms: list[float] = field(repr=False)

    @classmethod
    def of(cls, n: int, operation: str, seconds: list[float]) -> Stats:
        ms = [s * 1000 for s in seconds]
        median = statistics.median(ms)
        p95 = statistics.quantiles(ms, n=100, method="inclusive")[94]
        return cls(
            n, operation, len(ms), median, p95, statistics.fmean(ms), min(ms), max(ms),
            1000 / median, ms,
        )


def fsck(git_dir: str) -> None:
    result = subprocess.run(
        ["git", "--git-dir", git_dir, "fsck", "--no-progress", "--strict"],
        capture_output=True, text=True,
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not output, f"git fsck is not clean:\n{output}"


@dataclass
class SizeResult:
    n: int
    build: dict[str, float]
    fsck_s: float
    stats: list[Stats]


class SizeBench:
    """One repository of `n` articles: built, warmed up, timed in batches, checked, removed."""

    def __init__(self, n: int, seed: int, tmpdir: str | None) -> None:
        self.n = n
        self.rng = random.Random(seed * 1_000_003 + n)
        self.workdir = tempfile.mkdtemp(prefix=f"cms-bench-{n}-", dir=tmpdir)
        self.store = ArticleStore.init(str(Path(self.workdir) / "content.git"))
        self.build = Build()
        self.new_numbers = iter(range(n + 1, n + 1 + WARMUP_CREATES + TIMED))
        updates = WARMUP_UPDATES + TIMED
        picks = (self.rng.sample(range(1, n + 1), updates) if updates <= n
                 else [self.rng.randint(1, n) for _ in range(updates)])
        self.update_numbers = iter(picks)
        self.times: dict[str, list[float]] = {"create": [], "update": []}

    def load(self) -> None:
        print(f"N={self.n}: building in {self.store.repo.git_dir} ...", flush=True)
        self.build = build = bulk_load(self.store, self.n, self.rng)
        print(
            f"N={self.n}: docs {build.generate_s:.1f}s, blobs {build.blobs_s:.1f}s, "
            f"trees+commit {build.trees_s:.2f}s, index catch-up {build.index_catchup_s:.1f}s "
            f"({build.bytes_per_article / 1024:.1f} KiB/article)",
            flush=True,
        )
        os.sync()  # so the build's writeback does not land on the timed saves

    def warm_up(self) -> None:
        self.creates(WARMUP_CREATES)
        self.updates(WARMUP_UPDATES)
        self.times = {"create": [], "update": []}

    def creates(self, count: int) -> None:
        docs = [make_article(self.rng, next(self.new_numbers)) for _ in range(count)]
        for doc in docs:
            t0 = time.perf_counter()
            self.store.create(doc, EDITOR)
            self.times["create"].append(time.perf_counter() - t0)

    def updates(self, count: int) -> None:
        """Replace `count` random bulk-loaded articles; only the replace call is timed."""
        for _ in range(count):
            slug = slug_for(next(self.update_numbers))
            current = self.store.get(slug)
            doc = changed(self.rng, current.fields)
            t0 = time.perf_counter()
            self.store.replace(slug, doc, EDITOR, {current.etag})
            self.times["update"].append(time.perf_counter() - t0)

    def finish(self) -> SizeResult:
        """Check the repository (git fsck, article count) and summarise the times."""
        t0 = time.perf_counter()
        fsck(self.store.repo.git_dir)
        fsck_s = time.perf_counter() - t0
        expected = self.n + WARMUP_CREATES + TIMED
        count = self.store.count()
        assert count == expected, f"store.count() is {count}, expected {expected}"
        commits = int(subprocess.run(
            ["git", "--git-dir", self.store.repo.git_dir, "rev-list", "--count", MAIN],
            capture_output=True, text=True, check=True,
        ).stdout)
        saves = WARMUP_CREATES + WARMUP_UPDATES + 2 * TIMED
        assert commits == 2 + saves, f"main has {commits} commits, expected 2 + {saves}"
        print(f"N={self.n}: git fsck clean ({fsck_s:.1f}s), {count} articles, "
              f"{commits} commits on {MAIN}", flush=True)
        stats = [Stats.of(self.n, op, times) for op, times in self.times.items()]
        build = {**asdict(self.build), "repo_s": self.build.repo_s}
        return SizeResult(self.n, build, fsck_s, stats)

    def remove(self, keep: bool) -> None:
        if keep:
            print(f"N={self.n}: kept {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def run_sequential(sizes: list[int], seed: int, keep: bool, tmpdir: str | None
                   ) -> list[SizeResult]:
    """One size after another: build, warm up, 300 creates, 300 updates, check, remove."""
    results = []
    for n in sizes:
        bench = SizeBench(n, seed, tmpdir)
        try:
            bench.load()
            bench.warm_up()
            gc.collect()
            bench.creates(TIMED)
            gc.collect()
            bench.updates(TIMED)
            results.append(bench.finish())
        finally:
            bench.remove(keep)
    return results


def run_interleaved(sizes: list[int], seed: int, keep: bool, tmpdir: str | None
                    ) -> list[SizeResult]:
    """Build every size first, then time the sizes in turns of BATCH creates and BATCH
    updates (alternating the order each round), so a slow spell of the machine lands on every
    size alike instead of on whichever ran then."""
    benches: list[SizeBench] = []
    try:
        for n in sizes:
            benches.append(SizeBench(n, seed, tmpdir))
            benches[-1].load()
        for bench in benches:
            bench.warm_up()
        gc.collect()
        for round_ in range(-(-TIMED // BATCH)):
            batch = min(BATCH, TIMED - round_ * BATCH)
            for bench in benches if round_ % 2 == 0 else benches[::-1]:
                bench.creates(batch)
                bench.updates(batch)
        return [bench.finish() for bench in benches]
    finally:
        for bench in benches:
            bench.remove(keep)


# -- reporting -----------------------------------------------------------------------------


def table(results: list[SizeResult]) -> str:
    head = f"{'N':>8}  {'operation':<9}  {'median ms':>9}  {'p95 ms':>8}  {'saves/s':>8}"
    lines = [head, "-" * len(head)]
    for result in results:
        for s in result.stats:
            lines.append(
                f"{s.n:>8}  {s.operation:<9}  {s.median_ms:>9.2f}  {s.p95_ms:>8.2f}  "
                f"{s.saves_per_s:>8.0f}"
            )
    return "\n".join(lines)


def ratios(results: list[SizeResult]) -> dict[str, float]:
    small, large = results[0], results[-1]
    out: dict[str, float] = {}
    for a, b in zip(small.stats, large.stats, strict=True):
        out[a.operation] = b.median_ms / a.median_ms
    return out


def git_version() -> str:
    result = subprocess.run(["git", "--version"], capture_output=True, text=True)
    return result.stdout.strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_sizes = " ".join(map(str, DEFAULT_SIZES))
    parser.add_argument("--sizes", type=int, nargs="+", metavar="N",
                        help=f"article counts to test (default: {default_sizes})")
    parser.add_argument("--quick", action="store_true",
                        help=f"use sizes {' '.join(map(str, QUICK_SIZES))}")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument("--output", type=Path, default=RESULTS,
                        help="where to write the JSON results (default: %(default)s)")
    parser.add_argument("--tmpdir", help="where to build the repositories (default: the system "
                        "temp dir; /dev/shm takes the disk out of the numbers)")
    parser.add_argument("--sequential", action="store_true",
                        help="time one size after another instead of in interleaved rounds")
    parser.add_argument("--keep", action="store_true", help="keep the temporary repositories")
    args = parser.parse_args(argv)
    if args.quick and args.sizes:
        parser.error("--quick and --sizes cannot be combined")
    sizes = sorted(set(args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)))
    if any(n < 1 for n in sizes):
        parser.error("sizes must be positive")

    started = time.perf_counter()
    run = run_sequential if args.sequential else run_interleaved
    results = run(sizes, args.seed, args.keep, args.tmpdir)
    elapsed = time.perf_counter() - started

    print()
    print(table(results))
    print()
    for r in results:
        print(f"N={r.n:>7}: repository build {r.build['repo_s']:.1f}s, "
              f"index catch-up {r.build['index_catchup_s']:.1f}s")
    found = ratios(results)
    small, large = sizes[0], sizes[-1]
    print(
        f"median ratio N={large} / N={small}: "
        + ", ".join(f"{op} {value:.2f}x" for op, value in found.items())
    )

    report = {
        "benchmark": "write_latency",
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git": git_version(),
        "seed": args.seed,
        "tmpdir": args.tmpdir or tempfile.gettempdir(),
        "warmup": {"creates": WARMUP_CREATES, "updates": WARMUP_UPDATES},
        "timed_per_operation": TIMED,
        "order": "sequential" if args.sequential else f"interleaved, batches of {BATCH}",
        "elapsed_s": elapsed,
        "sizes": [
            {"n": r.n, "build": r.build, "fsck_s": r.fsck_s,
             "operations": [asdict(s) for s in r.stats]}
            for r in results
        ],
        "median_ratio_largest_to_smallest": found,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results written to {args.output} ({elapsed:.0f}s in all)")


if __name__ == "__main__":
    main()
