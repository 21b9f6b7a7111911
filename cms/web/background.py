"""The background threads of a server worker, started by one explicit call, `start(app)`:
`cms serve` makes it in each gunicorn worker; an app built by `create_app` for a test or a
tool runs none until it is made.

A primary runs the scheduler (`CMS_SCHEDULER_INTERVAL`), the webhook dispatcher
(`CMS_WEBHOOK_INTERVAL`) and the mirror pusher (`CMS_MIRROR_POLL_INTERVAL`), each unless its
interval is 0, and the packer (`CMS_PACK_INTERVAL`, `CMS_PACK_THRESHOLD`; see
`cms.git.maintenance`) in the one process that holds its lock; a replica runs only its
fetcher (`CMS_REPLICA_INTERVAL`), whose fetches let git's own auto-maintenance pack its copy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask

from cms.git import maintenance, private
from cms.replication import leader, pusher
from cms.web import scheduler
from cms.web.services import Services, services
from cms.webhooks import dispatcher_of

# a replica's fetches: a busy loop of them would help nobody
REPLICA_MIN_INTERVAL = 0.1
_starting = threading.Lock()


@dataclass
class Background:
    """The threads `start` started, by name, and how to ask each to stop."""

    stops: dict[str, Callable[[], None]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.stops)

    def stop(self) -> None:
        """Ask every thread to stop (each ends at its next wake-up)."""
        for stop in self.stops.values():
            stop()


def start(app: Flask) -> Background:
    """Start `app`'s background threads, once: a second call returns what the first
    started."""
    built = services(app)
    with _starting:
        if built.background is None:
            built.background = _start(built)
        return built.background


def _start(built: Services) -> Background:
    settings, store = built.settings, built.store
    running = Background()
    if built.replica is not None:
        interval = max(REPLICA_MIN_INTERVAL, settings.replica_interval)
        running.stops["cms-replica-fetcher"] = built.replica.start(interval, store.catch_up).set
        return running
    if settings.pack_interval > 0:
        git_dir = store.repo.git_dir
        packer = maintenance.Packer(git_dir, settings.pack_interval, settings.pack_threshold)
        lock = private.path(git_dir, "packer.lock")
        running.stops["cms-packer"] = leader.start("cms-packer", lock, packer.run).set
    if settings.scheduler_interval > 0:
        running.stops["cms-scheduler"] = scheduler.start(store, settings.scheduler_interval).set
    if settings.webhook_interval > 0:
        dispatcher = dispatcher_of(built.webhooks, settings)
        dispatcher.start()
        running.stops["cms-webhooks"] = dispatcher.stop
    if settings.mirror_poll_interval > 0:
        running.stops["cms-pusher"] = pusher.start(
            store.repo.git_dir,
            poll=settings.mirror_poll_interval,
            retry_max=settings.mirror_retry_max,
            timeout=settings.mirror_timeout,
            min_interval=settings.mirror_min_interval,
            settle=settings.mirror_settle,
        ).set
    return running
