"""Purges sent to Cloudflare's purge API by cache tag: a real HTTP server on 127.0.0.1, shaped
like `POST /client/v4/zones/<zone>/purge_cache`, records what a real `cms serve` sends it and
answers with Cloudflare's envelope. Each request carries the bearer token and at most 100 tags
(Cloudflare's limit on every plan); a purge of more is split, each key sent once; a 429 or a
5xx (or a 200 that says `"success": false`) is tried again, after the `Retry-After` asked,
from the request that failed, never from the first."""

from __future__ import annotations

import json
import math
import subprocess
import threading
import time
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from conftest import GIT_ENV, article, cms_server

from cms.auth.tokens import TokenStore
from cms.cli import main as cms_main

MANAGE = "/api/v1/manage/articles"
ZONE = "023e105f4ecef8ad9ca31a8372d0c353"
PATH = f"/client/v4/zones/{ZONE}/purge_cache"
SECRET = "cf-token-with-purge-rights"
TAGS_PER_REQUEST = 100


class Answer:
    """What the receiver answers one request with."""

    def __init__(
        self, status: int = 200, *, success: bool = True, retry_after: str | None = None
    ) -> None:
        self.status, self.success, self.retry_after = status, success, retry_after


class Cloudflare:
    """A Cloudflare-shaped purge endpoint: records each request (method, path, headers,
    body), answers `answers` in turn, then `failing` while it is set, then success."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.answers: list[Answer] = []
        self.failing: Answer | None = None
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with api.lock:
                    answer = api.answers.pop(0) if api.answers else api.failing or Answer()
                    api.calls.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": json.loads(raw) if raw else None,
                            "status": answer.status,
                            "success": answer.success and answer.status < 300,
                            "at": time.monotonic(),
                        }
                    )
                body = json.dumps(
                    {
                        "success": answer.success and answer.status < 300,
                        "errors": []
                        if answer.success and answer.status < 300
                        else [{"code": 10429 if answer.status == 429 else 1000, "message": "no"}],
                        "messages": [],
                        "result": {"id": ZONE},
                    }
                ).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if answer.retry_after:
                    self.send_header("Retry-After", answer.retry_after)
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PUT = do_DELETE = do_PURGE = _any  # noqa: N815 (http.server's names)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.target = f"cloudflare+http://127.0.0.1:{self.server.server_address[1]}{PATH}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.calls)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def cloudflare() -> Iterator[Cloudflare]:
    found = Cloudflare()
    yield found
    found.close()


def env(api: Cloudflare, **extra: str) -> dict[str, str]:
    return {
        "CMS_PURGE_TARGETS": api.target,
        "CMS_PURGE_CLOUDFLARE_TOKEN": SECRET,
        "CMS_PURGE_REPEAT_AFTER": "0",
        "CMS_PURGE_RETRY_MAX": "0.3",
        "CMS_RATELIMIT_ENABLED": "false",
        **extra,
    }


def token(repo: Path, role: str) -> dict[str, str]:
    _, secret = TokenStore(str(repo)).create(f"Tess {role.title()}", f"{role}@example.org", role)
    return {"Authorization": f"Bearer {secret}"}


def purges(base: str, admin: dict[str, str]) -> dict[str, Any]:
    return dict(requests.get(base + "/healthz", headers=admin, timeout=10).json()["purges"])


def idle(base: str, admin: dict[str, str]) -> dict[str, Any]:
    """Wait until every commit is turned into purges and none waits; return the status."""
    deadline = time.monotonic() + 30
    while True:
        shown = purges(base, admin)
        if shown["commits_behind"] == 0 and not any(t["pending"] for t in shown["targets"]):
            return shown
        assert time.monotonic() < deadline, shown
        time.sleep(0.05)


def release_of(base: str, editor: dict[str, str], count: int) -> list[str]:
    """`count` drafts, each with two tags of its own, made live in one release (one commit);
    return their slugs."""
    slugs = []
    for n in range(count):
        made = requests.post(
            base + MANAGE,
            json=article(f"Story {n}", section="world", tags=[f"topic {n}", f"place {n}"]),
            headers=editor,
        )
        assert made.status_code == 201, made.text
        slugs.append(str(made.json()["slug"]))
    done = requests.post(
        base + "/api/v1/manage/releases", json={"slugs": slugs}, headers=editor, timeout=60
    )
    assert done.status_code == 200, done.text
    return slugs


def publish_new(base: str, editor: dict[str, str], title: str) -> str:
    made = requests.post(base + MANAGE, json=article(title), headers=editor)
    assert made.status_code == 201, made.text
    slug = str(made.json()["slug"])
    done = requests.post(f"{base}{MANAGE}/{slug}/publish", headers=editor)
    assert done.status_code == 200, done.text
    return slug


def purge_status(repo: Path, **given: str) -> subprocess.CompletedProcess[str]:
    """`cms purge status` with the settings `given`, in this process through click's CliRunner
    (it reads the outbox on disk and the settings: no process of its own is the point)."""
    argv = ["--repo", str(repo), "purge", "status"]
    ran = CliRunner(env={**GIT_ENV, **given}).invoke(cms_main, argv, prog_name="cms")
    stderr = ran.stderr
    if ran.exception is not None and not isinstance(ran.exception, SystemExit):
        stderr += "".join(traceback.format_exception(ran.exception))
    return subprocess.CompletedProcess(["cms", *argv], ran.exit_code, ran.stdout, stderr)


def check_shape(call: dict[str, Any]) -> list[str]:
    """What Cloudflare's API takes: the zone's endpoint, the token, JSON `{"tags": [...]}`
    of at most 100 tags. Return the tags."""
    assert call["method"] == "POST", call
    assert call["path"] == PATH, call
    assert call["headers"]["Authorization"] == f"Bearer {SECRET}", call["headers"]
    assert call["headers"]["Content-Type"] == "application/json", call["headers"]
    assert set(call["body"]) == {"tags"}, call["body"]
    tags = call["body"]["tags"]
    assert 1 <= len(tags) <= TAGS_PER_REQUEST and all(isinstance(t, str) for t in tags), tags
    return list(tags)


def test_a_release_of_many_articles_is_purged_from_cloudflare_in_requests_of_100_tags(
    repo: Path, tmp_path: Path, cloudflare: Cloudflare
) -> None:
    editor, admin = token(repo, "editor"), token(repo, "admin")
    with cms_server(repo, tmp_path / "server.log", env(cloudflare), workers=2) as base:
        idle(base, admin)
        # a zone new to the CMS is purged whole first: the tag every answer carries
        assert [check_shape(c) for c in cloudflare.received()] == [["all"]]
        before = len(cloudflare.received())

        slugs = release_of(base, editor, 70)
        status = idle(base, admin)
        calls = cloudflare.received()[before:]
        sent = [check_shape(c) for c in calls]
        every = [t for tags in sent for t in tags]
        assert len(every) == len(set(every)), "a tag was sent twice"
        expected = {f"a:{s}" for s in slugs} | {
            f"t:{kind}%20{n}" for n in range(70) for kind in ("topic", "place")
        }
        expected |= {"list", "q", "s:world", "l:en", "feed", "sync", "sitemap:index"}
        assert expected <= set(every), expected - set(every)
        assert len(every) > 2 * TAGS_PER_REQUEST  # so this took three requests or more
        # one purge for the one commit: as few requests as 100 tags a request allow
        assert len(calls) == math.ceil(len(every) / TAGS_PER_REQUEST), [len(t) for t in sent]
        (target,) = status["targets"]
        assert target["target"] == cloudflare.target and target["last_error"] is None
        assert target["requests"] == len(cloudflare.received())
        assert SECRET not in json.dumps(status)


def test_a_429_and_5xx_are_retried_from_the_request_that_failed_after_retry_after(
    repo: Path, tmp_path: Path, cloudflare: Cloudflare
) -> None:
    editor, admin = token(repo, "editor"), token(repo, "admin")
    with cms_server(repo, tmp_path / "server.log", env(cloudflare), workers=2) as base:
        idle(base, admin)
        before = len(cloudflare.received())
        with cloudflare.lock:
            cloudflare.answers = [
                Answer(200),  # the first 100 tags go through
                Answer(429, retry_after="2"),  # rate-limited: wait 2 s, not CMS_PURGE_RETRY_MAX
            ]
            cloudflare.failing = Answer(503)  # then down, until this test says otherwise
        slugs = release_of(base, editor, 70)

        deadline = time.monotonic() + 30
        while len(cloudflare.received()) < before + 2:
            assert time.monotonic() < deadline, cloudflare.received()
            time.sleep(0.02)
        # a publication while Cloudflare asked to wait: not sent until the wait is over
        late = publish_new(base, editor, "Late story")
        while len(cloudflare.received()) < before + 3:
            assert time.monotonic() < deadline, cloudflare.received()
            time.sleep(0.05)

        # while it waits on Cloudflare, `cms purge status` says so and exits 1
        shown = purge_status(repo, **env(cloudflare))
        assert shown.returncode == 1, shown.stdout + shown.stderr
        assert "answered 503" in shown.stdout and SECRET not in shown.stdout, shown.stdout
        with cloudflare.lock:
            cloudflare.answers = [Answer(200, success=False)]  # an envelope saying it failed
            cloudflare.failing = None

        status = idle(base, admin)
        calls = cloudflare.received()[before:]
        sent = [check_shape(c) for c in calls]
        down = sum(c["status"] == 503 for c in calls)
        assert down >= 1
        shown_calls = [(c["status"], len(t)) for c, t in zip(calls, sent, strict=True)]
        failed = 2 + down  # where the 200 without success is, after the 429 and the 503s
        assert [(c["status"], c["success"]) for c in calls[: failed + 1]] == [
            (200, True),
            (429, False),
            *[(503, False)] * down,
            (200, False),
        ], shown_calls
        assert all(c["status"] == 200 and c["success"] for c in calls[failed + 1 :]), shown_calls
        # the failed request is the one sent again, with the same tags, until it is taken;
        # the first one never is
        assert all(tags == sent[1] for tags in sent[1 : failed + 2]), shown_calls
        assert not set(sent[0]) & set(sent[1])
        taken = [sent[0], *sent[failed + 1 :]]
        every = {t for tags in taken for t in tags}
        assert {f"a:{s}" for s in slugs} | {f"a:{late}"} <= every
        # nothing at all went to Cloudflare while it asked to wait 2 s, though a commit was
        # queued meanwhile; and the rest with that commit took as few requests as can be
        assert calls[2]["at"] - calls[1]["at"] >= 2.0
        assert len(sent) - failed - 1 == math.ceil(
            len([t for tags in sent[failed + 1 :] for t in tags]) / TAGS_PER_REQUEST
        ), shown_calls
        (target,) = status["targets"]
        assert "without success" in target["last_error"]
        assert target["pending"] == 0
        # what went through: the first purge (`all`), the first 100 tags, and the rest
        assert target["requests"] == before + 1 + len(sent) - failed - 1


def test_a_cloudflare_target_needs_the_zone_endpoint_and_a_token(repo: Path) -> None:
    def status(**given: str) -> subprocess.CompletedProcess[str]:
        return purge_status(repo, **given)

    url = f"cloudflare+https://api.cloudflare.com{PATH}"
    missing = status(CMS_PURGE_TARGETS=url)
    assert missing.returncode != 0
    assert "CMS_PURGE_CLOUDFLARE_TOKEN" in missing.stderr, missing.stderr

    wrong = status(
        CMS_PURGE_TARGETS="cloudflare+https://api.cloudflare.com/client/v4/purge_cache",
        CMS_PURGE_CLOUDFLARE_TOKEN=SECRET,
    )
    assert wrong.returncode != 0
    assert "CMS_PURGE_TARGETS" in wrong.stderr and "zones/<zone id>/purge_cache" in wrong.stderr

    fine = status(CMS_PURGE_TARGETS=url, CMS_PURGE_CLOUDFLARE_TOKEN=SECRET)
    assert fine.returncode == 0, fine.stderr
    assert f"cloudflare+https://api.cloudflare.com{PATH}  pending 0" in fine.stdout
