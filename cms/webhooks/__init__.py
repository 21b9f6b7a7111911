"""Webhooks: signed, retried, in commit order, derived from git so that nothing is lost.

- `feed`: the events of new commits on `main` and `published`, read from git;
- `outbox`: webhooks, secrets, cursors and deliveries in `<git dir>/cms/webhooks.sqlite`;
- `sender`: where a webhook may point, and the signed POST;
- `dispatcher`: the thread in each server worker that queues and sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..store import ArticleStore
from .dispatcher import Dispatcher
from .outbox import Outbox, retry_delays


def start_webhooks(store: ArticleStore, settings: Mapping[str, Any], *, run: bool) -> Outbox:
    """The outbox of `store`'s repository, with its dispatcher thread started when `run` and
    `WEBHOOK_INTERVAL` > 0. Raises ValueError for a bad `WEBHOOK_RETRY_DELAYS`."""
    outbox = Outbox(store.repo, store.committer.email,
                    retry_delays=retry_delays(settings["WEBHOOK_RETRY_DELAYS"]),
                    lease=float(settings["WEBHOOK_TIMEOUT"]) + 20)
    interval = float(settings["WEBHOOK_INTERVAL"])
    if run and interval > 0:
        Dispatcher(outbox, interval=interval, timeout=float(settings["WEBHOOK_TIMEOUT"]),
                   allow_private=allow_private(settings)).start()
    return outbox


def allow_private(settings: Mapping[str, Any]) -> bool:
    """Whether `WEBHOOK_ALLOW_PRIVATE` is on (a bool, or a string like `true`)."""
    value = settings["WEBHOOK_ALLOW_PRIVATE"]
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
