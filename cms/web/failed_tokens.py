"""The limit on failed token attempts: one count per client address over every place a token
is verified (a bearer token on any route, `/healthz` included; a token sent to sign in; a
session cookie), so a token cannot be guessed by brute force on whichever route was left out.

Each place asks `verify_bearer` or goes through `checking` and `failed`: once an address has
failed `CMS_AUTH_FAILURE_LIMIT` times in the window, everything it sends with a credential is
refused (429 with Retry-After) before the credential is looked at, a good one too, so no answer
tells a right guess from a wrong one. A request that carries no credential is never counted or
refused here, and neither is a route that reads none (the delivery API ignores a token sent to
it). Counts live in each worker's memory (no shared store is needed), so with W workers a client
gets at most W times the limit; that still makes guessing a 256-bit token hopeless.
`CMS_RATELIMIT_ENABLED=false` turns the limit off.
"""

from __future__ import annotations

from flask import request

from cms.auth.tokens import Token
from cms.web.services import services


def _address() -> str:
    # after `addresses.trust_proxies`, the client's address even behind a trusted proxy
    return request.remote_addr or "127.0.0.1"


def checking() -> None:
    """Call before verifying a credential the request carries; raises TooManyFailures."""
    services().failed_tokens.refuse_if_limited(_address())


def failed() -> None:
    """Call when the credential the request carries turned out bad."""
    services().failed_tokens.failed(_address())


def verify_bearer(secret: str) -> Token | None:
    """The live token whose secret is `secret`, or None (counted as a failure). Raises
    TooManyFailures when this address has failed too often."""
    checking()
    token = services().tokens.verify(secret)
    if token is None:
        failed()
    return token
