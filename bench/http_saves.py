"""Saves over HTTP: concurrent clients against `cms serve`, every acknowledgement checked in git.

Each client thread has its own `requests.Session` and, until the time or count bound, POSTs new
articles (three saves in four) and PATCHes one of its own earlier articles with If-Match set
to the ETag it last got (one in four). saves/s = acknowledged 2xx answers / elapsed seconds.
Afterwards every acknowledged `meta.revision` must be in `git rev-list main`.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from .articles import make_article
from .build import git
from .servers import Server
from .stats import summary


@dataclass
class HttpSaves:
    clients: int
    elapsed_s: float
    acknowledged: int
    creates: int
    updates: int
    failures: dict[str, int]
    latency_ms: dict[str, float]
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    # the workers' CPU (user + system) per acknowledged save, and the bare Flask app's per
    # request under the same clients (`bench.bare_app`), measured in the same run
    cpu_ms_per_save: float = float("nan")
    bare_cpu_ms: float = float("nan")

    @property
    def per_second(self) -> float:
        return self.acknowledged / self.elapsed_s if self.elapsed_s else 0.0


def run(
    server: Server, token: str, clients: int, seconds: float, max_saves: int, seed: int
) -> tuple[HttpSaves, list[str]]:
    """Drive the saves; return the result and every acknowledged revision."""
    revisions: list[str] = []
    times: list[float] = []
    failures: dict[str, int] = {}
    counts = {"create": 0, "update": 0}
    lock = threading.Lock()
    budget = iter(range(max_saves))
    ready = threading.Barrier(clients + 1)
    go = threading.Event()
    deadline = [0.0]

    def client(number: int) -> None:
        rng = random.Random(seed * 7919 + number)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        docs = [
            make_article(rng, number * 100000 + i, f"http-save-{seed}-{number}-{i}")
            for i in range(max_saves // clients + 1)
        ]
        mine: list[tuple[str, str]] = []  # (slug, etag)
        ready.wait()
        go.wait()
        i = 0
        while time.perf_counter() < deadline[0]:
            with lock:
                if next(budget, None) is None:
                    return
            patch = bool(mine) and i % 4 == 3
            # a client may take more than its share of `max_saves`: make the rest here
            doc = (
                None
                if patch
                else docs[i]
                if i < len(docs)
                else make_article(rng, number * 100000 + i, f"http-save-{seed}-{number}-{i}")
            )
            t0 = time.perf_counter()
            if patch:
                k = rng.randrange(len(mine))
                slug, etag = mine[k]
                response = session.patch(
                    server.url(f"/api/v1/manage/articles/{slug}"),
                    json={"summary": f"Edited by client {number}, save {i}."},
                    headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"},
                    timeout=60,
                )
            else:
                response = session.post(server.url("/api/v1/manage/articles"), json=doc, timeout=60)
            elapsed = (time.perf_counter() - t0) * 1000
            i += 1
            with lock:
                times.append(elapsed)
                if 200 <= response.status_code < 300:
                    body: dict[str, Any] = response.json()
                    revisions.append(body["meta"]["revision"])
                    counts["update" if patch else "create"] += 1
                else:
                    key = str(response.status_code)
                    failures[key] = failures.get(key, 0) + 1
            if 200 <= response.status_code < 300:
                entry = (body["slug"], response.headers["ETag"])
                if patch:
                    mine[k] = entry
                else:
                    mine.append(entry)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    ready.wait()  # every client has its articles ready
    t0 = time.perf_counter()
    deadline[0] = t0 + seconds
    go.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    result = HttpSaves(
        clients,
        elapsed,
        len(revisions),
        counts["create"],
        counts["update"],
        failures,
        summary(times),
    )
    return result, revisions


def verify(result: HttpSaves, git_dir: str, revisions: list[str]) -> None:
    """Check every acknowledged revision is on `main`."""
    on_main = set(git("-C", git_dir, "rev-list", "main").split())
    result.missing = [r for r in revisions if r not in on_main]
    result.checked = len(revisions)
