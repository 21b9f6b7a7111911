"""Defences every response shares: security headers and no caching of editors' data (the
limit on failed token attempts is `failed_tokens`, where tokens are verified)."""

from __future__ import annotations

from flask import Flask, Response, request

from cms.web import paths

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def init(app: Flask) -> None:

    @app.after_request
    def secure(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith(paths.MANAGE):
            response.headers["Cache-Control"] = "no-store"
        return response
