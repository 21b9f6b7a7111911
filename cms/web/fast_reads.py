"""`GET /api/v1/articles/{slug}` answered without entering Flask, when nothing but the body and
its ETag can differ from the app's own answer.

A live article's answer is its JSON, kept ready in the index (`Delivery.article`), its
surrogate keys (the article and its neighbours, see `cms.web.edge`), plus headers that are the
same for every article: content type, Cache-Control, CORS, the security headers. Flask,
flask-smorest, flask-cors and flask-limiter cost several times the work of finding the
article, so a cache miss on an article read was 3.5x the CPU of a bare Flask app.
This middleware lets the app answer the route's first successful GET (for requests with and
without an `Origin` header separately) and learns its headers, less ETag and Content-Length;
after that it answers a live article itself with those headers, the body's ETag as
`Response.add_etag` makes it (SHA-1 of the body), a Date as `make_conditional` adds it, and
304 for a matching If-None-Match.
Anything else (HEAD, a slug that cannot be one, an article that is not live, any error) goes
to the app, which answers as it always does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from hashlib import sha1
from threading import Lock
from typing import Any

from werkzeug.http import http_date

from cms.content.document import SLUG_MAX, SLUG_RE
from cms.delivery.service import Delivery
from cms.edge import keys
from cms.web import edge
from cms.web.response_cache import NOT_MODIFIED_KEEPS, VERSION_KEY

PREFIX = "/api/v1/articles/"
SLUG = re.compile(SLUG_RE)
LEARNT_WITHOUT = {"etag", "content-length", "date", *edge.PER_ANSWER}


class ArticleReads:
    """A WSGI middleware answering live article reads from `delivery` directly."""

    def __init__(self, app: Callable[..., Iterable[bytes]], delivery: Delivery) -> None:
        self.app = app
        self.delivery = delivery
        self._headers: dict[bool, list[tuple[str, str]]] = {}
        self._lock = Lock()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        slug = path[len(PREFIX) :]
        if (
            environ.get("REQUEST_METHOD") != "GET"
            or not path.startswith(PREFIX)
            or len(slug) > SLUG_MAX
            or not SLUG.match(slug)
        ):
            return self.app(environ, start_response)
        origin = bool(environ.get("HTTP_ORIGIN"))
        headers = self._headers.get(origin)
        if headers is None:
            return self._learn(origin, environ, start_response)
        try:
            # where the lines point, as the response cache just read them (`Repository.tips`)
            text, shown = self.delivery.live_article(slug, environ.get(VERSION_KEY))
        except Exception:  # noqa: BLE001 - not found, or a fault: the app answers it as ever
            return self.app(environ, start_response)
        body = text.encode()
        etag = f'"{sha1(body).hexdigest()}"'
        tags = list(keys.headers(edge.article_keys(slug, shown)).items())
        wanted = environ.get("HTTP_IF_NONE_MATCH")
        if wanted and (wanted.strip() == "*" or etag in (t.strip() for t in wanted.split(","))):
            start_response(
                "304 NOT MODIFIED",
                [
                    ("ETag", etag),
                    *tags,
                    *((k, v) for k, v in headers if k.lower() in NOT_MODIFIED_KEEPS),
                ],
            )
            return [b""]
        start_response(
            "200 OK",
            [
                *headers,
                *tags,
                ("ETag", etag),
                ("Date", http_date()),
                ("Content-Length", str(len(body))),
            ],
        )
        return [body]

    def _learn(
        self, origin: bool, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if status.startswith("200") and any(k.lower() == "etag" for k, _ in headers):
                with self._lock:
                    self._headers.setdefault(
                        origin, [(k, v) for k, v in headers if k.lower() not in LEARNT_WITHOUT]
                    )
            return start_response(status, headers, exc_info)

        return self.app(environ, capture)
