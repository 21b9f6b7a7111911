"""Which URL paths are which: the one table that CORS, the security headers, the response
cache and a replica's refusals read, so that a new route is placed once, here.

Every route of the app starts with a prefix of exactly one area (`tests/test_app_build.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

MANAGE = "/api/v1/manage"


@dataclass(frozen=True)
class Area:
    """A part of the URL space, and how the server treats it."""

    name: str
    prefixes: tuple[str, ...]
    any_origin: bool = False  # a browser page of any origin may read it (CORS, no cookies)
    replicated: bool = False  # a read replica answers its GET, HEAD and OPTIONS
    cached: bool = False  # the response cache keeps its answers


AREAS = (
    Area(
        "delivery",
        ("/api/v1/articles", "/api/v1/sync", "/feed.", "/sitemap"),
        any_origin=True,
        replicated=True,
        cached=True,
    ),
    Area("media", ("/media/",), any_origin=True, replicated=True),
    # the link is the credential: a frontend on another origin opens it
    Area("preview links", ("/api/v1/preview/links/",), any_origin=True),
    Area("service", ("/healthz", "/api/v1/openapi.json"), replicated=True),
    # the sample frontend's three files (`cms.web.frontend`), read-only like delivery
    Area("sample frontend", ("/frontend/",), replicated=True),
    # editors' calls: CORS only for `CMS_MANAGE_CORS_ORIGINS`, answers never stored
    Area("management", (MANAGE,)),
    Area("workbench", ("/admin", "/api/v1/decap", "/api/v1/session", "/api/v1/preview/articles")),
)


def area(path: str) -> Area | None:
    """The area `path` is in (None for a path no route starts with)."""
    return next((a for a in AREAS if path.startswith(a.prefixes)), None)


def _prefixes(**flag: bool) -> tuple[str, ...]:
    return tuple(
        p for a in AREAS if all(getattr(a, k) == v for k, v in flag.items()) for p in a.prefixes
    )


ANY_ORIGIN = _prefixes(any_origin=True)
REPLICATED = _prefixes(replicated=True)
CACHED = _prefixes(cached=True)
