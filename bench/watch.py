"""What the workbench's watch of an open article costs the server (issue 23).

Each open entry asks `GET /api/v1/manage/articles/{slug}/changes` with If-None-Match every
5 s (cms/web/admin/watch.js). Against `cms serve` (2 workers) on a repository of `articles`
articles, this measures:

- per request, the worker CPU of a 304 poll beside an ordinary read of the article
  (`GET /api/v1/manage/articles/{slug}`, the same token), `requests` each, one client;
- 50 editors with the article open, each polling every 5 s for `seconds`: the workers' CPU
  over that time (less what they use idle over as long) as a share of one core, the polls'
  latency, and, after a save in the middle, how long until every editor's poll saw it.

`python -m bench.watch [--articles 2000] [--editors 50] [--seconds 30]` prints the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import threading
import time
from typing import Any

import requests

from cms.auth.tokens import TokenStore
from cms.content.identity import Person
from cms.store import ArticleStore

from . import build
from .servers import start_cms
from .stats import summary

EVE = Person("Eve Editor", "eve@example.org")
EVERY = 5.0  # seconds between two polls of one editor, as watch.js


def _cpu_per_request(server: Any, session: requests.Session, path: str, n: int, etag: str) -> float:
    """Worker CPU ms per request of `n` GETs of `path` with If-None-Match `etag`."""
    before = server.worker_cpu_s()
    for _ in range(n):
        response = session.get(server.url(path), headers={"If-None-Match": etag}, timeout=30)
        assert response.status_code in (200, 304), response.text
    return (server.worker_cpu_s() - before) * 1000 / n


def run(
    workdir: str,
    articles: int = 2000,
    editors: int = 50,
    seconds: float = 30.0,
    requests_n: int = 1000,
) -> dict[str, Any]:
    path = tempfile.mkdtemp(prefix="watch-", dir=workdir)
    repo = os.path.join(path, "repo")
    store = ArticleStore.init(repo)
    build.bulk_load(store, articles, random.Random(23))
    made = store.create(
        {"title": "Watched article", "body": [{"type": "paragraph", "text": "Open in 50 tabs."}]},
        EVE,
    )
    slug, etag = made.slug, made.etag
    _, secret = TokenStore(repo).create("Eve Editor", "eve@example.org", "editor")
    server = start_cms(repo, path, "/healthz")
    try:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {secret}"
        watch = f"/api/v1/manage/articles/{slug}/changes?since={etag}"
        read = f"/api/v1/manage/articles/{slug}"
        quoted = f'"{etag}"'
        assert session.get(server.url(watch), headers={"If-None-Match": quoted}).status_code == 304
        _cpu_per_request(server, session, read, 50, "")  # warm both paths in both workers
        _cpu_per_request(server, session, watch, 50, quoted)
        poll_ms = _cpu_per_request(server, session, watch, requests_n, quoted)
        read_ms = _cpu_per_request(server, session, read, requests_n, "")

        idle0 = server.worker_cpu_s()
        time.sleep(seconds / 3)
        idle_rate = (server.worker_cpu_s() - idle0) / (seconds / 3)

        latencies: list[float] = []
        seen_after: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        saved_at = [0.0]
        start = time.perf_counter() + 0.5
        stop = start + seconds

        def editor(number: int) -> None:
            mine = requests.Session()
            mine.headers["Authorization"] = f"Bearer {secret}"
            tag = quoted
            due = start + EVERY * number / editors  # spread over the interval, as tabs are
            while due < stop:
                time.sleep(max(0.0, due - time.perf_counter()))
                t0 = time.perf_counter()
                response = mine.get(server.url(watch), headers={"If-None-Match": tag}, timeout=30)
                took = time.perf_counter() - t0
                with lock:
                    latencies.append(took * 1000)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    if response.status_code == 200 and saved_at[0] and tag == quoted:
                        seen_after.append(time.perf_counter() - saved_at[0])
                if response.status_code == 200:
                    tag = response.headers["ETag"]
                due += EVERY

        threads = [threading.Thread(target=editor, args=(n,)) for n in range(editors)]
        cpu0 = server.worker_cpu_s()
        for t in threads:
            t.start()
        time.sleep(max(0.0, start + seconds / 2 - time.perf_counter()))
        saved = session.patch(
            server.url(read),
            data=json.dumps({"title": "Watched article, changed"}),
            headers={"If-Match": quoted, "Content-Type": "application/merge-patch+json"},
            timeout=30,
        )
        assert saved.status_code == 200, saved.text
        saved_at[0] = time.perf_counter()
        for t in threads:
            t.join()
        busy = server.worker_cpu_s() - cpu0
        window = time.perf_counter() - start
    finally:
        server.stop()
    share = max(0.0, busy - idle_rate * window) / window
    return {
        "articles": articles,
        "editors": editors,
        "seconds": seconds,
        "poll_cpu_ms": poll_ms,
        "read_cpu_ms": read_ms,
        "polls": len(latencies),
        "statuses": statuses,
        "latency_ms": summary(latencies),
        "core_share": share,
        "idle_core_share": idle_rate,
        "saw_save": len(seen_after),
        "saw_save_within_s": max(seen_after, default=float("nan")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--editors", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as workdir:
        figures = run(workdir, args.articles, args.editors, args.seconds, args.requests)
    latency = figures["latency_ms"]
    print(
        f"{figures['articles']} articles; worker CPU per request: 304 poll "
        f"{figures['poll_cpu_ms']:.2f} ms, article read {figures['read_cpu_ms']:.2f} ms\n"
        f"{figures['editors']} editors polling every {EVERY:.0f} s for {figures['seconds']:.0f} s: "
        f"{figures['polls']} polls {figures['statuses']}, latency median "
        f"{latency['median']:.1f} ms, p99 {latency['p99']:.1f} ms; workers "
        f"{figures['core_share'] * 100:.1f}% of one core beyond idle "
        f"({figures['idle_core_share'] * 100:.1f}%)\n"
        f"a save in the middle: seen by {figures['saw_save']} of {figures['editors']} editors, "
        f"the last {figures['saw_save_within_s']:.1f} s after it"
    )


if __name__ == "__main__":
    main()
