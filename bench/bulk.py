"""The write and bulk paths (issue 30), each beside its baseline in the same run.

- create and publish: 8 clients over HTTP against one `cms serve` of the suite's published
  repository, in alternated rounds of the same length: `POST ?publish=true` (one call, two
  commits) beside `POST` alone (a draft), and beside the two calls it replaces (`POST`, then
  `POST .../publish`); articles made per second, every one of the one-call rounds checked live
  on `published` afterwards. Target: the one call at least 0.7x a create alone.
- packing: `saves` API saves (creates) into a fresh repository through `cms serve` with the
  packer on (`CMS_PACK_INTERVAL`/`CMS_PACK_THRESHOLD` as a server would run), then the disk
  its `objects/` takes per article beside a copy of it after `git gc --aggressive` (target
  at most 1.5x); and saves/s in alternated windows with `git repack` (what the packer runs)
  looping back to back beside windows without (target: unchanged, at least 0.9x).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import requests

from cms.auth.tokens import TokenStore
from cms.git import maintenance
from cms.store import ArticleStore

from .articles import make_article
from .report import Row
from .servers import Server, start_cms
from .stats import median

ROWS = ["create_and_publish_ratio", "pack_disk_ratio", "saves_while_packing_ratio"]
URL = "/api/v1/manage/articles"
MODES = ("create", "one_call", "two_calls")


def _window(
    server: Server, token: str, clients: int, seconds: float, mode: str, tag: str, seed: int
) -> tuple[int, list[str], int]:
    """`clients` threads making articles in `mode` for `seconds`; (made, slugs, failures)."""
    made: list[str] = []
    failures = [0]
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(number: int) -> None:
        rng = random.Random(seed * 7919 + number)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        i = 0
        ready.wait()
        while time.perf_counter() < deadline[0]:
            doc = make_article(rng, number * 100000 + i, f"bulk-{tag}-{number}-{i}")
            i += 1
            query = "?publish=true" if mode == "one_call" else ""
            answer = session.post(server.url(URL + query), json=doc, timeout=60)
            ok = answer.status_code == 201
            if ok and mode == "two_calls":
                published = session.post(server.url(f"{URL}/{doc['slug']}/publish"), timeout=60)
                ok = published.status_code == 200
            with lock:
                if ok:
                    made.append(doc["slug"])
                else:
                    failures[0] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + seconds
    ready.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return len(made) / elapsed, made, failures[0]


def create_and_publish(
    store: ArticleStore,
    workdir: str,
    token: str,
    *,
    clients: int,
    seconds: float,
    rounds: int,
    seed: int,
    timeout: float,
) -> dict[str, Any]:
    server = start_cms(store.repo.git_dir, workdir, "/healthz", timeout=timeout)
    rates: dict[str, list[float]] = {m: [] for m in MODES}
    failures = dict.fromkeys(MODES, 0)
    one_call: list[str] = []
    try:
        for r in range(rounds):
            order = MODES if r % 2 == 0 else tuple(reversed(MODES))
            for mode in order:
                rate, slugs, failed = _window(
                    server,
                    token,
                    clients,
                    seconds,
                    mode,
                    f"{mode.replace('_', '-')}-{seed}-{r}",
                    seed + r,
                )
                rates[mode].append(rate)
                failures[mode] += failed
                if mode == "one_call":
                    one_call += slugs
    finally:
        server.stop()
    tips = store.catch_up()
    live = sum(1 for slug in one_call if store.index.live.article(slug) is not None)
    out = {
        "clients": clients,
        "seconds": seconds,
        "rounds": rounds,
        "per_s": {m: median(v) for m, v in rates.items()},
        "rounds_per_s": rates,
        "failures": failures,
        "one_call_made": len(one_call),
        "one_call_live": live,
        "published_tip": tips["published"],
    }
    p = out["per_s"]
    print(
        f"  create alone {p['create']:.0f}/s, create+publish in one call "
        f"{p['one_call']:.0f}/s, two calls {p['two_calls']:.0f}/s; failures {failures}; "
        f"{live}/{len(one_call)} one-call articles live",
        flush=True,
    )
    return out


def _du_kb(path: Path) -> int:
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def packing(
    workdir: str,
    *,
    saves: int,
    clients: int,
    seconds: float,
    rounds: int,
    seed: int,
    timeout: float,
) -> dict[str, Any]:
    root = Path(workdir) / "packing"
    shutil.rmtree(root, ignore_errors=True)
    repo = root / "repo"
    ArticleStore.init(str(repo))
    _, token = TokenStore(str(repo)).create("Bench Editor", "bench@example.org", "editor")
    # the packer as a server runs it, looking often enough for a short run
    env = {"CMS_PACK_INTERVAL": "1", "CMS_PACK_THRESHOLD": "1000"}
    server = start_cms(str(repo), workdir, "/healthz", timeout=timeout, env=env)
    try:
        made = 0
        t0 = time.perf_counter()
        tag = 0
        while made < saves:
            _, slugs, _ = _window(server, token, clients, 2.0, "create", f"fill-{tag}", seed)
            made += len(slugs)
            tag += 1
        fill_s = time.perf_counter() - t0
        # the packer's last look: what a server left running would have done by now
        time.sleep(2.0)
        loose_before = maintenance.loose_objects(str(repo))
        maintenance.pack(str(repo))
        served_kb = _du_kb(repo / "objects")
        copy = root / "copy"
        shutil.copytree(repo, copy, symlinks=True)
        subprocess.run(
            ["git", "--git-dir", str(copy), "gc", "--aggressive", "--prune=now", "-q"],
            check=True,
        )
        packed_kb = _du_kb(copy / "objects")
        shutil.rmtree(copy)
        # saves/s with repack looping back to back (the worst the packer does) beside none
        rates: dict[str, list[float]] = {"quiet": [], "packing": []}
        repacks = [0]
        for r in range(rounds):
            for mode in ("quiet", "packing") if r % 2 == 0 else ("packing", "quiet"):
                stop = threading.Event()

                def loop(stop: threading.Event = stop) -> None:
                    while not stop.is_set():
                        maintenance.pack(str(repo))
                        repacks[0] += 1

                looper = threading.Thread(target=loop)
                if mode == "packing":
                    looper.start()
                rate, _, _ = _window(
                    server, token, clients, seconds, "create", f"{mode}-{r}", seed + r
                )
                stop.set()
                if mode == "packing":
                    looper.join()
                rates[mode].append(rate)
    finally:
        server.stop()
    articles = ArticleStore(str(repo)).count()
    fsck = subprocess.run(
        ["git", "--git-dir", str(repo), "fsck", "--full", "--no-progress"],
        capture_output=True,
        text=True,
    )
    out = {
        "articles": articles,
        "fill_s": fill_s,
        "loose_left_by_packer": loose_before,
        "served_kb": served_kb,
        "gc_aggressive_kb": packed_kb,
        "served_kb_per_article": served_kb / articles,
        "gc_kb_per_article": packed_kb / articles,
        "saves_per_s": {k: median(v) for k, v in rates.items()},
        "rounds_per_s": rates,
        "repacks_during_windows": repacks[0],
        "fsck_clean": fsck.returncode == 0,
    }
    print(
        f"  {articles} articles saved over HTTP with the packer on: {served_kb} KB of objects "
        f"({loose_before} loose left), gc --aggressive copy {packed_kb} KB; saves/s "
        f"{out['saves_per_s']['quiet']:.0f} quiet, {out['saves_per_s']['packing']:.0f} while "
        f"repacking ({repacks[0]} repacks); fsck clean: {out['fsck_clean']}",
        flush=True,
    )
    return out


def rows(figures: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    if "publish" in figures:
        f = figures["publish"]
        one, alone, two = f["per_s"]["one_call"], f["per_s"]["create"], f["per_s"]["two_calls"]
        ratio = one / alone if alone else 0.0
        out.append(
            Row(
                "create_and_publish_ratio",
                f"create and publish in one call (POST ?publish=true), {f['clients']} clients",
                ">= 0.7x create alone",
                one,
                "/s",
                f"{one:.0f}/s (two calls: {two:.0f}/s)",
                alone,
                f"create alone {alone:.0f}/s",
                ratio,
                f"{ratio:.2f}x",
                ratio >= 0.7
                and f["one_call_live"] == f["one_call_made"]
                and not any(f["failures"].values()),
                f,
            )
        )
    if "packing" in figures:
        p = figures["packing"]
        disk = p["served_kb"] / p["gc_aggressive_kb"] if p["gc_aggressive_kb"] else 0.0
        out.append(
            Row(
                "pack_disk_ratio",
                f"disk per article after {p['articles']:,} API saves, packer on",
                "<= 1.5x gc --aggressive",
                p["served_kb_per_article"],
                "KB",
                f"{p['served_kb_per_article']:.2f} KB/article ({p['served_kb']:,} KB)",
                p["gc_kb_per_article"],
                f"gc --aggressive copy {p['gc_kb_per_article']:.2f} KB/article",
                disk,
                f"{disk:.2f}x",
                disk <= 1.5 and p["fsck_clean"],
                p,
            )
        )
        quiet, busy = p["saves_per_s"]["quiet"], p["saves_per_s"]["packing"]
        ratio = busy / quiet if quiet else 0.0
        out.append(
            Row(
                "saves_while_packing_ratio",
                "saves/s over HTTP while git repack loops back to back",
                ">= 0.9x (unchanged)",
                busy,
                "/s",
                f"{busy:.0f}/s ({p['repacks_during_windows']} repacks)",
                quiet,
                f"not packing {quiet:.0f}/s",
                ratio,
                f"{ratio:.2f}x",
                ratio >= 0.9,
                p,
            )
        )
    return out
