"""The purger: a thread that turns new commits into purges, and a sender thread per target, in
the process `cms serve` starts beside its workers (`cms purge run`).

Like the webhooks' dispatcher it never touches the write path: it notices new commits by
reading the two refs every `interval` seconds. Before working out what they changed it has the
index catch up (`current`, as a reader's request would), and it works the keys out in one
state of the index, the one it reached: the purge goes out once the origin answers with the
new content, never before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from cms.edge.changes import Span
from cms.edge.outbox import Outbox
from cms.edge.targets import PurgeFailed, Target, send
from cms.git.repository import Tips
from cms.index import Index

log = logging.getLogger(__name__)
# seconds purges wait for the index to finish reading a large push before going out anyway
PATIENCE = 1.0


class Dispatcher:
    def __init__(
        self,
        outbox: Outbox,
        index: Index,
        derive: Callable[[Tips, Tips], Span | None],
        *,
        current: Callable[[], object],
        interval: float,
        timeout: float,
        fastly_key: str | None,
        cloudflare_token: str | None = None,
    ) -> None:
        self.outbox = outbox
        self.index = index
        self.derive = derive
        self.current = current
        self.interval = interval
        self.timeout = timeout
        self.fastly_key = fastly_key
        self.cloudflare_token = cloudflare_token
        self._stop = threading.Event()
        self._seen: Tips | None = None
        self._behind_since: float | None = None
        self._wake = {t.url: threading.Event() for t in outbox.targets}

    def start(self) -> None:
        """Run the loop and one sender per target in daemon threads."""
        for n, target in enumerate(self.outbox.targets):
            threading.Thread(
                target=self._sender, args=(target,), name=f"cms-purge-send-{n}", daemon=True
            ).start()
        threading.Thread(target=self._loop, name="cms-purges", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        for event in self._wake.values():
            event.set()

    def _loop(self) -> None:
        failing = ""
        while not self._stop.is_set():
            try:
                self.tick()
                failing = ""
            except Exception as e:
                if str(e) != failing:  # once per kind of failure
                    log.exception("working out purges failed; will try again")
                failing = str(e)
            self._stop.wait(self.interval)

    def tick(self) -> None:
        """Queue the purges of the commits not yet seen, as far as the index reached: once it
        reached the refs, or every PATIENCE seconds while it reads a large push in the
        background (so such a push is a purge a second, not one per batch the index reads)."""
        tips = self.outbox.tips()
        if tips == self._seen:
            return
        self.current()
        tips = self.outbox.tips()  # again: a write may have moved them, and the index too
        now = time.monotonic()
        with self.index.tables.reading() as db:
            until = self.index.tables.tips(db)
            if until != tips:
                self._behind_since = self._behind_since or now
                if now - self._behind_since < PATIENCE:
                    return
            queued = self.outbox.queue(until, self.derive)
        self._behind_since = None
        if until == tips:
            self._seen = tips
        if queued:
            for event in self._wake.values():
                event.set()

    def _sender(self, target: Target) -> None:
        wake = self._wake[target.url]
        while not self._stop.is_set():
            try:
                sent = self.send_due(target)
            except Exception:
                log.exception("sending purges to %s failed; will try again", target.shown)
                sent = False
            if not sent:
                wake.wait(self.interval)
                wake.clear()

    def send_due(self, target: Target) -> bool:
        """Send what is due to `target` in one purge; return whether there was any."""
        claim = self.outbox.claim(target)
        if claim is None:
            return False
        try:
            requests = send(
                target,
                list(claim.keys),
                timeout=self.timeout,
                fastly_key=self.fastly_key,
                cloudflare_token=self.cloudflare_token,
            )
        except PurgeFailed as e:
            log.warning("purge failed: %s", e)
            self.outbox.complete(claim, e.requests, str(e), done=e.done, retry_after=e.retry_after)
            return False
        self.outbox.complete(claim, requests, None)
        return True
