"""Defences every response shares: security headers, no caching of editors' data, and the
limit on failed token attempts (`failed_tokens`), so tokens cannot be guessed by brute force."""

from __future__ import annotations

from flask import Flask, Response, request

from cms.web import failed_tokens

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def init(app: Flask) -> None:
    failed_tokens.init(app)

    @app.after_request
    def secure(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/api/v1/manage"):
            response.headers["Cache-Control"] = "no-store"
        return response
