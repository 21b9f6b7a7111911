"""The read baseline: a bare Flask app returning fixed bytes under the CMS's gunicorn settings.

`python -m bench.bare_app --bind 127.0.0.1:PORT --data FILE` serves, from a JSON file of
`{"articles": {slug: body}, "list": body}` fetched from the real API beforehand:

- `GET /api/v1/articles/<slug>`: that article's exact bytes (the first one for another slug);
- `GET /api/v1/articles`: one list page's exact bytes, whatever the query.

Gunicorn runs it with the options `cms serve` uses (`cms.server.serve`): gthread workers and
threads as given, access log to stdout, no preloading.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from flask import Flask, Response
from gunicorn.app.base import BaseApplication


def create_app(data_path: str) -> Flask:
    with open(data_path, encoding="utf-8") as f:
        data = json.load(f)
    articles = {slug: body.encode() for slug, body in data["articles"].items()}
    fallback = next(iter(articles.values()))
    listing = data["list"].encode()
    app = Flask(__name__)

    @app.get("/api/v1/articles/<slug>")
    def article(slug: str) -> Response:
        return Response(articles.get(slug, fallback), mimetype="application/json")

    @app.get("/api/v1/articles")
    def articles_page() -> Response:
        return Response(listing, mimetype="application/json")

    return app


class BareServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, data_path: str, options: dict[str, Any]) -> None:
        self.data_path = data_path
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return create_app(self.data_path)


def gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    """The options `cms.server.serve` passes to gunicorn."""
    return {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
            "worker_class": "gthread", "accesslog": "-", "graceful_timeout": 10}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--data", required=True)
    args = parser.parse_args()
    options = gunicorn_options(args.host, args.port, args.workers, args.threads)
    BareServer(args.data, options).run()


if __name__ == "__main__":
    main()
