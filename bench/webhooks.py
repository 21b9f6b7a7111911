"""Saves over HTTP with 3 webhooks pointed at a slow receiver, beside the same saves with none.

One `cms serve` (2 workers, CMS_WEBHOOK_ALLOW_PRIVATE=true) on the suite's repository; rounds
alternate between no webhooks and three webhooks (all events) to a receiver on 127.0.0.1 that
takes `SLOW_S` seconds to answer each delivery, so deliveries pile up in the outbox while the
clients save. Each round is `http_saves.run` (the same clients as the HTTP saves row); the
webhooks are removed, with what they still had queued, before each round without them.
Target (issue 14): saves/s with the webhooks stays within 10% of saves/s without.

`drip_run`: delivery latency (from the start of the save to the POST reaching the receiver)
of three healthy webhooks, in rounds alternating between no other webhook and a fourth one
whose receiver sends its status line a byte every `DRIP_S` seconds, retried at once
(CMS_WEBHOOK_RETRY_DELAYS=0.2,...) so that it always holds a sender for the whole
CMS_WEBHOOK_TIMEOUT (the default 10 s); a quarter into each such round, all its deliveries
are redelivered at once (due together: the case where one webhook took every sender). One
client saves a new article every `GAP_S` seconds.
Target (issue 25): the p99 with the dripping receiver within 1.2x of the p99 without.
"""

from __future__ import annotations

import json
import random
import select
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from cms.auth.tokens import TokenStore

from . import http_saves
from .articles import make_article
from .report import Row
from .servers import HOST, Server, start_cms
from .settings import Settings
from .stats import median, summary

SLOW_S = 1.0
DRIP_S = 0.5
GAP_S = 0.25
HOOKS = "/api/v1/manage/webhooks"


class _Slow(BaseHTTPRequestHandler):
    received = 0
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(SLOW_S)
        with _Slow.lock:
            _Slow.received += 1
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def run(settings: Settings, git_dir: str, workdir: str, token: str, seed: int) -> dict[str, Any]:
    """Measure both modes in alternating rounds, saving with `token` (an editor's) and managing
    the webhooks with an admin token made here; return the figures."""
    receiver = ThreadingHTTPServer((HOST, 0), _Slow)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    url = f"http://{HOST}:{receiver.server_address[1]}/build"
    rounds = 2 if settings.quick else 3
    seconds = 3.0 if settings.quick else 8.0
    cms = start_cms(git_dir, workdir, "/healthz", env={"CMS_WEBHOOK_ALLOW_PRIVATE": "true"})
    _, secret = TokenStore(git_dir).create("Bench Admin", "bench-admin@example.org", "admin")
    admin = {"Authorization": f"Bearer {secret}"}  # webhooks are admin only
    rates: dict[str, list[float]] = {"none": [], "webhooks": []}
    queued = 0
    try:
        for round_ in range(rounds):
            order = ("none", "webhooks") if round_ % 2 == 0 else ("webhooks", "none")
            for mode in order:
                for hook in _hooks(cms.url(HOOKS), admin):
                    requests.delete(
                        cms.url(f"{HOOKS}/{hook['id']}"), headers=admin, timeout=30
                    ).raise_for_status()
                if mode == "webhooks":
                    for n in range(3):
                        requests.post(
                            cms.url(HOOKS), headers=admin, timeout=30, json={"url": f"{url}/{n}"}
                        ).raise_for_status()
                result, _ = http_saves.run(
                    cms,
                    token,
                    settings.http_clients,
                    seconds,
                    settings.http_max_saves,
                    seed * 31 + round_ * 2 + (mode == "webhooks"),
                )
                rates[mode].append(result.per_second)
                if mode == "webhooks":
                    queued += sum(
                        requests.get(
                            cms.url(f"{HOOKS}/{h['id']}/deliveries"), headers=admin, timeout=30
                        ).json()["meta"]["total"]
                        for h in _hooks(cms.url(HOOKS), admin)
                    )
                print(f"  {mode}: {result.per_second:.0f} saves/s", flush=True)
    finally:
        cms.stop()
        receiver.shutdown()
        receiver.server_close()
    return {
        "saves_per_s": rates,
        "rounds": rounds,
        "round_s": seconds,
        "slow_s": SLOW_S,
        "deliveries_queued": queued,
        "deliveries_received": _Slow.received,
    }


def _hooks(url: str, admin: dict[str, str]) -> list[dict[str, Any]]:
    response = requests.get(url, headers=admin, timeout=30)
    response.raise_for_status()
    return list(response.json()["items"])


class _Timed(BaseHTTPRequestHandler):
    """A healthy receiver: notes when each article's delivery arrived (`server.arrived`)."""

    server: _TimedServer

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.arrived.setdefault(json.loads(data)["data"]["slug"], time.perf_counter())
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class _TimedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__((HOST, 0), _Timed)
        self.arrived: dict[str, float] = {}


class _Drip(socketserver.StreamRequestHandler):
    """Reads the request, then sends a status line that never ends, a byte every `DRIP_S`
    seconds, until the sender hangs up or `server.hang_up` is set."""

    server: _DripServer

    def handle(self) -> None:
        length = 0
        while (line := self.rfile.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        self.rfile.read(length)
        for byte in b"HTTP/1.1 200 " + b"o" * 60000:
            readable, _, _ = select.select([self.connection], [], [], DRIP_S)
            if self.server.hang_up.is_set() or (readable and not self.connection.recv(1)):
                return
            try:
                self.connection.sendall(bytes([byte]))
            except OSError:
                return


class _DripServer(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__((HOST, 0), _Drip)
        self.hang_up = threading.Event()
        self.connections = 0  # attempts it was sent

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1  # in the serving thread, before a thread per connection
        super().process_request(request, client_address)


def drip_run(
    settings: Settings, git_dir: str, workdir: str, token: str, seed: int
) -> dict[str, Any]:
    """Measure delivery latency to three healthy receivers with and without a dripping
    fourth, in alternating rounds; return the figures."""
    healthy = [_TimedServer() for _ in range(3)]
    dripper = _DripServer()
    servers: list[socketserver.BaseServer] = [*healthy, dripper]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    rounds = 2 if settings.quick else 3
    saves = 30 if settings.quick else 100
    cms = start_cms(
        git_dir,
        workdir,
        "/healthz",
        env={
            "CMS_WEBHOOK_ALLOW_PRIVATE": "true",
            "CMS_WEBHOOK_RETRY_DELAYS": ",".join(["0.2"] * 50),
        },
    )
    _, secret = TokenStore(git_dir).create("Bench Admin", "bench-admin@example.org", "admin")
    admin = {"Authorization": f"Bearer {secret}"}
    latency: dict[str, list[float]] = {"none": [], "drip": []}
    rng = random.Random(seed)
    try:
        for hook in _hooks(cms.url(HOOKS), admin):
            requests.delete(
                cms.url(f"{HOOKS}/{hook['id']}"), headers=admin, timeout=30
            ).raise_for_status()
        for receiver in healthy:
            requests.post(
                cms.url(HOOKS),
                headers=admin,
                timeout=30,
                json={
                    "url": f"http://{HOST}:{receiver.server_address[1]}/build",
                    "events": ["article.created"],
                },
            ).raise_for_status()
        drip_url = f"http://{HOST}:{dripper.server_address[1]}/build"
        for round_ in range(rounds):
            for mode in ("none", "drip") if round_ % 2 == 0 else ("drip", "none"):
                drip_hook = None
                if mode == "drip":
                    dripper.hang_up.clear()
                    response = requests.post(
                        cms.url(HOOKS), headers=admin, timeout=30, json={"url": drip_url}
                    )
                    response.raise_for_status()
                    drip_hook = response.json()["id"]
                prefix = f"drip-{seed}-{round_}-{mode}"
                started = _save(cms, token, rng, prefix, range(saves // 4))
                if drip_hook:  # its backlog sent again at once, as an admin may ask
                    _redeliver_all(cms, admin, drip_hook)
                started |= _save(cms, token, rng, prefix, range(saves // 4, saves))
                samples = _arrivals(healthy, started)
                latency[mode] += samples
                if drip_hook:
                    requests.delete(
                        cms.url(f"{HOOKS}/{drip_hook}"), headers=admin, timeout=30
                    ).raise_for_status()
                    dripper.hang_up.set()  # ends the attempt in flight before the next round
                p99 = summary(samples)["p99"]
                print(
                    f"  {mode}: delivery p99 {p99:.0f} ms ({len(samples)} deliveries)", flush=True
                )
    finally:
        cms.stop()
        for server in servers:
            server.shutdown()
            server.server_close()
    return {
        "latency_ms": {k: summary(v) for k, v in latency.items()},
        "rounds": rounds,
        "saves_per_round": saves,
        "gap_s": GAP_S,
        "drip_s": DRIP_S,
        "drip_attempts": dripper.connections,
    }


def _redeliver_all(cms: Server, admin: dict[str, str], hook: str) -> None:
    response = requests.get(
        cms.url(f"{HOOKS}/{hook}/deliveries?per_page=100"), headers=admin, timeout=30
    )
    response.raise_for_status()
    for delivery in response.json()["items"]:
        requests.post(
            cms.url(f"{HOOKS}/{hook}/deliveries/{delivery['id']}/redeliver"),
            headers=admin,
            timeout=30,
        ).raise_for_status()


def _save(
    cms: Server, token: str, rng: random.Random, prefix: str, numbers: range
) -> dict[str, float]:
    """Create an article per number, one every GAP_S seconds; return when each save
    started."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    started: dict[str, float] = {}
    for n in numbers:
        slug = f"{prefix}-{n}"
        began = time.perf_counter()
        session.post(
            cms.url("/api/v1/manage/articles"), json=make_article(rng, n, slug), timeout=60
        ).raise_for_status()
        started[slug] = began
        time.sleep(max(0.0, began + GAP_S - time.perf_counter()))
    return started


def _arrivals(healthy: list[_TimedServer], started: dict[str, float]) -> list[float]:
    """Wait (up to 120 s) for every save to reach every healthy receiver; return the
    latencies in ms (a delivery that never came counts as the wait)."""
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline and not all(
        slug in r.arrived for r in healthy for slug in started
    ):
        time.sleep(0.05)
    return [
        (r.arrived.get(slug, deadline) - began) * 1000
        for r in healthy
        for slug, began in started.items()
    ]


def rows(figures: dict[str, Any]) -> list[Row]:
    if not figures:
        return []
    return _saves_rows(figures) + _drip_rows(figures.get("drip", {}))


def _drip_rows(figures: dict[str, Any]) -> list[Row]:
    if not figures:
        return []
    drip, none = figures["latency_ms"]["drip"], figures["latency_ms"]["none"]
    ratio = drip["p99"] / none["p99"] if none["p99"] else 0.0
    return [
        Row(
            "webhook_drip_latency_ratio",
            "webhook delivery p99, 3 receivers, a 4th one dripping "
            f"a byte per {figures['drip_s']:g} s",
            "<= 1.2x of none",
            ratio,
            "x",
            f"p99 {drip['p99']:.0f} ms (p50 {drip['median']:.0f}, {drip['count']} deliveries; "
            f"{figures['drip_attempts']} dripped)",
            none["p99"],
            f"no dripping one: p99 {none['p99']:.0f} ms (p50 {none['median']:.0f})",
            ratio,
            f"{ratio:.2f}x",
            ratio <= 1.2,
            figures,
        )
    ]


def _saves_rows(figures: dict[str, Any]) -> list[Row]:
    with_hooks = median(figures["saves_per_s"]["webhooks"])
    without = median(figures["saves_per_s"]["none"])
    ratio = with_hooks / without if without else 0.0
    return [
        Row(
            "webhook_saves_ratio",
            f"saves over HTTP with 3 webhooks to a receiver taking {figures['slow_s']:.0f} s",
            ">= 0.9x of none",
            ratio,
            "x",
            f"{with_hooks:.0f}/s ({figures['deliveries_queued']:,} deliveries queued)",
            without,
            f"no webhooks: {without:.0f}/s",
            ratio,
            f"{ratio:.2f}x",
            ratio >= 0.9,
            figures,
        )
    ]
