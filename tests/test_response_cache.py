"""The delivery response cache never answers with a response made for other commits."""

from __future__ import annotations

from typing import Any

from werkzeug.test import Client

from cms.web.response_cache import ResponseCache


def test_a_response_made_while_a_line_moved_is_not_served_for_the_old_commits():
    refs = {"published": "c1"}
    pushes = ["c2"]  # one push lands while the first request is being answered

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if pushes:
            refs["published"] = pushes.pop()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"made at {refs['published']}".encode()]

    client = Client(ResponseCache(app, lambda: refs["published"], params=lambda path: None))
    assert client.get("/api/v1/articles").text == "made at c2"
    refs["published"] = "c1"  # a force push back
    assert client.get("/api/v1/articles").text == "made at c1"
    assert client.get("/api/v1/articles").text == "made at c1"
