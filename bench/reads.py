"""Read measurements against `cms serve` and the bare Flask baseline, alternated so drift cancels.

- `throughput`: short wrk runs (`-t2 -c16`), cms and bare back to back in each round (the
  ratio is taken per round, then the median over rounds), recording the workers' CPU time per
  request too, which other load on the machine disturbs far less than req/s. Cached: one
  article (the CMS answers from its per-worker response cache, as it does in production for a
  hot article). Uncached: rotating over many slugs with a unique query string per request
  (unknown parameters are ignored, and a new URL is a new cache key, so every CMS request
  renders);
- `list_latency`: each request timed client-side (`time.perf_counter` around `http.client`)
  from several threads, over distinct `?tag=&page=` combinations so none is a cache hit;
- `fetch_bare_data`: the exact bytes the bare app serves, fetched from the CMS first.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .servers import HOST, Server, get
from .stats import summary

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass
class WrkRun:
    server: str
    mode: str
    requests_per_s: float
    requests: int
    errors: int  # non-2xx/3xx answers and socket errors
    latency_ms: dict[str, float]
    cpu_ms_per_request: float  # the server's workers' CPU time per answered request
    round: int = 0


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert m, text
    return float(m.group(1)) * UNITS[m.group(2)]


def wrk(
    server: Server, path: str, seconds: int, connections: int, mode: str, script: str | None = None
) -> WrkRun:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        command += ["-s", script]
    cpu_before = server.worker_cpu_s()
    out = subprocess.run(
        [*command, server.url(path)],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    cpu = server.worker_cpu_s() - cpu_before
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in m.groups())
    latency = {f"p{p}": _ms(v) for p, v in re.findall(r"^\s+(\d+)%\s+(\S+)$", out, re.M)}
    return WrkRun(
        server.name,
        mode,
        rate,
        total,
        errors,
        latency,
        cpu * 1000 / total if total else float("nan"),
    )


def rotation_script(folder: str, paths: list[str]) -> str:
    """A wrk Lua script cycling over `paths`, each request with a unique cache-busting query."""
    listed = ",\n".join(json.dumps(p) for p in paths)
    script = f"""
local paths = {{
{listed}
}}
local threads = 0
local counter = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end
init = function(args)
  counter = id * math.floor(#paths / 2)
end
request = function()
  counter = counter + 1
  local path = paths[(counter % #paths) + 1] .. "?nocache=" .. id .. "-" .. counter
  return wrk.format("GET", path)
end
"""
    target = Path(folder) / "rotate.lua"
    target.write_text(script)
    return str(target)


def throughput(
    cms: Server, bare: Server, path: str, script: str, seconds: int, rounds: int, connections: int
) -> list[WrkRun]:
    """wrk on both servers, cached and uncached, in alternating order each round."""
    runs = []
    for round_ in range(rounds):
        servers = (cms, bare) if round_ % 2 == 0 else (bare, cms)
        for mode in ("cached", "uncached"):
            for server in servers:
                run = wrk(
                    server, path, seconds, connections, mode, script if mode == "uncached" else None
                )
                run.round = round_
                print(
                    f"  wrk {mode:<8} {server.name:<4} {run.requests_per_s:8.0f} req/s "
                    f"(p99 {run.latency_ms.get('p99', float('nan')):.1f} ms, "
                    f"{run.cpu_ms_per_request:.2f} ms CPU/request, {run.errors} errors)",
                    flush=True,
                )
                runs.append(run)
    return runs


def fetch_bare_data(
    cms: Server, slugs: list[str], list_path: str, target: str, threads: int = 4
) -> None:
    """Write the bare app's data file: each article's and one list page's exact bytes."""
    bodies: dict[str, str] = {}
    lock = threading.Lock()
    todo = iter(slugs)

    def fetch() -> None:
        while True:
            with lock:
                slug = next(todo, None)
            if slug is None:
                return
            status, body = get(cms.port, f"/api/v1/articles/{slug}", timeout=60)
            assert status == 200, (slug, status)
            with lock:
                bodies[slug] = body.decode()

    workers = [threading.Thread(target=fetch) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    status, listing = get(cms.port, list_path, timeout=60)
    assert status == 200, status
    ordered = {slug: bodies[slug] for slug in slugs}
    Path(target).write_text(json.dumps({"articles": ordered, "list": listing.decode()}))


@dataclass
class Latencies:
    server: str
    errors: int
    elapsed_s: float
    times_ms: list[float]

    @property
    def requests(self) -> int:
        return len(self.times_ms)

    @property
    def ms(self) -> dict[str, float]:
        return summary(self.times_ms)

    @classmethod
    def merge(cls, parts: list[Latencies]) -> Latencies:
        return cls(
            parts[0].server,
            sum(p.errors for p in parts),
            sum(p.elapsed_s for p in parts),
            [t for p in parts for t in p.times_ms],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "requests": self.requests,
            "errors": self.errors,
            "elapsed_s": self.elapsed_s,
            "ms": self.ms,
        }


def list_latency(server: Server, paths: list[str], clients: int, max_seconds: float) -> Latencies:
    """GET every path once from `clients` threads (keep-alive); time each request."""
    times: list[float] = []
    errors = 0
    lock = threading.Lock()
    todo = iter(paths)
    deadline = time.perf_counter() + max_seconds

    def client() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection(HOST, server.port, timeout=30)
        try:
            while time.perf_counter() < deadline:
                with lock:
                    path = next(todo, None)
                if path is None:
                    return
                t0 = time.perf_counter()
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                elapsed = (time.perf_counter() - t0) * 1000
                with lock:
                    times.append(elapsed)
                    errors += response.status != 200
        finally:
            conn.close()

    t0 = time.perf_counter()
    workers = [threading.Thread(target=client) for _ in range(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return Latencies(server.name, errors, time.perf_counter() - t0, times)


def wrk_json(runs: list[WrkRun]) -> list[dict[str, Any]]:
    return [asdict(r) for r in runs]
