"""Reading requests: strict JSON bodies, If-Match, and the current token."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request
from marshmallow import missing
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from cms.auth.tokens import Token
from cms.content import canonical, identity
from cms.content.identity import Person
from cms.errors import (
    BadRequest,
    Forbidden,
    PreconditionFailed,
    PreconditionRequired,
    RevisionRequired,
    StaleRevision,
    Unauthorized,
    UnsupportedMediaType,
)
from cms.web.cookies import cookie_token
from cms.web.failed_tokens import verify_bearer
from cms.web.services import services

JSON_TYPES = {"application/json"}
PATCH_TYPES = {"application/json", "application/merge-patch+json"}


def json_body(types: set[str] = JSON_TYPES) -> Any:
    """Return the request's JSON body; raises UnsupportedMediaType or BadRequest."""
    if request.mimetype not in types:
        raise UnsupportedMediaType(
            f"Send the body as {' or '.join(sorted(types))}.",
            {"Content-Type": [f"Expected {' or '.join(sorted(types))}."]},
        )
    return canonical.parse_body(body())


def body() -> bytes:
    """The request body; raises BadRequest if it cannot be read, PayloadTooLarge if a chunked
    body goes past the limit (werkzeug stops reading there without saying so)."""
    try:
        data = request.get_data(cache=True)
    except HTTPException:
        raise
    except Exception as e:  # the server could not decode the transfer (bad chunking)
        raise BadRequest("The request body could not be read.") from e
    limit = services().settings.max_content_length
    if limit and request.content_length is None and len(data) >= limit:
        raise RequestEntityTooLarge()
    return data


class Parser(FlaskParser):
    """webargs' parser with the same strict JSON reading as every other body here. An empty
    body, without a content type or labelled JSON, is an absent body: no options where the body
    is optional (as clients generated from our OpenAPI document send it), and missing fields
    where it is required."""

    def _raw_load_json(self, req: Any) -> Any:
        if (not req.mimetype or req.mimetype in JSON_TYPES) and not body():
            return missing
        return json_body()


def if_match() -> set[str] | None:
    """The strong ETags in If-Match ({"*"} for a star), or None when the header is absent."""
    if "If-Match" not in request.headers:
        return None
    if request.headers["If-Match"].strip() == "*":
        return {"*"}
    # a quoted "*" or a star inside a list is just an ETag that matches nothing
    return set(request.if_match.as_set()) - {"*"}


def if_match_problems(view: Callable[..., Any]) -> Callable[..., Any]:
    """Say the store's version checks in HTTP's words: the version is the If-Match header."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except RevisionRequired:
            raise PreconditionRequired(
                "Send If-Match with the ETag of the article you are changing.",
                {"If-Match": ["Missing header."]},
            ) from None
        except StaleRevision as e:
            raise PreconditionFailed(
                e.detail, {"If-Match": ["Does not match the current ETag."]}
            ) from None

    return wrapper


def etag_header(etag: str) -> dict[str, str]:
    return {"ETag": f'"{etag}"'}


def requires(role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let the view run only for a live bearer token whose role includes `role`."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = _token()
            if not token.can(role):
                raise Forbidden(f"This needs the {role} role; your token has {token.role}.")
            g.token = token
            return view(*args, **kwargs)

        return wrapper

    return decorator


def _token() -> Token:
    header = request.headers.get("Authorization", "")
    if not header:
        token = cookie_token()  # the workbench's session, when there is one
        if token is not None:
            return token
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("Send Authorization: Bearer <token>.")
    token = verify_bearer(secret.strip())
    if token is None:
        raise Unauthorized("The token is unknown or revoked.")
    return token


def may_schedule() -> bool:
    """Whether the current token may set, change or remove `publish_at` (editor and up)."""
    return bool(g.token.can("editor"))


def editor() -> Person:
    """The person behind the current token, who becomes the commit author.

    Raises Forbidden for a token whose name or email could not be written into a commit (one
    made by a version that checked them less strictly)."""
    found = identity.problems(g.token.name, g.token.email)
    if found:
        raise Forbidden(
            "This token's name or email cannot be written into a commit; revoke it "
            "and create a new one.",
            {f"token.{k}": v for k, v in found.items()},
        )
    return Person(g.token.name, g.token.email)
