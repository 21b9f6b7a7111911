"""Merged saves (`merge=True`, what `Prefer: merge` asks for), in-process on the store.

- cost: a plain save (fresh ETag, one field) beside a merged save (an ETag one revision
  stale, another editor having changed a different field), same run, same article; the
  median of each, and their ratio (target: at most 1.5x);
- 8 writers: 8 threads each change a different field of one article with the same stale
  ETag, `rounds` times; every change must be in the final draft (0 lost); saves/s shown;
- the same 8 writers over HTTP against `cms serve` (2 workers): each a `PATCH` with the one
  stale `If-Match` and `Prefer: merge`; every answer must be a 200 (none refused) and every
  change in the final draft (0 lost); saves/s shown.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from typing import Any

import requests

from cms.auth.tokens import TokenStore
from cms.content.identity import Person
from cms.store import ArticleStore

from .report import Row
from .servers import start_cms
from .stats import median

EVE = Person("Eve Editor", "eve@example.org")
ADA = Person("Ada Admin", "ada@example.org")
FIELDS = ("title", "summary", "section", "tags", "authors", "language", "source", "image")


def _doc() -> dict[str, Any]:
    return {
        "title": "Merge bench",
        "body": [
            {"type": "paragraph", "text": f"Paragraph {i} of the merge bench."} for i in range(20)
        ],
    }


def _change(name: str, n: int) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": f"Title {n}",
        "summary": f"Summary {n}",
        "section": f"section-{n}",
        "tags": [f"tag-{n}"],
        "authors": [{"name": f"Author {n}"}],
        "language": "fr" if n % 2 else "de",
        "source": {"name": f"Source {n}"},
        "image": {"src": f"https://example.org/{n}.jpg", "alt": f"Picture {n}"},
    }
    return {name: values[name]}


def run(workdir: str, samples: int = 60, rounds: int = 10) -> dict[str, Any]:
    path = tempfile.mkdtemp(prefix="merges-", dir=workdir)
    store = ArticleStore.init(os.path.join(path, "repo"))
    slug = store.create(_doc(), EVE).slug
    plain, merged = [], []
    for n in range(samples):
        etag = store.get(slug).etag
        t0 = time.perf_counter()
        store.patch(slug, {"summary": f"Plain {n}"}, EVE, {etag})
        plain.append((time.perf_counter() - t0) * 1000)
        stale = store.get(slug).etag
        store.patch(slug, {"title": f"Theirs {n}"}, ADA, {stale})
        t0 = time.perf_counter()
        article = store.patch(slug, {"summary": f"Merged {n}"}, EVE, {stale}, merge=True)
        merged.append((time.perf_counter() - t0) * 1000)
        assert article.fields["title"] == f"Theirs {n}"
    lost, saves, elapsed = 0, 0, 0.0
    for r in range(rounds):
        stale = store.get(slug).etag
        edits = [_change(name, r * 10 + i) for i, name in enumerate(FIELDS)]
        threads = [
            threading.Thread(
                target=store.patch, args=(slug, e, EVE, {stale}), kwargs={"merge": True}
            )
            for e in edits
        ]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed += time.perf_counter() - t0
        final = store.get(slug).fields
        lost += sum(1 for e in edits for k, v in e.items() if final.get(k) != v)
        saves += len(edits)
    return {
        "plain_ms": median(plain),
        "merged_ms": median(merged),
        "samples": samples,
        "writers": len(FIELDS),
        "rounds": rounds,
        "changes": saves,
        "lost": lost,
        "saves_per_s": saves / elapsed if elapsed else 0.0,
        "http": run_http(path, rounds),
    }


def _write(
    where: str,
    secret: str,
    stale: str,
    edit: dict[str, Any],
    start: threading.Barrier,
    answers: list[int],
) -> None:
    """One writer's PATCH of `edit` with the stale ETag and `Prefer: merge`."""
    writer = requests.Session()
    writer.headers["Authorization"] = f"Bearer {secret}"
    start.wait()
    response = writer.patch(
        where,
        data=json.dumps(edit),
        headers={
            "If-Match": stale,
            "Prefer": "merge",
            "Content-Type": "application/merge-patch+json",
        },
        timeout=60,
    )
    answers.append(response.status_code)


def run_http(workdir: str, rounds: int = 10) -> dict[str, Any]:
    """8 writers over HTTP with `Prefer: merge`, each a different field, one stale ETag."""
    repo = os.path.join(workdir, "http-repo")
    ArticleStore.init(repo)
    _, secret = TokenStore(repo).create("Eve Editor", "eve@example.org", "editor")
    server = start_cms(repo, workdir, "/healthz")
    try:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {secret}"
        made = session.post(server.url("/api/v1/manage/articles"), json=_doc(), timeout=60)
        assert made.status_code == 201, made.text
        where = server.url(f"/api/v1/manage/articles/{made.json()['slug']}")
        lost, saves, refused, elapsed = 0, 0, 0, 0.0
        for r in range(rounds):
            stale = session.get(where, timeout=60).headers["ETag"]
            edits = [_change(name, r * 10 + i) for i, name in enumerate(FIELDS)]
            answers: list[int] = []
            start = threading.Barrier(len(edits))
            threads = [
                threading.Thread(target=_write, args=(where, secret, stale, e, start, answers))
                for e in edits
            ]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed += time.perf_counter() - t0
            final = session.get(where, timeout=60).json()
            lost += sum(1 for e in edits for k, v in e.items() if final.get(k) != v)
            refused += sum(1 for code in answers if code != 200)
            saves += len(edits)
    finally:
        server.stop()
    return {
        "writers": len(FIELDS),
        "rounds": rounds,
        "changes": saves,
        "lost": lost,
        "refused": refused,
        "saves_per_s": saves / elapsed if elapsed else 0.0,
    }


def rows(figures: dict[str, Any]) -> list[Row]:
    if not figures:
        return []
    ratio = figures["merged_ms"] / figures["plain_ms"] if figures["plain_ms"] else 0.0
    return [
        Row(
            "merged_save_cost",
            "a merged save beside a plain save (store, same run)",
            "<= 1.5x",
            ratio,
            "x",
            f"{figures['merged_ms']:.1f} ms",
            figures["plain_ms"],
            f"plain: {figures['plain_ms']:.1f} ms",
            ratio,
            f"{ratio:.2f}x",
            ratio <= 1.5,
            figures,
        ),
        Row(
            "merge_writers_lost",
            f"{figures['writers']} writers, one stale ETag, "
            f"{figures['rounds']} rounds (store, threads)",
            "0 lost",
            figures["lost"],
            "changes",
            f"{figures['lost']} of {figures['changes']} lost; {figures['saves_per_s']:.0f} saves/s",
            None,
            "-",
            None,
            "-",
            figures["lost"] == 0,
            figures,
        ),
        *_http_rows(figures.get("http") or {}),
    ]


def _http_rows(figures: dict[str, Any]) -> list[Row]:
    if not figures:
        return []
    return [
        Row(
            "merge_writers_http_lost",
            f"{figures['writers']} writers on one article with Prefer: merge, one stale "
            f"If-Match, {figures['rounds']} rounds (HTTP, cms serve)",
            "0 lost",
            figures["lost"],
            "changes",
            f"{figures['lost']} of {figures['changes']} lost, {figures['refused']} refused; "
            f"{figures['saves_per_s']:.0f} saves/s",
            None,
            "-",
            None,
            "-",
            figures["lost"] == 0 and figures["refused"] == 0,
            figures,
        )
    ]
