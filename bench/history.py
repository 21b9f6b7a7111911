"""An article's revisions in a deep repository: the CMS beside `git log -- path`.

The CMS answers from its SQLite index (`revisions` by slug); plain git has to walk every commit
on `main` and compare the path's tree entries, unless a commit-graph with changed-path Bloom
filters lets it skip most of them. Both git variants are timed on the same repository.
"""

from __future__ import annotations

import glob
import os
import subprocess
import time
from typing import Any

import requests

from cms.store import ArticleStore

from .build import git
from .servers import Server
from .stats import summary


def store_revisions(store: ArticleStore, slug: str, repeats: int) -> dict[str, Any]:
    """`store.revisions(slug)` (first page, 20 entries) in this process."""
    times = []
    total = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        _, total = store.revisions(slug)
        times.append((time.perf_counter() - t0) * 1000)
    return {"ms": summary(times), "total": total}


def http_revisions(server: Server, token: str, slug: str, repeats: int) -> dict[str, Any]:
    """`GET /api/v1/manage/articles/{slug}/revisions` (first page), one client, keep-alive."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    url = server.url(f"/api/v1/manage/articles/{slug}/revisions")
    times = []
    total = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        response = session.get(url, timeout=60)
        times.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
        total = response.json()["meta"]["total"]
    return {"ms": summary(times), "first_ms": times[0], "total": total}


def drop_commit_graph(git_dir: str) -> None:
    info = os.path.join(git_dir, "objects", "info")
    for path in [
        os.path.join(info, "commit-graph"),
        *glob.glob(os.path.join(info, "commit-graphs", "*")),
    ]:
        if os.path.isfile(path):
            os.unlink(path)


def write_commit_graph(git_dir: str) -> float:
    t0 = time.perf_counter()
    git("-C", git_dir, "commit-graph", "write", "--reachable", "--changed-paths")
    return time.perf_counter() - t0


def git_log(git_dir: str, path: str, repeats: int) -> dict[str, Any]:
    """`git log --format=%H main -- path`, timed `repeats` times."""
    times = []
    found = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = subprocess.run(
            ["git", "-C", git_dir, "log", "--format=%H", "main", "--", path],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        times.append((time.perf_counter() - t0) * 1000)
        found = len(out.split())
    return {"ms": summary(times), "commits": found}
