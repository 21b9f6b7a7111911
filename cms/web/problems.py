"""Every error as RFC 9457 problem+json, rendered in one place."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from cms.content.document import flatten_errors
from cms.errors import (
    CMSError,
    MergeConflict,
    PreconditionFailed,
    PreconditionRequired,
    RevisionRequired,
    StaleRevision,
    TooManyFailures,
)

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
# the store's errors named for what went wrong, and the HTTP answer each gets
ANSWERS: dict[type[CMSError], type[CMSError]] = {
    RevisionRequired: PreconditionRequired,
    StaleRevision: PreconditionFailed,
}


def problem(
    status: int, title: str, detail: str, errors: dict[str, list[str]] | None = None
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="cms"'
    return response


def answer(e: CMSError) -> tuple[int, str]:
    """The status and title HTTP answers `e` with: its class's, or for the store's errors
    that carry none, those of the HTTP error `ANSWERS` names."""
    kind = next((ANSWERS[c] for c in type(e).__mro__ if c in ANSWERS), type(e))
    return kind.status, kind.title


def from_cms_error(e: CMSError) -> Response:
    status, title = answer(e)
    log.log(
        logging.WARNING if status >= 500 else logging.INFO, "%s: %s", type(e).__name__, e.detail
    )
    response = problem(status, title, e.detail, e.errors)
    if isinstance(e, TooManyFailures):
        response.headers["Retry-After"] = str(e.retry_after)
    if isinstance(e, MergeConflict):
        body = json.loads(response.get_data())
        response.set_data(json.dumps({**body, "conflicts": e.conflicts}))
        response.headers["ETag"] = f'"{e.etag}"'
    return response


def from_http_exception(e: HTTPException) -> Response:
    """Render werkzeug's errors, and webargs' validation errors with their fields named."""
    status = e.code or 500
    errors = None
    data = getattr(e, "data", None)
    if isinstance(data, dict) and "messages" in data:
        errors = {}
        for messages in data["messages"].values():
            errors.update(flatten_errors(messages))
    detail = e.description or ""
    if errors:
        detail = f"Invalid {', '.join(errors)}."
    title = "Unprocessable Content" if status == 422 else e.name
    response = problem(status, title, detail, errors)
    if status == 405:
        allow = e.get_response().headers.get("Allow")
        if allow:
            response.headers["Allow"] = allow
    return response


def from_index_error(e: sqlite3.Error) -> Response:
    log.warning("index unavailable: %s", e)
    return problem(
        503,
        "Service Unavailable",
        "The content index cannot be read or brought up to date right now.",
    )


def from_unexpected(e: Exception) -> Response:
    log.exception("unexpected error")
    return problem(500, "Internal Server Error", "Something went wrong on our side.")


def register(app: Flask) -> None:
    app.register_error_handler(CMSError, from_cms_error)
    app.register_error_handler(HTTPException, from_http_exception)
    app.register_error_handler(sqlite3.Error, from_index_error)
    app.register_error_handler(Exception, from_unexpected)
