"""Several gunicorn workers and many threads writing at once, plus plain git pushes: every
acknowledged write is in `git log`, and `git fsck` is clean."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from conftest import GIT_ENV, article, cms_server

from cms.auth.tokens import TokenStore
from cms.content import layout
from cms.store import ArticleStore

URL = "/api/v1/manage/articles"
# The soak's short form: each of the 12 writers creates and edits 3 times in `make test`;
# `make soak` sets CMS_SOAK_ROUNDS for its long form.
WRITERS = 12
ROUNDS = int(os.environ.get("CMS_SOAK_ROUNDS", "3"))


# One server for the module: each test counts what it adds from what it found, so neither
# needs a fresh repository, and the module starts gunicorn once.
@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("concurrency") / "content-repo"
    ArticleStore.init(str(path)).close()
    return path


@pytest.fixture(scope="module")
def editor_token(repo: Path) -> dict[str, str]:
    _, secret = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="module")
def server(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # durable, as the product is by default: the writers and the pushes meet group commit
    log = tmp_path_factory.mktemp("concurrency-log") / "server.log"
    with cms_server(repo, log, {"CMS_DURABLE": "true"}) as base:
        yield base


@pytest.fixture
def git(repo: Path) -> Callable[..., str]:
    def run(*args: str) -> str:
        return subprocess.run(
            ["git", "--git-dir", str(repo), *args],
            env={**os.environ, **GIT_ENV},
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    return run


def test_every_acknowledged_write_is_in_git_log(server, editor_token, git, repo, tmp_path):
    total = requests.get(server + URL, params={"per_page": 1}, headers=editor_token)
    already = total.json()["meta"]["total"]
    shared = []
    for i in range(3):
        r = requests.post(server + URL, json=article(f"Shared story {i}"), headers=editor_token)
        assert r.status_code == 201
        shared.append(r.json()["slug"])
    ledger: list[tuple[str, str, str]] = []  # (revision, slug, marker) of every 2xx write
    lock = threading.Lock()
    failures: list[str] = []

    def writer(n: int) -> None:
        session = requests.Session()
        session.headers.update(editor_token)
        for i in range(ROUNDS):
            marker = f"w{n}-{i}"
            created = session.post(server + URL, json=article(f"Story {marker}", tags=[marker]))
            if created.status_code != 201:
                failures.append(f"create {created.status_code} {created.text}")
                continue
            with lock:
                ledger.append((created.json()["meta"]["revision"], created.json()["slug"], marker))
            slug = shared[(n + i) % len(shared)]
            for _ in range(100):  # read-modify-write until our If-Match wins
                current = session.get(f"{server}{URL}/{slug}")
                patched = session.patch(
                    f"{server}{URL}/{slug}",
                    json={"summary": marker},
                    headers={"If-Match": current.headers["ETag"]},
                )
                if patched.status_code == 200:
                    with lock:
                        ledger.append((patched.json()["meta"]["revision"], slug, marker))
                    break
                if patched.status_code != 412:
                    failures.append(f"patch {patched.status_code} {patched.text}")
                    break
            else:
                failures.append(f"patch of {slug} never won")

    def pusher() -> None:
        work = tmp_path / "clone"
        env = {**os.environ, **GIT_ENV}

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(["git", *args], cwd=work, env=env, capture_output=True, text=True)

        subprocess.run(["git", "clone", "-q", str(repo), str(work)], env=env, check=True)
        for i in range(4):
            slug = f"pushed-by-hand-{i}"
            path = work / layout.article_path(slug)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"slug": slug, **article(f"Pushed {i}")}, indent=2))
            run("add", "-A")
            run("commit", "-qm", f"Add {slug} by hand")
            for _ in range(50):
                if run("push", "-q", "origin", "main").returncode == 0:
                    with lock:
                        ledger.append((run("rev-parse", "HEAD").stdout.strip(), slug, slug))
                    break
                run("pull", "-q", "--rebase", "origin", "main")
            else:
                failures.append(f"push of {slug} never succeeded")

    before = int(git("rev-list", "--count", "main"))
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    threads.append(threading.Thread(target=pusher))
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    assert len(ledger) == WRITERS * ROUNDS * 2 + 4
    # every acknowledged write is a commit on main, holding what was written
    on_main = set(git("rev-list", "main").split())
    assert {revision for revision, _, _ in ledger} <= on_main
    for revision, slug, marker in ledger:
        content = git("show", f"{revision}:{layout.article_path(slug)}")
        assert marker in content
    # nothing else was committed: one commit per acknowledged write
    assert int(git("rev-list", "--count", "main")) == before + len(ledger)
    git("fsck", "--strict")
    listed = requests.get(server + URL, params={"per_page": 100}, headers=editor_token).json()
    assert listed["meta"]["total"] == already + 3 + WRITERS * ROUNDS + 4


def test_exactly_one_writer_wins_with_the_same_if_match(server, editor_token, git):
    created = requests.post(server + URL, json=article(), headers=editor_token)
    etag, slug = created.headers["ETag"], created.json()["slug"]
    barrier = threading.Barrier(16)
    statuses: list[int] = []

    def write(n: int) -> None:
        barrier.wait()
        r = requests.patch(
            f"{server}{URL}/{slug}",
            json={"summary": f"writer {n}"},
            headers={**editor_token, "If-Match": etag},
        )
        statuses.append(r.status_code)

    before = git("rev-parse", "main")
    threads = [threading.Thread(target=write, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [412] * 15
    assert git("rev-list", "--count", f"{before.strip()}..main").strip() == "1"
    git("fsck", "--strict")
