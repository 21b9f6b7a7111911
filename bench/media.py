"""The media library under `cms serve`: renditions once made against the original, and uploads
of 5 MB JPEGs.

- serving: one published demo picture (1600x1000 JPEG). After one request has made the
  640-wide rendition, the same client asks for `?w=640` and for the original in alternating
  chunks over one keep-alive connection, each request timed; the row is the ratio of the p99s
  (target: the rendition within 1.5x of the original);
- uploads: distinct generated JPEGs of about 5 MB (noise, so they do not compress away), each
  POSTed as multipart; the median time beside `git hash-object -w` of the same bytes (the
  floor: git storing them) and Pillow decoding them (the check), and the workers' RSS after
  them beside the idle workers';
- Decap's media library over big PNGs (`decap_media`), under the same server.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import random
import subprocess
import time
from pathlib import Path
from typing import Any

from PIL import Image

from cms.auth.tokens import TokenStore
from cms.demo.pictures import pictures
from cms.media.images import check_image
from cms.store import ArticleStore

from . import decap_media
from .report import Row
from .servers import HOST, Server, start_cms
from .stats import median, summary

TARGET_BYTES = 5 * 1000 * 1000


def noise_jpeg(seed: int, target: int = TARGET_BYTES) -> bytes:
    """A JPEG of random pixels of about `target` bytes (noise keeps JPEG from shrinking it)."""
    rng = random.Random(seed)
    side = 1500
    while True:
        pixels = rng.randbytes(side * side * 3)
        out = io.BytesIO()
        Image.frombytes("RGB", (side, side), pixels).save(out, "JPEG", quality=92)
        data = out.getvalue()
        if len(data) >= target * 0.95:
            return data
        side = int(side * (target / len(data)) ** 0.5) + 16


def _request(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, float]:
    t0 = time.perf_counter()
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    return response.status, data, (time.perf_counter() - t0) * 1000


def _multipart(data: bytes, name: str) -> tuple[bytes, str]:
    boundary = "bench-media-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"'
        f"\r\nContent-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), boundary


def _upload(
    conn: http.client.HTTPConnection, token: str, data: bytes, name: str
) -> tuple[dict[str, Any], float]:
    body, boundary = _multipart(data, name)
    status, answer, ms = _request(
        conn,
        "POST",
        "/api/v1/manage/media",
        body,
        {
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    if status != 201:
        raise RuntimeError(f"upload answered {status}: {answer[:300]!r}")
    return json.loads(answer), ms


def _serving(cms: Server, path: str, requests: int) -> dict[str, Any]:
    conn = http.client.HTTPConnection(HOST, cms.port, timeout=30)
    t0 = time.perf_counter()
    status, first, cold_ms = _request(conn, "GET", f"/{path}?w=640")
    if status != 200:
        raise RuntimeError(f"rendition answered {status}")
    times: dict[str, list[float]] = {"rendition": [], "original": []}
    urls = {"rendition": f"/{path}?w=640", "original": f"/{path}"}
    sizes = {}
    for _ in range(20):  # warm both
        for kind, url in urls.items():
            _, body, _ = _request(conn, "GET", url)
            sizes[kind] = len(body)
    chunk = 50
    for i in range(0, requests, chunk):
        order = ("rendition", "original") if (i // chunk) % 2 == 0 else ("original", "rendition")
        for kind in order:
            for _ in range(chunk):
                status, _, ms = _request(conn, "GET", urls[kind])
                if status != 200:
                    raise RuntimeError(f"{kind} answered {status}")
                times[kind].append(ms)
    conn.close()
    return {
        "first_rendition_ms": cold_ms,
        "bytes": sizes,
        "elapsed_s": time.perf_counter() - t0,
        **{kind: summary(samples) for kind, samples in times.items()},
    }


def _uploads(cms: Server, token: str, workdir: str, count: int) -> dict[str, Any]:
    idle = cms.worker_rss_mb()
    images = [noise_jpeg(seed) for seed in range(count)]
    conn = http.client.HTTPConnection(HOST, cms.port, timeout=120)
    upload_ms = []
    for i, data in enumerate(images):
        _, ms = _upload(conn, token, data, f"noise-{i}.jpg")
        upload_ms.append(ms)
    conn.close()
    after = cms.worker_rss_mb()
    hash_ms, decode_ms = [], []
    for i, data in enumerate(images):
        target = Path(workdir) / f"noise-{i}.jpg"
        target.write_bytes(data)
        scratch = Path(workdir) / "media-baseline.git"
        if not scratch.exists():
            subprocess.run(["git", "init", "-q", "--bare", str(scratch)], check=True)
        t0 = time.perf_counter()
        subprocess.run(
            ["git", "--git-dir", str(scratch), "hash-object", "-w", str(target)],
            check=True,
            capture_output=True,
        )
        hash_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        check_image(data)
        decode_ms.append((time.perf_counter() - t0) * 1000)
        target.unlink()
    return {
        "count": count,
        "bytes": [len(d) for d in images],
        "upload_ms": upload_ms,
        "git_hash_object_ms": hash_ms,
        "decode_ms": decode_ms,
        "worker_rss_mb_idle": idle,
        "worker_rss_mb_after": after,
    }


def run(workdir: str, quick: bool) -> dict[str, Any]:
    """Measure both in a repository of their own; return the figures."""
    folder = os.path.join(workdir, "media-repo")
    store = ArticleStore.init(folder)
    _, token = TokenStore(store.repo.git_dir).create("Bench Editor", "bench@example.org", "editor")
    cms = start_cms(store.repo.git_dir, workdir, "/healthz")
    try:
        conn = http.client.HTTPConnection(HOST, cms.port, timeout=60)
        picture = pictures()["library-reading-room"]
        stored, _ = _upload(conn, token, picture, "library.jpg")
        article = {
            "title": "Media bench",
            "image": {"src": stored["path"], "alt": "A room"},
            "body": [{"type": "paragraph", "text": "A picture."}],
        }
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for method, path, body in (
            ("POST", "/api/v1/manage/articles", json.dumps(article).encode()),
            ("POST", "/api/v1/manage/articles/media-bench/publish", b"{}"),
        ):
            status, answer, _ = _request(conn, method, path, body, auth)
            if status not in (200, 201):
                raise RuntimeError(f"{path} answered {status}: {answer[:300]!r}")
        conn.close()
        out = {"serving": _serving(cms, stored["path"], 400 if quick else 4000)}
        out["uploads"] = _uploads(cms, token, workdir, 2 if quick else 6)
        conn = http.client.HTTPConnection(HOST, cms.port, timeout=120)
        out["decap"] = decap_media.run(
            cms, token, lambda data, name: _upload(conn, token, data, name), 2 if quick else 10
        )
        conn.close()
    finally:
        cms.stop()
    s, u = out["serving"], out["uploads"]
    print(
        f"  /media p99: rendition {s['rendition']['p99']:.2f} ms, original "
        f"{s['original']['p99']:.2f} ms (first rendition {s['first_rendition_ms']:.0f} ms); "
        f"5 MB upload median {median(u['upload_ms']):.0f} ms, worker RSS "
        f"{max(u['worker_rss_mb_after']):.0f} MB (idle {max(u['worker_rss_mb_idle']):.0f})",
        flush=True,
    )
    return out


def rows(media: dict[str, Any]) -> list[Row]:
    """The two media rows of the table (none if the phase did not run)."""
    if not media:
        return []
    s, u = media["serving"], media["uploads"]
    rendition, original = s["rendition"]["p99"], s["original"]["p99"]
    upload, hashing = median(u["upload_ms"]), median(u["git_hash_object_ms"])
    decode = median(u["decode_ms"])
    rss, idle = max(u["worker_rss_mb_after"]), max(u["worker_rss_mb_idle"])
    mb = median(u["bytes"]) / 1e6
    return [
        Row(
            "media_rendition_p99_ms",
            "GET /media ?w=640 once made, 1 client",
            "<= 1.5x original",
            rendition,
            "ms",
            f"p99 {rendition:.2f} ms (p50 {s['rendition']['median']:.2f}; "
            f"first render {s['first_rendition_ms']:.0f} ms)",
            original,
            f"original 1600x1000 JPEG p99 {original:.2f} ms",
            rendition / original,
            f"{rendition / original:.2f}x",
            rendition <= 1.5 * original,
            s,
        ),
        Row(
            "media_upload_5mb_ms",
            f"upload of a {mb:.1f} MB JPEG over HTTP",
            "info",
            upload,
            "ms",
            f"median {upload:.0f} ms; worker RSS {rss:.0f} MB after",
            hashing,
            f"git hash-object -w {hashing:.0f} ms; decode {decode:.0f} ms; idle RSS {idle:.0f} MB",
            upload / hashing if hashing else None,
            f"{upload / hashing:.1f}x hash-object" if hashing else "-",
            None,
            u,
        ),
        *decap_media.rows(media.get("decap")),
    ]
