"""The dispatcher: a thread in each server worker that turns new commits into deliveries and
sends what is due, with a few sender threads so one slow receiver does not hold up the others:
each attempt ends by its deadline, a webhook has one attempt in flight at most (the outbox
claims so), and the leases of what is in flight are renewed until it is recorded.

It never touches the write path: it notices new commits by reading the two refs every
`interval` seconds (two small file reads), so an API write does exactly what it did before
webhooks existed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from cms.git.repository import Tips
from cms.webhooks.outbox import Claim, Outbox
from cms.webhooks.sender import SendFailed, send

log = logging.getLogger(__name__)
SENDERS = 4  # deliveries in flight per worker


class Dispatcher:
    def __init__(
        self, outbox: Outbox, *, interval: float, timeout: float, allow_private: bool
    ) -> None:
        self.outbox = outbox
        self.interval = interval
        self.timeout = timeout
        self.allow_private = allow_private
        self._sending: dict[int, Claim] = {}  # by delivery seq, from claim to completion
        self._renewed = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._seen: Tips | None = None
        self._claims: queue.Queue[Claim | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    def start(self) -> threading.Thread:
        """Run the loop and the senders in daemon threads; return the loop's."""
        for n in range(SENDERS):  # a fixed few, each with its own SQLite connection
            self._threads.append(
                threading.Thread(target=self._sender, daemon=True, name=f"cms-webhook-send-{n}")
            )
        thread = threading.Thread(target=self._loop, name="cms-webhooks", daemon=True)
        self._threads.append(thread)
        for t in self._threads:
            t.start()
        return thread

    def stop(self) -> None:
        """End the loop and the senders, waiting for the attempts in flight (each ends by
        its deadline)."""
        self._stop.set()
        for _ in range(SENDERS):
            self._claims.put(None)
        for thread in self._threads:
            thread.join(self.timeout + 30)

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
        """Renew the leases of what is being sent, queue the events of new commits, then
        start sending what is due."""
        self._renew()
        tips = self.outbox.tips()
        if tips != self._seen and self.outbox.catch_up(tips):
            self._seen = tips
        with self._lock:
            free = SENDERS - len(self._sending)
        for claim in self.outbox.claim(free):
            with self._lock:
                self._sending[claim.seq] = claim
            self._claims.put(claim)

    def _renew(self) -> None:
        # three times a lease: a loop held up for two thirds of one still keeps them
        now = time.monotonic()
        if now - self._renewed < self.outbox.lease / 3:
            return
        with self._lock:
            sending = list(self._sending.values())
        self.outbox.renew(sending)
        self._renewed = now

    def _sender(self) -> None:
        while (claim := self._claims.get()) is not None:
            self._send(claim)

    def _send(self, claim: Claim) -> None:
        status: int | None = None
        error: str | None = None
        try:
            status = send(
                claim.url,
                claim.secret,
                claim.id,
                claim.body,
                timeout=self.timeout,
                allow_private=self.allow_private,
            )
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
                del self._sending[claim.seq]
