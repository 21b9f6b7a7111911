"""The server's pusher: it sends `main` and `published` to every mirror after each write.

It notices writes by reading the two refs every `poll` seconds, so every way of writing is
covered alike (the API in any worker, the scheduler, the CLI, an accepted `git push`), and no
write ever waits for it. While a push to a mirror is in flight, further writes pile up and the
next push carries them all, and pushes to one mirror start at least `min_interval` seconds
apart (1 s by default, or the mirror's own if longer: GitHub asks for no more than a few a
minute): the first write after a quiet spell is pushed at once, a burst of saves becomes one
push a second. Each push costs both ends a few git processes, and pushing continuously
during a bulk load halved the saves/s on a 2-core machine with the mirror on it (~0.4x
against ~0.7x with 1 s between pushes). A failed push is retried after 0.5 s, doubling up
to `retry_max`; when the mirror returns, one push catches it up.
One process of the server runs the pusher (see `leader`); each mirror has its own thread
while it pushes, so a slow mirror never holds back the others.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from . import leader
from .mirrors import PUSH_TIMEOUT, Mirrors, wait_seconds

log = logging.getLogger(__name__)


class Pusher:
    def __init__(self, git_dir: str, *, poll: float = 0.05, retry_max: float = 30.0,
                 timeout: float = PUSH_TIMEOUT, min_interval: float = 1.0) -> None:
        self.mirrors = Mirrors(git_dir)
        self.poll = poll
        self.min_interval = min_interval
        self.retry_max = retry_max
        self.timeout = timeout
        self._pushing: dict[str, threading.Thread] = {}
        self._failures: dict[str, int] = {}
        self._not_before: dict[str, float] = {}

    def run(self, stop: threading.Event) -> None:
        """Push whatever is due every `poll` seconds until `stop` is set."""
        while not stop.wait(self.poll):
            try:
                self.push_due()
            except Exception:
                log.exception("checking the mirrors failed; will try again")

    def push_due(self) -> None:
        """Start a push to each mirror that is behind, not already pushing, and not waiting
        out a retry delay or its `min_interval`."""
        mirrors = self.mirrors.all()
        if not mirrors:
            return
        tips = self.mirrors.tips()
        now = time.monotonic()
        for mirror in mirrors:
            thread = self._pushing.get(mirror.name)
            if thread is not None and thread.is_alive():
                continue
            if now < self._not_before.get(mirror.name, 0.0):
                continue
            if self.mirrors.state(mirror.name)["pushed"] == tips:
                continue
            self._not_before[mirror.name] = now + max(self.min_interval, mirror.min_interval)
            thread = threading.Thread(target=self._push, args=(mirror.name,),
                                      name=f"cms-push-{mirror.name}", daemon=True)
            self._pushing[mirror.name] = thread
            thread.start()

    def _push(self, name: str) -> None:
        try:
            result = self.mirrors.push(name, self.timeout)
        except Exception as e:  # a mirror removed meanwhile, a full disk: try again later
            log.warning("push to mirror %s failed: %s", name, e)
            result = None
        if result is not None and result.ok:
            self._failures[name] = 0
            return
        failures = self._failures.get(name, 0) + 1
        self._failures[name] = failures
        delay = wait_seconds(failures, self.retry_max)
        self._not_before[name] = max(self._not_before.get(name, 0.0),
                                     time.monotonic() + delay)
        if result is not None:
            log.warning("push to mirror %s failed (retry in %.1f s): %s", name, delay,
                        result.error)


def start(git_dir: str, *, poll: float, retry_max: float, timeout: float, min_interval: float
          ) -> threading.Event:
    """Run the pusher in this process once no other process of the server does; return the
    event that stops it."""
    pusher = Pusher(git_dir, poll=poll, retry_max=retry_max, timeout=timeout,
                    min_interval=min_interval)
    return leader.start("cms-pusher", os.path.join(git_dir, "cms", "pusher.lock"), pusher.run)
