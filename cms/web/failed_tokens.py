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

import math
import time

from flask import Flask, current_app, request
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from cms.auth.tokens import Token
from cms.errors import TooManyFailures
from cms.web.services import services

EXTENSION = "cms.failed_tokens"


class FailedTokens:
    """Failed token attempts per client address, against one limit (`"20 per minute"`)."""

    def __init__(self, limit: str, enabled: bool = True) -> None:
        self.item = parse(limit)
        self.enabled = enabled
        self.counter = FixedWindowRateLimiter(MemoryStorage())

    def refuse_if_limited(self, address: str) -> None:
        """Raises TooManyFailures, with the seconds to wait, when `address` has used up its
        failures."""
        if not self.enabled or self.counter.test(self.item, address):
            return
        reset = self.counter.get_window_stats(self.item, address).reset_time
        raise TooManyFailures(
            "Too many requests with a bad token from your address; wait and try again.",
            retry_after=max(1, math.ceil(reset - time.time())))

    def failed(self, address: str) -> None:
        if self.enabled:
            self.counter.hit(self.item, address)


def init(app: Flask) -> None:
    settings = services(app).settings
    app.extensions[EXTENSION] = FailedTokens(settings.auth_failure_limit,
                                             enabled=settings.ratelimit_enabled)


def _address() -> str:
    # after `addresses.trust_proxies`, the client's address even behind a trusted proxy
    return request.remote_addr or "127.0.0.1"


def checking() -> None:
    """Call before verifying a credential the request carries; raises TooManyFailures."""
    current_app.extensions[EXTENSION].refuse_if_limited(_address())


def failed() -> None:
    """Call when the credential the request carries turned out bad."""
    current_app.extensions[EXTENSION].failed(_address())


def verify_bearer(secret: str) -> Token | None:
    """The live token whose secret is `secret`, or None (counted as a failure). Raises
    TooManyFailures when this address has failed too often."""
    checking()
    token = services().tokens.verify(secret)
    if token is None:
        failed()
    return token
