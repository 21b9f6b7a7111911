"""The read side at archive scale, on the suite's published repository (issue 13).

- documents: every live article's public JSON made in-process first (`Readiness.fill_batch`,
  what a server's filler thread does after a bulk publish), timed;
- uncached article reads: wrk over the reads phase's rotating slugs against `cms serve` with
  its response cache off (`CMS_RESPONSE_CACHE_BYTES=0`: every request a miss) beside the bare
  Flask app serving the same bytes; ratio of req/s, and worker CPU per request;
- full sync: every live article through `/api/v1/sync?limit=1000` pages, one client, with the
  workers' RSS sampled every 50 ms; baseline: `git cat-file --batch` of every file on
  `published` (git's own floor for reading it all);
- sitemap: `/sitemap.xml` (a sitemap index past 50,000) and `/sitemap-1.xml` (50,000 URLs),
  200 requests each with the default response cache (the first of each a miss, also shown
  alone), p99; baseline: ElementTree (the renderer before) on the same 50,000 URLs,
  in-process;
- memory: 20,000 distinct cache-busting requests (`?b=N`, and distinct list pages) over the
  feeds, sync and lists against a `cms serve` with its default cache; worker RSS after,
  beside the RSS before them;
- catch-up: a push of 10,000 commits on `published` (fast-import straight into the
  repository, as `receive-pack` lands one) while 4 clients read rotating articles; p99 of
  those reads until the index reflects the push, and the catch-up time; baseline: the same
  reads just before the push.
"""

from __future__ import annotations

import http.client
import json
import random
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from cms.content import canonical, layout
from cms.content.layout import PUBLISHED
from cms.delivery import feeds, sitemap
from cms.delivery.service import Delivery
from cms.store import ArticleStore
from cms.times import iso

from . import reads
from .articles import make_article
from .report import Row
from .servers import HOST, Server, start_bare, start_cms
from .stats import summary


def run(quick: bool, store: ArticleStore, workdir: str, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    out: dict[str, Any] = {"articles": store.index.states.live_count()}
    out["documents_s"] = fill_documents(store)
    print(
        f"  documents of {out['articles']:,} live articles made in {out['documents_s']:.1f}s",
        flush=True,
    )
    data = str(Path(workdir) / "bare-data.json")
    slugs = list(json.loads(Path(data).read_text())["articles"])
    git_dir = store.repo.git_dir
    off = {"CMS_RESPONSE_CACHE_BYTES": "0"}
    cms = start_cms(git_dir, workdir, "/healthz", env=off)
    bare = start_bare(data, workdir, f"/api/v1/articles/{slugs[0]}")
    try:
        script = reads.rotation_script(workdir, [f"/api/v1/articles/{s}" for s in slugs])
        runs = []
        for round_ in range(1 if quick else 3):
            for server in (cms, bare) if round_ % 2 == 0 else (bare, cms):
                runs.append(reads.wrk(server, "/", 3 if quick else 5, 16, "uncached", script))
                print(
                    f"  wrk uncached {server.name:<4} {runs[-1].requests_per_s:8.0f} req/s "
                    f"({runs[-1].cpu_ms_per_request:.2f} ms CPU/request)",
                    flush=True,
                )
        out["uncached"] = _ratio(runs)
        out["catch_up"] = _catch_up(cms, store, slugs, 1000 if quick else 10_000, rng)
        print(
            f"  catch-up of {out['catch_up']['commits']:,} commits: "
            f"{out['catch_up']['seconds']:.1f}s; read p99 "
            f"{out['catch_up']['during_ms']['p99']:.1f} ms (before "
            f"{out['catch_up']['before_ms']['p99']:.1f})",
            flush=True,
        )
    finally:
        cms.stop()
        bare.stop()
    cms = start_cms(git_dir, workdir, "/healthz")
    try:
        out["sitemap"] = _sitemap(cms, store)
        print(
            f"  sitemap p99: index {out['sitemap']['index_ms']['p99']:.1f} ms, file "
            f"{out['sitemap']['file_ms']['p99']:.1f} ms (first, a cache miss: "
            f"{out['sitemap']['index_miss_ms']:.0f} and {out['sitemap']['file_miss_ms']:.0f}"
            " ms)",
            flush=True,
        )
        out["sync"] = {"live": store.index.states.live_count(), **_sync(cms, git_dir)}
        print(
            f"  full sync of {out['sync']['articles']:,}: {out['sync']['seconds']:.1f}s in "
            f"{out['sync']['pages']} pages, peak worker RSS {out['sync']['peak_rss_mb']:.0f} "
            f"MB; git cat-file {out['sync']['git_s']:.1f}s",
            flush=True,
        )
        out["memory"] = _busting(cms, 2000 if quick else 20_000)
        print(
            f"  RSS after {out['memory']['requests']:,} cache-busting requests: "
            f"{max(out['memory']['after_mb']):.0f} MB (before "
            f"{max(out['memory']['before_mb']):.0f})",
            flush=True,
        )
    finally:
        cms.stop()
    return out


def fill_documents(store: ArticleStore) -> float:
    """Make every live article's card and document in-process, as the filler threads of a
    server would after a bulk publish; return the seconds it took."""
    delivery = Delivery(store)
    t0 = time.perf_counter()
    beyond = None
    while (beyond := delivery.ready.fill_batch(False, beyond, size=500)) is not None:
        pass
    return time.perf_counter() - t0


def _ratio(runs: list[reads.WrkRun]) -> dict[str, Any]:
    def mean(name: str, key: str) -> float:
        values = [getattr(r, key) for r in runs if r.server == name]
        return sum(values) / len(values)

    cms_rps, bare_rps = mean("cms", "requests_per_s"), mean("bare", "requests_per_s")
    return {
        "cms_rps": cms_rps,
        "bare_rps": bare_rps,
        "ratio": cms_rps / bare_rps,
        "cms_cpu_ms": mean("cms", "cpu_ms_per_request"),
        "bare_cpu_ms": mean("bare", "cpu_ms_per_request"),
        "errors": sum(r.errors for r in runs),
        "runs": [r.__dict__ for r in runs],
    }


def _timed(port: int, paths: list[str]) -> list[float]:
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    times = []
    try:
        for path in paths:
            t0 = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status == 200, (path, response.status)
    finally:
        conn.close()
    return times


def _sitemap(cms: Server, store: ArticleStore) -> dict[str, Any]:
    index = _timed(cms.port, ["/sitemap.xml"] * 200)
    one = _timed(cms.port, ["/sitemap-1.xml"] * 200)
    rows = store.index.states.sitemap_rows(0, 50_000)
    site = feeds.Site("Bench", "http://bench/", "http://bench/{slug}")
    t0 = time.perf_counter()
    sitemap.sitemap(site, [{"slug": s, "updated_at": iso(t)} for s, t in rows])
    return {
        "index_ms": summary(index),
        "file_ms": summary(one),
        "urls": len(rows),
        "index_miss_ms": index[0],
        "file_miss_ms": one[0],
        "elementtree_ms": (time.perf_counter() - t0) * 1000,
    }


def _sync(cms: Server, git_dir: str) -> dict[str, Any]:
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], *cms.worker_rss_mb())
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    conn = http.client.HTTPConnection(HOST, cms.port, timeout=120)
    articles = pages = 0
    token = None
    t0 = time.perf_counter()
    try:
        while True:
            conn.request("GET", "/api/v1/sync?limit=1000" + (f"&token={token}" if token else ""))
            response = conn.getresponse()
            body = json.loads(response.read())
            assert response.status == 200, body
            articles += len(body["changed"])
            pages += 1
            token = body["next_token"]
            if not body["has_more"]:
                break
    finally:
        conn.close()
        seconds = time.perf_counter() - t0
        done.set()
        sampler.join()
    t0 = time.perf_counter()
    listing = subprocess.run(
        ["git", "--git-dir", git_dir, "ls-tree", "-r", "--object-only", PUBLISHED, layout.ROOT],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(
        ["git", "--git-dir", git_dir, "cat-file", "--batch"],
        input=listing,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return {
        "articles": articles,
        "pages": pages,
        "seconds": seconds,
        "peak_rss_mb": peak[0],
        "git_s": time.perf_counter() - t0,
    }


def _busting(cms: Server, requests: int) -> dict[str, Any]:
    tags = ["politics", "transport", "housing", "culture", "environment", "local", "energy"]
    paths = []
    for n in range(requests):
        kind = n % 5
        if kind == 0:
            paths.append(f"/feed.json?b={n}")
        elif kind == 1:
            paths.append(f"/feed.xml?b={n}")
        elif kind == 2:
            paths.append(f"/api/v1/sync?b={n}")
        else:  # distinct list pages: the parameters a list reads, each combination once
            paths.append(
                f"/api/v1/articles?tag={tags[n % len(tags)]}&page={n // 35 + 1}"
                f"&per_page={n % 3 * 20 + 20}&b={n}"
            )
    _timed(cms.port, paths[:10])
    before = cms.worker_rss_mb()
    chunks = [paths[i::4] for i in range(4)]
    threads = [threading.Thread(target=_timed, args=(cms.port, c)) for c in chunks]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "requests": requests,
        "seconds": time.perf_counter() - t0,
        "before_mb": before,
        "after_mb": cms.worker_rss_mb(),
    }


def _push(git_dir: str, commits: int, live: list[str], rng: random.Random) -> None:
    """`commits` commits on `published`, each updating one of the `live` articles (slugs), by
    plain git: the push publishes no new article, so the live count stays as it was."""
    start = subprocess.run(
        ["git", "--git-dir", git_dir, "rev-parse", PUBLISHED],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    template = make_article(rng, 1)
    now = int(time.time())
    stream = [f"reset refs/heads/{PUBLISHED}\nfrom {start}\n\n".encode()]
    for k in range(commits):
        slug = rng.choice(live)
        data = canonical.dumps({**template, "slug": slug, "title": f"Pushed {slug} v{k}"})
        message = f"Update {slug}\n".encode()
        stream += [
            f"commit refs/heads/{PUBLISHED}\n".encode(),
            f"author Plain Git <plain@example.org> {now} +0000\n".encode(),
            f"committer Plain Git <plain@example.org> {now} +0000\n".encode(),
            b"data %d\n" % len(message),
            message,
            f"M 100644 inline {layout.article_path(slug)}\n".encode(),
            b"data %d\n" % len(data),
            data,
            b"\n",
        ]
    stream.append(b"done\n")
    subprocess.run(
        ["git", "--git-dir", git_dir, "fast-import", "--quiet", "--done"],
        input=b"".join(stream),
        check=True,
    )


def _catch_up(
    cms: Server, store: ArticleStore, slugs: list[str], commits: int, rng: random.Random
) -> dict[str, Any]:
    git_dir = store.repo.git_dir
    index = sqlite3.connect(store.index.tables.path, timeout=60)

    def indexed() -> str:
        return index.execute("SELECT sha FROM tips WHERE line = ?", (PUBLISHED,)).fetchone()[0]

    stop = threading.Event()
    during: list[float] = []

    def reader(offset: int) -> None:
        n = offset
        while not stop.is_set():
            during.extend(_timed(cms.port, [f"/api/v1/articles/{slugs[n % len(slugs)]}"]))
            n += 7

    before = _timed(cms.port, [f"/api/v1/articles/{s}" for s in slugs[:400]])
    live = [s for (s,) in store.index.tables.db.execute("SELECT slug FROM live")]
    _push(git_dir, commits, live, rng)
    target = store.repo.ref(PUBLISHED)
    threads = [threading.Thread(target=reader, args=(i * 1000,)) for i in range(4)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    while indexed() != target and time.perf_counter() - t0 < 900:
        time.sleep(0.05)
    seconds = time.perf_counter() - t0
    stop.set()
    for t in threads:
        t.join()
    index.close()
    return {
        "commits": commits,
        "seconds": seconds,
        "reads": len(during),
        "during_ms": summary(during),
        "before_ms": summary(before),
    }


ROWS = (
    "get_article_miss_rps",
    "sync_full_s",
    "sitemap_p99_ms",
    "rss_cache_busting_mb",
    "catch_up_read_p99_ms",
)


def rows(result: dict[str, Any]) -> list[Row]:
    if not result:
        return []
    u, s, m, c, sm = (
        result["uncached"],
        result["sync"],
        result["memory"],
        result["catch_up"],
        result["sitemap"],
    )
    sitemap_p99 = max(sm["index_ms"]["p99"], sm["file_ms"]["p99"])
    rss = max(m["after_mb"])
    return [
        Row(
            "get_article_miss_rps",
            "GET article, every request a cache miss (cache off)",
            ">= 0.6x bare",
            u["cms_rps"],
            "req/s",
            f"{u['cms_rps']:.0f} req/s, {u['cms_cpu_ms']:.2f} ms CPU/req",
            u["bare_rps"],
            f"bare Flask {u['bare_rps']:.0f} req/s, {u['bare_cpu_ms']:.2f} ms CPU/req",
            u["ratio"],
            f"{u['ratio']:.2f}x",
            u["ratio"] >= 0.6 and not u["errors"],
            u,
        ),
        Row(
            "sync_full_s",
            f"full sync of {s['articles']:,} in pages of 1,000",
            "peak RSS <= 300 MB",
            s["peak_rss_mb"],
            "MB",
            f"{s['seconds']:.1f} s, {s['pages']} pages, peak worker RSS {s['peak_rss_mb']:.0f} MB",
            s["git_s"],
            f"git cat-file of every file: {s['git_s']:.1f} s",
            s["seconds"] / s["git_s"] if s["git_s"] else None,
            f"{s['seconds'] / s['git_s']:.1f}x" if s["git_s"] else "-",
            s["peak_rss_mb"] <= 300 and s["articles"] == s["live"],
            s,
        ),
        Row(
            "sitemap_p99_ms",
            f"sitemap index + one file of {sm['urls']:,} URLs, 200 GETs each",
            "p99 <= 50 ms",
            sitemap_p99,
            "ms",
            f"index p99 {sm['index_ms']['p99']:.1f} ms, file p99 {sm['file_ms']['p99']:.1f} ms"
            f" (misses: {sm['index_miss_ms']:.0f}, {sm['file_miss_ms']:.0f} ms)",
            sm["elementtree_ms"],
            f"ElementTree, same URLs: {sm['elementtree_ms']:.0f} ms",
            sitemap_p99 / sm["elementtree_ms"],
            f"{sitemap_p99 / sm['elementtree_ms']:.2f}x",
            sitemap_p99 <= 50,
            sm,
        ),
        Row(
            "rss_cache_busting_mb",
            f"worker RSS after {m['requests']:,} cache-busting requests (feeds, sync, lists)",
            "<= 300 MB",
            rss,
            "MB",
            f"{rss:.0f} MB",
            max(m["before_mb"]),
            f"before them: {max(m['before_mb']):.0f} MB",
            rss / max(m["before_mb"]),
            f"{rss / max(m['before_mb']):.1f}x",
            rss <= 300,
            m,
        ),
        Row(
            "catch_up_read_p99_ms",
            f"article reads while {c['commits']:,} pushed commits are caught up",
            "p99 <= 100 ms",
            c["during_ms"]["p99"],
            "ms",
            f"p99 {c['during_ms']['p99']:.1f} ms over {c['reads']:,} reads; catch-up "
            f"{c['seconds']:.1f} s",
            c["before_ms"]["p99"],
            f"before the push: p99 {c['before_ms']['p99']:.1f} ms",
            c["during_ms"]["p99"] / c["before_ms"]["p99"],
            f"{c['during_ms']['p99'] / c['before_ms']['p99']:.1f}x",
            c["during_ms"]["p99"] <= 100,
            c,
        ),
    ]
