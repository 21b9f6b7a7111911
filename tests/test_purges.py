"""Purges derived from git, sent to a Fastly-style purge API: a real HTTP server on 127.0.0.1
that records every request a real `cms serve` sends it. A push of many commits is one request
naming exactly the keys it changed; every purge is sent once more a little later; a failed one
is retried until it goes through; past `CMS_PURGE_MAX_KEYS` one purge of everything goes."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from PIL import Image

from cms.auth.tokens import TokenStore
from cms.cli import main as cms_main
from cms.content.layout import article_path
from cms.store import ArticleStore
from harness import GIT_ENV, article
from harness.fastimport import commit_each
from harness.killable import Server, group_members
from harness.launch import cms_server

MANAGE = "/api/v1/manage/articles"


class PurgeAPI:
    """A Fastly-style purge endpoint: records each request, answers `answers` then 200."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.answers = list(answers or [])
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with api.lock:
                    status = api.answers.pop(0) if api.answers else 200
                    api.calls.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": json.loads(body),
                            "status": status,
                            "at": time.monotonic(),
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "ok"}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = self.server.server_address[1]
        self.target = f"fastly+http://127.0.0.1:{port}/service/SVC123/purge"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.calls)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api() -> Iterator[PurgeAPI]:
    found = PurgeAPI()
    yield found
    found.close()


class Shared:
    """One repository, one purge API and one `cms serve` purging it, for the tests of a
    module that only add commits and count the requests from the ones they find."""

    def __init__(self, repo: Path, api: PurgeAPI, base: str) -> None:
        self.repo, self.api, self.base = repo, api, base
        self.editor, self.admin = token(repo, "editor"), token(repo, "admin")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    root = tmp_path_factory.mktemp("purges-shared")
    repo = root / "content-repo"
    ArticleStore.init(str(repo))
    found = PurgeAPI()
    try:
        with cms_server(repo, root / "server.log", env(found), workers=2) as base:
            yield Shared(repo, found, base)
    finally:
        found.close()


def token(repo: Path, role: str) -> dict[str, str]:
    _, secret = TokenStore(str(repo)).create(f"Tess {role.title()}", f"{role}@example.org", role)
    return {"Authorization": f"Bearer {secret}"}


def env(api: PurgeAPI, **extra: str) -> dict[str, str]:
    return {
        "CMS_PURGE_TARGETS": api.target,
        "CMS_PURGE_FASTLY_KEY": "fastly-secret",
        "CMS_PURGE_REPEAT_AFTER": "0",
        "CMS_PURGE_RETRY_MAX": "0.5",
        **extra,
    }


def idle(base: str, admin: dict[str, str]) -> dict[str, Any]:
    """Wait until every commit is turned into purges and none waits; return the status."""
    deadline = time.monotonic() + 30
    while True:
        purges = requests.get(base + "/healthz", headers=admin).json()["purges"]
        if purges["commits_behind"] == 0 and not any(t["pending"] for t in purges["targets"]):
            return dict(purges)
        assert time.monotonic() < deadline, purges
        time.sleep(0.05)


def first_purge(api: PurgeAPI) -> None:
    """Wait for the purger's first request (`all`, for a cache it has never purged): a
    publication made before it is covered by that `all` and purged by no request of its own."""
    deadline = time.monotonic() + 30
    while not api.received():
        assert time.monotonic() < deadline, "the purger never sent its first purge"
        time.sleep(0.05)


def publish_new(base: str, editor: dict[str, str], title: str, **fields: Any) -> str:
    made = requests.post(base + MANAGE, json=article(title, **fields), headers=editor)
    assert made.status_code == 201, made.text
    slug = str(made.json()["slug"])
    done = requests.post(f"{base}{MANAGE}/{slug}/publish", headers=editor)
    assert done.status_code == 200, done.text
    return slug


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_a_push_of_150_commits_is_one_request_naming_exactly_what_changed(
    shared: Shared, tmp_path: Path
) -> None:
    api, base, editor, admin = shared.api, shared.base, shared.editor, shared.admin
    repo = shared.repo
    first = publish_new(base, editor, "First story", section="world")
    second = publish_new(
        base,
        editor,
        "Second story",
        section="world",
        tags=["Bridges", "New York"],
        authors=[{"name": "Ann Lee"}],
    )
    idle(base, admin)
    before = len(api.received())
    assert before >= 1

    work = tmp_path / "clone"
    git("clone", "-q", "--branch", "published", str(repo), str(work), cwd=tmp_path)
    path = work / article_path(second)
    doc = json.loads(path.read_text())
    takes = [
        (f"Take {n}", json.dumps({**doc, "title": f"Second story, take {n}"}) + "\n")
        for n in range(150)
    ]
    commit_each(work, article_path(second), takes)
    git("push", "-q", "origin", "published", cwd=work)
    status = idle(base, admin)

    calls = api.received()[before:]
    assert len(calls) == 1, calls
    call = calls[0]
    assert call["path"] == "/service/SVC123/purge"
    assert call["headers"]["Fastly-Key"] == "fastly-secret"
    assert call["headers"]["Content-Type"] == "application/json"
    # the article, its lists (each filter it is on), sync, the feeds, its sitemap file;
    # not its neighbours' pages: they name it already, and it did not move
    assert sorted(call["body"]["surrogate_keys"]) == sorted(
        [
            f"a:{second}",
            "au:ann%20lee",
            "feed",
            "l:en",
            "list",
            "q",
            "s:world",
            "sitemap:1",
            "sync",
            "t:bridges",
            "t:new%20york",
        ]
    )
    target = status["targets"][0]
    assert target["target"] == api.target and target["last_error"] is None
    assert target["requests"] == len(api.received())

    # an image published with an article: its file is purged by path, and a new
    # article's neighbour shows it from now on
    uploaded = requests.post(
        base + "/api/v1/manage/media",
        headers=editor,
        files={"file": ("red.png", png(), "image/png")},
    )
    assert uploaded.status_code == 201, uploaded.text
    media = uploaded.json()["path"]
    before = len(api.received())
    third = publish_new(base, editor, "Third story", image={"src": media, "alt": "Red"})
    idle(base, admin)
    keys = {k for c in api.received()[before:] for k in c["body"]["surrogate_keys"]}
    assert {
        f"a:{third}",
        f"p:{second}",
        f"m:{media.replace('/', '%2F')}",
        "sitemap:1",
        "sitemap:index",
    } <= keys
    assert f"a:{first}" not in keys and f"p:{first}" not in keys


def test_a_cache_is_purged_whole_when_first_named(
    repo: Path, tmp_path: Path, api: PurgeAPI
) -> None:
    # what a cache kept before the CMS purged it is not known
    admin = token(repo, "admin")
    with cms_server(repo, tmp_path / "server.log", env(api), workers=1) as base:
        idle(base, admin)
        assert [c["body"]["surrogate_keys"] for c in api.received()] == [["all"]]
    with cms_server(repo, tmp_path / "server.log", env(api), workers=1) as base:
        idle(base, admin)
        time.sleep(0.3)
        assert len(api.received()) == 1  # known now


def test_a_failed_purge_is_retried_until_taken_then_sent_once_more(
    repo: Path, tmp_path: Path, api: PurgeAPI
) -> None:
    editor, admin = token(repo, "editor"), token(repo, "admin")
    with cms_server(
        repo, tmp_path / "server.log", env(api, CMS_PURGE_REPEAT_AFTER="0.5"), workers=1
    ) as base:
        idle(base, admin)
        # the first purge (`all`) and its second sending
        deadline = time.monotonic() + 30
        while len(api.received()) < 2:
            assert time.monotonic() < deadline, api.received()
            time.sleep(0.05)
        before = len(api.received())
        with api.lock:
            api.answers = [503, 500]
        slug = publish_new(base, editor, "Retried story")
        deadline = time.monotonic() + 30
        while len(api.received()) < before + 4:
            assert time.monotonic() < deadline, api.received()
            time.sleep(0.05)
        time.sleep(1.0)
        calls = api.received()[before:]
        assert [c["status"] for c in calls] == [503, 500, 200, 200]
        keys = [sorted(c["body"]["surrogate_keys"]) for c in calls]
        assert all(k == keys[0] for k in keys) and f"a:{slug}" in keys[0]
        # the second sending comes after CMS_PURGE_REPEAT_AFTER
        assert calls[3]["at"] - calls[2]["at"] >= 0.5
        target = idle(base, admin)["targets"][0]
        assert "answered 500" in target["last_error"]
        assert target["requests"] == before + 2


def test_past_max_keys_everything_is_purged_in_one_request(
    repo: Path, tmp_path: Path, api: PurgeAPI
) -> None:
    editor, admin = token(repo, "editor"), token(repo, "admin")
    with cms_server(
        repo, tmp_path / "server.log", env(api, CMS_PURGE_MAX_KEYS="5"), workers=1
    ) as base:
        idle(base, admin)
        before = len(api.received())
        publish_new(base, editor, "Lots of tags", tags=["a", "b", "c", "d", "e", "f"])
        idle(base, admin)
        assert [c["body"]["surrogate_keys"] for c in api.received()[before:]] == [["all"]]


def test_a_force_push_purges_everything(shared: Shared, tmp_path: Path) -> None:
    api, base, editor, admin = shared.api, shared.base, shared.editor, shared.admin
    repo = shared.repo
    publish_new(base, editor, "First story")
    second = publish_new(base, editor, "Second story")
    idle(base, admin)
    before = len(api.received())
    work = tmp_path / "clone"
    git("clone", "-q", "--branch", "published", str(repo), str(work), cwd=tmp_path)
    git("reset", "-q", "--hard", "HEAD~1", cwd=work)  # the second publication undone
    git("push", "-q", "--force", "origin", "published", cwd=work)
    assert requests.get(f"{base}/api/v1/articles/{second}").status_code == 404
    idle(base, admin)
    assert [c["body"]["surrogate_keys"] for c in api.received()[before:]] == [["all"]]


def test_a_translation_purges_the_pages_and_lists_of_its_group(
    shared: Shared, tmp_path: Path
) -> None:
    """Every member of a translation group shows the others (`translations`, on the article
    and on each list card, and hreflang links in the sitemap): a member coming in, or a
    member's title changing, purges the pages and lists of the whole group."""
    api, base, editor, admin = shared.api, shared.base, shared.editor, shared.admin
    source = publish_new(base, editor, "Summit", section="world")
    other = publish_new(base, editor, "Football", section="sport", language="de")
    idle(base, admin)

    before = len(api.received())
    translation = publish_new(
        base, editor, "Sommet", section="monde", language="fr", translation_of=source
    )
    idle(base, admin)
    keys = {k for c in api.received()[before:] for k in c["body"]["surrogate_keys"]}
    shown = requests.get(f"{base}/api/v1/articles/{source}").json()["translations"]
    assert [t["slug"] for t in shown] == [source, translation]
    # the source's page and its lists show the newcomer now; so does every sitemap file
    assert {
        f"a:{translation}",
        f"p:{source}",
        "l:en",
        "s:world",
        "l:fr",
        "s:monde",
        "sitemap",
    } <= keys, keys
    # the other article's lists are not (its page is: it is the newcomer's neighbour)
    assert "s:sport" not in keys and "l:de" not in keys and f"a:{other}" not in keys

    # the source retitled: the translation's page names it (a:), and its lists show it
    before = len(api.received())
    url = f"{base}{MANAGE}/{source}"
    etag = requests.get(url, headers=editor).headers["ETag"]
    changed = requests.patch(
        url,
        json={"title": "Summit, corrected"},
        headers={**editor, "If-Match": etag, "Content-Type": "application/merge-patch+json"},
    )
    assert changed.status_code == 200, changed.text
    assert requests.post(f"{url}/publish", headers=editor).status_code == 200
    idle(base, admin)
    keys = {k for c in api.received()[before:] for k in c["body"]["surrogate_keys"]}
    assert {f"a:{source}", "l:fr", "s:monde"} <= keys, keys
    assert "s:sport" not in keys and "l:de" not in keys


def test_healthz_shows_purging_to_admins_only(shared: Shared, tmp_path: Path) -> None:
    api, base, editor, admin = shared.api, shared.base, shared.editor, shared.admin
    repo = shared.repo
    first_purge(api)
    publish_new(base, editor, "Seen by admins")
    status = idle(base, admin)
    assert status["commits_behind"] == 0
    [target] = status["targets"]
    assert set(target) == {
        "target",
        "pending",
        "pending_keys",
        "oldest_pending_at",
        "attempts",
        "requests",
        "keys_purged",
        "last_purge_at",
        "last_error",
        "last_error_at",
    }
    assert target["requests"] >= 2 and target["keys_purged"] > 1
    assert target["last_purge_at"] is not None and target["last_error"] is None
    for headers in ({}, editor, {"Authorization": "Bearer not-a-token"}):
        shown = requests.get(base + "/healthz", headers=headers)
        assert shown.status_code == 200 and "purges" not in shown.json(), headers
    # without CMS_PURGE_TARGETS there is nothing to show, even to an admin
    with cms_server(repo, tmp_path / "plain.log", {}, workers=1) as base:
        shown = requests.get(base + "/healthz", headers=admin).json()
        assert "revision" in shown and "purges" not in shown


def purgers(pgid: int) -> list[int]:
    """The `cms purge run` processes of the server whose process group is `pgid`."""
    found = []
    for pid in group_members(pgid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"purge" in command and b"run" in command:
            found.append(pid)
    return found


def test_cms_serve_runs_one_purger_beside_its_workers_which_ends_with_the_server(
    repo: Path, tmp_path: Path, api: PurgeAPI
) -> None:
    editor, admin = token(repo, "editor"), token(repo, "admin")
    server = Server(repo, tmp_path / "server.log", workers=3, env=env(api))
    server.start()
    try:
        assert server.proc is not None
        pgid = server.proc.pid
        [purger] = purgers(pgid)  # one for the server, not one per worker
        first_purge(api)
        publish_new(server.base, editor, "Purged by the one purger")
        idle(server.base, admin)
        assert len(api.received()) >= 2  # `all` for a new cache, then the publication

        # the server's own process killed alone (not its group): the purger sees its parent
        # gone and ends by itself
        os.kill(pgid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while purger in group_members(pgid):
            assert time.monotonic() < deadline, "the purger outlived its server"
            time.sleep(0.1)
    finally:
        server.kill()  # the workers left behind, and the group's other processes


@pytest.mark.parametrize(
    "extra, said",
    [
        ({"CMS_PURGE_TARGETS": ""}, "No caches to purge: set CMS_PURGE_TARGETS."),
        ({"CMS_PURGE_INTERVAL": "0"}, "CMS_PURGE_INTERVAL is 0"),
    ],
)
def test_cms_purge_run_refuses_to_start_with_nothing_to_do(
    repo: Path, api: PurgeAPI, extra: dict[str, str], said: str
) -> None:
    # in this process, through click's CliRunner: a refusal to start needs no process
    ran = CliRunner(env={**env(api), **extra}).invoke(
        cms_main, ["--repo", str(repo), "purge", "run"], prog_name="cms"
    )
    assert ran.exit_code == 1 and said in ran.stderr, (ran.stderr, ran.exception)


def test_unpublishing_purges_the_article_its_lists_and_every_sitemap_file(
    shared: Shared, tmp_path: Path
) -> None:
    """An article leaving moves every article after it in the sitemap (every file goes); its
    neighbours' pages name it already (a:), so no p: is needed for them."""
    api, base, editor, admin = shared.api, shared.base, shared.editor, shared.admin
    first = publish_new(base, editor, "Staying", section="world")
    leaving = publish_new(base, editor, "Leaving", section="sport", tags=["Gone"])
    idle(base, admin)
    before = len(api.received())
    done = requests.post(f"{base}{MANAGE}/{leaving}/unpublish", headers=editor)
    assert done.status_code == 200, done.text
    idle(base, admin)
    keys = {k for c in api.received()[before:] for k in c["body"]["surrogate_keys"]}
    assert keys == {
        f"a:{leaving}",
        "feed",
        "l:en",
        "list",
        "q",
        "s:sport",
        "sitemap",
        "sync",
        "t:gone",
    }, keys
    assert requests.get(f"{base}/api/v1/articles/{leaving}").status_code == 404
    assert requests.get(f"{base}/api/v1/articles/{first}").json()["next"] is None


def test_a_purger_killed_alone_is_started_again_and_sends_what_it_missed(
    repo: Path, tmp_path: Path, api: PurgeAPI
) -> None:
    editor, admin = token(repo, "editor"), token(repo, "admin")
    server = Server(repo, tmp_path / "server.log", workers=2, env=env(api))
    server.start()
    try:
        assert server.proc is not None
        pgid = server.proc.pid
        idle(server.base, admin)
        [purger] = purgers(pgid)
        os.kill(purger, signal.SIGKILL)
        slug = publish_new(server.base, editor, "Published while no purger ran")
        deadline = time.monotonic() + 30
        while not any(f"a:{slug}" in c["body"]["surrogate_keys"] for c in api.received()):
            assert time.monotonic() < deadline, (purgers(pgid), server.log_tail())
            time.sleep(0.1)
        [again] = purgers(pgid)
        assert again != purger
        idle(server.base, admin)
    finally:
        server.kill()


def test_an_outbox_made_by_an_earlier_version_is_brought_up_to_date(
    repo: Path, tmp_path: Path, api: PurgeAPI
) -> None:
    # the `targets` table as the first version made it, without `resume_at`
    (repo / "cms").mkdir(exist_ok=True)
    db = sqlite3.connect(repo / "cms" / "purges.sqlite")
    db.executescript(
        """
        CREATE TABLE cursors (line TEXT PRIMARY KEY, sha TEXT);
        CREATE TABLE purges (seq INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL,
            keys TEXT NOT NULL, commits INTEGER NOT NULL, queued_at REAL NOT NULL,
            due_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
            repeat INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE targets (url TEXT PRIMARY KEY, lease_owner TEXT, lease_until REAL,
            requests INTEGER NOT NULL DEFAULT 0, keys INTEGER NOT NULL DEFAULT 0,
            last_purge_at REAL, last_error TEXT, last_error_at REAL);
        """
    )
    db.close()
    editor, admin = token(repo, "editor"), token(repo, "admin")
    with cms_server(repo, tmp_path / "server.log", env(api), workers=1) as base:
        first_purge(api)
        slug = publish_new(base, editor, "After the upgrade")
        idle(base, admin)
        assert any(f"a:{slug}" in c["body"]["surrogate_keys"] for c in api.received())
