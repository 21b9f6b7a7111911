"""Failed token attempts per client address, against one limit (`"20 per minute"`, the
`limits` package's notation), counted in this process's memory (see `cms.web.failed_tokens`
for where a request is counted and refused)."""

from __future__ import annotations

import math
import time

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from cms.errors import TooManyFailures


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
            retry_after=max(1, math.ceil(reset - time.time())),
        )

    def failed(self, address: str) -> None:
        if self.enabled:
            self.counter.hit(self.item, address)
