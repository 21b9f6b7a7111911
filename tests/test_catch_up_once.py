"""The index's catch-up with plain-git commits does each piece of work once: a file version
(blob) is checked by the rules once at its path, whichever line or commit brings it again, and
an article's full-text row is the one its last version makes, the same as a rebuilt index's.

The commits are written by `git fast-import` straight into the repository, as a person with
shell access would (no gate runs), and counted through the index's own counter of files it
checked (`CatchUp.checked`), in a real catch-up."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from conftest import GIT_ENV

from cms.content import canonical, layout
from cms.content.document import validate_article
from cms.store import ArticleStore


def doc(slug: str, title: str, body: str = "The harbour wall needs repair.") -> bytes:
    return canonical.dumps(
        validate_article(
            {"slug": slug, "title": title, "body": [{"type": "paragraph", "text": body}]}
        )
    )


def fast_import(repo: Path, line: str, commits: list[dict[str, bytes]]) -> None:
    """One commit per mapping of path -> bytes, on `line` after its tip, by `git fast-import`."""
    tip = subprocess.run(
        ["git", "--git-dir", str(repo), "rev-parse", "--verify", "-q", line],
        capture_output=True,
        text=True,
    ).stdout.strip()
    parts: list[bytes] = []
    for n, files in enumerate(commits):
        message = f"Hand edit {n}\n".encode()
        parts += [
            f"commit refs/heads/{line}\n".encode(),
            b"author Pat Plain <pat@example.org> 1700000000 +0000\n",
            b"committer Pat Plain <pat@example.org> 1700000000 +0000\n",
            b"data %d\n" % len(message),
            message,
        ]
        if n == 0 and tip:
            parts.append(f"from {tip}\n".encode())
        for path, data in files.items():
            parts += [f"M 100644 inline {path}\n".encode(), b"data %d\n" % len(data), data, b"\n"]
    subprocess.run(
        ["git", "--git-dir", str(repo), "fast-import", "--quiet"],
        input=b"".join(parts),
        check=True,
        env={**os.environ, **GIT_ENV},
    )


def text_rows(store: ArticleStore, table: str) -> dict[str, tuple[Any, ...]]:
    source = "articles" if table == "fulltext" else "live"
    rows = store.index.tables.db.execute(
        f"SELECT s.slug, t.title, t.summary, t.body, t.words FROM {table} t "
        f"JOIN {source} s ON s.id = t.rowid"
    ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def test_a_file_version_is_checked_once_whatever_brings_it_again(repo: Path) -> None:
    store = ArticleStore(str(repo))
    store.catch_up()
    writer = store.index.writer
    path = layout.article_path("harbour-wall")
    first, second = doc("harbour-wall", "Harbour wall"), doc("harbour-wall", "Harbour gate")
    # the same bytes come back in the third commit (a revert)
    fast_import(repo, "main", [{path: first}, {path: second}, {path: first}])
    before = writer.checked
    store.catch_up()
    assert writer.checked - before == 2
    revisions = store.revisions("harbour-wall", per_page=10)[0]
    assert len(revisions) == 3
    assert store.get("harbour-wall").fields["title"] == "Harbour wall"

    # the published line brings the same file again: its verdict is the one kept
    fast_import(repo, "published", [{path: first}])
    before = writer.checked
    store.catch_up()
    assert writer.checked == before
    assert "harbour-wall" in store.index.live.blobs()
    # and a new index checks each file again, once (the verdicts live in the index)
    os.remove(repo / "cms" / "index.sqlite")
    again = ArticleStore(str(repo))
    again.catch_up()
    assert again.index.writer.checked == 2


def test_a_kept_verdict_is_for_its_path_only(repo: Path) -> None:
    """The same bytes at another article's path are checked again: there their `slug` is wrong,
    so the verdict differs (a cached result is never applied where it does not hold)."""
    store = ArticleStore(str(repo))
    data = doc("river-bridge", "River bridge")
    fast_import(repo, "main", [{layout.article_path("river-bridge"): data}])
    store.catch_up()
    assert store.get("river-bridge").meta.get("problems") in (None, {})
    before = store.index.writer.checked
    fast_import(repo, "main", [{layout.article_path("river-ferry"): data}])
    store.catch_up()
    assert store.index.writer.checked - before == 1
    problems = store.get("river-ferry").meta["problems"]
    assert "slug" in problems
    # the first article's verdict is untouched by the second
    assert store.get("river-bridge").meta.get("problems") in (None, {})


def test_full_text_rows_follow_the_last_version_of_a_push(repo: Path) -> None:
    store = ArticleStore(str(repo))
    path = layout.article_path("storm-report")
    versions = [
        {path: doc("storm-report", f"Storm report {word}", f"Coastal {word} warnings.")}
        for word in ("lighthouse", "ferries", "tramlines")
    ]
    fast_import(repo, "main", versions)
    store.catch_up()
    found = store.list(q="tramlines", per_page=10)[0]
    assert [a.slug for a in found] == ["storm-report"]
    assert store.list(q="lighthouse", per_page=10)[0] == []
    fast_import(repo, "published", [versions[-1]])
    store.catch_up()
    kept = {t: text_rows(store, t) for t in ("fulltext", "live_text")}
    assert kept["fulltext"]["storm-report"] == kept["live_text"]["storm-report"]
    # an index rebuilt from git holds the same rows
    os.remove(repo / "cms" / "index.sqlite")
    rebuilt = ArticleStore(str(repo))
    rebuilt.catch_up()
    assert {t: text_rows(rebuilt, t) for t in ("fulltext", "live_text")} == kept


def test_a_file_read_again_keeps_its_verdict_at_its_path_only(repo: Path) -> None:
    """`Reading.file_at` validates a canonical file once; the same bytes at another article's
    path are judged there (their slug is wrong), and a changed file is judged afresh."""
    store = ArticleStore(str(repo))
    data = doc("quay-lights", "Quay lights")
    fast_import(repo, "main", [{layout.article_path("quay-lights"): data}])
    tip = store.repo.ref("main")
    first = store.reading.file_at(tip, "quay-lights")
    again = store.reading.file_at(tip, "quay-lights")
    assert first is not None and again is not None
    assert first[2] == again[2] == {}
    assert again[1] == first[1] == validate_article(json.loads(data))
    fast_import(
        repo,
        "main",
        [
            {
                layout.article_path("quay-lamps"): data,
                layout.article_path("quay-lights"): data.replace(b'"Quay lights"', b"17"),
            }
        ],
    )
    tip = store.repo.ref("main")
    elsewhere = store.reading.file_at(tip, "quay-lamps")
    assert elsewhere is not None and "slug" in elsewhere[2]
    changed = store.reading.file_at(tip, "quay-lights")
    assert changed is not None and "title" in changed[2]
