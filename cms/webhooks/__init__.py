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
from cms.webhooks.outbox import Outbox, retry_delays


def start_webhooks(store: ArticleStore, settings: Settings, *, run: bool) -> Outbox:
    """The outbox of `store`'s repository, with its dispatcher thread started when `run` and
    `webhook_interval` > 0. Raises ValueError for a bad `webhook_retry_delays`."""
    timeout = float(settings.webhook_timeout)
    outbox = Outbox(store.repo, store.committer.email,
                    retry_delays=retry_delays(settings.webhook_retry_delays), lease=timeout + 20)
    if run and float(settings.webhook_interval) > 0:
        Dispatcher(outbox, interval=float(settings.webhook_interval), timeout=timeout,
                   allow_private=settings.webhook_allow_private).start()
    return outbox
