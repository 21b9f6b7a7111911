"""The read baseline: a bare Flask app returning fixed bytes under the CMS's gunicorn settings.

`python -m bench.bare_app --bind 127.0.0.1:PORT --data FILE` serves, from a JSON file of
`{"articles": {slug: body}, "list": body}` fetched from the real API beforehand:

- `GET /api/v1/articles/<slug>`: that article's exact bytes (the first one for another slug);
- `GET /api/v1/articles`: one list page's exact bytes, whatever the query;
- `POST /api/v1/manage/articles` and `PATCH /api/v1/manage/articles/<slug>`: the JSON body
  parsed and a small fixed answer (slug, a revision, an ETag), the baseline of a save's CPU
  per request (`bench.http_saves` drives both servers alike).

Gunicorn runs it with the options `cms serve` uses (`cms.server.serve`): gthread workers and
threads as given, access log to stdout, no preloading.
"""

from __future__ import annotations

import argparse
import json

from flask import Flask, Response, request

from cms.cli.server import Server, options


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

    @app.post("/api/v1/manage/articles")
    @app.patch("/api/v1/manage/articles/<slug>")
    def save(slug: str | None = None) -> Response:
        doc = request.get_json(force=True)
        name = slug or (doc.get("slug") if isinstance(doc, dict) else None) or "bare"
        body = json.dumps({"slug": name, "meta": {"revision": "0" * 40}})
        return Response(body, 201, {"ETag": f'"{name}"'}, mimetype="application/json")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--data", required=True)
    args = parser.parse_args()
    Server(
        lambda: create_app(args.data), options(args.host, args.port, args.workers, args.threads)
    ).run()


if __name__ == "__main__":
    main()
