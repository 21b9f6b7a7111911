"""Defences every response shares: security headers, no caching of editors' data, and a limit
on failed token attempts (flask-limiter), so tokens cannot be guessed by brute force.

The limiter counts only answers that were 401, per client address. Its counts live in each
worker's memory (no shared store is needed), so with W workers a client gets at most W times
the limit; that still makes guessing a 256-bit token hopeless.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from cms.web import manage, media, preview, session, workbench
from cms.web.services import services

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def init(app: Flask) -> None:
    # Flask runs after-request hooks last-registered first, so this one, registered before the
    # limiter's, sees the limiter's headers: it keeps Retry-After only where there is
    # something to wait for (flask-limiter adds it, as 0, to every answer it counts)
    @app.after_request
    def retry_after_only_when_refused(response: Response) -> Response:
        if response.status_code not in (429, 503):
            response.headers.pop("Retry-After", None)
        return response

    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://",
                      headers_enabled=True)
    for blueprint in (manage.blp, media.manage_blp, session.blp, preview.blp,
                      workbench.blp):
        limiter.limit(services(app).settings.auth_failure_limit, scope="failed-tokens",
                      deduct_when=lambda response: response.status_code == 401,
                      error_message="Too many requests with a bad token from your address; "
                                    "wait and try again.")(blueprint)

    @app.after_request
    def secure(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/api/v1/manage"):
            response.headers["Cache-Control"] = "no-store"
        return response
