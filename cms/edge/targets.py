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

Targets are the operator's own caches, so private addresses are allowed (unlike webhooks).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cms.git.remotes import redact

KINDS = ("varnish", "fastly")
VARNISH_HEADER_BYTES = 6000
FASTLY_KEYS = 256
USER_AGENT = "git-cms-purge/1"
_READ_LIMIT = 64 * 1024


class PurgeFailed(Exception):
    """A cache did not take a purge: no answer, or an answer that is not success."""


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
        raise ValueError(
            f"CMS_PURGE_TARGETS: {redact(url)!r} must start with varnish+http:// "
            "or fastly+https://."
        )
    try:
        parts = urlsplit(rest)
        port = parts.port
    except ValueError as e:
        raise ValueError(f"CMS_PURGE_TARGETS: {redact(url)!r} is not a valid URL.") from e
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"CMS_PURGE_TARGETS: {redact(url)!r} needs an http(s) URL with a host.")
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
    return list(
        _varnish_chunks(keys)
        if target.kind == "varnish"
        else (keys[i : i + FASTLY_KEYS] for i in range(0, len(keys), FASTLY_KEYS))
    )


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


def send(target: Target, keys: list[str], *, timeout: float, fastly_key: str | None = None) -> int:
    """Purge `keys` from `target`; return how many requests it took. Raises PurgeFailed."""
    chunks = requests_for(target, keys)
    for chunk in chunks:
        if target.kind == "varnish":
            _request(target, "PURGE", {"xkey": " ".join(chunk)}, None, timeout)
        else:
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            if fastly_key:
                headers["Fastly-Key"] = fastly_key
            body = json.dumps({"surrogate_keys": chunk}).encode()
            _request(target, "POST", headers, body, timeout)
    return len(chunks)


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
    if not 200 <= response.status < 300:
        text = answer.decode("utf-8", "replace").strip()[:200]
        raise PurgeFailed(
            f"{target.shown} answered {response.status} {response.reason}"
            + (f": {text}" if text else "")
        )
