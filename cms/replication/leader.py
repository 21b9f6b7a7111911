"""One of many: a background job that must run in exactly one process of a server (one git
fetch or push at a time) runs in a daemon thread of every worker, and each such thread first
waits for an flock on a file in `<git dir>/cms/`. The one that gets it does the work for as
long as its process lives; when that process dies the kernel drops the lock and a thread of
another worker takes over, with no lease to expire and no coordinator to run.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def start(name: str, lock_path: str, job: Callable[[threading.Event], None]) -> threading.Event:
    """Run `job(stop)` in a daemon thread called `name` once this process holds the flock on
    `lock_path`; return the event that asks it to stop (the job must watch it)."""
    stop = threading.Event()

    def lead() -> None:
        os.makedirs(os.path.dirname(lock_path), mode=0o700, exist_ok=True)
        fd = os.open(lock_path, os.O_RDONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            log.info("%s runs in process %d", name, os.getpid())
            job(stop)
        except Exception:
            log.exception("%s stopped", name)
        finally:
            os.close(fd)

    threading.Thread(target=lead, name=name, daemon=True).start()
    return stop
