"""`cms purge status` and `cms purge run`: what the caches in front still have to be told, and
the purger that tells them (see `cms.edge`).

`cms serve` runs the purger as a process of its own beside gunicorn's workers, rather than a
thread in each: one per server, so the workers do not race each other for every commit, and
with an interpreter of its own, so it never waits for a worker's threads to let go of the GIL
(a purge sent from a worker busy rendering list pages waited on it for hundreds of
milliseconds).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click

from cms.edge import outbox, purger
from cms.edge.outbox import Outbox
from cms.edge.targets import parse
from cms.errors import CMSError
from cms.git.repository import Repository
from cms.settings import Settings

log = logging.getLogger(__name__)
# seconds before a purger that ended is started again (doubling while it keeps ending)
RESTART_FIRST = 0.5


@click.group(
    epilog="""\b
Example:
  CMS_PURGE_TARGETS=varnish+http://127.0.0.1:6081 cms purge status
"""
)
def purge() -> None:
    """Purges of the caches in front (`CMS_PURGE_TARGETS`): a running server sends them."""


@purge.command(
    "status",
    epilog="""\b
Example:
  cms purge status           # commits not yet turned into purges; per cache, what waits
  cms purge status --json    # the same as /healthz shows an admin
""",
)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show the backlog: commits not yet turned into purges, and per cache the purges waiting,
    since when, the requests sent and its last answer (exit 1 when a purge waits on a cache
    that failed)."""
    settings = ctx.obj["settings"]
    try:
        targets = parse(settings.purge_targets)
        repo = Repository(settings.repo)
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    except Exception as e:
        raise click.ClickException(f"{e}. Run `cms init` first.") from e
    if not targets:
        raise click.ClickException(
            "No caches to purge: set CMS_PURGE_TARGETS (e.g. varnish+http://127.0.0.1:6081)."
        )
    shown = Outbox(repo, targets).status()
    if as_json:
        click.echo(json.dumps(shown, indent=2))
    else:
        behind = shown["commits_behind"]
        click.echo(
            "commits not yet turned into purges: "
            + ("no server has looked yet" if behind is None else str(behind))
        )
        for t in shown["targets"]:
            click.echo(
                f"{t['target']}  pending {t['pending']} ({t['pending_keys']} keys, "
                f"since {t['oldest_pending_at'] or '-'})  requests {t['requests']}  "
                f"last purge {t['last_purge_at'] or 'never'}"
            )
            if t["last_error"]:
                click.echo(f"  last error ({t['last_error_at']}): {t['last_error']}")
    if any(t["pending"] and t["attempts"] for t in shown["targets"]):
        ctx.exit(1)


@purge.command(
    "run",
    epilog="""\b
Example (cms serve runs it by itself; this is for a server that is not cms serve):
  CMS_PURGE_TARGETS=varnish+http://127.0.0.1:6081 cms purge run
""",
)
@click.option(
    "--parent",
    type=int,
    hidden=True,
    help="Exit when this process (the server that started it) is gone.",
)
@click.pass_context
def run(ctx: click.Context, parent: int | None) -> None:
    """Turn every new commit into purges and send them, until stopped."""
    from cms.delivery.cards import card
    from cms.delivery.readiness import Readiness
    from cms.store import ArticleStore

    settings = ctx.obj["settings"]
    if not settings.purge_targets:
        raise click.ClickException("No caches to purge: set CMS_PURGE_TARGETS.")
    if settings.purge_interval <= 0:
        raise click.ClickException("CMS_PURGE_INTERVAL is 0: the purger would never look.")
    try:
        store = ArticleStore.open(settings, make_card=card)
    except CMSError as e:
        raise click.ClickException(str(e)) from e
    # as a reader's request would: a small push caught up at once, a large one in the
    # background (see `Readiness`)
    ready = Readiness(store, small=settings.catch_up_inline_commits)
    dispatcher = purger(outbox(store, settings), store, settings, current=ready.current)
    assert dispatcher is not None  # targets and an interval, checked above
    dispatcher.start()
    while parent is None or os.getppid() == parent:
        time.sleep(0.5)
    dispatcher.stop()


@contextmanager
def alongside(settings: Settings) -> Iterator[None]:
    """`cms purge run` as a child process while the block runs (`cms serve`), when purge
    targets are set and `purge_interval` > 0; started again whenever it ends before the
    block does (killed, out of memory), so commits are never left unpurged while the server
    runs: what it missed is in the outbox's cursors, and the new one sends it.

    gunicorn forks its workers inside the block, and a worker that exits unwinds through it
    too: only the process that started the purger stops it (a worker that did waited for a
    process not its own until gunicorn's graceful timeout ran out and it was killed, so every
    stop of `cms serve` took 10 s, and the master started a purger the workers had ended)."""
    if not settings.purge_targets or settings.purge_interval <= 0:
        yield
        return
    command = [sys.executable, "-m", "cms.cli.main", "--repo", settings.repo, "purge", "run"]
    command += ["--parent", str(os.getpid())]
    lock, stopping = threading.Lock(), threading.Event()
    children = [subprocess.Popen(command)]
    owner = os.getpid()

    def watch() -> None:
        wait = RESTART_FIRST
        while True:
            child, started = children[-1], time.monotonic()
            # (gunicorn's master reaps every child that ends; wait() then returns as well)
            child.wait()
            if stopping.is_set():
                return
            # one that ran a while is started again at once; one that keeps ending, slower
            wait = RESTART_FIRST if time.monotonic() - started > 10 else min(2 * wait, 30.0)
            log.warning("the purger (pid %d) ended; starting it again in %.1f s", child.pid, wait)
            if stopping.wait(wait):
                return
            with lock:
                if stopping.is_set():
                    return
                children.append(subprocess.Popen(command))

    threading.Thread(target=watch, name="cms-purger-watch", daemon=True).start()
    try:
        yield
    finally:
        if os.getpid() == owner:  # not a forked worker exiting: the purger is its parent's
            _stop(lock, stopping, children)


def _stop(
    lock: threading.Lock, stopping: threading.Event, children: list[subprocess.Popen[bytes]]
) -> None:
    """End the purger `alongside` runs, for good (its watcher starts no other)."""
    with lock:
        stopping.set()
        child = children[-1]
    child.terminate()
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
