"""Finished delivery responses, answered again without entering Flask.

A delivery response is a function of the request and of where `main` and `published` point, so
one kept under those two commits can never be stale: a publish or a push changes the key, and
reading the two refs costs two small file reads. A response is kept only if the refs did not
move while it was made, and only if it is final (`mark`: while the index catches up with a
large push in the background, answers come from an older state; just after one, an answer
may carry a provisional card; neither is kept). On a hit this middleware answers by itself,
including 304 for a matching If-None-Match; only a miss reaches the app.

Memory is bounded by bytes, not by a count of entries: the bodies, headers and keys held never
add up to more than `budget` bytes (least recently used go first), and a response larger than
`largest` is never kept. The key holds only the query parameters the route reads (`params`),
normalised, so `?b=1`, `?b=2`... (cache-busters) all share the entry of the plain URL.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable
from threading import Lock
from typing import Any
from urllib.parse import parse_qsl

from cms.web.paths import CACHED

NOT_MODIFIED_KEEPS = {
    "etag",
    "cache-control",
    "vary",
    "access-control-allow-origin",
    "access-control-expose-headers",
    "surrogate-key",
    "cache-tag",
    "surrogate-control",
    "cdn-cache-control",
}
Entry = tuple[str, list[tuple[str, str]], bytes, int]
VERSION_KEY = "cms.response_cache.version"
# what an entry costs beyond its body and headers (the key, the tuple, the dict slot), roughly
ENTRY_OVERHEAD = 400


class ResponseCache:
    """A WSGI middleware keeping finished GET responses of the delivery routes."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        version: Callable[[], Any],
        *,
        params: Callable[[str], Collection[str] | None],
        budget: int = 64 * 1024 * 1024,
        largest: int = 8 * 1024 * 1024,
        mark: Callable[[], Any] = lambda: 0,
    ) -> None:
        """`version()` names the state an answer depends on; `params(path)` the query
        parameters the route at `path` reads (None: keep the whole query string); an answer
        is final when `mark()` was not None and the same before and after it was made."""
        self.app = app
        self.version = version
        self.params = params
        self.budget = budget
        self.largest = min(largest, budget)
        self.mark = mark
        self._items: OrderedDict[tuple[Any, ...], Entry] = OrderedDict()
        self._bytes = 0
        self._lock = Lock()

    def stats(self) -> dict[str, int]:
        """Return how many responses are kept, the bytes they take, and the budget."""
        with self._lock:
            return {
                "entries": len(self._items),
                "bytes": self._bytes,
                "budget": self.budget,
                "largest": self.largest,
            }

    def key(self, environ: dict[str, Any]) -> tuple[Any, ...]:
        """The key of a request's answer, less the state: where it was asked and what of it
        the route reads."""
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        known = self.params(path)
        if known is not None:
            pairs = parse_qsl(query, keep_blank_values=True, errors="surrogateescape")
            # a stable sort: the order of one parameter's values is kept
            query = tuple(sorted((p for p in pairs if p[0] in known), key=lambda p: p[0]))
        return (
            environ.get("wsgi.url_scheme"),
            environ.get("HTTP_HOST"),
            environ.get("SERVER_NAME"),
            path,
            query,
        )

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        if method not in ("GET", "HEAD") or not path.startswith(CACHED):
            return self.app(environ, start_response)
        key = (self.version(), *self.key(environ))
        # the state just read, for the app not to read it again (see `fast_reads`)
        environ[VERSION_KEY] = key[0]
        with self._lock:
            entry = self._items.get(key)
            if entry is not None:
                self._items.move_to_end(key)
        if entry is None:
            return self._fill(key, environ, start_response)
        status, headers, body, _ = entry
        etag = next((v for k, v in headers if k.lower() == "etag"), None)
        wanted = environ.get("HTTP_IF_NONE_MATCH")
        if (
            etag
            and wanted
            and (wanted.strip() == "*" or etag in (t.strip() for t in wanted.split(",")))
        ):
            start_response(
                "304 NOT MODIFIED", [(k, v) for k, v in headers if k.lower() in NOT_MODIFIED_KEEPS]
            )
            return [b""]
        start_response(status, headers)
        return [b"" if method == "HEAD" else body]

    def _fill(
        self, key: tuple[Any, ...], environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info)

        mark = self.mark()
        result = self.app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        # kept only if neither line moved while it was made: it may show the newer state,
        # and the lines may come back to the key's (a force push)
        if (
            environ.get("REQUEST_METHOD") == "GET"
            and seen.get("status", "").startswith("200")
            and mark is not None
            and self.mark() == mark
            and self.version() == key[0]
        ):
            self._keep(key, seen["status"], list(seen["headers"]), body)
        return [body]

    def _keep(
        self, key: tuple[Any, ...], status: str, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        size = (
            len(body) + sum(len(k) + len(v) for k, v in headers) + len(repr(key)) + ENTRY_OVERHEAD
        )
        if size > self.largest:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[3]
            while self._items and self._bytes + size > self.budget:
                self._bytes -= self._items.popitem(last=False)[1][3]
            self._items[key] = (status, headers, body, size)
            self._bytes += size
