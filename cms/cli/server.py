"""`cms serve`: the app under gunicorn, a production WSGI server."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from cms.errors import CMSError


class Server(BaseApplication):  # type: ignore[misc]
    """Gunicorn running `load()` in each worker: the app is not preloaded, so no app, store,
    file or thread is shared between workers (`serve` imports the modules before the fork,
    which shares only code)."""

    def __init__(self, load: Callable[[], Any], options: dict[str, Any]) -> None:
        self._load = load
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._load()


def options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    """The gunicorn settings of `cms serve` (the benchmark's bare Flask baseline uses them too)."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "accesslog": "-",
        "graceful_timeout": 10,
        # no `gunicornc` control socket: its one default path ($HOME/.gunicorn/gunicorn.ctl) is
        # shared by every server of the user, each unlinking it as it stops, and the CMS is
        # run by its own command, not through gunicornc; it also spared a thread (and an
        # asyncio loop) in the master and up to 2 s of its stop
        "control_socket_disable": True,
    }


def check_free(host: str, port: int) -> None:
    """Raise CMSError naming the way out when `host:port` cannot be listened on (gunicorn
    alone would retry for five seconds and end with a terse line)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.create_server((host, port), family=family):
            pass
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise CMSError(
                f"{host}:{port} is already in use (another server is listening there). "
                f"Pick another port: `cms serve --port 8080`, or `make run PORT=8080`."
            ) from e
        raise CMSError(f"Cannot listen on {host}:{port}: {e.strerror or e}.") from e


def serve(
    repo: str,
    host: str,
    port: int,
    workers: int,
    threads: int,
    config: dict[str, Any] | None = None,
) -> None:
    """Run the app under gunicorn until it is stopped; raises CMSError if the port is taken."""
    check_free(host, port)
    # the modules, imported once here rather than in each worker after the fork: a worker
    # answers sooner, and the workers share the pages of the code (nothing they hold)
    import cms.web  # noqa: F401

    def load() -> Any:
        # in the worker, after the fork: threads do not survive a fork, so each worker
        # starts its own
        from cms.web import create_app, start

        app = create_app({"REPO": repo, **(config or {})})
        start(app)
        return app

    Server(load, options(host, port, workers, threads)).run()
