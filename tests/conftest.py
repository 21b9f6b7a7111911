"""Fixtures named for the state they build: a content repository, its store, the app, tokens.

The helpers tests import from here (`article`, `free_port`, `running`, `cms_server` ...) live
in `harness`, shared with the soak runs and the benchmarks. `harness.leaks` names a test
module that leaves a process running (fails it with CMS_LEAK_CHECK=fail): the fixtures here
close what they open."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cms.auth.tokens import TokenStore
from cms.store import ArticleStore
from cms.web import create_app, services
from harness import GIT_ENV, article
from harness.launch import answers, cms_command, cms_server, free_port, running, stop

pytest_plugins = ["harness.leaks"]

# The product is durable by default (CMS_DURABLE=true: every acknowledged write synced to disk).
# The suite's thousands of saves run without waiting for the disk, which changes no answer and
# kept `make test` from slowing down by the syncs of a shared disk; the one place this is set.
# The durability tests (test_durable_proof, test_power_cut, test_groupcommit) and the
# durable API tests set CMS_DURABLE=true for what they start.
os.environ.setdefault("CMS_DURABLE", "false")

__all__ = [
    "GIT_ENV",
    "answers",
    "article",
    "cms_command",
    "cms_server",
    "free_port",
    "running",
    "stop",
]


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
def store(repo: Path) -> Iterator[ArticleStore]:
    store = ArticleStore(str(repo))
    yield store
    store.close()


@pytest.fixture
def app(repo: Path) -> Iterator[Flask]:
    # the limit on failed tokens has its own test; here it would turn 401s into 429s
    app = create_app({"REPO": str(repo), "TESTING": True, "RATELIMIT_ENABLED": False})
    yield app
    services(app).close()


@pytest.fixture
def closes_apps(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """For a module whose tests call `create_app` themselves: every app one of its tests builds
    is closed after it (its git processes and delivery's threads), as the `app` fixture's is.
    Use with `pytestmark = pytest.mark.usefixtures("closes_apps")`."""
    made: list[Flask] = []

    def make(*args: Any, **kwargs: Any) -> Flask:
        built = create_app(*args, **kwargs)
        made.append(built)
        return built

    monkeypatch.setattr(request.module, "create_app", make)
    yield
    for built in made:
        services(built).close()


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


@pytest.fixture
def server_env() -> dict[str, str]:
    """Extra environment for the `server` fixture's process (e.g. CMS_SCHEDULER_INTERVAL)."""
    return {}


@pytest.fixture
def server(repo: Path, server_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`cms_server` on this test's repository, its log in the test's folder."""
    with cms_server(repo, tmp_path / "server.log", server_env) as base:
        yield base
