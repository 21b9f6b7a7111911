"""Group commit (issue 27): durable saves from several gunicorn workers share their syncs and
branch moves, and history is still one commit per save, each by its editor; a push that lands
while saves wait for their batch makes them plan again, and none is lost."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import GIT_ENV, _token, article, cms_server

from cms.content.identity import Person
from cms.store import ArticleStore

URL = "/api/v1/manage/articles"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    ).stdout


def test_concurrent_durable_saves_are_one_commit_each_by_their_editor(repo, tmp_path):
    editors = [(f"Editor {n}", f"editor{n}@example.org") for n in range(8)]
    tokens = [_token(repo, name, email, "editor") for name, email in editors]
    acknowledged: list[tuple[str, str]] = []  # (revision, email)
    failures: list[str] = []
    lock = threading.Lock()
    with cms_server(repo, tmp_path / "server.log", {"CMS_DURABLE": "true"}, workers=2) as base:

        def writer(n: int) -> None:
            session = requests.Session()
            session.headers.update(tokens[n])
            for i in range(6):
                r = session.post(base + URL, json=article(f"Story {n}-{i}"))
                if r.status_code != 201:
                    failures.append(f"{r.status_code} {r.text}")
                    continue
                with lock:
                    acknowledged.append((r.json()["meta"]["revision"], editors[n][1]))

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == []
    assert len(acknowledged) == 48
    # one commit per save on one line, no merges, each authored by the editor who saved it
    log = git(repo, "log", "--format=%H %P|%ae|%s", "main").splitlines()
    assert len(log) == 48 + 1  # and the initial commit
    by_sha = {}
    for line in log:
        shas, email, subject = line.split("|", 2)
        sha, *parents = shas.split()
        assert len(parents) <= 1, line
        by_sha[sha] = (email, subject)
    for revision, email in acknowledged:
        assert by_sha[revision][0] == email
    assert git(repo, "fsck", "--strict", "--no-progress") == ""


@pytest.fixture
def durable_store(repo: Path) -> Iterator[ArticleStore]:
    store = ArticleStore(str(repo), durable=True)
    yield store
    store.close()


def test_a_push_while_saves_wait_for_their_batch_makes_them_plan_again(
    durable_store, repo, tmp_path
):
    # hold the leader's lock, as a leader syncing a batch does, so the save stays staged
    held = os.open(repo / "cms" / "groupcommit.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(held, fcntl.LOCK_EX)
    results: list[object] = []
    editor = Person("Sam Saver", "sam@example.org")
    saver = threading.Thread(
        target=lambda: results.append(durable_store.create(article("Staged story"), editor))
    )
    saver.start()
    state = repo / "cms" / "groupcommit.state"
    deadline = time.monotonic() + 20
    while not (state.exists() and json.loads(state.read_bytes() or b"{}").get("pending")):
        assert time.monotonic() < deadline, "the save never staged"
        time.sleep(0.01)
    assert "Staged story" not in git(repo, "log", "--format=%s", "main")  # not answered yet

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True, env=GIT_ENV)
    (clone / "NOTES.md").write_text("pushed while a save waited\n")
    for args in (["add", "NOTES.md"], ["commit", "-qm", "Notes by hand"], ["push", "-q"]):
        subprocess.run(["git", "-C", str(clone), *args], check=True, env={**os.environ, **GIT_ENV})
    fcntl.flock(held, fcntl.LOCK_UN)
    os.close(held)
    saver.join(timeout=30)

    assert len(results) == 1
    subjects = git(repo, "log", "--format=%s|%ae", "main").splitlines()
    # the save went in on top of the push, which is kept
    assert subjects[0].endswith("|sam@example.org") and "staged-story" in subjects[0]
    assert subjects[1] == "Notes by hand|plain@example.org"
    assert len(subjects) == 3
    # clean; the commit first staged on the old tip is left unreferenced, as a refused CAS
    # always left it
    report = git(repo, "fsck", "--strict", "--no-progress").splitlines()
    assert [line.split()[:2] for line in report] == [["dangling", "commit"]]
