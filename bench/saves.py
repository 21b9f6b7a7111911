"""Save cost against repository size: the store beside two git baselines, in the same rounds.

For each size N a repository of N articles is bulk-loaded (`build.bulk_load`) and cloned with a
working tree (`build.clone`). Three ways of saving one article are then timed, all in this
process and on the same generated articles:

- `store`: `ArticleStore.create`, and `ArticleStore.replace` with the current ETag as If-Match
  (the `get` before it is not timed);
- `git`: write the file into the clone's working tree, `git add`, `git commit` (subprocesses);
- `gitpython`: write the file, `repo.index.add` + `repo.index.commit`.

The two baselines share one clone. A shared machine's speed drifts by tens of percent over
seconds, so all sizes are built first and timed in interleaved rounds (a batch of store creates
and updates per size, the order reversed every round, then one baseline create and update per
size), so a slow spell lands on every size and method alike. Garbage is collected before each
round's store batches, so the baselines' garbage is not counted against the store.
"""

from __future__ import annotations

import gc
import os
import random
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import git as gitpython

from cms.content import canonical, layout
from cms.content.layout import MAIN
from cms.store import ArticleStore

from .articles import changed, make_article, slug_for
from .build import EDITOR, Built, bulk_load, clone, commit_count
from .settings import Settings
from .stats import median

METHODS = ("store", "git", "gitpython")
OPERATIONS = ("create", "update")
COMMITTER = ("Git CMS", "cms@localhost")


@dataclass
class SizeResult:
    n: int
    built: Built
    clone_s: float
    times_ms: dict[str, dict[str, list[float]]]
    git_dir: str
    checks: dict[str, Any] = field(default_factory=dict)

    def median_ms(self, method: str, operation: str | None = None) -> float:
        ops = OPERATIONS if operation is None else (operation,)
        return median([t for op in ops for t in self.times_ms[method][op]])

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "build_s": self.built.write_s,
            "index_build_s": self.built.index_s,
            "kib_per_article": self.built.kib_per_article,
            "clone_s": self.clone_s,
            "median_ms": {
                m: {"all": self.median_ms(m), **{op: self.median_ms(m, op) for op in OPERATIONS}}
                for m in METHODS
            },
            "samples": {
                m: {op: len(v) for op, v in ops.items()} for m, ops in self.times_ms.items()
            },
            "times_ms": self.times_ms,
            "checks": self.checks,
        }


class SizeBench:
    """One size: a store repository of N articles and a working-tree clone of it."""

    def __init__(self, n: int, seed: int, workdir: str, settings: Settings) -> None:
        self.n = n
        self.settings = settings
        self.rng = random.Random(seed * 1_000_003 + n)
        self.folder = Path(workdir) / f"saves-{n}"
        self.store = ArticleStore.init(str(self.folder / "content.git"))
        self.work = str(self.folder / "clone")
        self.times: dict[str, dict[str, list[float]]] = {
            m: {op: [] for op in OPERATIONS} for m in METHODS
        }
        self.spent = {m: 0.0 for m in METHODS}
        self.counts = {m: {op: 0 for op in OPERATIONS} for m in METHODS}
        pool = list(range(1, n + 1))
        self.rng.shuffle(pool)
        self.to_update = iter(pool * 10)  # distinct articles until the pool runs out
        self.next_new = {m: n + 1 + i * 1_000_000 for i, m in enumerate(METHODS)}
        self.built = Built(n)
        self.clone_s = 0.0
        self.gp: gitpython.Repo | None = None

    # -- setting up ---------------------------------------------------------------------

    def load(self) -> None:
        print(f"  N={self.n}: bulk-loading ...", flush=True)
        self.built = bulk_load(self.store, self.n, self.rng)
        self.clone_s = clone(self.store.repo.git_dir, self.work)
        self.gp = gitpython.Repo(self.work)
        print(
            f"  N={self.n}: articles written in {self.built.write_s:.1f}s, index build "
            f"{self.built.index_s:.1f}s, clone with working tree {self.clone_s:.1f}s",
            flush=True,
        )

    def warm_up(self) -> None:
        warm = self.settings.warmup_saves
        self.store_saves(warm, warm)
        self.git_save("create")
        self.git_save("update")
        self.gitpython_save("create")
        self.gitpython_save("update")
        self.times = {m: {op: [] for op in OPERATIONS} for m in METHODS}
        self.spent = {m: 0.0 for m in METHODS}

    # -- the store ----------------------------------------------------------------------

    def _new(self, method: str) -> dict[str, Any]:
        number = self.next_new[method]
        self.next_new[method] += 1
        self.counts[method]["create"] += 1
        return make_article(self.rng, number, slug_for(number))

    def _record(self, method: str, operation: str, seconds: float) -> None:
        self.times[method][operation].append(seconds * 1000)
        self.spent[method] += seconds

    def store_saves(self, creates: int, updates: int) -> None:
        docs = [self._new("store") for _ in range(creates)]
        for doc in docs:
            t0 = time.perf_counter()
            self.store.create(doc, EDITOR)
            self._record("store", "create", time.perf_counter() - t0)
        for _ in range(updates):
            slug = slug_for(next(self.to_update))
            current = self.store.get(slug)
            doc = changed(self.rng, current.fields)
            self.counts["store"]["update"] += 1
            t0 = time.perf_counter()
            self.store.replace(slug, doc, EDITOR, {current.etag})
            self._record("store", "update", time.perf_counter() - t0)

    # -- the baselines --------------------------------------------------------------------

    def _baseline_change(self, method: str, operation: str) -> tuple[str, bytes, str]:
        """(path relative to the clone, new file bytes, commit message)."""
        if operation == "create":
            doc = self._new(method)
        else:
            slug = slug_for(next(self.to_update))
            path = Path(self.work) / layout.article_path(slug)
            doc = changed(self.rng, canonical.parse_body(path.read_bytes()))
            self.counts[method]["update"] += 1
        slug = doc["slug"]
        verb = "Create" if operation == "create" else "Update"
        detail = "" if operation == "create" else ": summary, body"
        message = f"{verb} {slug}{detail}\n\nArticle: {slug}\nAction: {operation}\n"
        return layout.article_path(slug), canonical.dumps(doc), message

    def _write(self, rel: str, data: bytes) -> None:
        path = os.path.join(self.work, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def git_save(self, operation: str) -> None:
        rel, data, message = self._baseline_change("git", operation)
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": EDITOR.name,
            "GIT_AUTHOR_EMAIL": EDITOR.email,
            "GIT_COMMITTER_NAME": COMMITTER[0],
            "GIT_COMMITTER_EMAIL": COMMITTER[1],
        }
        t0 = time.perf_counter()
        self._write(rel, data)
        subprocess.run(["git", "add", "--", rel], cwd=self.work, env=env, check=True)
        subprocess.run(
            ["git", "commit", "--quiet", "--no-verify", "-m", message],
            cwd=self.work,
            env=env,
            check=True,
        )
        self._record("git", operation, time.perf_counter() - t0)

    def gitpython_save(self, operation: str) -> None:
        assert self.gp is not None
        rel, data, message = self._baseline_change("gitpython", operation)
        author = gitpython.Actor(EDITOR.name, EDITOR.email)
        committer = gitpython.Actor(*COMMITTER)
        t0 = time.perf_counter()
        self._write(rel, data)
        index = self.gp.index
        index.add([rel])
        index.commit(message, author=author, committer=committer)
        self._record("gitpython", operation, time.perf_counter() - t0)

    def baseline_round(self) -> None:
        """One create and one update per baseline, while samples and time budget last."""
        for method, save in (("git", self.git_save), ("gitpython", self.gitpython_save)):
            done = len(self.times[method]["create"])
            over_budget = self.spent[method] > self.settings.baseline_budget_s and done >= 2
            if done < self.settings.baseline_saves and not over_budget:
                save("create")
                save("update")

    # -- checking -------------------------------------------------------------------------

    def finish(self) -> SizeResult:
        """Check that every save landed, then summarise."""
        made = {m: sum(c.values()) for m, c in self.counts.items()}
        articles = self.store.count()
        assert articles == self.n + self.counts["store"]["create"], articles
        commits = commit_count(self.store.repo.git_dir, MAIN)
        assert commits == 2 + made["store"], (commits, made)
        clone_commits = commit_count(self.work, "HEAD")
        assert clone_commits == 2 + made["git"] + made["gitpython"], clone_commits
        checks = {
            "store_articles": articles,
            "store_commits_on_main": commits,
            "clone_commits": clone_commits,
            "saves": made,
        }
        return SizeResult(
            self.n, self.built, self.clone_s, self.times, self.store.repo.git_dir, checks
        )


def run(settings: Settings, seed: int, workdir: str) -> list[SizeResult]:
    """Build every size, then time them in interleaved rounds; return one result per size."""
    benches = []
    for n in settings.sizes:
        bench = SizeBench(n, seed, workdir, settings)
        bench.load()
        benches.append(bench)
    os.sync()  # so the builds' writeback does not land on the timed saves
    for bench in benches:
        bench.warm_up()
    gc.collect()
    rounds = -(-settings.timed_saves // settings.batch)
    for round_ in range(rounds):
        batch = min(settings.batch, settings.timed_saves - round_ * settings.batch)
        order = benches if round_ % 2 == 0 else benches[::-1]
        gc.collect()  # the baselines' garbage (GitPython reads whole indexes) is not the store's
        for bench in order:
            bench.store_saves(batch, batch)
        for bench in order:
            bench.baseline_round()
        print(
            f"  round {round_ + 1}/{rounds}: "
            + ", ".join(f"N={b.n} store {b.times['store']['update'][-1]:.1f}ms" for b in benches),
            flush=True,
        )
    # baselines still short of samples (fewer rounds than samples) finish here, interleaved
    while any(
        len(b.times["git"]["create"]) < settings.baseline_saves
        and b.spent["git"] < settings.baseline_budget_s
        for b in benches
    ):
        before = sum(len(b.times["git"]["create"]) for b in benches)
        for bench in benches:
            bench.baseline_round()
        if sum(len(b.times["git"]["create"]) for b in benches) == before:
            break
    results = [bench.finish() for bench in benches]
    for bench in benches:
        if bench.gp is not None:
            bench.gp.close()
    return results
