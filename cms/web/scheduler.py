"""Publishing scheduled articles from inside the server: a thread per worker wakes up every
few seconds and publishes what is due. Several workers may notice the same article; the store
makes sure only one publish commit results."""

from __future__ import annotations

import logging
import threading

from cms.store import ArticleStore

log = logging.getLogger(__name__)


def start(store: ArticleStore, interval: float) -> threading.Event:
    """Run `store.publish_due()` every `interval` seconds in a daemon thread; return the event
    that stops it."""

    def loop() -> None:
        while not stop.is_set():
            try:
                for slug in store.publish_due():
                    log.info("published scheduled article %s", slug)
            except Exception:
                log.exception("publishing scheduled articles failed; will try again")
            stop.wait(interval)

    stop = threading.Event()
    threading.Thread(target=loop, name="cms-scheduler", daemon=True).start()
    return stop
