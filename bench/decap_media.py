"""Decap's media library (`getMedia` at POST /api/v1/decap) over big images (issue 25, item 4).

Under the media phase's `cms serve`: PNGs of random pixels of about 15 MB each are uploaded
through the management API (which makes no thumbnail), then a signed-in workbench session
asks for the library as Decap does, again until every file has its thumbnail (an answer makes
at most `MEDIA_RENDERS`), and then three times at once. Figures: the bytes of each answer and
the workers' RSS after it, now and at its peak since the uploads (VmHWM). Baseline: the bytes
the answer carried while `getMedia` sent every file's original, base64 (4/3 of their sizes).
"""

from __future__ import annotations

import http.client
import io
import json
import random
import threading
import time
from typing import Any

from PIL import Image

from cms.workbench.media import MEDIA_ANSWER_BYTES, MEDIA_RENDERS

from .report import Row
from .servers import HOST, Server

SIDE = 2240  # 2240 x 2240 random RGB pixels: a PNG of about 15 MB


def noise_png(seed: int) -> bytes:
    pixels = random.Random(seed).randbytes(SIDE * SIDE * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (SIDE, SIDE), pixels).save(out, "PNG", compress_level=1)
    return out.getvalue()


def _session(cms: Server, token: str) -> dict[str, str]:
    """Headers of a signed-in workbench session (its cookie, this server's Origin)."""
    conn = http.client.HTTPConnection(HOST, cms.port, timeout=30)
    origin = cms.url()
    conn.request(
        "POST",
        "/api/v1/session",
        json.dumps({"token": token}),
        {"Content-Type": "application/json", "Origin": origin},
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 204:
        raise RuntimeError(f"sign-in answered {response.status}")
    cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    return {"Cookie": cookie, "Origin": origin, "Content-Type": "application/json"}


def _get_media(cms: Server, headers: dict[str, str]) -> tuple[list[dict[str, Any]], int, float]:
    """Decap's getMedia: the files, the answer's size in bytes, and its milliseconds."""
    body = json.dumps({"action": "getMedia", "params": {"branch": "main", "mediaFolder": "media"}})
    conn = http.client.HTTPConnection(HOST, cms.port, timeout=300)
    t0 = time.perf_counter()
    conn.request("POST", "/api/v1/decap", body, headers)
    response = conn.getresponse()
    data = response.read()
    ms = (time.perf_counter() - t0) * 1000
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"getMedia answered {response.status}: {data[:300]!r}")
    return json.loads(data), len(data), ms


def run(cms: Server, token: str, upload: Any, count: int) -> dict[str, Any]:
    """Upload `count` big PNGs with `upload(data, name)`, then measure getMedia."""
    sizes = []
    for seed in range(count):
        data = noise_png(1000 + seed)
        sizes.append(len(data))
        upload(data, f"noise-{seed}.png")
    headers = _session(cms, token)
    after_uploads = cms.worker_rss_mb()
    cms.reset_peak_rss()  # the peak from here on is getMedia's, not the uploads'
    answers = []
    for _ in range(-(-count // MEDIA_RENDERS) + 1):  # until every thumbnail is made, and once
        files, size, ms = _get_media(cms, headers)
        answers.append(
            {
                "bytes": size,
                "ms": ms,
                "files": len(files),
                "with_thumbnail": sum(bool(f["content"]) for f in files),
                "worker_rss_mb": cms.worker_rss_mb(),
                "worker_peak_rss_mb": cms.worker_peak_rss_mb(),
            }
        )
    together: list[int] = []
    threads = [
        threading.Thread(target=lambda: together.append(_get_media(cms, headers)[1]))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out = {
        "count": count,
        "original_bytes": sizes,
        "answers": answers,
        "worker_rss_mb_after_uploads": after_uploads,
        "three_at_once_bytes": together,
        "worker_rss_mb": cms.worker_rss_mb(),
        "worker_peak_rss_mb": cms.worker_peak_rss_mb(),
        "budget_bytes": MEDIA_ANSWER_BYTES,
    }
    print(
        f"  Decap getMedia over {count} PNGs of {sizes[0] / 1e6:.0f} MB: answers "
        f"{', '.join(str(a['bytes']) for a in answers)} bytes (first {answers[0]['ms']:.0f} "
        f"ms, last {answers[-1]['ms']:.0f} ms); workers' peak RSS "
        f"{max(out['worker_peak_rss_mb']):.0f} MB",
        flush=True,
    )
    return out


def rows(result: dict[str, Any] | None) -> list[Row]:
    if not result:
        return []
    largest = max([a["bytes"] for a in result["answers"]] + result["three_at_once_bytes"])
    before = sum(result["original_bytes"]) * 4 / 3
    peak = max(result["worker_peak_rss_mb"])
    return [
        Row(
            "decap_media_answer_bytes",
            f"Decap getMedia over {result['count']} PNGs of "
            f"{result['original_bytes'][0] / 1e6:.0f} MB, 1 answer then 3 at once",
            f"<= {MEDIA_ANSWER_BYTES / 2**20:.0f} MiB",
            largest,
            "bytes",
            f"largest answer {largest / 1e3:.0f} kB; workers' peak RSS {peak:.0f} MB",
            before,
            f"originals as base64 {before / 1e6:.0f} MB",
            largest / before if before else None,
            f"{largest / before:.4f}x" if before else "-",
            largest <= MEDIA_ANSWER_BYTES + 500 * result["count"],
            result,
        )
    ]
