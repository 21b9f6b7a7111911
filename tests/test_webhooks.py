"""Webhooks: events derived from git reach a real receiver (an HTTP server this test starts on
127.0.0.1 that verifies every signature with the `standardwebhooks` library), whatever made the
commit, in commit order, retried with the same `webhook-id`, and nothing lost to `kill -9`."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from cms.auth.tokens import TokenStore
from cms.content.identity import Person
from cms.content.layout import article_path
from cms.git.repository import Repository
from cms.webhooks import feed
from harness import GIT_ENV, article
from harness.killable import Server
from harness.launch import cms_server, free_port

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

    def __init__(
        self, port: int = 0, answers: list[int] | None = None, tls: ssl.SSLContext | None = None
    ) -> None:
        self.secret: str | None = None
        self.location: str | None = None  # sent with every answer (a redirect's target)
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
                    receiver.calls.append(
                        {
                            "id": headers["webhook-id"],
                            "body": body,
                            "verified": verified,
                            "status": status,
                            "raw": data.decode(),
                        }
                    )
                    receiver.lock.notify_all()
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        if tls:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/hook"
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
def server(repo: Path, tmp_path: Path) -> Iterator[str]:
    """`cms serve` with two workers (enough for them to compete for deliveries)."""
    with cms_server(repo, tmp_path / "server.log", FAST, workers=2) as base:
        yield base


def token(repo: Path, role: str) -> dict[str, str]:
    _, secret = TokenStore(str(repo)).create(f"Tess {role.title()}", f"{role}@example.org", role)
    return {"Authorization": f"Bearer {secret}"}


def add_webhook(
    base: str, admin: dict[str, str], receiver: Receiver | str, **fields: Any
) -> dict[str, Any]:
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
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout


def test_api_scheduler_and_plain_git_changes_arrive_once_signed_in_order(
    repo: Path, server: str, receiver: Receiver, tmp_path: Path
) -> None:
    admin, editor = token(repo, "admin"), token(repo, "editor")
    hook = add_webhook(server, admin, receiver, description="static site")
    assert hook["secret"].startswith("whsec_") and hook["active"] is True
    assert hook["events"] == [
        "article.created",
        "article.updated",
        "article.deleted",
        "article.published",
        "article.unpublished",
        "article.translation_stale",
    ]

    slug = write(server, editor, "Bridge reopens")
    published = requests.post(f"{server}{ARTICLES}/{slug}/publish", headers=editor)
    assert published.status_code == 200
    etag = published.headers["ETag"]
    patched = requests.patch(
        f"{server}{ARTICLES}/{slug}",
        json={"summary": "It is open."},
        headers={**editor, "If-Match": etag},
    )
    assert patched.status_code == 200
    assert requests.post(f"{server}{ARTICLES}/{slug}/unpublish", headers=editor).status_code == 200

    # a plain git push: one commit adding an article and changing another
    work = tmp_path / "clone"
    plain_git("clone", "-q", str(repo), str(work), cwd=tmp_path)
    pushed = work / article_path("pushed-by-hand")
    pushed.parent.mkdir(parents=True, exist_ok=True)
    pushed.write_text(
        json.dumps({"slug": "pushed-by-hand", **article("Pushed by hand")}, indent=2) + "\n"
    )
    mine = work / article_path(slug)
    mine.write_text(mine.read_text().replace("Bridge reopens", "Bridge reopens at last"))
    plain_git("add", "-A", cwd=work)
    plain_git("commit", "-q", "-m", "Two articles by hand", cwd=work)
    plain_git("push", "-q", "origin", "main", cwd=work)
    push_sha = plain_git("rev-parse", "HEAD", cwd=work).strip()

    # the scheduler publishes it two seconds from now
    at = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    scheduled = requests.post(
        f"{server}{ARTICLES}/pushed-by-hand/publish", json={"publish_at": at}, headers=editor
    )
    assert scheduled.status_code == 200, scheduled.text

    receiver.wait(8)
    live = requests.get(f"{server}{ARTICLES}/pushed-by-hand", headers=editor)
    deleted = requests.delete(
        f"{server}{ARTICLES}/pushed-by-hand", headers={**editor, "If-Match": live.headers["ETag"]}
    )
    assert deleted.status_code == 204
    receiver.wait(10)
    time.sleep(0.5)  # nothing more, and nothing twice
    calls = receiver.delivered()
    # a delete of a live article is two commits moved at once: one on each line
    assert sorted(types(calls[8:])) == [
        ("article.deleted", "pushed-by-hand"),
        ("article.unpublished", "pushed-by-hand"),
    ]
    assert [c["body"]["data"]["action"] for c in calls[8:]] == ["delete", "delete"]
    calls = calls[:8]
    assert all(c["verified"] for c in receiver.calls)
    kinds = types(calls)
    # the push changed two articles in one commit: their order within it is git's path order
    pushed_pair = kinds[4:6]
    assert sorted(pushed_pair) == [("article.created", "pushed-by-hand"), ("article.updated", slug)]
    assert kinds[:4] + kinds[6:] == [
        ("article.created", slug),
        ("article.published", slug),
        ("article.updated", slug),
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
    # the scheduler publishes in the name of the editor who scheduled it
    assert authors[-1] == {"name": "Tess Editor"}
    for call in calls:
        assert set(call["body"]) == {"type", "timestamp", "data"}
        assert set(call["body"]["data"]) == {"slug", "revision", "action", "author"}
        assert call["body"]["timestamp"].endswith("Z")
        assert "@" not in call["raw"]  # no email address anywhere
    assert {c["body"]["data"]["revision"] for c in calls[4:6]} == {push_sha}
    log = plain_git("log", "--format=%H", "main", cwd=work)
    assert calls[0]["body"]["data"]["revision"] in log

    listed = requests.get(f"{server}{HOOKS}/{hook['id']}/deliveries", headers=admin).json()
    assert listed["meta"]["total"] == 10
    newest = listed["items"][2]  # newest first: the two of the delete, then the publish
    assert newest == {
        "id": calls[-1]["id"],
        "event": newest["event"],
        "type": "article.published",
        "status": "delivered",
        "attempts": 1,
        "response_status": 204,
        "error": None,
        "next_attempt_at": None,
    }


PUBLIC_URL = "https://93.184.216.34/hooks/cms"  # a public address: no DNS needed


def test_only_an_admin_manages_webhooks(client, admin_token, editor_token, author_token, git):
    created = client.post(HOOKS, json={"url": PUBLIC_URL}, headers=admin_token)
    assert created.status_code == 201
    hook = created.get_json()
    assert created.headers["Location"].endswith(f"{HOOKS}/{hook['id']}")
    calls = [
        ("POST", HOOKS, {"url": PUBLIC_URL}),
        ("GET", HOOKS, None),
        ("GET", f"{HOOKS}/{hook['id']}", None),
        ("PATCH", f"{HOOKS}/{hook['id']}", {"active": False}),
        ("DELETE", f"{HOOKS}/{hook['id']}", None),
        ("GET", f"{HOOKS}/{hook['id']}/deliveries", None),
        ("POST", f"{HOOKS}/{hook['id']}/deliveries/msg_x/redeliver", None),
    ]
    for headers in (editor_token, author_token, {}):
        for method, url, body in calls:
            response = client.open(url, method=method, json=body, headers=headers)
            assert response.status_code == (403 if headers else 401), (method, url)
            assert response.mimetype == "application/problem+json"
    assert client.get(f"{HOOKS}/{hook['id']}", headers=admin_token).get_json()["active"]
    assert git("log", "--all", "-p").find(hook["secret"][6:]) == -1


def test_the_secret_is_shown_once_and_webhooks_are_listed_changed_and_removed(client, admin_token):
    first = client.post(
        HOOKS,
        json={
            "url": PUBLIC_URL,
            "events": ["article.published"],
            "description": "rebuild the site",
        },
        headers=admin_token,
    )
    body = first.get_json()
    secret = body.pop("secret")
    assert secret.startswith("whsec_") and len(secret) > 40
    assert body["events"] == ["article.published"] and body["active"] is True
    assert body["description"] == "rebuild the site" and body["created_at"].endswith("Z")
    for n in range(2):
        client.post(HOOKS, json={"url": f"{PUBLIC_URL}/{n}"}, headers=admin_token)

    listed = client.get(f"{HOOKS}?per_page=2", headers=admin_token)
    assert listed.get_json()["meta"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2}
    assert listed.get_json()["items"][0] == body
    assert 'rel="next"' in listed.headers["Link"]
    assert secret not in listed.get_data(as_text=True)
    shown = client.get(f"{HOOKS}/{body['id']}", headers=admin_token)
    assert shown.get_json() == body

    changed = client.patch(
        f"{HOOKS}/{body['id']}",
        headers=admin_token,
        json={
            "events": ["article.unpublished", "article.created"],
            "active": False,
            "description": None,
        },
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json() == {
        **body,
        "events": ["article.created", "article.unpublished"],
        "active": False,
        "description": "",
    }
    assert (
        client.get(f"{HOOKS}/{body['id']}/deliveries", headers=admin_token).get_json()["items"]
        == []
    )
    assert client.delete(f"{HOOKS}/{body['id']}", headers=admin_token).status_code == 204
    gone = client.get(f"{HOOKS}/{body['id']}", headers=admin_token)
    assert gone.status_code == 404 and gone.mimetype == "application/problem+json"
    assert client.get(HOOKS, headers=admin_token).get_json()["meta"]["total"] == 2


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://100.64.0.1/",
        "ftp://93.184.216.34/",
        "javascript:alert(1)",
        "http://user:pw@93.184.216.34/",
        "http://no-such-host.invalid/",
        "not a url",
        "",
    ],
)
def test_webhook_urls_that_could_reach_inside_are_refused(client, admin_token, url):
    response = client.post(HOOKS, json={"url": url}, headers=admin_token)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert list(response.get_json()["errors"]) == ["url"]
    hook = client.post(HOOKS, json={"url": PUBLIC_URL}, headers=admin_token).get_json()
    changed = client.patch(f"{HOOKS}/{hook['id']}", json={"url": url}, headers=admin_token)
    assert changed.status_code == 422 and list(changed.get_json()["errors"]) == ["url"]
    assert client.get(HOOKS, headers=admin_token).get_json()["meta"]["total"] == 1


@pytest.mark.parametrize(
    "body,field",
    [
        ({"url": PUBLIC_URL, "events": ["article.eaten"]}, "events.0"),
        ({"url": PUBLIC_URL, "events": []}, "events"),
        ({"url": PUBLIC_URL, "events": "article.created"}, "events"),
        ({"url": PUBLIC_URL, "description": "x" * 501}, "description"),
        ({"url": PUBLIC_URL, "secret": "whsec_mine"}, "secret"),
        ({}, "url"),
    ],
)
def test_bad_webhook_fields_are_named(client, admin_token, body, field):
    response = client.post(HOOKS, json=body, headers=admin_token)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert client.get(HOOKS, headers=admin_token).get_json()["meta"]["total"] == 0


def test_bad_changes_and_unknown_ids(client, admin_token):
    hook = client.post(HOOKS, json={"url": PUBLIC_URL}, headers=admin_token).get_json()
    for body, field in [
        ({"active": "yes"}, "active"),
        ({"url": None}, "url"),
        ({"id": "wh_mine"}, "id"),
        ([1], "body"),
    ]:
        response = client.patch(f"{HOOKS}/{hook['id']}", json=body, headers=admin_token)
        assert response.status_code == 422 and field in response.get_json()["errors"], body
    assert (
        client.patch(
            f"{HOOKS}/{hook['id']}",
            data="{",
            headers={**admin_token, "Content-Type": "application/json"},
        ).status_code
        == 400
    )
    assert (
        client.patch(
            f"{HOOKS}/{hook['id']}", data="x", headers={**admin_token, "Content-Type": "text/plain"}
        ).status_code
        == 415
    )
    for method, url in [
        ("GET", f"{HOOKS}/wh_nope"),
        ("PATCH", f"{HOOKS}/wh_nope"),
        ("DELETE", f"{HOOKS}/wh_nope"),
        ("GET", f"{HOOKS}/wh_nope/deliveries"),
        ("POST", f"{HOOKS}/{hook['id']}/deliveries/msg_nope/redeliver"),
    ]:
        response = client.open(url, method=method, json={"active": True}, headers=admin_token)
        assert response.status_code == 404, (method, url)
        assert response.mimetype == "application/problem+json"
    assert client.get(f"{HOOKS}?per_page=101", headers=admin_token).status_code == 400
    assert client.get(f"{HOOKS}/{hook['id']}", headers=admin_token).get_json() == {
        k: v for k, v in hook.items() if k != "secret"
    }


def deliveries(base: str, admin: dict[str, str], hook: dict[str, Any]) -> list[dict[str, Any]]:
    response = requests.get(f"{base}{HOOKS}/{hook['id']}/deliveries", headers=admin)
    assert response.status_code == 200
    return response.json()["items"]


def settle(
    base: str, admin: dict[str, str], hook: dict[str, Any], count: int, timeout: float = 20
) -> list[dict[str, Any]]:
    """Wait until the webhook has `count` deliveries, none pending; return them."""
    deadline = time.monotonic() + timeout
    while True:
        items = deliveries(base, admin, hook)
        if len(items) == count and all(d["status"] != "pending" for d in items):
            return items
        assert time.monotonic() < deadline, items
        time.sleep(0.1)


def test_retries_keep_the_id_and_the_order_then_fail_and_410_deactivates(
    repo: Path, server: str, tmp_path: Path
) -> None:
    admin, editor = token(repo, "admin"), token(repo, "editor")
    flaky = Receiver(answers=[500, 503])  # the first event fails twice, then succeeds
    down = Receiver(answers=[500] * 10)  # never answers 2xx
    leaving = Receiver(answers=[410])
    elsewhere = Receiver()
    moved = Receiver(answers=[307])  # a redirect is not followed: it is a failed attempt
    moved.location = elsewhere.url
    try:
        moved_hook = add_webhook(server, admin, moved, events=["article.created"])
        flaky_hook = add_webhook(server, admin, flaky, events=["article.created"])
        down_hook = add_webhook(server, admin, down, events=["article.created"])
        leaving_hook = add_webhook(server, admin, leaving, events=["article.created"])
        first, second = write(server, editor, "First story"), write(server, editor, "Second")

        got = flaky.wait(2)
        assert [c["body"]["data"]["slug"] for c in flaky.calls] == [first, first, first, second]
        assert len({c["id"] for c in flaky.calls[:3]}) == 1  # the same webhook-id each time
        assert all(c["verified"] for c in flaky.calls)
        assert [c["body"]["data"]["slug"] for c in got] == [first, second]
        flaky_items = settle(server, admin, flaky_hook, 2)
        assert [(d["status"], d["attempts"], d["response_status"]) for d in flaky_items] == [
            ("delivered", 1, 204),
            ("delivered", 3, 204),
        ]

        # 1 + 3 retries (CMS_WEBHOOK_RETRY_DELAYS has three), then failed; the next event
        # waited behind the first, then got its own four attempts
        down_items = settle(server, admin, down_hook, 2)
        assert [
            (d["status"], d["attempts"], d["response_status"], d["next_attempt_at"])
            for d in down_items
        ] == [("failed", 4, 500, None)] * 2
        assert [c["body"]["data"]["slug"] for c in down.calls] == [first] * 4 + [second] * 4

        # a 410 fails that delivery and deactivates the webhook: nothing more is sent to it
        assert [c["status"] for c in leaving.calls] == [410]
        assert (
            requests.get(f"{server}{HOOKS}/{leaving_hook['id']}", headers=admin).json()["active"]
            is False
        )
        items = deliveries(server, admin, leaving_hook)
        assert (items[-1]["status"], items[-1]["response_status"]) == ("failed", 410)
        # the second event is queued only if its commit was read before the 410 came back
        assert [(d["status"], d["attempts"]) for d in items[:-1]] in ([], [("pending", 0)])
        refused = requests.post(
            f"{server}{HOOKS}/{leaving_hook['id']}/deliveries/{items[-1]['id']}/redeliver",
            headers=admin,
        )
        assert refused.status_code == 409

        redirected = settle(server, admin, moved_hook, 2)
        assert [(d["attempts"], d["response_status"]) for d in redirected] == [(1, 204), (2, 204)]
        assert [c["status"] for c in moved.calls] == [307, 204, 204]
        assert elsewhere.calls == []

        # redeliver: sent again at once, with the same webhook-id
        down.answers.clear()
        again = requests.post(
            f"{server}{HOOKS}/{down_hook['id']}/deliveries/{down_items[1]['id']}/redeliver",
            headers=admin,
        )
        assert again.status_code == 202
        assert again.json()["status"] == "pending"
        delivered = down.wait(1)
        assert delivered[0]["id"] == down_items[1]["id"] == down.calls[0]["id"]
        items = settle(server, admin, down_hook, 2)
        assert [(d["status"], d["attempts"], d["response_status"]) for d in items] == [
            ("failed", 4, 500),
            ("delivered", 5, 204),
        ]
    finally:
        for r in (flaky, down, leaving, elsewhere, moved):
            r.close()


def test_pending_events_survive_kill_9_and_reach_a_receiver_that_was_down(
    repo: Path, tmp_path: Path
) -> None:
    admin, editor = token(repo, "admin"), token(repo, "editor")
    port = free_port()  # nothing listens here until the receiver comes up
    server = Server(
        repo,
        tmp_path / "server.log",
        workers=2,
        env={**FAST, "CMS_WEBHOOK_RETRY_DELAYS": ",".join(["0.3"] * 40)},
    )
    server.start()
    receiver: Receiver | None = None
    try:
        hook = add_webhook(server.base, admin, f"http://127.0.0.1:{port}/hook")
        slugs = [write(server.base, editor, f"Story number {n}") for n in range(4)]
        for slug in slugs[:2]:
            assert (
                requests.post(f"{server.base}{ARTICLES}/{slug}/publish", headers=editor).status_code
                == 200
            )
        deadline = time.monotonic() + 20
        while not any(d["attempts"] for d in deliveries(server.base, admin, hook)):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert server.kill() >= 3

        # while the server is dead, a plain git push lands too
        work = tmp_path / "clone"
        plain_git("clone", "-q", str(repo), str(work), cwd=tmp_path)
        path = work / article_path("written-while-down")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"slug": "written-while-down", **article("Down")}) + "\n")
        plain_git("add", "-A", cwd=work)
        # git dates have whole seconds, and two lines' commits in the same second are ordered
        # by what git holds (see `feed._before`), which says nothing of a plain commit against
        # a publication that is not its line's newest: make it the next second, as a push
        # during an outage would be
        time.sleep(1.05 - time.time() % 1)
        plain_git("commit", "-q", "-m", "While the server was down", cwd=work)
        plain_git("push", "-q", "origin", "main", cwd=work)

        receiver = Receiver(port)
        receiver.secret = hook["secret"]
        server.start()
        calls = receiver.wait(7)
        time.sleep(0.5)
        calls = receiver.delivered()
        assert all(c["verified"] for c in receiver.calls)
        assert types(calls) == [("article.created", s) for s in slugs] + [
            ("article.published", s) for s in slugs[:2]
        ] + [("article.created", "written-while-down")]
        assert len({c["id"] for c in calls}) == 7
        items = settle(server.base, admin, hook, 7)
        assert {d["status"] for d in items} == {"delivered"}
    finally:
        server.kill()
        if receiver:
            receiver.close()


def test_the_readme_receiver_verifies_and_builds_once_per_live_change(
    repo: Path, server: str, tmp_path: Path
) -> None:
    text = (Path(__file__).parent.parent / "docs" / "webhooks.md").read_text()
    section = text[text.index("# Webhooks") :]
    code = section[section.index("```python\n") + 10 :]
    (tmp_path / "receiver.py").write_text(code[: code.index("```")])
    admin, editor = token(repo, "admin"), token(repo, "editor")
    port = free_port()
    hook = add_webhook(server, admin, f"http://127.0.0.1:{port}/hooks/cms")
    built = tmp_path / "built"
    env = {
        **os.environ,
        "CMS_WEBHOOK_SECRET": hook["secret"],
        "PORT": str(port),
        "BUILD_COMMAND": f"echo built >> {built}",
    }
    receiver = subprocess.Popen(
        [sys.executable, str(tmp_path / "receiver.py")], env=env, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while True:  # up before anything is sent, so no attempt is spent on it starting
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and receiver.poll() is None
                time.sleep(0.05)
        slug = write(server, editor, "Built once")
        assert (
            requests.post(f"{server}{ARTICLES}/{slug}/publish", headers=editor).status_code == 200
        )
        items = settle(server, admin, hook, 2)
        assert [(d["type"], d["status"], d["response_status"]) for d in items] == [
            ("article.published", "delivered", 204),
            ("article.created", "delivered", 204),
        ]
        deadline = time.monotonic() + 10
        while not built.exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert built.read_text() == "built\n"  # the create did not build; the publish did
        # a forged delivery is refused
        forged = requests.post(
            f"http://127.0.0.1:{port}/hooks/cms",
            data=b"{}",
            headers={
                "webhook-id": "msg_x",
                "webhook-timestamp": str(int(time.time())),
                "webhook-signature": "v1,AAAA",
            },
        )
        assert forged.status_code == 401
    finally:
        receiver.terminate()
        receiver.wait()


def certificate(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1 (made with openssl) and a server context."""
    folder.mkdir()
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return cert, context


def test_https_receivers_must_show_a_trusted_certificate(repo: Path, tmp_path: Path) -> None:
    trusted, trusted_tls = certificate(tmp_path / "trusted")
    _, untrusted_tls = certificate(tmp_path / "untrusted")
    good, bad = Receiver(tls=trusted_tls), Receiver(tls=untrusted_tls)
    admin, editor = token(repo, "admin"), token(repo, "editor")
    # the server trusts only the first certificate, as if a CA had signed it
    env = {**FAST, "SSL_CERT_FILE": str(trusted)}
    try:
        with cms_server(repo, tmp_path / "server.log", env, workers=2) as base:
            add_webhook(base, admin, good)
            bad_hook = add_webhook(base, admin, bad)
            slug = write(base, editor, "Sent over TLS")
            delivered = good.wait(1)
            assert types(delivered) == [("article.created", slug)]
            assert delivered[0]["verified"]
            refused = settle(base, admin, bad_hook, 1)
            assert [(d["status"], d["attempts"], d["response_status"]) for d in refused] == [
                ("failed", 4, None)
            ]
            assert bad.calls == []  # the handshake failed; nothing was sent
    finally:
        good.close()
        bad.close()


def test_a_pushed_merge_is_one_commit_against_its_first_parent(repo, git, tmp_path) -> None:
    before = git("rev-parse", "main").strip()
    work = tmp_path / "clone"
    git("clone", "-q", str(repo), str(work), cwd=tmp_path)

    def add(slug: str, message: str) -> None:
        path = work / article_path(slug)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"slug": slug, **article(slug.title())}) + "\n")
        git("add", "-A", cwd=work)
        git("commit", "-q", "-m", message, cwd=work)

    git("checkout", "-q", "-b", "side", cwd=work)
    add("from-the-side", "Side one")
    add("also-from-the-side", "Side two")
    git("checkout", "-q", "main", cwd=work)
    add("on-main", "Main one")
    git("merge", "-q", "--no-ff", "-m", "Merge the side", "side", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    merge = git("rev-parse", "main").strip()

    events, moved = feed.pending(
        Repository(str(repo)),
        {"main": before, "published": None},
        {"main": merge, "published": None},
        "cms@localhost",
    )
    bodies = [json.loads(e.body) for e in events]
    assert [(b["type"], b["data"]["slug"]) for b in bodies] == [
        ("article.created", "on-main"),
        ("article.created", "also-from-the-side"),
        ("article.created", "from-the-side"),
    ]
    assert [b["data"]["revision"] for b in bodies][1:] == [merge, merge]
    assert {b["data"]["action"] for b in bodies} == {"external"}
    assert moved == {"main": merge, "published": None}


@pytest.mark.parametrize("first", ["main", "published"])
def test_a_publication_and_the_next_edit_in_one_second_keep_their_order(
    store: Any, first: str
) -> None:
    """Create, publish, edit, unpublish within one second: the two lines merge in the order
    the CMS made them, whichever ref the dispatcher saw move first."""
    editor = Person("Eve Editor", "eve@example.org")
    start = dict(store.catch_up())
    for _ in range(5):  # the four writes must share one commit second (they take ~10 ms)
        if time.time() % 1 < 0.5:
            break
        time.sleep(0.5)
    created = store.create(article("Bridge reopens"), editor)
    live = store.publish(created.slug, editor)
    edited = store.patch(created.slug, {"summary": "It is open."}, editor, {live.etag})
    store.unpublish(created.slug, editor)
    tips = store.catch_up()
    events, _ = feed.pending(store.repo, start, tips, store.committer.email, first=first)
    assert [e.type for e in events] == [
        "article.created",
        "article.published",
        "article.updated",
        "article.unpublished",
    ]
    assert json.loads(events[2].body)["data"]["revision"] == edited.meta["revision"]
