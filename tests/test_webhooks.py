"""Webhooks: events derived from git reach a real receiver (an HTTP server this test starts on
127.0.0.1 that verifies every signature with the `standardwebhooks` library), whatever made the
commit, in commit order, retried with the same `webhook-id`, and nothing lost to `kill -9`."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import GIT_ENV, article, cms_server, free_port
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from test_crash import Server

from cms.layout import article_path
from cms.tokens import TokenStore

HOOKS = "/api/v1/manage/webhooks"
ARTICLES = "/api/v1/manage/articles"
FAST = {  # short retries and quick polling, so the suite stays fast; 127.0.0.1 allowed
    "CMS_WEBHOOK_ALLOW_PRIVATE": "true",
    "CMS_WEBHOOK_RETRY_DELAYS": "0.3,0.3,0.3",
    "CMS_WEBHOOK_INTERVAL": "0.1",
    "CMS_SCHEDULER_INTERVAL": "0.5",
}


class Receiver:
    """A webhook receiver on 127.0.0.1: verifies each request with `standardwebhooks`, answers
    with the statuses in `answers` (then 204), and records everything it was sent."""

    def __init__(self, port: int = 0, answers: list[int] | None = None) -> None:
        self.secret: str | None = None
        self.answers = list(answers or [])
        self.calls: list[dict[str, Any]] = []  # every request, verified or not
        self.lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                data = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    body = Webhook(receiver.secret or "whsec_").verify(data, headers)
                    verified = True
                except WebhookVerificationError:
                    body, verified = json.loads(data), False
                with receiver.lock:
                    status = receiver.answers.pop(0) if receiver.answers else 204
                    receiver.calls.append({"id": headers["webhook-id"], "body": body,
                                           "verified": verified, "status": status,
                                           "raw": data.decode()})
                    receiver.lock.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def delivered(self) -> list[dict[str, Any]]:
        with self.lock:
            return [c for c in self.calls if 200 <= c["status"] < 300]

    def wait(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        """Wait until `count` requests were answered with a 2xx; return those."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len([c for c in self.calls if 200 <= c["status"] < 300]) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"got {len(self.calls)} calls: {self.calls}"
                self.lock.wait(left)
        return self.delivered()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def server_env() -> dict[str, str]:
    return FAST


def token(repo: Path, role: str) -> dict[str, str]:
    _, secret = TokenStore(str(repo)).create(f"Tess {role.title()}", f"{role}@example.org", role)
    return {"Authorization": f"Bearer {secret}"}


def add_webhook(base: str, admin: dict[str, str], receiver: Receiver | str,
                **fields: Any) -> dict[str, Any]:
    url = receiver if isinstance(receiver, str) else receiver.url
    response = requests.post(base + HOOKS, json={"url": url, **fields}, headers=admin)
    assert response.status_code == 201, response.text
    hook = response.json()
    if isinstance(receiver, Receiver):
        receiver.secret = hook["secret"]
    return hook


def types(calls: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(c["body"]["type"], c["body"]["data"]["slug"]) for c in calls]


def write(base: str, headers: dict[str, str], title: str) -> str:
    created = requests.post(base + ARTICLES, json=article(title), headers=headers)
    assert created.status_code == 201, created.text
    return created.json()["slug"]


def plain_git(*args: str, cwd: Path) -> str:
    env = {**os.environ, **GIT_ENV}
    import subprocess

    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout


def test_api_scheduler_and_plain_git_changes_arrive_once_signed_in_order(
    repo: Path, server: str, receiver: Receiver, tmp_path: Path
) -> None:
    admin, editor = token(repo, "admin"), token(repo, "editor")
    hook = add_webhook(server, admin, receiver, description="static site")
    assert hook["secret"].startswith("whsec_") and hook["active"] is True
    assert hook["events"] == ["article.created", "article.updated", "article.deleted",
                              "article.published", "article.unpublished"]

    slug = write(server, editor, "Bridge reopens")
    published = requests.post(f"{server}{ARTICLES}/{slug}/publish", headers=editor)
    assert published.status_code == 200
    etag = published.headers["ETag"]
    patched = requests.patch(f"{server}{ARTICLES}/{slug}", json={"summary": "It is open."},
                             headers={**editor, "If-Match": etag})
    assert patched.status_code == 200
    assert requests.post(f"{server}{ARTICLES}/{slug}/unpublish",
                         headers=editor).status_code == 200

    # a plain git push: one commit adding an article and changing another
    work = tmp_path / "clone"
    plain_git("clone", "-q", str(repo), str(work), cwd=tmp_path)
    pushed = work / article_path("pushed-by-hand")
    pushed.parent.mkdir(parents=True, exist_ok=True)
    pushed.write_text(json.dumps({"slug": "pushed-by-hand", **article("Pushed by hand")},
                                 indent=2) + "\n")
    mine = work / article_path(slug)
    mine.write_text(mine.read_text().replace("Bridge reopens", "Bridge reopens at last"))
    plain_git("add", "-A", cwd=work)
    plain_git("commit", "-q", "-m", "Two articles by hand", cwd=work)
    plain_git("push", "-q", "origin", "main", cwd=work)
    push_sha = plain_git("rev-parse", "HEAD", cwd=work).strip()

    # the scheduler publishes it two seconds from now
    at = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    scheduled = requests.post(f"{server}{ARTICLES}/pushed-by-hand/publish",
                              json={"publish_at": at}, headers=editor)
    assert scheduled.status_code == 200, scheduled.text

    calls = receiver.wait(8)
    time.sleep(0.5)  # nothing more, and nothing twice
    calls = receiver.delivered()
    assert all(c["verified"] for c in receiver.calls)
    kinds = types(calls)
    # the push changed two articles in one commit: their order within it is git's path order
    pushed_pair = kinds[4:6]
    assert sorted(pushed_pair) == [("article.created", "pushed-by-hand"),
                                   ("article.updated", slug)]
    assert kinds[:4] + kinds[6:] == [
        ("article.created", slug), ("article.published", slug), ("article.updated", slug),
        ("article.unpublished", slug),
        ("article.updated", "pushed-by-hand"),  # the schedule is saved on the draft
        ("article.published", "pushed-by-hand"),
    ]
    assert len({c["id"] for c in calls}) == len(calls) == 8
    actions = [c["body"]["data"]["action"] for c in calls]
    assert actions[:4] == ["create", "publish", "update", "unpublish"]
    assert actions[4:] == ["external", "external", "update", "publish"]
    authors = [c["body"]["data"]["author"] for c in calls]
    assert authors[0] == {"name": "Tess Editor"} and authors[4] == {"name": "Plain Git"}
    assert authors[-1] == {"name": "Git CMS"}  # the scheduler publishes as the CMS
    for call in calls:
        assert set(call["body"]) == {"type", "timestamp", "data"}
        assert set(call["body"]["data"]) == {"slug", "revision", "action", "author"}
        assert call["body"]["timestamp"].endswith("Z")
        assert "@" not in call["raw"]  # no email address anywhere
    assert {c["body"]["data"]["revision"] for c in calls[4:6]} == {push_sha}
    log = plain_git("log", "--format=%H", "main", cwd=work)
    assert calls[0]["body"]["data"]["revision"] in log

    listed = requests.get(f"{server}{HOOKS}/{hook['id']}/deliveries", headers=admin).json()
    assert listed["meta"]["total"] == 8
    newest = listed["items"][0]
    assert newest == {"id": calls[-1]["id"], "event": newest["event"],
                      "type": "article.published", "status": "delivered", "attempts": 1,
                      "response_status": 204, "next_attempt_at": None}
