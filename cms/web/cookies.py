"""Authentication by the workbench's session cookie (see `session` for sign-in).

A request without `Authorization` but with the cookie is authenticated as the session's token,
re-checked on every request (a revoked token ends its sessions at once). Such a request is
refused (403) when its `Origin` is not this server's own, and when an unsafe method comes
without any `Origin`: the cookie is SameSite=Strict already, this is the second lock against
cross-site request forgery.
"""

from __future__ import annotations

from flask import request

from cms.auth.sessions import SessionStore
from cms.auth.tokens import Token, TokenStore
from cms.errors import Forbidden, Unauthorized
from cms.web import failed_tokens
from cms.web.services import services

COOKIE = "cms_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def sessions() -> SessionStore:
    return services().sessions


def tokens() -> TokenStore:
    return services().tokens


def own_origin() -> str:
    """This server's origin as the browser sees it, e.g. `http://127.0.0.1:8000`."""
    return f"{request.scheme}://{request.host}"


def cookie_token() -> Token | None:
    """The live token behind the request's session cookie; None when there is no cookie.

    Raises Unauthorized (unknown or expired session, revoked token) or Forbidden (another
    origin, or an unsafe method without Origin).
    """
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return None
    origin = request.headers.get("Origin")
    if origin is not None and origin != own_origin():
        raise Forbidden(
            f"A signed-in request from {origin[:100]} is refused: the workbench "
            "only accepts requests from its own pages.",
            {"Origin": ["Not this server's origin."]},
        )
    if origin is None and request.method not in SAFE_METHODS:
        raise Forbidden(
            "A signed-in request that changes something must carry Origin.",
            {"Origin": ["Missing header."]},
        )
    failed_tokens.checking()
    session = sessions().get(session_id)
    if session is None:
        failed_tokens.failed()
        raise Unauthorized("Your session has ended; sign in again.")
    token = next((t for t in tokens().list() if t.id == session.token_id), None)
    if token is None or token.revoked or token.hash != session.token_hash:
        sessions().close(session_id)
        failed_tokens.failed()
        raise Unauthorized("The token of this session was revoked; sign in again.")
    return token


def session_id() -> str | None:
    """The session id of a cookie-authenticated request (None for a bearer token)."""
    if request.headers.get("Authorization"):
        return None
    return request.cookies.get(COOKIE) or None
