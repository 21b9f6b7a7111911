"""Where the public reaches this server: the root of every absolute URL we write, and which
proxies' `X-Forwarded-*` headers are believed.

Absolute URLs (feed links, pagination `Link` headers, article links) end up in cacheable
public responses, so they never come from a header a client chose: with `CMS_SITE_URL` set
they are built on it, and only without it on the address the request came to. Behind
`CMS_TRUSTED_PROXIES` reverse proxies, werkzeug's ProxyFix takes the client's address and
scheme from the `X-Forwarded-For` and `X-Forwarded-Proto` those proxies add, so the limit on
failed tokens counts per real client and URLs get the real scheme; without the setting,
such headers are ignored (a client could forge them).
"""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix


def root() -> str:
    """The public root URL, without a trailing slash: `CMS_SITE_URL`, or the request's own."""
    site = current_app.config.get("SITE_URL")
    return (site or request.url_root).rstrip("/")


def external(path: str, query: str = "") -> str:
    """The absolute URL of `path` (app-relative, starting with `/`) with an encoded `query`."""
    return f"{root()}{path}{'?' + query if query else ''}"


def trusted_proxies(app: Flask) -> int:
    """`CMS_TRUSTED_PROXIES` as a count; raises ValueError if it is not a whole number >= 0."""
    value = app.config.get("TRUSTED_PROXIES") or 0
    count = int(value)
    if count < 0 or str(count) != str(value).strip():
        raise ValueError(f"CMS_TRUSTED_PROXIES must be a whole number >= 0, not {value!r}")
    return count


def trust_proxies(app: Flask) -> None:
    """Wrap the whole WSGI app (response cache included, since its key holds the scheme) in
    ProxyFix for the configured number of proxies; nothing when there are none."""
    count = trusted_proxies(app)
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]
