"""Durability (issue 27): `cms serve` durable (the default, group commit) beside the same server
with `CMS_DURABLE=false`, in one run.

One repository of `n` articles (2,000; 200 with --quick) is copied for each server; both run at
once (2 workers each). In alternated rounds (durable first, then the other; 3 rounds, 1 with
--quick), each for `seconds`:

- 8 HTTP clients creating drafts (target: durable >= 0.9x the undurable rate);
- 1 client creating drafts (>= 0.8x);
- 8 clients, each creating a draft and publishing it in turn (mixed, >= 0.9x); a create and a
  publish are each one acknowledged save.

Then a third server, durable, runs under `strace -f -c --seccomp-bpf` (only the sync calls
stop the process) while 8 clients create drafts: every fsync, fdatasync and syncfs of every
process of the server (the SQLite index and outboxes included) divided by the acknowledged
saves (target <= 0.5). Rates are medians over the rounds.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import requests

from cms.auth.tokens import TokenStore
from cms.delivery import cards as public
from cms.store import ArticleStore

from . import build
from .articles import make_article
from .report import Row
from .servers import CMS, HOST, ROOT, start_cms
from .settings import Settings
from .stats import median

URL = "/api/v1/manage/articles"
SYNCS = ("fsync", "fdatasync", "syncfs")
SCENARIOS = {
    "drafts8": (8, False),
    "drafts1": (1, False),
    "mixed8": (8, True),
}
ROWS = ["durable_drafts8_ratio", "durable_drafts1_ratio", "durable_fsyncs_per_save"]
ROWS += ["durable_mixed8_ratio"]


def drive(base: str, token: str, clients: int, seconds: float, publish: bool, tag: str) -> float:
    """Acknowledged saves per second of `clients` creating drafts (and publishing each, when
    `publish`) for `seconds`."""
    acked = [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(n: int) -> None:
        rng = random.Random(f"{tag}-{n}")
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        start.wait()
        i = 0
        while time.perf_counter() < deadline[0]:
            i += 1
            doc = make_article(rng, 1_000_000 + n * 10_000 + i, f"durable-{tag}-{n}-{i}")
            r = session.post(base + URL, json=doc, timeout=60)
            done = 1 if r.status_code == 201 else 0
            if done and publish:
                p = session.post(f"{base}{URL}/{r.json()['slug']}/publish", timeout=60)
                done += 1 if p.status_code == 200 else 0
            with lock:
                acked[0] += done

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    deadline[0] = t0 + seconds
    start.wait()
    for t in threads:
        t.join()
    return acked[0] / (time.perf_counter() - t0)


def _repo(workdir: str, n: int, seed: int) -> tuple[str, str]:
    path = os.path.join(workdir, "durable-base")
    store = ArticleStore.init(path, make_card=public.card)
    build.bulk_load(store, n, random.Random(seed))
    _, token = TokenStore(path).create("Durable Bench", "durable@example.org", "editor")
    return path, token


def _copy(base: str, name: str) -> str:
    target = base.replace("durable-base", f"durable-{name}")
    shutil.copytree(base, target)
    return target


def syncs_per_save(repo: str, workdir: str, token: str, seconds: float) -> dict[str, Any]:
    """A durable server under strace -c: its sync calls per acknowledged save, 8 clients."""
    from harness.launch import free_port, start

    port = free_port()
    out = Path(workdir) / "durable-strace.txt"
    command = ["strace", "-f", "-c", "--seccomp-bpf", "-e", f"trace={','.join(SYNCS)}"]
    command += ["-o", str(out), CMS, "--repo", repo, "serve", "--host", HOST]
    command += ["--port", str(port), "--workers", "2"]
    process = start(
        command,
        f"http://{HOST}:{port}/healthz",
        Path(workdir) / "durable-strace.log",
        {"CMS_DURABLE": "true"},
        120,
        cwd=ROOT,
    )
    try:
        before = build.commit_count(repo)
        rate = drive(f"http://{HOST}:{port}", token, 8, seconds, False, "strace")
        saves = build.commit_count(repo) - before
    finally:
        # gunicorn (strace's child) first: strace writes its table once its tracees end
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        for child in children:
            os.kill(int(child), signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    calls = {name: 0 for name in SYNCS}
    for line in out.read_text().splitlines():
        parts = line.split()
        if parts and parts[-1] in calls:
            calls[parts[-1]] = int(re.sub(r"\D", "", parts[3]))
    total = sum(calls.values())
    return {
        "saves": saves,
        "calls": calls,
        "per_save": total / saves if saves else float("inf"),
        "rate_under_strace": rate,
    }


def run(settings: Settings, workdir: str, seed: int) -> dict[str, Any]:
    n = 200 if settings.quick else 2000
    rounds = 1 if settings.quick else 3
    seconds = 5.0 if settings.quick else 15.0
    base, token = _repo(workdir, n, seed)
    repos = {"durable": _copy(base, "on"), "plain": _copy(base, "off"), "strace": base}
    servers = {
        name: start_cms(
            repos[name],
            workdir,
            "/healthz",
            env={"CMS_DURABLE": "true" if name == "durable" else "false"},
        )
        for name in ("durable", "plain")
    }
    rates: dict[str, dict[str, list[float]]] = {s: {"durable": [], "plain": []} for s in SCENARIOS}
    try:
        for r in range(rounds):
            for scenario, (clients, publish) in SCENARIOS.items():
                for name in ("durable", "plain") if r % 2 == 0 else ("plain", "durable"):
                    rate = drive(
                        servers[name].url(), token, clients, seconds, publish, f"{scenario}{r}"
                    )
                    rates[scenario][name].append(rate)
                    print(f"  {scenario} {name}: {rate:.1f} saves/s", flush=True)
    finally:
        for server in servers.values():
            server.stop()
    syncs = syncs_per_save(repos["strace"], workdir, token, seconds)
    print(
        f"  under strace, 8 clients: {syncs['saves']} saves, {syncs['calls']}, "
        f"{syncs['per_save']:.2f} sync calls per save",
        flush=True,
    )
    return {
        "n": n,
        "rounds": rounds,
        "seconds": seconds,
        "rates": rates,
        "medians": {s: {name: median(v) for name, v in by.items()} for s, by in rates.items()},
        "syncs": syncs,
    }


def rows(figures: dict[str, Any]) -> list[Row]:
    if not figures:
        return []
    n = f"{figures['n']:,}"
    out = []
    for scenario, what, target in (
        ("drafts8", "8 HTTP clients creating drafts", 0.9),
        ("drafts1", "1 HTTP client creating drafts", 0.8),
        ("mixed8", "8 HTTP clients creating and publishing", 0.9),
    ):
        m = figures["medians"][scenario]
        ratio = m["durable"] / m["plain"] if m["plain"] else 0.0
        out.append(
            Row(
                f"durable_{scenario}_ratio",
                f"{what}, durable beside CMS_DURABLE=false, {n} articles",
                f">= {target}x",
                ratio,
                "x",
                f"{m['durable']:.0f}/s",
                m["plain"],
                f"not durable: {m['plain']:.0f}/s",
                ratio,
                f"{ratio:.2f}x",
                ratio >= target,
                figures["rates"][scenario],
            )
        )
    syncs = figures["syncs"]
    out.append(
        Row(
            "durable_fsyncs_per_save",
            "fsync/fdatasync/syncfs calls per acknowledged save, 8 clients (strace -c)",
            "<= 0.5",
            syncs["per_save"],
            "calls",
            f"{syncs['per_save']:.2f} per save",
            None,
            f"{syncs['saves']} saves: {syncs['calls']}",
            None,
            "-",
            syncs["per_save"] <= 0.5,
            syncs,
        )
    )
    return out
