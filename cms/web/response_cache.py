"""Finished delivery responses, answered again without entering Flask.

A delivery response is a function of the request and of where `main` and `published` point, so
one kept under those two commits can never be stale: a publish or a push changes the key, and
reading the two refs costs two small file reads. A response is kept only if the refs did not
move while it was made. On a hit this middleware answers by itself, including 304 for a
matching If-None-Match; only a miss reaches the app.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from threading import Lock
from typing import Any

PREFIXES = ("/api/v1/articles", "/api/v1/sync", "/feed.", "/sitemap.xml")
NOT_MODIFIED_KEEPS = {"etag", "cache-control", "vary", "access-control-allow-origin",
                      "access-control-expose-headers"}
Entry = tuple[str, list[tuple[str, str]], bytes]


class ResponseCache:
    def __init__(self, app: Callable[..., Iterable[bytes]], version: Callable[[], Any],
                 size: int = 2048, largest: int = 2 * 1024 * 1024) -> None:
        self.app = app
        self.version = version
        self.size = size
        self.largest = largest
        self._items: OrderedDict[tuple[Any, ...], Entry] = OrderedDict()
        self._lock = Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        if method not in ("GET", "HEAD") or not path.startswith(PREFIXES):
            return self.app(environ, start_response)
        key = (self.version(), environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"),
               environ.get("SERVER_NAME"), path, environ.get("QUERY_STRING", ""))
        with self._lock:
            entry = self._items.get(key)
            if entry is not None:
                self._items.move_to_end(key)
        if entry is None:
            return self._fill(key, environ, start_response)
        status, headers, body = entry
        etag = next((v for k, v in headers if k.lower() == "etag"), None)
        wanted = environ.get("HTTP_IF_NONE_MATCH")
        if etag and wanted and (wanted.strip() == "*" or etag in
                                (t.strip() for t in wanted.split(","))):
            start_response("304 NOT MODIFIED",
                           [(k, v) for k, v in headers if k.lower() in NOT_MODIFIED_KEEPS])
            return [b""]
        start_response(status, headers)
        return [b"" if method == "HEAD" else body]

    def _fill(self, key: tuple[Any, ...], environ: dict[str, Any],
              start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        # kept only if neither line moved while it was made: it may show the newer state,
        # and the lines may come back to the key's (a force push)
        if (environ.get("REQUEST_METHOD") == "GET" and seen.get("status", "").startswith("200")
                and len(body) <= self.largest and self.version() == key[0]):
            with self._lock:
                self._items[key] = (seen["status"], list(seen["headers"]), body)
                if len(self._items) > self.size:
                    self._items.popitem(last=False)
        return [body]
