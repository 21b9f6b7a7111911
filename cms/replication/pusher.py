"""The server's pusher: it sends `main` and `published` to every mirror after each write.

It notices writes by reading the two refs every `poll` seconds, so every way of writing is
covered alike (the API in any worker, the scheduler, the CLI, an accepted `git push`), and no
write ever waits for it. A push starts once the refs have stood still for `settle` seconds
(0.1 s by default: an edit and the publish that follows it go in one push), or, while writes
keep coming, once the mirror has been behind for `min_interval` seconds (1 s by default: a
bulk load becomes about one push a second). One push per mirror is in flight at a time, and
the writes made meanwhile go in the next one. A mirror's own `min_interval` (GitHub asks for
no more than a few pushes a minute) spaces the starts of its pushes further. A failed push is
retried after 0.5 s, doubling up to `retry_max`; when the mirror returns, one push catches it
up. Each push is made with git settings that cost less CPU (`mirrors.PUSH_CONFIG`), at a lower
CPU priority than the workers (`mirrors.BACKGROUND`): on a saturated primary, writes go first.
One process of the server runs the pusher (see `leader`); each mirror has its own thread
while it pushes, so a slow mirror never holds back the others.
"""

from __future__ import annotations

import logging
import threading
import time

from cms.git import private
from cms.replication import leader
from cms.replication.mirrors import PUSH_TIMEOUT, Mirrors, wait_seconds

log = logging.getLogger(__name__)


class Pusher:
    def __init__(
        self,
        git_dir: str,
        *,
        poll: float = 0.05,
        retry_max: float = 30.0,
        timeout: float = PUSH_TIMEOUT,
        min_interval: float = 1.0,
        settle: float = 0.1,
    ) -> None:
        self.mirrors = Mirrors(git_dir)
        self.poll = poll
        self.min_interval = min_interval
        self.settle = settle
        self.retry_max = retry_max
        self.timeout = timeout
        self._pushing: dict[str, threading.Thread] = {}
        self._failures: dict[str, int] = {}
        self._not_before: dict[str, float] = {}
        self._behind_since: dict[str, float] = {}
        self._tips: dict[str, str | None] | None = None
        self._moved_at = 0.0

    def run(self, stop: threading.Event) -> None:
        """Push whatever is due every `poll` seconds until `stop` is set."""
        while not stop.wait(self.poll):
            try:
                self.push_due()
            except Exception:
                log.exception("checking the mirrors failed; will try again")

    def push_due(self) -> None:
        """Start a push to each mirror that is behind, not already pushing, not waiting out a
        retry delay or its own `min_interval`, and whose writes have settled (or that has
        been behind for `min_interval`)."""
        mirrors = self.mirrors.all()
        if not mirrors:
            return
        tips = self.mirrors.tips()
        now = time.monotonic()
        if tips != self._tips:
            self._tips, self._moved_at = tips, now
        settled = now - self._moved_at >= self.settle
        for mirror in mirrors:
            thread = self._pushing.get(mirror.name)
            if thread is not None and thread.is_alive():
                continue
            if self.mirrors.state(mirror.name)["pushed"] == tips:
                self._behind_since.pop(mirror.name, None)
                continue
            behind_since = self._behind_since.setdefault(mirror.name, now)
            if now < self._not_before.get(mirror.name, 0.0):
                continue
            if not settled and now - behind_since < self.min_interval:
                continue
            # writes made during this push count as waiting from the first look after it
            del self._behind_since[mirror.name]
            self._not_before[mirror.name] = now + mirror.min_interval
            thread = threading.Thread(
                target=self._push, args=(mirror.name,), name=f"cms-push-{mirror.name}", daemon=True
            )
            self._pushing[mirror.name] = thread
            thread.start()

    def _push(self, name: str) -> None:
        try:
            result = self.mirrors.push(name, self.timeout, background=True)
        except Exception as e:  # a mirror removed meanwhile, a full disk: try again later
            log.warning("push to mirror %s failed: %s", name, e)
            result = None
        if result is not None and result.ok:
            self._failures[name] = 0
            return
        failures = self._failures.get(name, 0) + 1
        self._failures[name] = failures
        delay = wait_seconds(failures, self.retry_max)
        self._not_before[name] = max(self._not_before.get(name, 0.0), time.monotonic() + delay)
        if result is not None:
            log.warning("push to mirror %s failed (retry in %.1f s): %s", name, delay, result.error)


def start(
    git_dir: str,
    *,
    poll: float,
    retry_max: float,
    timeout: float,
    min_interval: float,
    settle: float,
) -> threading.Event:
    """Run the pusher in this process once no other process of the server does; return the
    event that stops it."""
    pusher = Pusher(
        git_dir,
        poll=poll,
        retry_max=retry_max,
        timeout=timeout,
        min_interval=min_interval,
        settle=settle,
    )
    return leader.start("cms-pusher", private.path(git_dir, "pusher.lock"), pusher.run)
