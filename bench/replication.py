"""Replication through a git mirror: a primary `cms serve` pushing to bare repositories served
by a real `git daemon`, and a `cms serve --replica-of git://...` fetching from one of them at
the default `CMS_REPLICA_INTERVAL` (1 s). Four figures, each beside a baseline of the same run:

- lag: from a publish acknowledged by the primary to the article listed by the replica
  (a watcher polls the replica's list every 10 ms), p50 and p99, one publish (a create and
  its publish, two commits) every 1.25 s, a newsroom's pace;
  baseline: one plain `git push` plus one `git fetch` of a commit through the same daemon;
- reads: wrk on one article, replica against primary, each round in mirrored order (replica,
  primary, primary, replica; then the other way round), median of the rounds' ratios;
- pushes: what the pusher made to each mirror during 1,000 saves over HTTP (8 clients),
  counted from its own state (`cms mirror list`'s `pushes`); baseline: one push per save;
- saves/s over HTTP (8 clients) with two mirrors against none, alternating rounds on one
  server (the mirrors are removed and added back between rounds), with the CPU time the
  primary (its workers and the git processes they run) and the mirrors' side (the daemon
  and what it runs, on another machine in production) spent per save.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from cms.auth.tokens import TokenStore
from cms.content.identity import Person
from cms.replication.mirrors import Mirrors
from cms.store import ArticleStore

from . import http_saves, reads
from .articles import make_article
from .report import Row
from .servers import Server, free_port, start_cms
from .settings import Settings
from .stats import median, summary

ROWS = (
    "replication_lag_p99_ms",
    "replica_read_ratio",
    "mirror_pushes_per_saves",
    "saves_two_mirrors_per_s",
)
PACE_S = 1.25  # between two publishes in the lag figure
EDITOR = Person("Bench Editor", "bench@example.org")
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.org",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.org",
}


@dataclass
class Plan:
    articles: int  # published before anything is measured
    publishes: int  # for the lag figure
    saves: int  # for the push count
    save_rounds: int  # per configuration (none, two mirrors)
    save_seconds: float
    read_rounds: int
    read_seconds: int

    @classmethod
    def of(cls, settings: Settings) -> Plan:
        if settings.quick:
            return cls(20, 8, 200, 1, 3.0, 1, 2)
        return cls(100, 200, 1000, 3, 8.0, 4, 3)


@dataclass
class Replication:
    plan: Plan
    lag_ms: dict[str, float] = field(default_factory=dict)
    unseen: int = 0
    roundtrip_ms: dict[str, float] = field(default_factory=dict)
    reads: list[dict[str, Any]] = field(default_factory=list)
    saves: int = 0
    pushes: dict[str, int] = field(default_factory=dict)
    saves_per_s: dict[str, list[float]] = field(default_factory=lambda: {"none": [], "two": []})
    # CPU ms per save: the primary's, and the mirrors' side (the git daemon and its children)
    cpu_ms_per_save: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: {
            "none": {"primary": [], "mirrors": []},
            "two": {"primary": [], "mirrors": []},
        }
    )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def git(*args: str, cwd: str | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


class Daemon:
    """`git daemon` serving the bare repositories in `base` on a free 127.0.0.1 port."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                "git",
                "daemon",
                "--export-all",
                "--enable=receive-pack",
                "--reuseaddr",
                f"--base-path={base}",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                str(base),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def pids(self) -> list[int]:
        """`git` and the `git-daemon` it runs (which waits for each connection's git)."""
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except FileNotFoundError:
            children = []
        return [pid, *map(int, children)]

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def add(self, name: str) -> str:
        git("init", "-q", "--bare", "--initial-branch=main", str(self.base / name))
        return self.url(name)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


def run(settings: Settings, workdir: str, seed: int) -> Replication:
    plan = Plan.of(settings)
    out = Replication(plan)
    root = Path(workdir) / "replication"
    (root / "served").mkdir(parents=True)
    rng = random.Random(seed)
    store = ArticleStore.init(str(root / "primary"))
    for i in range(plan.articles):
        store.publish(store.create(make_article(rng, i, f"replicated-{i}"), EDITOR).slug, EDITOR)
    _, token = TokenStore(store.repo.git_dir).create("Bench Editor", "bench@example.org", "editor")
    daemon = Daemon(root / "served")
    servers: list[Server] = []
    try:
        urls = {"mirror": daemon.add("mirror.git"), "second": daemon.add("second.git")}
        mirrors = Mirrors(store.repo.git_dir)
        mirrors.add("mirror", urls["mirror"])
        mirrors.push("mirror")
        out.roundtrip_ms = _git_roundtrip(daemon, root)
        primary = start_cms(store.repo.git_dir, workdir, "/healthz")
        servers.append(primary)
        replica = start_cms(
            str(root / "replica"), workdir, "/healthz", args=("--replica-of", urls["mirror"])
        )
        replica.name = "replica"
        servers.append(replica)
        _lag(out, primary, replica, token, rng)
        _reads(out, primary, replica, "/api/v1/articles/replicated-0")
        # from here on only the primary is measured: a replica catching up with a bulk load
        # indexes it too, and on one machine it would take its CPU from the primary
        replica.stop()
        servers.remove(replica)
        mirrors.add("second", urls["second"])
        _pushes(out, primary, mirrors, token, seed)
        _saves(out, primary, mirrors, urls, token, seed, daemon)
    finally:
        for server in servers:
            server.stop()
        daemon.stop()
    return out


def _git_roundtrip(daemon: Daemon, root: Path, rounds: int = 5) -> dict[str, float]:
    """One commit pushed by plain git to the daemon, then fetched by plain git from it."""
    url = daemon.add("scratch.git")
    work, copy = str(root / "scratch-work"), str(root / "scratch-copy")
    git("init", "-q", "--initial-branch=main", work)
    git("init", "-q", "--bare", copy)
    times = []
    for i in range(rounds):
        Path(work, "file.txt").write_text(f"round {i}\n")
        git("add", "file.txt", cwd=work)
        git("commit", "-qm", f"Round {i}", cwd=work)
        t0 = time.perf_counter()
        git("push", "-q", url, "main:main", cwd=work)
        git("--git-dir", copy, "fetch", "-q", url, "+refs/heads/main:refs/heads/main")
        times.append((time.perf_counter() - t0) * 1000)
    return summary(times)


def _lag(
    out: Replication, primary: Server, replica: Server, token: str, rng: random.Random
) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    acked: dict[str, float] = {}
    seen: dict[str, float] = {}
    done = threading.Event()

    def watch() -> None:
        watcher = requests.Session()
        while not done.is_set():
            r = watcher.get(replica.url("/api/v1/articles?per_page=50"), timeout=30)
            now = time.perf_counter()
            if r.status_code == 200:
                for item in r.json()["items"]:
                    seen.setdefault(item["slug"], now)
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    for i in range(out.plan.publishes):
        started = time.perf_counter()
        doc = make_article(rng, 10**6 + i, f"lag-{i}")
        session.post(
            primary.url("/api/v1/manage/articles"), json=doc, timeout=30
        ).raise_for_status()
        session.post(
            primary.url(f"/api/v1/manage/articles/lag-{i}/publish"), timeout=30
        ).raise_for_status()
        acked[f"lag-{i}"] = time.perf_counter()
        time.sleep(max(0.0, PACE_S - (time.perf_counter() - started)))
    deadline = time.perf_counter() + 60
    while not set(acked) <= set(seen) and time.perf_counter() < deadline:
        time.sleep(0.05)
    done.set()
    watcher.join()
    lags = [(seen[s] - t) * 1000 for s, t in acked.items() if s in seen]
    out.unseen = len(acked) - len(lags)
    out.lag_ms = summary(lags)
    print(
        f"  replication lag over {len(lags)} publishes: p50 {out.lag_ms['median']:.0f} ms, "
        f"p99 {out.lag_ms['p99']:.0f} ms ({out.unseen} never seen); plain git push + "
        f"fetch {out.roundtrip_ms['median']:.0f} ms",
        flush=True,
    )


def _reads(out: Replication, primary: Server, replica: Server, path: str) -> None:
    """Each round measures both servers twice, in mirrored order (replica, primary, primary,
    replica, then the other way round): on this machine whichever ran first in a pair tended
    to do better, and a plain alternation left that in the median of three rounds."""
    for round_ in range(out.plan.read_rounds):
        first, second = (replica, primary) if round_ % 2 == 0 else (primary, replica)
        for server in (first, second, second, first):
            w = reads.wrk(server, path, out.plan.read_seconds, 16, "cached")
            out.reads.append(
                {
                    "server": server.name,
                    "round": round_,
                    "requests_per_s": w.requests_per_s,
                    "errors": w.errors,
                    "cpu_ms_per_request": w.cpu_ms_per_request,
                }
            )
            print(
                f"  wrk {server.name:<7} {w.requests_per_s:8.0f} req/s ({w.errors} errors), "
                f"worker CPU {w.cpu_ms_per_request:.3f} ms/request",
                flush=True,
            )


def _in_sync(mirrors: Mirrors, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while any(m["status"] != "in sync" for m in mirrors.status(mirrors.tips())):
        if time.monotonic() > deadline:
            raise RuntimeError(f"mirrors not in sync: {mirrors.status(mirrors.tips())}")
        time.sleep(0.05)


def _pushes(out: Replication, primary: Server, mirrors: Mirrors, token: str, seed: int) -> None:
    _in_sync(mirrors)
    before = {m.name: mirrors.state(m.name)["pushes"] for m in mirrors.all()}
    result, _ = http_saves.run(primary, token, 8, 600, out.plan.saves, seed)
    _in_sync(mirrors)
    out.saves = result.acknowledged
    out.pushes = {name: mirrors.state(name)["pushes"] - n for name, n in before.items()}
    print(f"  pushes during {out.saves} saves: {out.pushes}", flush=True)


def _cpu_s(pids: list[int]) -> float:
    """CPU seconds used by processes and the children they waited for (git runs)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def _saves(
    out: Replication,
    primary: Server,
    mirrors: Mirrors,
    urls: dict[str, str],
    token: str,
    seed: int,
    daemon: Daemon,
) -> None:
    for round_ in range(out.plan.save_rounds):
        order = ("none", "two") if round_ % 2 == 0 else ("two", "none")
        for config in order:
            for mirror in mirrors.all():
                mirrors.remove(mirror.name)
            if config == "two":
                for name, url in urls.items():
                    mirrors.add(name, url)
                _in_sync(mirrors)
            cpu = (_cpu_s(primary.workers()), _cpu_s(daemon.pids()))
            result, _ = http_saves.run(
                primary,
                token,
                8,
                out.plan.save_seconds,
                4000,
                seed + 1000 * round_ + (config == "two"),
            )
            if config == "two":
                _in_sync(mirrors)  # the pushes these saves caused are part of their cost
            used = (_cpu_s(primary.workers()) - cpu[0], _cpu_s(daemon.pids()) - cpu[1])
            saves = max(1, result.acknowledged)
            out.saves_per_s[config].append(result.per_second)
            out.cpu_ms_per_save[config]["primary"].append(used[0] * 1000 / saves)
            out.cpu_ms_per_save[config]["mirrors"].append(used[1] * 1000 / saves)
            print(
                f"  saves with {config} mirrors: {result.per_second:.0f}/s; CPU per save "
                f"{used[0] * 1000 / saves:.1f} ms primary, {used[1] * 1000 / saves:.1f} ms "
                "mirrors",
                flush=True,
            )


def rows(r: Replication | None) -> list[Row]:
    if r is None:
        return []
    lag, trip = r.lag_ms, r.roundtrip_ms
    replica = median([x["requests_per_s"] for x in r.reads if x["server"] == "replica"])
    primary = median([x["requests_per_s"] for x in r.reads if x["server"] == "cms"])
    ratios = []
    for round_ in sorted({x["round"] for x in r.reads}):
        runs = [x for x in r.reads if x["round"] == round_]
        rates = {
            name: sum(x["requests_per_s"] for x in runs if x["server"] == name)
            for name in ("replica", "cms")
        }
        ratios.append(rates["replica"] / rates["cms"])
    errors = sum(x["errors"] for x in r.reads)
    # CPU per request is steadier than req/s on a shared machine: extra work per request on
    # the replica would show here
    cpu_ms = {
        name: median(
            [x.get("cpu_ms_per_request", float("nan")) for x in r.reads if x["server"] == name]
        )
        for name in ("replica", "cms")
    }
    pushes = max(r.pushes.values(), default=0)
    none, two = median(r.saves_per_s["none"]), median(r.saves_per_s["two"])
    cpu = {
        k: {side: median(v) for side, v in sides.items()} for k, sides in r.cpu_ms_per_save.items()
    }
    return [
        Row(
            "replication_lag_p99_ms",
            f"publish ack -> on a replica via a git:// mirror, {lag['count']:.0f} publishes",
            "p99 <= 2 s",
            lag["p99"],
            "ms",
            f"p99 {lag['p99']:.0f} ms (p50 {lag['median']:.0f}; {r.unseen} unseen)",
            trip["median"],
            f"git push + fetch {trip['median']:.0f} ms; interval 1 s",
            lag["p99"] / trip["median"],
            f"{lag['p99'] / trip['median']:.1f}x",
            lag["p99"] <= 2000 and r.unseen == 0,
            {"lag_ms": lag, "git_roundtrip_ms": trip},
        ),
        Row(
            "replica_read_ratio",
            "GET article on a replica, 2 workers, wrk -c16, ABBA rounds",
            ">= 0.9x primary",
            replica,
            "req/s",
            f"{replica:.0f} req/s, {cpu_ms['replica']:.2f} ms CPU/request"
            f"{f', {errors} errors' if errors else ''}",
            primary,
            f"primary {primary:.0f} req/s, {cpu_ms['cms']:.2f} ms CPU/request",
            median(ratios),
            f"{median(ratios):.2f}x",
            median(ratios) >= 0.9 and not errors,
            {"runs": r.reads},
        ),
        Row(
            "mirror_pushes_per_saves",
            f"pushes to a mirror during {r.saves:,} saves",
            "<= 10% of saves",
            pushes,
            "pushes",
            f"{pushes} pushes ({r.pushes})",
            r.saves,
            f"one push per save: {r.saves:,}",
            pushes / r.saves if r.saves else None,
            f"{pushes / r.saves:.3f}" if r.saves else "-",
            bool(r.saves) and pushes <= r.saves / 10,
            {"pushes": r.pushes},
        ),
        Row(
            "saves_two_mirrors_per_s",
            "saves over HTTP with two mirrors, 8 clients",
            ">= 0.9x none",
            two,
            "saves/s",
            f"{two:.0f}/s; CPU/save {cpu['two']['primary']:.1f} ms + mirrors "
            f"{cpu['two']['mirrors']:.1f}",
            none,
            f"no mirrors {none:.0f}/s; CPU/save {cpu['none']['primary']:.1f} ms",
            two / none if none else None,
            f"{two / none:.2f}x" if none else "-",
            bool(none) and two / none >= 0.9,
            {"saves_per_s": r.saves_per_s, "cpu_ms_per_save": r.cpu_ms_per_save},
        ),
    ]
