"""Migration and search figures.

- import: `cms import --publish` of a JSON Lines archive (every article with its own
  `published_at`) into an empty repository, as a user runs it; wall time and the peak RSS of
  its process tree (the python process and its git children, sampled from /proc by
  `proctree`, with the largest of each kind). Baseline, same run: `git fast-import` of the
  same files as one commit per article, git's own floor for "one commit each".
- search: `?q=...&sort=relevance` through `Delivery.list` (stemmed, prefix, BM25, highlights)
  over the suite's published repository, p99 over a set of queries; baseline: the same
  queries, unstemmed, as a BM25-ranked page on an FTS5 table of the same articles' plain text
  (what search was before: words as written, no prefix, no highlight).
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cms.content import layout
from cms.content.text import search_text
from cms.delivery.service import Delivery
from cms.store import ArticleStore

from . import proctree
from .articles import make_article
from .report import Row
from .stats import percentile

QUERIES = (
    "bridges",
    "repairs",
    "brid",
    "harbour council",
    "library annex",
    "storms",
    "engineers warned",
    "rents rising",
    "festival",
    "museum funds",
    "cycling plans",
    "archive",
    "wall repair",
    "schools budget",
    "transit",
)
EPOCH = 1_262_304_000  # 2010-01-01: the archive's first day


def import_run(n: int, workdir: str, seed: int) -> dict[str, Any]:
    """Import `n` dated articles with `cms import --publish`; the fast-import baseline."""
    rng = random.Random(seed)
    source = Path(workdir) / "archive.jsonl"
    with source.open("w", encoding="utf-8") as f:
        for number in range(1, n + 1):
            doc = make_article(rng, number, f"archive-{number:06d}")
            stamp = time.gmtime(EPOCH + number * 3600)
            doc["published_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", stamp)
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")
    repo = Path(workdir) / "imported"
    ArticleStore.init(str(repo))
    cms = str(Path(sys.executable).parent / "cms")
    tree = proctree.run(
        [
            cms,
            "--repo",
            str(repo),
            "import",
            str(source),
            "--publish",
            "--author",
            "Bench Importer <import@example.org>",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seconds, rss = tree.seconds, tree.peak_total_mb
    base = Path(workdir) / "fast-import"
    subprocess.run(["git", "init", "-q", "--bare", str(base)], check=True)
    stream = Path(workdir) / "fast-import.stream"
    _fast_import_stream(source, stream)
    with stream.open("rb") as feed:
        base_s, base_rss = _measure(["git", "--git-dir", str(base), "fast-import", "--quiet"], feed)
    commits = {
        line: int(
            subprocess.run(
                ["git", "--git-dir", str(repo), "rev-list", "--count", line],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for line in ("main", "published")
    }
    out = {
        "n": n,
        "seconds": seconds,
        "peak_rss_mb": rss,
        "peak_rss_by_kind_mb": tree.peak_by_kind_mb,
        "rss_trend_mb": tree.trend,
        "per_s": n / seconds,
        "commits": commits,
        "fast_import_s": base_s,
        "fast_import_rss_mb": base_rss,
        "archive_mb": source.stat().st_size / 2**20,
    }
    print(
        f"  import of {n} articles (--publish): {seconds:.1f}s = {n / seconds:.0f}/s, peak "
        f"RSS of the process tree {rss:.0f} MB ({tree.peak_by_kind_mb}); git fast-import "
        f"{base_s:.1f}s",
        flush=True,
    )
    return out


def _measure(command: list[str], stdin: Any = None) -> tuple[float, float]:
    """Run `command`; its wall seconds and its own peak RSS in MB (not the suite's)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{command[0]} failed with {proc.returncode}")
    return elapsed, usage.ru_maxrss / 1024


def _fast_import_stream(source: Path, target: Path) -> None:
    with source.open(encoding="utf-8") as f, target.open("wb") as out:
        for number, line in enumerate(f, 1):
            data = line.encode()
            when = EPOCH + number * 3600
            message = f"Create article {number}\n".encode()
            out.write(b"commit refs/heads/main\n")
            out.write(b"committer Bench <bench@example.org> %d +0000\n" % when)
            out.write(b"data %d\n%s" % (len(message), message))
            # where the CMS keeps the file: a flat folder of 100,000 files would make each
            # commit rewrite one ever larger tree (quadratic: most of an hour at 100,000)
            path = layout.article_path(f"archive-{number:06d}").encode()
            out.write(b"M 100644 inline %s\ndata %d\n%s\n" % (path, len(data), data))


def search_run(store: ArticleStore, requests: int, seed: int) -> dict[str, Any]:
    """p99 of relevance-sorted searches, beside unstemmed BM25 pages on the same text."""
    rng = random.Random(seed)
    delivery = Delivery(store)
    plan = [(rng.choice(QUERIES), rng.randint(1, 3)) for _ in range(requests)]
    for q in QUERIES:  # warm: the first query of a word also fills the stemmers' caches
        delivery.list(page=1, per_page=20, q=q, sort="relevance")
    mine, hits = [], []
    for q, page in plan:
        t0 = time.perf_counter()
        items, total = delivery.list(page=page, per_page=20, q=q, sort="relevance")
        mine.append((time.perf_counter() - t0) * 1000)
        hits.append(total)
    baseline = _plain_table(store)
    base = []
    for q, page in plan:
        words = " ".join(f'"{w}"' for w in q.split())
        t0 = time.perf_counter()
        baseline.execute(
            "SELECT rowid, bm25(t, 10.0, 4.0, 1.0) AS s FROM t WHERE t MATCH ? ORDER BY s "
            "LIMIT 20 OFFSET ?",
            (words, (page - 1) * 20),
        ).fetchall()
        baseline.execute("SELECT COUNT(*) FROM t WHERE t MATCH ?", (words,)).fetchone()
        base.append((time.perf_counter() - t0) * 1000)
    out = {
        "requests": requests,
        "articles": store.index.tables.db.execute("SELECT COUNT(*) FROM live").fetchone()[0],
        "ms": {
            "p50": percentile(mine, 50),
            "p95": percentile(mine, 95),
            "p99": percentile(mine, 99),
        },
        "baseline_ms": {"p50": percentile(base, 50), "p99": percentile(base, 99)},
        "median_total": sorted(hits)[len(hits) // 2],
    }
    print(
        f"  search, sort=relevance: p99 {out['ms']['p99']:.1f} ms (p50 "
        f"{out['ms']['p50']:.1f}); unstemmed baseline p99 {out['baseline_ms']['p99']:.1f} ms",
        flush=True,
    )
    return out


def _plain_table(store: ArticleStore) -> sqlite3.Connection:
    """An in-memory FTS5 table of every live article's text as written."""
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE t USING fts5(title, summary, body, "
        "tokenize = 'unicode61 remove_diacritics 2')"
    )
    rows = store.index.tables.db.execute("SELECT id, blob FROM live").fetchall()
    for article, blob in rows:
        doc = json.loads(store.repo.read(blob))
        db.execute(
            "INSERT INTO t (rowid, title, summary, body) VALUES (?, ?, ?, ?)",
            (article, doc.get("title", ""), doc.get("summary", ""), search_text(doc)),
        )
    return db


def rows(result: dict[str, Any]) -> list[Row]:
    """The search row and the import row, each if its phase ran."""
    out = []
    if "search" in result:
        s = result["search"]
        p99, base = s["ms"]["p99"], s["baseline_ms"]["p99"]
        out.append(
            Row(
                "search_relevance_p99_ms",
                f"search, sort=relevance + highlight, {s['articles']:,} published",
                "p99 <= 50 ms",
                p99,
                "ms",
                f"p99 {p99:.1f} ms (p50 {s['ms']['p50']:.1f}; median {s['median_total']:,} hits)",
                base,
                f"unstemmed FTS5 bm25 page p99 {base:.1f} ms",
                p99 / base if base else None,
                f"{p99 / base:.1f}x" if base else "-",
                p99 <= 50,
                s,
            )
        )
    if "import" in result:
        i = result["import"]
        out.append(
            Row(
                "import_s",
                f"cms import --publish of {i['n']:,} dated articles",
                "info",
                i["seconds"],
                "s",
                f"{i['seconds']:.0f} s ({i['per_s']:.0f}/s), peak RSS {i['peak_rss_mb']:.0f} MB",
                i["fast_import_s"],
                f"git fast-import, 1 commit each: {i['fast_import_s']:.1f} s",
                i["seconds"] / i["fast_import_s"] if i["fast_import_s"] else None,
                f"{i['seconds'] / i['fast_import_s']:.0f}x" if i["fast_import_s"] else "-",
                None,
                i,
            )
        )
        kinds = ", ".join(f"{k} {v:.0f}" for k, v in list(i["peak_rss_by_kind_mb"].items())[:3])
        out.append(
            Row(
                "import_peak_rss_mb",
                f"cms import --publish of {i['n']:,}: peak RSS of the process tree",
                "<= 400 MB",
                i["peak_rss_mb"],
                "MB",
                f"{i['peak_rss_mb']:.0f} MB (largest: {kinds})",
                i["fast_import_rss_mb"],
                f"git fast-import {i['fast_import_rss_mb']:.0f} MB",
                i["peak_rss_mb"] / i["fast_import_rss_mb"] if i["fast_import_rss_mb"] else None,
                f"{i['peak_rss_mb'] / i['fast_import_rss_mb']:.1f}x"
                if i["fast_import_rss_mb"]
                else "-",
                i["peak_rss_mb"] <= 400,
                i,
            )
        )
    return out
