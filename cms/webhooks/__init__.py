"""Webhooks: signed, retried, in commit order, derived from git so that nothing is lost.

- `feed`: the events of new commits on `main` and `published`, read from git;
- `outbox`: webhooks, secrets, cursors and deliveries in `<git dir>/cms/webhooks.sqlite`;
- `addresses`: where a webhook may point (public addresses only);
- `deadline`: sockets bounded by one deadline per attempt;
- `sender`: the signed POST;
- `dispatcher`: the thread in each server worker that queues and sends.
"""

from __future__ import annotations

from cms.settings import Settings
from cms.store import ArticleStore
from cms.webhooks.dispatcher import Dispatcher
from cms.webhooks.outbox import Outbox


def outbox_of(store: ArticleStore, settings: Settings) -> Outbox:
    """The outbox of `store`'s repository (a claim outlives the longest send by 20 s)."""
    return Outbox(
        store.repo,
        store.committer.email,
        retry_delays=settings.webhook_retry_delays,
        lease=settings.webhook_timeout + 20,
    )


def dispatcher_of(outbox: Outbox, settings: Settings) -> Dispatcher:
    """The dispatcher that sends `outbox`'s deliveries (not started)."""
    return Dispatcher(
        outbox,
        interval=settings.webhook_interval,
        timeout=settings.webhook_timeout,
        allow_private=settings.webhook_allow_private,
    )
