"""Caches in front (a CDN, Varnish): what each delivery answer depends on, and purging exactly
the answers each commit changed.

- `keys`: the surrogate keys delivery answers carry (`Surrogate-Key`, `Cache-Tag`);
- `changes`: the keys a span of commits on `published` (and `main`) changed, read from git and
  the index;
- `outbox`: cursors and the purges still to send, in `<git dir>/cms/purges.sqlite`;
- `targets`: `CMS_PURGE_TARGETS`, and one purge sent to Varnish (xkey), a Fastly-style API or
  Cloudflare's;
- `dispatcher`: the threads that queue and send, in the purger process `cms serve` starts
  (`cms purge run`).
"""

from __future__ import annotations

from collections.abc import Callable

from cms.edge import changes
from cms.edge.changes import Span
from cms.edge.dispatcher import Dispatcher
from cms.edge.outbox import Outbox
from cms.edge.targets import parse
from cms.git.repository import Tips
from cms.settings import Settings
from cms.store import ArticleStore

# seconds a cache has to answer one purge request
TIMEOUT = 10.0


def outbox(store: ArticleStore, settings: Settings) -> Outbox:
    """The purge outbox of `store`'s repository and the configured targets. Raises ValueError
    for a bad `purge_targets`."""
    return Outbox(
        store.repo,
        parse(settings.purge_targets),
        max_keys=settings.purge_max_keys,
        retry_max=settings.purge_retry_max,
        repeat_after=settings.purge_repeat_after,
        lease=TIMEOUT * 4,
    )


def purger(
    box: Outbox, store: ArticleStore, settings: Settings, *, current: Callable[[], object]
) -> Dispatcher | None:
    """The dispatcher of `box` (not started: `cms purge run` starts it, the process `cms
    serve` runs beside its workers), or None when no target is configured or
    `purge_interval` is 0. `current()` catches the index up as a reader would."""
    if not box.targets or settings.purge_interval <= 0:
        return None

    def derive(since: Tips, until: Tips) -> Span | None:
        return changes.changed(
            store.repo,
            store.index,
            since,
            until,
            per_file=settings.sitemap_max_urls,
            max_keys=settings.purge_max_keys,
        )

    return Dispatcher(
        box,
        store.index,
        derive,
        current=current,
        interval=settings.purge_interval,
        timeout=TIMEOUT,
        fastly_key=settings.purge_fastly_key,
        cloudflare_token=settings.purge_cloudflare_token,
    )
