"""Saves over HTTP with 3 webhooks pointed at a slow receiver, beside the same saves with none.

One `cms serve` (2 workers, CMS_WEBHOOK_ALLOW_PRIVATE=true) on the suite's repository; rounds
alternate between no webhooks and three webhooks (all events) to a receiver on 127.0.0.1 that
takes `SLOW_S` seconds to answer each delivery, so deliveries pile up in the outbox while the
clients save. Each round is `http_saves.run` (the same clients as the HTTP saves row); the
webhooks are removed, with what they still had queued, before each round without them.
Target (issue 14): saves/s with the webhooks stays within 10% of saves/s without.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from cms.auth.tokens import TokenStore

from . import http_saves
from .report import Row
from .servers import HOST, start_cms
from .settings import Settings
from .stats import median

SLOW_S = 1.0
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


def run(settings: Settings, git_dir: str, workdir: str, token: str, seed: int
        ) -> dict[str, Any]:
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
                    requests.delete(cms.url(f"{HOOKS}/{hook['id']}"), headers=admin,
                                    timeout=30).raise_for_status()
                if mode == "webhooks":
                    for n in range(3):
                        requests.post(cms.url(HOOKS), headers=admin, timeout=30,
                                      json={"url": f"{url}/{n}"}).raise_for_status()
                result, _ = http_saves.run(cms, token, settings.http_clients, seconds,
                                           settings.http_max_saves, seed * 31 + round_ * 2 +
                                           (mode == "webhooks"))
                rates[mode].append(result.per_second)
                if mode == "webhooks":
                    queued += sum(requests.get(cms.url(f"{HOOKS}/{h['id']}/deliveries"),
                                               headers=admin, timeout=30).json()["meta"]["total"]
                                  for h in _hooks(cms.url(HOOKS), admin))
                print(f"  {mode}: {result.per_second:.0f} saves/s", flush=True)
    finally:
        cms.stop()
        receiver.shutdown()
        receiver.server_close()
    return {"saves_per_s": rates, "rounds": rounds, "round_s": seconds, "slow_s": SLOW_S,
            "deliveries_queued": queued, "deliveries_received": _Slow.received}


def _hooks(url: str, admin: dict[str, str]) -> list[dict[str, Any]]:
    response = requests.get(url, headers=admin, timeout=30)
    response.raise_for_status()
    return list(response.json()["items"])


def rows(figures: dict[str, Any]) -> list[Row]:
    if not figures:
        return []
    with_hooks = median(figures["saves_per_s"]["webhooks"])
    without = median(figures["saves_per_s"]["none"])
    ratio = with_hooks / without if without else 0.0
    return [Row(
        "webhook_saves_ratio", f"saves over HTTP with 3 webhooks to a receiver taking "
        f"{figures['slow_s']:.0f} s", ">= 0.9x of none", ratio, "x",
        f"{with_hooks:.0f}/s ({figures['deliveries_queued']:,} deliveries queued)", without,
        f"no webhooks: {without:.0f}/s", ratio, f"{ratio:.2f}x", ratio >= 0.9, figures,
    )]
