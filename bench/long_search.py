"""Relevance search over long articles whose match is at their very end (issue 25, item 5).

200 published articles of about 70 KB each, in a repository of their own, whose body ends with
the only paragraph the queries match; ten distinct queries, each matching every article,
asked as the delivery API's `?q=...&sort=relevance&per_page=100` (`Delivery.list`: stemmed
match, BM25, and a highlight for each of the 100 items). This is the shape an anonymous reader
could use to make each request cost a second of CPU while `highlight` walked every body word
by word. Baseline, same run: the same queries, as written, on an in-memory FTS5 table of the
same articles' plain text, answered with SQLite's own `snippet()` for the page of 100 (what
FTS5 alone costs to find, rank and highlight them).
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

from cms.content.text import search_text
from cms.delivery.service import Delivery
from cms.store import ArticleStore

from . import build
from .articles import make_article, paragraph
from .report import Row
from .stats import percentile

ARTICLES = 200
BODY_BYTES = 70_000
PER_PAGE = 100
ENDING = (
    "At dawn a zeppelin landed beside the old airship hangar, where the dirigible crews "
    "moored it to the mast before the gale."
)
QUERIES = (
    "zeppelin",
    "zeppelins landed",
    "airship hangar",
    "dirigible crews",
    "moored",
    "mooring mast",
    "gale",
    "dirigibles",
    "airships",
    "zeppel",
)
TARGET_MS = 150.0


def long_article(rng: random.Random, number: int) -> dict[str, Any]:
    """An article of about BODY_BYTES of prose whose last paragraph alone has ENDING."""
    doc = make_article(rng, number)
    body = []
    size = 0
    while size < BODY_BYTES:
        block = paragraph(rng)
        body.append(block)
        size += len(block["text"]) + 40
    body.append({"type": "paragraph", "text": ENDING})
    return {**doc, "body": body}


def run(workdir: str, requests: int, seed: int) -> dict[str, Any]:
    """p99 of the relevance pages (and the baseline's) over a fresh repository."""
    rng = random.Random(seed)
    store = ArticleStore.init(str(Path(workdir) / "long-articles"))
    built = build.bulk_load(store, ARTICLES, rng, long_article)
    build.publish_all(store)
    delivery = Delivery(store)
    for q in QUERIES:  # the first query of a word also fills the stemmers' caches
        _, total = delivery.list(page=1, per_page=PER_PAGE, q=q, sort="relevance")
        assert total == ARTICLES, (q, total)
    plan = [QUERIES[i % len(QUERIES)] for i in range(requests)]
    mine = []
    for q in plan:
        t0 = time.perf_counter()
        items, _ = delivery.list(page=1, per_page=PER_PAGE, q=q, sort="relevance")
        mine.append((time.perf_counter() - t0) * 1000)
    marked = sum("<mark>" in item.get("highlight", "") for item in items)
    baseline = _plain_table(store)
    base = []
    for q in plan:
        words = " ".join(f'"{w}"' for w in q.split())
        t0 = time.perf_counter()
        baseline.execute(
            "SELECT rowid, snippet(t, -1, '<mark>', '</mark>', '…', 24) FROM t WHERE t MATCH ? "
            "ORDER BY bm25(t, 10.0, 4.0, 1.0) LIMIT ?",
            (words, PER_PAGE),
        ).fetchall()
        base.append((time.perf_counter() - t0) * 1000)
    out = {
        "requests": requests,
        "articles": ARTICLES,
        "per_page": PER_PAGE,
        "kib_per_article": built.kib_per_article,
        "marked_on_last_page": marked,
        "ms": {"p50": percentile(mine, 50), "p99": percentile(mine, 99)},
        "baseline_ms": {"p50": percentile(base, 50), "p99": percentile(base, 99)},
    }
    print(
        f"  search of {ARTICLES} articles of {built.kib_per_article:.0f} KiB matching at "
        f"their end, per_page={PER_PAGE}: p99 {out['ms']['p99']:.1f} ms (p50 "
        f"{out['ms']['p50']:.1f}); FTS5 snippet() baseline p99 "
        f"{out['baseline_ms']['p99']:.1f} ms",
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
    for article, blob in store.index.tables.db.execute("SELECT id, blob FROM live").fetchall():
        doc = json.loads(store.repo.read(blob))
        db.execute(
            "INSERT INTO t (rowid, title, summary, body) VALUES (?, ?, ?, ?)",
            (article, doc.get("title", ""), doc.get("summary", ""), search_text(doc)),
        )
    return db


def rows(result: dict[str, Any]) -> list[Row]:
    """The row, if the search phase ran."""
    if "search_long" not in result:
        return []
    s = result["search_long"]
    p99, base = s["ms"]["p99"], s["baseline_ms"]["p99"]
    return [
        Row(
            "search_long_p99_ms",
            f"search, sort=relevance + highlight, per_page={s['per_page']}, {s['articles']} "
            f"articles of {s['kib_per_article']:.0f} KiB matching at their end",
            f"p99 <= {TARGET_MS:.0f} ms",
            p99,
            "ms",
            f"p99 {p99:.1f} ms (p50 {s['ms']['p50']:.1f})",
            base,
            f"FTS5 bm25 + snippet() page p99 {base:.1f} ms",
            p99 / base if base else None,
            f"{p99 / base:.1f}x" if base else "-",
            p99 <= TARGET_MS,
            s,
        )
    ]
