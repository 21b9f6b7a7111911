"""The whole run, phase by phase; every measurement lands in `Measured` for `rows` to judge.

1. saves: repositories of each size, store saves beside the git baselines (`saves`);
2. the largest repository is published in bulk (`build.publish_all`) and gets a token;
3. reads: `cms serve` and the bare app side by side, wrk, list latency, worker memory, then
   more start-up rounds (`reads`, `servers`);
4. saves over HTTP against `cms serve` (`http_saves`);
5. webhooks: saves over HTTP with three slow webhooks beside none, and delivery latency with
   a dripping receiver beside none (`webhooks`);
6. history: update commits added by fast-import, index catch-up, revisions beside `git log`;
7. search over the published repository and over long articles (`long_search`), then
   `cms import` of an archive (`migration`);
8. gate pushes: big pushes through the git gate beside plain git (`gate`);
9. replicas, read scale and media (`replication`, `readscale`, `media`);
10. caches in front: Varnish purged by the CMS under reads and publications (`edge`).
11. the workbench in headless Chromium: first screen, search, opening an entry and the JS
    heap, on the published repository beside one of 1,000 articles (`workbench`).
12. translations: reads with translation groups beside none (`translations`).
13. bulk: create-and-publish in one call beside a create alone, and packing: disk per article
    beside `git gc --aggressive`, saves/s while repacking beside not (`bulk`).
14. durability: HTTP saves durable (group commit) beside CMS_DURABLE=false, and the sync
    calls per save under strace (`durable`).

`python -m bench --phases ...` runs steps 1 and 2 and then only the phases named.
"""

from __future__ import annotations

import math
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cms.auth.tokens import TokenStore
from cms.content import layout
from cms.delivery import cards as public
from cms.store import ArticleStore

from . import (
    build,
    bulk,
    durable,
    edge,
    gate,
    history,
    http_saves,
    long_search,
    media,
    merges,
    migration,
    reads,
    readscale,
    replication,
    saves,
    translations,
    webhooks,
    workbench,
)
from .articles import slug_for
from .servers import Server, start_bare, start_cms
from .settings import Settings

# phase id -> its title in the log, in the order they run
PHASES = {
    "saves": "saves",
    "publish": "publish",
    "reads": "reads",
    "startup": "start-up",
    "http": "http saves",
    "webhooks": "webhooks",
    "history": "history",
    "search": "search",
    "migration": "migration",
    "gate": "gate pushes",
    "replicas": "replicas",
    "readscale": "read scale",
    "media": "media",
    "merges": "merged saves",
    "edge": "caches in front",
    "workbench": "workbench",
    "translations": "translations",
    "bulk": "bulk writes and packing",
    "durable": "durability",
}
NEEDS = {"startup": ("reads",), "readscale": ("reads",)}  # the bare app's data file


@dataclass
class Measured:
    settings: Settings
    sizes: list[saves.SizeResult] = field(default_factory=list)
    publish_index_s: float = 0.0
    published: int = 0
    wrk: list[reads.WrkRun] = field(default_factory=list)
    lists: dict[str, reads.Latencies] = field(default_factory=dict)
    list_requests: int = 0
    memory_mb: dict[str, list[float]] = field(default_factory=dict)
    startup_s: dict[str, list[float]] = field(default_factory=lambda: {"cms": [], "bare": []})
    http: http_saves.HttpSaves | None = None
    history: dict[str, Any] = field(default_factory=dict)
    migration: dict[str, Any] = field(default_factory=dict)
    webhooks: dict[str, Any] = field(default_factory=dict)
    gate: dict[str, Any] = field(default_factory=dict)
    readscale: dict[str, Any] = field(default_factory=dict)
    phases_s: dict[str, float] = field(default_factory=dict)
    replication: replication.Replication | None = None
    media: dict[str, Any] = field(default_factory=dict)
    merges: dict[str, Any] = field(default_factory=dict)
    edge: dict[str, Any] = field(default_factory=dict)
    workbench: dict[str, Any] = field(default_factory=dict)
    translations: dict[str, Any] = field(default_factory=dict)
    bulk: dict[str, Any] = field(default_factory=dict)
    durable: dict[str, Any] = field(default_factory=dict)

    def details(self) -> dict[str, Any]:
        return {
            "settings": asdict(self.settings),
            "phases_s": self.phases_s,
            "saves": [s.to_json() for s in self.sizes],
            "publish_index_build_s": self.publish_index_s,
            "published": self.published,
            "wrk": reads.wrk_json(self.wrk),
            "list_latency": {k: v.to_json() for k, v in self.lists.items()},
            "worker_rss_mb": self.memory_mb,
            "startup_s": self.startup_s,
            "http_saves": asdict(self.http) if self.http else None,
            "history": self.history,
            "migration": self.migration,
            "webhooks": self.webhooks,
            "gate": self.gate,
            "replication": self.replication.to_json() if self.replication else None,
            "readscale": self.readscale,
            "media": self.media,
            "merges": self.merges,
            "edge": self.edge,
            "workbench": self.workbench,
            "translations": self.translations,
            "bulk": self.bulk,
            "durable": self.durable,
        }


class Suite:
    def __init__(self, settings: Settings, seed: int, workdir: str) -> None:
        self.settings = settings
        self.seed = seed
        self.workdir = workdir
        self.rng = random.Random(seed)
        self.measured = Measured(settings)
        self.servers: list[Server] = []
        self.store: ArticleStore | None = None
        self.token = ""
        self.started = time.perf_counter()

    def phase(self, name: str) -> None:
        print(f"\n== {name} (at {time.perf_counter() - self.started:.0f}s) ==", flush=True)

    def run(self, only: set[str] | None = None) -> Measured:
        """Every phase in order, or (`only`: phase ids) those and what they need; the
        repository they measure is always built and published."""
        wanted = (
            None
            if only is None
            else {"saves", "publish", *only, *(n for p in only for n in NEEDS.get(p, ()))}
        )
        steps = {
            "saves": self.saves,
            "publish": self.publish,
            "reads": self.reads,
            "startup": self.startup,
            "http": self.http_saves,
            "webhooks": self.webhooks,
            "history": self.history,
            "search": self.search,
            "migration": self.migration,
            "gate": self.gate_pushes,
            "replicas": self.replicas,
            "readscale": self.readscale,
            "media": self.media_phase,
            "merges": self.merges_phase,
            "edge": self.edge_phase,
            "workbench": self.workbench_phase,
            "translations": self.translations_phase,
            "bulk": self.bulk_phase,
            "durable": self.durable_phase,
        }
        try:
            for key, name in PHASES.items():
                if wanted is not None and key not in wanted:
                    continue
                self.phase(name)
                t0 = time.perf_counter()
                steps[key]()
                self.measured.phases_s[name] = time.perf_counter() - t0
        finally:
            for server in self.servers:
                server.stop()
        return self.measured

    def _start_cms(self, ready: str) -> Server:
        assert self.store is not None
        server = start_cms(
            self.store.repo.git_dir, self.workdir, ready, timeout=self.settings.startup_timeout_s
        )
        self.servers.append(server)
        return server

    def _start_bare(self, data: str, ready: str) -> Server:
        server = start_bare(data, self.workdir, ready, timeout=self.settings.startup_timeout_s)
        self.servers.append(server)
        return server

    def _stop(self, server: Server) -> None:
        server.stop()
        self.servers.remove(server)

    # -- phases ---------------------------------------------------------------------------

    def saves(self) -> None:
        self.measured.sizes = saves.run(self.settings, self.seed, self.workdir)
        largest = self.measured.sizes[-1]
        for result in self.measured.sizes:  # keep only the largest repository, without clone
            folder = Path(result.git_dir).parent
            shutil.rmtree(folder / "clone" if result is largest else folder, ignore_errors=True)
        self.store = ArticleStore(largest.git_dir, make_card=public.card)

    def publish(self) -> None:
        assert self.store is not None
        self.measured.publish_index_s = build.publish_all(self.store)
        _, self.token = TokenStore(self.store.repo.git_dir).create(
            "Bench Editor", "bench@example.org", "editor"
        )
        self.measured.published = self.store.count()
        print(
            f"  published {self.measured.published} articles in one commit; index build "
            f"{self.measured.publish_index_s:.1f}s",
            flush=True,
        )

    def reads(self) -> None:
        assert self.store is not None
        settings, measured = self.settings, self.measured
        n = settings.largest
        path = f"/api/v1/articles/{slug_for(1)}"
        cms = self._start_cms(path)
        measured.startup_s["cms"].append(cms.startup_s)
        chosen = self.rng.sample(range(1, n + 1), min(settings.rotate_slugs, n))
        slugs = [slug_for(i) for i in sorted({1, *chosen})]
        lists = self._list_paths()
        data = str(Path(self.workdir) / "bare-data.json")
        reads.fetch_bare_data(cms, slugs, lists[0], data)
        bare = self._start_bare(data, path)
        measured.startup_s["bare"].append(bare.startup_s)
        print(f"  start-up: cms {cms.startup_s:.2f}s, bare {bare.startup_s:.2f}s", flush=True)
        script = reads.rotation_script(self.workdir, [f"/api/v1/articles/{s}" for s in slugs])
        measured.wrk = reads.throughput(
            cms,
            bare,
            path,
            script,
            settings.wrk_seconds,
            settings.wrk_rounds,
            settings.wrk_connections,
        )
        measured.list_requests = len(lists) - 1
        self._list_latency(cms, bare, lists[1:])
        measured.memory_mb = {"cms": cms.worker_rss_mb(), "bare": bare.worker_rss_mb()}
        print(
            f"  worker RSS MB: cms {measured.memory_mb['cms']}, bare {measured.memory_mb['bare']}",
            flush=True,
        )
        self._stop(cms)
        self._stop(bare)

    def _list_paths(self) -> list[str]:
        """Distinct `?tag=&page=` paths over every tag and page, shuffled; the first is the
        bare app's list page."""
        assert self.store is not None
        counts = self.store.index.tables.db.execute(
            "SELECT tag, COUNT(*) FROM live_tags GROUP BY tag"
        ).fetchall()
        combos = [
            f"/api/v1/articles?tag={tag}&page={page}"
            for tag, count in counts
            for page in range(1, math.ceil(count / 20) + 1)
        ]
        self.rng.shuffle(combos)
        return combos[: self.settings.list_requests + 1]

    def _list_latency(self, cms: Server, bare: Server, paths: list[str]) -> None:
        """Both servers, in two alternating halves, on the same paths (none repeated on cms)."""
        bound = 30 + self.settings.list_requests * 0.05
        half = len(paths) // 2
        parts: dict[str, list[reads.Latencies]] = {"cms": [], "bare": []}
        for server_order, chunk in (((cms, bare), paths[:half]), ((bare, cms), paths[half:])):
            for server in server_order:
                parts[server.name].append(
                    reads.list_latency(server, chunk, self.settings.list_clients, bound)
                )
        for name, halves in parts.items():
            merged = reads.Latencies.merge(halves)
            self.measured.lists[name] = merged
            print(
                f"  list latency {name}: p50 {merged.ms['median']:.1f} ms, p95 "
                f"{merged.ms['p95']:.1f}, p99 {merged.ms['p99']:.1f} ({merged.requests} "
                f"requests, {merged.errors} errors)",
                flush=True,
            )

    def startup(self) -> None:
        data = str(Path(self.workdir) / "bare-data.json")
        path = f"/api/v1/articles/{slug_for(1)}"
        for round_ in range(self.settings.startup_rounds - 1):
            order = ("bare", "cms") if round_ % 2 == 0 else ("cms", "bare")
            for name in order:
                server = self._start_cms(path) if name == "cms" else self._start_bare(data, path)
                self.measured.startup_s[name].append(server.startup_s)
                self._stop(server)
        print(f"  start-up seconds: {self.measured.startup_s}", flush=True)

    def http_saves(self) -> None:
        assert self.store is not None
        settings = self.settings
        cms = self._start_cms("/healthz")
        result, revisions = http_saves.run(
            cms,
            self.token,
            settings.http_clients,
            settings.http_seconds,
            settings.http_max_saves,
            self.seed,
        )
        self._stop(cms)
        http_saves.verify(result, self.store.repo.git_dir, revisions)
        self.measured.http = result
        print(
            f"  {result.acknowledged} saves acknowledged in {result.elapsed_s:.1f}s = "
            f"{result.per_second:.0f}/s; failures {result.failures}; "
            f"{result.checked - len(result.missing)}/{result.checked} in git rev-list main",
            flush=True,
        )

    def webhooks(self) -> None:
        assert self.store is not None
        git_dir = self.store.repo.git_dir
        self.measured.webhooks = webhooks.run(
            self.settings, git_dir, self.workdir, self.token, self.seed
        )
        self.measured.webhooks["drip"] = webhooks.drip_run(
            self.settings, git_dir, self.workdir, self.token, self.seed
        )

    def merges_phase(self) -> None:
        self.measured.merges = merges.run(self.workdir)
        m = self.measured.merges
        print(
            f"  plain {m['plain_ms']:.1f} ms, merged {m['merged_ms']:.1f} ms; "
            f"{m['writers']} writers: {m['lost']} lost, {m['saves_per_s']:.0f} saves/s; "
            f"over HTTP with Prefer: merge: {m['http']['lost']} lost, "
            f"{m['http']['refused']} refused, {m['http']['saves_per_s']:.0f} saves/s",
            flush=True,
        )

    def edge_phase(self) -> None:
        assert self.store is not None
        self.measured.edge = edge.run(
            self.settings.quick, self.store, self.workdir, self.token, self.seed
        )

    def workbench_phase(self) -> None:
        assert self.store is not None
        self.measured.workbench = workbench.run(
            self.store, self.workdir, self.settings.quick, self.seed
        )

    def translations_phase(self) -> None:
        self.measured.translations = translations.run(self.settings, self.workdir, self.seed)

    def bulk_phase(self) -> None:
        assert self.store is not None
        quick, timeout = self.settings.quick, self.settings.startup_timeout_s
        self.measured.bulk["publish"] = bulk.create_and_publish(
            self.store,
            self.workdir,
            self.token,
            clients=self.settings.http_clients,
            seconds=3.0 if quick else 10.0,
            rounds=2 if quick else 3,
            seed=self.seed,
            timeout=timeout,
        )
        self.measured.bulk["packing"] = bulk.packing(
            self.workdir,
            saves=600 if quick else 5000,
            clients=self.settings.http_clients,
            seconds=3.0 if quick else 10.0,
            rounds=2 if quick else 3,
            seed=self.seed,
            timeout=timeout,
        )

    def durable_phase(self) -> None:
        self.measured.durable = durable.run(self.settings, self.workdir, self.seed)

    def media_phase(self) -> None:
        self.measured.media = media.run(self.workdir, self.settings.quick)

    def history(self) -> None:
        assert self.store is not None
        settings, store = self.settings, self.store
        git_dir = store.repo.git_dir
        slug = slug_for(1)
        out: dict[str, Any] = {"slug": slug}
        out["fast_import_s"] = build.add_history(
            store, settings.history_commits, 1, settings.focus_commits, self.rng
        )
        out["commits_on_main"] = build.commit_count(git_dir)
        print(
            f"  {settings.history_commits} commits added by fast-import in "
            f"{out['fast_import_s']:.1f}s; main has {out['commits_on_main']} commits",
            flush=True,
        )
        t0 = time.perf_counter()
        store.catch_up()
        out["index_catch_up_s"] = time.perf_counter() - t0
        out["articles"] = store.count()
        print(f"  index catch-up {out['index_catch_up_s']:.1f}s", flush=True)
        out["store"] = history.store_revisions(store, slug, settings.revision_repeats)
        cms = self._start_cms("/healthz")
        out["http"] = history.http_revisions(cms, self.token, slug, settings.revision_repeats)
        self._stop(cms)
        path = layout.article_path(slug)
        history.drop_commit_graph(git_dir)
        out["git_log"] = history.git_log(git_dir, path, 2)
        out["commit_graph_write_s"] = history.write_commit_graph(git_dir)
        out["git_log_commit_graph"] = history.git_log(git_dir, path, 3)
        self.measured.history = out
        print(
            f"  revisions: http median {out['http']['ms']['median']:.1f} ms, store "
            f"{out['store']['ms']['median']:.1f} ms, git log "
            f"{out['git_log']['ms']['median']:.0f} ms, with commit-graph "
            f"{out['git_log_commit_graph']['ms']['median']:.0f} ms",
            flush=True,
        )

    def search(self) -> None:
        assert self.store is not None
        self.measured.migration["search"] = migration.search_run(
            self.store, 100 if self.settings.quick else 600, self.seed
        )
        self.measured.migration["search_long"] = long_search.run(
            self.workdir, 50 if self.settings.quick else 200, self.seed
        )

    def migration(self) -> None:
        self.measured.migration["import"] = migration.import_run(
            500 if self.settings.quick else 100_000, self.workdir, self.seed
        )

    def gate_pushes(self) -> None:
        self.measured.gate = gate.run(self.workdir, self.settings.quick)

    def replicas(self) -> None:
        self.measured.replication = replication.run(self.settings, self.workdir, self.seed)

    def readscale(self) -> None:
        assert self.store is not None
        self.measured.readscale = readscale.run(
            self.settings.quick, self.store, self.workdir, self.seed
        )
