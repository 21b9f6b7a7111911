"""Fixtures named for the state they build: a content repository, its store, the app, tokens."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cms.store import ArticleStore
from cms.tokens import TokenStore
from cms.web import create_app

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Plain Git",
    "GIT_AUTHOR_EMAIL": "plain@example.org",
    "GIT_COMMITTER_NAME": "Plain Git",
    "GIT_COMMITTER_EMAIL": "plain@example.org",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def article(title: str = "Council approves budget", **fields: Any) -> dict[str, Any]:
    """A small valid article."""
    return {
        "title": title,
        "body": [
            {"type": "paragraph", "text": "The council met on Tuesday."},
            {"type": "paragraph", "text": "The budget passed by seven votes to two."},
        ],
        **fields,
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fresh content repository (bare, `main` with one initial commit)."""
    path = tmp_path / "content-repo"
    ArticleStore.init(str(path))
    return path


@pytest.fixture
def git(repo: Path) -> Callable[..., str]:
    """Run plain git against the content repository and return its output."""

    def run(*args: str, cwd: Path | None = None) -> str:
        cmd = ["git", *args] if cwd else ["git", "--git-dir", str(repo), *args]
        env = {**os.environ, **GIT_ENV}
        return subprocess.run(
            cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True
        ).stdout

    return run


@pytest.fixture
def store(repo: Path) -> ArticleStore:
    return ArticleStore(str(repo))


@pytest.fixture
def app(repo: Path) -> Flask:
    # the limit on failed tokens has its own test; here it would turn 401s into 429s
    return create_app({"REPO": str(repo), "TESTING": True, "RATELIMIT_ENABLED": False})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _token(repo: Path, name: str, email: str, role: str) -> dict[str, str]:
    _, secret = TokenStore(str(repo)).create(name, email, role)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def admin_secret(repo: Path) -> str:
    """A bare admin token, as `cms init` prints it."""
    _, secret = TokenStore(str(repo)).create("Ada Admin", "ada@example.org", "admin")
    return secret


@pytest.fixture
def author_token(repo: Path) -> dict[str, str]:
    """Headers carrying an author's token (Ann Author <ann@example.org>)."""
    return _token(repo, "Ann Author", "ann@example.org", "author")


@pytest.fixture
def editor_token(repo: Path) -> dict[str, str]:
    """Headers carrying an editor's token (Eve Editor <eve@example.org>)."""
    return _token(repo, "Eve Editor", "eve@example.org", "editor")


@pytest.fixture
def admin_token(repo: Path) -> dict[str, str]:
    return _token(repo, "Ada Admin", "ada@example.org", "admin")


@pytest.fixture
def created(client: FlaskClient, editor_token: dict[str, str]) -> dict[str, Any]:
    """An article created through the API; its response body plus `etag`."""
    response = client.post("/api/v1/manage/articles", json=article(), headers=editor_token)
    assert response.status_code == 201
    return {**response.get_json(), "etag": response.headers["ETag"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cms_command() -> str:
    return shutil.which("cms") or str(Path(sys.executable).parent / "cms")


@pytest.fixture
def server_env() -> dict[str, str]:
    """Extra environment for the `server` fixture's process (e.g. CMS_SCHEDULER_INTERVAL)."""
    return {}


def answers(url: str, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait until `url` answers 200: True, or False once `proc` exits or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not gone within 15 seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def running(command: list[str], ready: str, log: Path | None = None,
            env: dict[str, str] | None = None, timeout: float = 30) -> Iterator[None]:
    """Run `command` (stderr to `log`) while the block runs, once `ready` answers 200."""
    with (log.open("w+b") if log else open(os.devnull, "w+b")) as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err,
                                env={**os.environ, **(env or {})})
        try:
            if not answers(ready, proc, timeout):
                err.seek(0)
                raise RuntimeError(f"{command[0]} did not come up:\n"
                                   + err.read().decode(errors="replace"))
            yield
        finally:
            stop(proc)


@contextmanager
def cms_server(repo: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """`cms serve` with 3 workers on a free port; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running([cms_command(), "--repo", str(repo), "serve", "--port", str(port),
                  "--workers", "3"], f"{base}/healthz", log, env):
        yield base


@pytest.fixture
def server(repo: Path, server_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`cms_server` on this test's repository, its log in the test's folder."""
    with cms_server(repo, tmp_path / "server.log", server_env) as base:
        yield base
