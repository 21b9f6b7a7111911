"""The caches purges go to (`CMS_PURGE_TARGETS`), and one purge sent to one of them.

- `varnish+http://host:port[/path]`: Varnish with the xkey vmod, as `deploy/varnish/default.vcl`
  sets it up: `PURGE <path>` with the keys, space-separated, in an `xkey` header; it answers
  200. Keys go in requests of at most VARNISH_HEADER_BYTES (Varnish refuses a header line over
  `http_req_hdr_len`, 8 KB by default).
- `fastly+https://host/...` (or `fastly+http://`): a Fastly-style purge API, the URL being the
  whole endpoint (Fastly's is `https://api.fastly.com/service/<service id>/purge`): `POST` with
  `Content-Type: application/json` and `{"surrogate_keys": [...]}`, at most FASTLY_KEYS keys
  a request, and `Fastly-Key: <CMS_PURGE_FASTLY_KEY>` when that is set; any 2xx answer is
  success.
- `cloudflare+https://api.cloudflare.com/client/v4/zones/<zone id>/purge_cache`: Cloudflare's
  purge by cache tag (the `Cache-Tag` header every delivery answer carries): `POST` with
  `{"tags": [...]}`, at most CLOUDFLARE_TAGS tags a request (Cloudflare's limit on every
  plan), and `Authorization: Bearer <CMS_PURGE_CLOUDFLARE_TOKEN>`; success is a 2xx answer
  whose JSON does not say `"success": false`.

A purge of several requests that fails part-way raises PurgeFailed saying how many keys (the
first ones) went through, so only the rest is tried again: a cache that limits its rate
(Cloudflare's free plan takes 5 purges a minute) is never sent the same requests over and
over. A `Retry-After` in a failed answer (a 429, a 503) is the least wait before the next try.

Targets are the operator's own caches, so private addresses are allowed (unlike webhooks).
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from cms.git.remotes import redact
from cms.settings import CLOUDFLARE_PATH, PURGE_KINDS, PURGE_SHAPES

KINDS = PURGE_KINDS
VARNISH_HEADER_BYTES = 6000
FASTLY_KEYS = 256
CLOUDFLARE_TAGS = 100
USER_AGENT = "git-cms-purge/1"
_READ_LIMIT = 64 * 1024
# the longest `Retry-After` taken at its word, in seconds
RETRY_AFTER_MAX = 3600.0


class PurgeFailed(Exception):
    """A cache did not take a purge: no answer, or an answer that is not success.
    `done`: how many of the keys (the first ones) went through in the requests before;
    `requests`: those requests; `retry_after`: the seconds the cache asked to wait."""

    def __init__(
        self, message: str, *, done: int = 0, requests: int = 0, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.done = done
        self.requests = requests
        self.retry_after = retry_after


@dataclass(frozen=True)
class Target:
    """One cache: `url` as configured, what it is, and where its requests go."""

    url: str
    kind: str
    scheme: str
    host: str
    port: int
    path: str

    @property
    def shown(self) -> str:
        """The URL with any secret in it hidden, for status pages."""
        return redact(self.url)


def parse(value: Any) -> list[Target]:
    """The targets of `CMS_PURGE_TARGETS` (comma-separated, or a list); raises ValueError
    naming the setting and the entry at fault."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    found: list[Target] = []
    for item in (str(i).strip() for i in items):
        if item:
            found.append(_target(item))
    if len({t.url for t in found}) != len(found):
        raise ValueError("CMS_PURGE_TARGETS names one target twice.")
    return found


def _target(url: str) -> Target:
    kind, plus, rest = url.partition("+")
    if not plus or kind not in KINDS:
        raise ValueError(f"CMS_PURGE_TARGETS: {redact(url)!r} must be one of {PURGE_SHAPES}.")
    try:
        parts = urlsplit(rest)
        port = parts.port
    except ValueError as e:
        raise ValueError(f"CMS_PURGE_TARGETS: {redact(url)!r} is not a valid URL.") from e
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"CMS_PURGE_TARGETS: {redact(url)!r} needs an http(s) URL with a host.")
    if kind == "cloudflare" and not CLOUDFLARE_PATH.fullmatch(parts.path):
        raise ValueError(
            f"CMS_PURGE_TARGETS: {redact(url)!r} is not a zone's purge endpoint "
            "(.../zones/<zone id>/purge_cache)."
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(
        url,
        kind,
        parts.scheme,
        parts.hostname,
        port or (443 if parts.scheme == "https" else 80),
        path,
    )


def requests_for(target: Target, keys: list[str]) -> list[list[str]]:
    """`keys` split into the requests `target` takes."""
    if target.kind == "varnish":
        return list(_varnish_chunks(keys))
    size = FASTLY_KEYS if target.kind == "fastly" else CLOUDFLARE_TAGS
    return [keys[i : i + size] for i in range(0, len(keys), size)]


def _varnish_chunks(keys: list[str]) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 0
    for key in keys:
        if chunk and size + len(key) + 1 > VARNISH_HEADER_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(key)
        size += len(key) + 1
    if chunk:
        yield chunk


def send(
    target: Target,
    keys: list[str],
    *,
    timeout: float,
    fastly_key: str | None = None,
    cloudflare_token: str | None = None,
) -> int:
    """Purge `keys` from `target`; return how many requests it took. Raises PurgeFailed
    (saying how many keys went through before)."""
    chunks = requests_for(target, keys)
    done = 0
    for n, chunk in enumerate(chunks):
        try:
            _request(target, *_shape(target, chunk, fastly_key, cloudflare_token), timeout)
        except PurgeFailed as e:
            e.done, e.requests = done, n
            raise
        done += len(chunk)
    return len(chunks)


def _shape(
    target: Target, chunk: list[str], fastly_key: str | None, cloudflare_token: str | None
) -> tuple[str, dict[str, str], bytes | None]:
    """The method, headers and body of one request purging `chunk` from `target`."""
    if target.kind == "varnish":
        return "PURGE", {"xkey": " ".join(chunk)}, None
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if target.kind == "fastly":
        if fastly_key:
            headers["Fastly-Key"] = fastly_key
        return "POST", headers, json.dumps({"surrogate_keys": chunk}).encode()
    if cloudflare_token:
        headers["Authorization"] = f"Bearer {cloudflare_token}"
    return "POST", headers, json.dumps({"tags": chunk}).encode()


def _request(
    target: Target, method: str, headers: dict[str, str], body: bytes | None, timeout: float
) -> None:
    connection: http.client.HTTPConnection = (
        http.client.HTTPSConnection(target.host, target.port, timeout=timeout)
        if target.scheme == "https"
        else http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    )
    try:
        connection.request(
            method, target.path, body=body, headers={"User-Agent": USER_AGENT, **headers}
        )
        response = connection.getresponse()
        answer = response.read(_READ_LIMIT)
    except (OSError, http.client.HTTPException) as e:
        raise PurgeFailed(f"{target.shown}: {type(e).__name__}: {e}") from e
    finally:
        connection.close()
    text = answer.decode("utf-8", "replace").strip()
    if not 200 <= response.status < 300:
        raise PurgeFailed(
            f"{target.shown} answered {response.status} {response.reason}"
            + (f": {text[:200]}" if text else ""),
            retry_after=retry_after(response.getheader("Retry-After")),
        )
    if target.kind == "cloudflare" and _refused(text):
        # Cloudflare's envelope: {"success": false, "errors": [{"code", "message"}], ...}
        raise PurgeFailed(
            f"{target.shown} answered {response.status} without success: {text[:200]}"
        )


def _refused(text: str) -> bool:
    try:
        found = json.loads(text)
    except ValueError:
        return False
    return isinstance(found, dict) and found.get("success") is False


def retry_after(value: str | None) -> float | None:
    """The seconds a `Retry-After` header asks to wait (RFC 9110: seconds or an HTTP date),
    at most RETRY_AFTER_MAX; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = (
            float(value)
            if value.isdigit()
            else parsedate_to_datetime(value).timestamp() - time.time()
        )
    except (TypeError, ValueError, OverflowError):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_MAX)
