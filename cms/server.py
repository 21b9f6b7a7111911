"""`cms serve`: the app under gunicorn, a production WSGI server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication


class Server(BaseApplication):  # type: ignore[misc]
    """Gunicorn running `load()` in each worker (no preloading, so nothing is shared)."""

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
    return {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
            "worker_class": "gthread", "accesslog": "-", "graceful_timeout": 10}


def serve(repo: str, host: str, port: int, workers: int, threads: int,
          config: dict[str, Any] | None = None) -> None:
    def load() -> Any:
        from .web import create_app

        return create_app({"REPO": repo, **(config or {})})

    Server(load, options(host, port, workers, threads)).run()
