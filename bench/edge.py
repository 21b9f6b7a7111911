"""Delivery behind a real Varnish that the CMS purges, on the suite's published repository
(issue 29: 100,000 articles in the full run).

One `cms serve` (2 workers) with `CMS_PURGE_TARGETS` naming a `varnishd` started here with
`deploy/varnish/default.vcl` (`harness.varnish`). wrk reads a mix of articles (ROTATE of them)
and list pages (the unfiltered list and tag lists, a few pages each) while an editor publishes
once a second (a new title on one of the articles read, through the management API, straight
to the origin). For each publication a probe reads that article through Varnish every few
milliseconds from the moment the publish call answered until it shows the new title.

wrk and varnishd run under `nice -n 10` (NICE): they stand for readers and a cache on machines
of their own. Every live article's document is made first (`readscale.fill_documents`), so
the server's filler threads are idle, as they are once a bulk publish is behind it.

- hit ratio: Varnish's hits over its hits and misses in the measured window (varnishstat);
- staleness: publish acknowledged -> new version served by Varnish, p50 and p99, beside the
  part of it until the purge reached Varnish (varnishncsa logs each PURGE);
- purge requests per publication (the CMS's own count, /healthz) and keys purged;
- read rate: the same wrk mix through Varnish and straight at the origin (its own response
  cache on), with the editor publishing in both, in alternating rounds; and the origin's
  fetches while Varnish answered.
"""

from __future__ import annotations

import http.client
import json
import random
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from cms.auth.tokens import TokenStore
from cms.store import ArticleStore
from harness.launch import free_port
from harness.varnish import available, purges_seen, stats, varnish

from . import readscale
from .articles import slug_for
from .report import Row
from .servers import HOST, Server, start_cms
from .stats import summary

ROTATE = 2000
# wrk and varnishd run at this niceness: they stand in for readers and a cache on machines of
# their own, and on 2 shared cores they would otherwise take the CPU the origin's purger needs
NICE = 10
LIST_PAGES = 5
LIST_TAGS = 20
CONNECTIONS = 32


def _paths(store: ArticleStore, n: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """(article slugs read, list paths read)."""
    slugs = [slug_for(i) for i in sorted(rng.sample(range(1, n + 1), min(ROTATE, n)))]
    tags = [
        t
        for (t,) in store.index.tables.db.execute(
            "SELECT tag FROM live_tags GROUP BY tag ORDER BY COUNT(*) DESC LIMIT ?", (LIST_TAGS,)
        )
    ]
    lists = [f"/api/v1/articles?page={p}" for p in range(1, LIST_PAGES + 1)]
    lists += [f"/api/v1/articles?tag={t}&page={p}" for t in tags for p in (1, 2)]
    return slugs, lists


def _script(folder: str, paths: list[str]) -> str:
    """A wrk Lua script cycling over `paths` as they are (no cache-buster: caches answer)."""
    listed = ",\n".join(json.dumps(p) for p in paths)
    script = f"""
local paths = {{
{listed}
}}
local threads = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end
init = function(args)
  counter = id * 7919
end
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
"""
    target = Path(folder) / "edge-mix.lua"
    target.write_text(script)
    return str(target)


def _wrk(base: str, script: str, seconds: int) -> dict[str, Any]:
    command = [
        "nice",
        "-n",
        str(NICE),
        "wrk",
        "-t2",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        script,
        base,
    ]
    out = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    rate = float(out.split("Requests/sec:")[1].split()[0])
    errors = 0
    for marker in ("Non-2xx or 3xx responses:",):
        if marker in out:
            errors += int(out.split(marker)[1].split()[0])
    return {"rps": rate, "errors": errors}


class Editor:
    """Publishes a new title on one of `slugs` once a second until stopped; a probe per
    publication measures how long Varnish (`cache_port`) served the old one after the
    publish call answered."""

    def __init__(
        self, origin: Server, token: str, slugs: list[str], cache_port: int | None, seed: int
    ) -> None:
        self.origin, self.slugs, self.cache_port = origin, slugs, cache_port
        self.auth = {"Authorization": f"Bearer {token}"}
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.published = 0
        self.failures = 0
        self.staleness_s: list[float] = []
        # each publication: its slug, when the publish call was sent and when it answered
        # (time.time(), the clock varnishncsa's timestamps are on)
        self.acks: list[tuple[str, float, float]] = []
        self.unseen = 0
        self._probes: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        self.stop.set()
        self._thread.join()
        for probe in self._probes:
            probe.join()

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(HOST, self.origin.port, timeout=30)
        try:
            conn.request(
                method,
                path,
                body=json.dumps(body) if body is not None else None,
                headers={**self.auth, **(headers or {})},
            )
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def _run(self) -> None:
        n = 0
        while not self.stop.is_set():
            started = time.monotonic()
            slug = self.rng.choice(self.slugs)
            title = f"Edited {n} at {time.time():.3f}"
            n += 1
            path = f"/api/v1/manage/articles/{slug}"
            status, headers, _ = self._request("GET", path)
            changed = (
                status == 200
                and self._request(
                    "PATCH",
                    path,
                    {"title": title},
                    {
                        "If-Match": headers.get("ETag", ""),
                        "Content-Type": "application/merge-patch+json",
                    },
                )[0]
                == 200
            )
            sent = time.time()
            if (
                changed
                and self._request(
                    "POST", f"{path}/publish", {}, {"Content-Type": "application/json"}
                )[0]
                == 200
            ):
                acknowledged = time.monotonic()
                self.acks.append((slug, sent, time.time()))
                self.published += 1
                if self.cache_port:
                    probe = threading.Thread(
                        target=self._probe, args=(slug, title, acknowledged), daemon=True
                    )
                    probe.start()
                    self._probes.append(probe)
            else:
                self.failures += 1
            self.stop.wait(max(0.0, 1.0 - (time.monotonic() - started)))

    def _probe(self, slug: str, title: str, acknowledged: float) -> None:
        assert self.cache_port is not None
        expected = json.dumps(title)[1:-1].encode()
        deadline = acknowledged + 30
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection(HOST, self.cache_port, timeout=10)
            try:
                conn.request("GET", f"/api/v1/articles/{slug}")
                body = conn.getresponse().read()
            except OSError:
                body = b""
            finally:
                conn.close()
            if b'"title":"' + expected + b'"' in body:
                self.staleness_s.append(time.monotonic() - acknowledged)
                return
            time.sleep(0.005)
        self.unseen += 1


def _purges(origin: Server, admin: str) -> dict[str, int]:
    conn = http.client.HTTPConnection(HOST, origin.port, timeout=30)
    try:
        conn.request("GET", "/healthz", headers={"Authorization": f"Bearer {admin}"})
        target = json.loads(conn.getresponse().read())["purges"]["targets"][0]
    finally:
        conn.close()
    return {"requests": target["requests"], "keys": target["keys_purged"]}


def run(quick: bool, store: ArticleStore, workdir: str, token: str, seed: int) -> dict[str, Any]:
    if not available():
        raise RuntimeError("varnishd and the xkey vmod are needed: make system-packages")
    rng = random.Random(seed)
    n = store.index.states.live_count()
    # the steady state: every live article's document made, as a server's filler threads
    # make them after a bulk publish (they would otherwise take the CPU for the whole run)
    documents_s = readscale.fill_documents(store)
    print(f"  documents of {n:,} live articles made in {documents_s:.1f}s", flush=True)
    slugs, lists = _paths(store, n, rng)
    script = _script(workdir, [f"/api/v1/articles/{s}" for s in slugs] + lists)
    seconds, rounds = (5, 1) if quick else (30, 2)
    _, admin = TokenStore(store.repo.git_dir).create(
        "Bench Admin", "edge-admin@example.org", "admin"
    )
    cache_port = free_port()
    folder = Path(workdir) / "varnish"
    origin = start_cms(
        store.repo.git_dir,
        workdir,
        "/healthz",
        env={"CMS_PURGE_TARGETS": f"varnish+http://{HOST}:{cache_port}"},
    )
    out: dict[str, Any] = {
        "articles": n,
        "documents_s": documents_s,
        "article_paths": len(slugs),
        "list_paths": len(lists),
        "seconds": seconds,
        "rounds": rounds,
        "connections": CONNECTIONS,
        "varnish": [],
        "origin": [],
    }
    staleness: list[float] = []
    acks: list[tuple[str, float, float]] = []
    hits = misses = passes = fetches = published = unseen = 0
    purged = {"requests": 0, "keys": 0}
    try:
        with (
            varnish(origin.port, folder, port=cache_port, memory="1g", nice=NICE) as cache,
            purges_seen(folder, Path(workdir) / "purges.log") as seen,
        ):
            # the first look purges everything (the cache is new to the CMS): let it pass
            time.sleep(2.0)
            _wrk(cache, script, 2 if quick else 5)  # warm: every path once kept
            for round_ in range(rounds):
                order = ("varnish", "origin") if round_ % 2 == 0 else ("origin", "varnish")
                for mode in order:
                    through = mode == "varnish"
                    editor = Editor(
                        origin,
                        token,
                        slugs,
                        cache_port if through else None,
                        seed * 7 + round_ * 2 + through,
                    )
                    before, purges_before = stats(folder), _purges(origin, admin)
                    cpu = origin.worker_cpu_s()
                    editor.start()
                    result = _wrk(cache if through else origin.url(), script, seconds)
                    editor.finish()
                    after, purges_after = stats(folder), _purges(origin, admin)
                    result["origin_cpu_s"] = origin.worker_cpu_s() - cpu
                    result["published"] = editor.published
                    out[mode].append(result)
                    if through:
                        delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
                        hits += delta.get("MAIN.cache_hit", 0)
                        misses += delta.get("MAIN.cache_miss", 0) + delta.get(
                            "MAIN.cache_hitmiss", 0
                        )
                        passes += delta.get("MAIN.s_pass", 0)
                        fetches += delta.get("MAIN.backend_req", 0)
                        staleness += editor.staleness_s
                        acks += editor.acks
                        published += editor.published
                        unseen += editor.unseen
                        for k in purged:
                            purged[k] += purges_after[k] - purges_before[k]
                        result["backend_fetches_per_s"] = delta.get("MAIN.backend_req", 0) / seconds
                    print(
                        f"  {mode}: {result['rps']:,.0f} req/s, {editor.published} publications",
                        flush=True,
                    )
    finally:
        origin.stop()
    delays = _purge_delays(acks, seen)
    out.update(
        {
            "nice": NICE,
            "ack_to_purge_ms": summary([d * 1000 for d in delays]) if delays else {},
            "hits": hits,
            "misses": misses,
            "passes": passes,
            "backend_fetches": fetches,
            "hit_ratio": hits / (hits + misses) if hits + misses else 0.0,
            "published": published,
            "unseen": unseen,
            "staleness_s": summary([s * 1000 for s in staleness]) if staleness else {},
            "purge_requests": purged["requests"],
            "keys_purged": purged["keys"],
            "purge_requests_per_publish": purged["requests"] / published if published else 0.0,
        }
    )
    print(
        f"  hit ratio {out['hit_ratio']:.4f}; staleness p99 "
        f"{out['staleness_s'].get('p99', float('nan')):.0f} ms; "
        f"{out['purge_requests_per_publish']:.2f} purges per publication",
        flush=True,
    )
    return out


def _purge_delays(
    acks: list[tuple[str, float, float]], seen: list[tuple[float, list[str]]]
) -> list[float]:
    """For each publication, from its publish call's answer to the first purge naming its
    article (or `all`) that reached Varnish after the call was sent (0 when that came before
    the answer)."""
    delays = []
    for slug, sent, acknowledged in acks:
        key = f"a:{slug}"
        arrived = next(
            (when for when, named in seen if when >= sent and (key in named or "all" in named)),
            None,
        )
        if arrived is not None:
            delays.append(max(0.0, arrived - acknowledged))
    return delays


ROWS = ("edge_hit_ratio", "edge_staleness_p99_ms", "edge_purges_per_publish", "edge_read_rps")


def rows(figures: dict[str, Any]) -> list[Row]:
    if not figures:
        return []
    through = sum(r["rps"] for r in figures["varnish"]) / len(figures["varnish"])
    direct = sum(r["rps"] for r in figures["origin"]) / len(figures["origin"])
    p99 = figures["staleness_s"].get("p99", float("inf"))
    p50 = figures["staleness_s"].get("median", float("inf"))
    purge = figures.get("ack_to_purge_ms", {})
    mix = (
        f"{figures['article_paths']:,} articles + {figures['list_paths']} list pages of "
        f"{figures['articles']:,}"
    )
    fetched = figures["backend_fetches"] / (figures["seconds"] * figures["rounds"])
    return [
        Row(
            "edge_hit_ratio",
            f"Varnish hit ratio, wrk over {mix}, an editor publishing once a second",
            ">= 99%",
            figures["hit_ratio"] * 100,
            "%",
            f"{figures['hit_ratio'] * 100:.2f}% ({figures['misses']:,} misses, "
            f"{figures['passes']:,} passes)",
            passed=figures["hit_ratio"] >= 0.99,
            detail=figures,
        ),
        Row(
            "edge_staleness_p99_ms",
            "publish acknowledged -> new version through Varnish, p99",
            "<= 1000 ms",
            p99,
            "ms",
            f"p99 {p99:.0f} ms, median {p50:.0f} ms "
            f"({figures['published']} publications, {figures['unseen']} never seen)",
            purge.get("p99"),
            f"the purge reached Varnish: p99 {purge.get('p99', 0):.0f} ms, "
            f"median {purge.get('median', 0):.0f} ms after the answer",
            passed=p99 <= 1000 and figures["unseen"] == 0,
        ),
        Row(
            "edge_purges_per_publish",
            "purge requests per publication (each sent once more 2 s later)",
            "info",
            figures["purge_requests_per_publish"],
            "",
            f"{figures['purge_requests_per_publish']:.2f} ({figures['keys_purged']:,} keys in "
            f"{figures['purge_requests']} requests)",
        ),
        Row(
            "edge_read_rps",
            "reads/s of the same mix through Varnish",
            "info",
            through,
            "req/s",
            f"{through:,.0f}/s (origin fetched {fetched:.0f}/s)",
            direct,
            f"origin alone {direct:,.0f}/s",
            through / direct if direct else None,
            f"{through / direct:.1f}x" if direct else "-",
        ),
    ]
