"""The dispatcher: a thread in each server worker that turns new commits into deliveries and
sends what is due, with a few sender threads so one slow receiver does not hold up the others.

It never touches the write path: it notices new commits by reading the two refs every
`interval` seconds (two small file reads), so an API write does exactly what it did before
webhooks existed.
"""

from __future__ import annotations

import logging
import queue
import threading

from cms.git.repository import Tips
from cms.webhooks.outbox import Claim, Outbox
from cms.webhooks.sender import SendFailed, send

log = logging.getLogger(__name__)
SENDERS = 4  # deliveries in flight per worker


class Dispatcher:
    def __init__(self, outbox: Outbox, *, interval: float, timeout: float,
                 allow_private: bool) -> None:
        self.outbox = outbox
        self.interval = interval
        self.timeout = timeout
        self.allow_private = allow_private
        self._busy = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._seen: Tips | None = None
        self._claims: queue.Queue[Claim] = queue.Queue()

    def start(self) -> threading.Thread:
        """Run the loop and the senders in daemon threads; return the loop's."""
        for n in range(SENDERS):  # a fixed few, each with its own SQLite connection
            threading.Thread(target=self._sender, name=f"cms-webhook-send-{n}",
                             daemon=True).start()
        thread = threading.Thread(target=self._loop, name="cms-webhooks", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        failing = ""
        while not self._stop.is_set():
            try:
                self.tick()
                failing = ""
            except Exception as e:
                if str(e) != failing:  # once per kind of failure, not 4 times a second
                    log.exception("webhook dispatch failed; will try again")
                failing = str(e)
            self._stop.wait(self.interval)

    def tick(self) -> None:
        """Queue the events of new commits, then start sending what is due."""
        tips = self.outbox.tips()
        if tips != self._seen and self.outbox.catch_up(tips):
            self._seen = tips
        with self._lock:
            free = SENDERS - self._busy
        for claim in self.outbox.claim(free):
            with self._lock:
                self._busy += 1
            self._claims.put(claim)

    def _sender(self) -> None:
        while True:
            self._send(self._claims.get())

    def _send(self, claim: Claim) -> None:
        status: int | None = None
        error: str | None = None
        try:
            status = send(claim.url, claim.secret, claim.id, claim.body, timeout=self.timeout,
                          allow_private=self.allow_private)
        except SendFailed as e:
            error = str(e)
        except Exception as e:  # a bug must not leave the lease held until it expires
            log.exception("sending delivery %s failed", claim.id)
            error = f"{type(e).__name__}"
        try:
            self.outbox.complete(claim, status, error)
        except Exception:
            log.exception("recording delivery %s failed; its lease will expire", claim.id)
        finally:
            with self._lock:
                self._busy -= 1
