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

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from cms.web.services import services


def root() -> str:
    """The public root URL, without a trailing slash: `CMS_SITE_URL`, or the request's own."""
    site = services().settings.site_url
    return (site or request.url_root).rstrip("/")


def external(path: str, query: str = "") -> str:
    """The absolute URL of `path` (app-relative, starting with `/`) with an encoded `query`."""
    return f"{root()}{path}{'?' + query if query else ''}"


def trust_proxies(app: Flask) -> None:
    """Wrap the whole WSGI app (response cache included, since its key holds the scheme) in
    ProxyFix for the configured number of proxies; nothing when there are none."""
    count = services(app).settings.trusted_proxies
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]
