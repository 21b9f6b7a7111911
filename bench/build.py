"""Building benchmark repositories fast, without N saves.

- `bulk_load`: N article blobs, the `articles/<xx>/` fan-out trees and one "Bulk load" commit
  are written with the `Repository` helpers and `main` is moved onto it; the store's first
  `tips()` then brings the SQLite index up to date (timed: "index build").
- `publish_all`: one "Publish" commit on `published` whose tree is `main`'s, both refs moved in
  one compare-and-swap, then `tips()` again (timed: the live tables' build).
- `clone`: a non-bare clone (objects shared through alternates) for the git baselines.
- `add_history`: many single-file update commits on `main` through `git fast-import`, shaped
  like the CMS's own (author the editor, committer `Git CMS <cms@localhost>`, trailers).
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from cms.content import canonical, layout
from cms.content.identity import Person
from cms.content.layout import MAIN, PUBLISHED
from cms.git.objects import MODE_FILE, MODE_TREE, Tree
from cms.store import ArticleStore

from .articles import check_canonical, make_article, slug_for

EDITOR = Person("Bench Editor", "bench@example.org")
LOADER = Person("Bench Loader", "loader@example.org")


@dataclass
class Built:
    n: int
    write_s: float = 0.0  # generating articles and writing blobs, trees, the commit
    index_s: float = 0.0  # the first store.catch_up()
    kib_per_article: float = 0.0


def bulk_load(
    store: ArticleStore,
    n: int,
    rng: random.Random,
    make: Callable[[random.Random, int], dict[str, Any]] = make_article,
) -> Built:
    """Write articles 1..n (`make(rng, number)`, canonical already) as one commit on `main`,
    then let the index catch up."""
    check_canonical(rng)
    repo = store.repo
    built = Built(n)
    t0 = time.perf_counter()
    shards: dict[str, Tree] = {}
    total = 0
    for number in range(1, n + 1):
        data = canonical.dumps(make(rng, number))
        total += len(data)
        slug = slug_for(number)
        blob = repo.write("blob", data)
        shards.setdefault(layout.shard(slug), {})[f"{slug}.json"] = (MODE_FILE, bytes.fromhex(blob))
    articles: Tree = {
        name: (MODE_TREE, bytes.fromhex(repo.write_tree(tree))) for name, tree in shards.items()
    }
    old = repo.ref(MAIN)
    root = repo.root_tree(old)
    root[layout.ROOT] = (MODE_TREE, bytes.fromhex(repo.write_tree(articles)))
    new = repo.commit(
        repo.write_tree(root), old, LOADER, LOADER, int(time.time()), f"Bulk load {n} articles\n"
    )
    repo.move((MAIN, old, new))
    built.write_s = time.perf_counter() - t0
    built.kib_per_article = total / max(n, 1) / 1024
    t0 = time.perf_counter()
    store.catch_up()
    built.index_s = time.perf_counter() - t0
    return built


def publish_all(store: ArticleStore) -> float:
    """Publish every draft in one commit on `published`; return the index catch-up seconds."""
    repo = store.repo
    tips = repo.tips()
    main, published = tips.main, tips.published
    tree = repo.read(main or "").split(b"\n", 1)[0][5:].decode()
    message = "Publish every article (benchmark bulk load)\n\nAction: publish\n"
    new = repo.commit(tree, published, store.committer, store.committer, int(time.time()), message)
    repo.move((MAIN, main, main or ""), (PUBLISHED, published, new))
    t0 = time.perf_counter()
    store.catch_up()
    return time.perf_counter() - t0


def git(*args: str, cwd: str | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def clone(git_dir: str, target: str) -> float:
    """A checked-out clone of `main` for the baselines; return the seconds it took.

    fsync is off (the store's default is not durable either) and auto-gc is off, so neither
    side of the comparison pays for something the other skips.
    """
    t0 = time.perf_counter()
    git("clone", "--quiet", "--shared", "--branch", MAIN, git_dir, target)
    for key, value in (
        ("user.name", EDITOR.name),
        ("user.email", EDITOR.email),
        ("core.fsync", "none"),
        ("gc.auto", "0"),
    ):
        git("config", key, value, cwd=target)
    return time.perf_counter() - t0


def _history_stream(
    start: str, commits: int, n: int, focus: int, focus_commits: int, rng: random.Random
) -> Iterator[bytes]:
    """fast-import commands: `commits` updates, `focus_commits` of them to article `focus`."""
    templates = [make_article(rng, number) for number in range(64)]
    step = max(commits // max(focus_commits, 1), 1)
    base = int(time.time())
    committer = b"committer Git CMS <cms@localhost> %d +0000\n"
    author = f"author {EDITOR.name} <{EDITOR.email}> %d +0000\n".encode()
    for k in range(commits):
        number = focus if k % step == 0 and k // step < focus_commits else rng.randint(1, n)
        slug = slug_for(number)
        template = templates[k % len(templates)]
        doc = {
            **template,
            "slug": slug,
            "title": f"{template['title'].rsplit(',', 1)[0]}, No. {number} (v{k})",
        }
        data = canonical.dumps(doc)
        message = (
            f"Update {slug}: title, summary, body\n\nArticle: {slug}\nAction: update\n"
        ).encode()
        when = base + k // 100
        parts = [
            b"commit refs/heads/main\n",
            author % when,
            committer % when,
            b"data %d\n" % len(message),
            message,
        ]
        if k == 0:
            parts.append(f"from {start}\n".encode())
        parts += [
            f"M 100644 inline {layout.article_path(slug)}\n".encode(),
            b"data %d\n" % len(data),
            data,
            b"\n",
        ]
        yield b"".join(parts)
    yield b"done\n"


def add_history(
    store: ArticleStore, commits: int, focus: int, focus_commits: int, rng: random.Random
) -> float:
    """Add `commits` update commits on `main` with git fast-import; return the seconds."""
    repo = store.repo
    n = store.count()
    start = repo.ref(MAIN)
    assert start is not None
    t0 = time.perf_counter()
    process = subprocess.Popen(
        ["git", "--git-dir", repo.git_dir, "fast-import", "--quiet", "--done"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None
    chunk: list[bytes] = []
    for command in _history_stream(start, commits, n, focus, focus_commits, rng):
        chunk.append(command)
        if len(chunk) >= 500:
            process.stdin.write(b"".join(chunk))
            chunk = []
    process.stdin.write(b"".join(chunk))
    process.stdin.close()
    assert process.stderr is not None
    errors = process.stderr.read().decode()
    if process.wait() != 0:
        raise RuntimeError(f"git fast-import failed: {errors}")
    return time.perf_counter() - t0


def commit_count(git_dir: str, ref: str = MAIN) -> int:
    return int(git("-C", git_dir, "rev-list", "--count", ref))


def disk_usage_mb(path: str) -> float:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total / 1e6
