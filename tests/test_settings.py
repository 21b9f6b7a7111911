"""One settings object for the app and the `cms` command: under custom `CMS_*` settings a CLI
commit and a server commit are indexed alike, and an index rebuilt from scratch agrees."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import GIT_ENV, article, cms_command

from cms.auth.tokens import TokenStore
from cms.settings import Settings
from cms.store import ArticleStore
from cms.web import create_app

MANAGE = "/api/v1/manage/articles"
CUSTOM = {"CMS_COMMITTER_NAME": "Newsroom Bot", "CMS_COMMITTER_EMAIL": "bot@newsroom.example"}


def cms(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([cms_command(), "--repo", str(repo), *args], capture_output=True,
                            text=True, env={**os.environ, **GIT_ENV, **CUSTOM})
    assert result.returncode == 0, result.stderr
    return result


def history(repo: Path, slugs: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every revision of each slug as the management API shows it (from a fresh app)."""
    client = create_app({"REPO": str(repo), "TESTING": True, "RATELIMIT_ENABLED": False}
                        ).test_client()
    _, secret = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    headers = {"Authorization": f"Bearer {secret}"}
    found = {}
    for slug in slugs:
        response = client.get(f"{MANAGE}/{slug}/revisions?per_page=100", headers=headers)
        assert response.status_code == 200, response.get_json()
        found[slug] = response.get_json()["items"]
    return found


def test_cli_and_server_commits_are_indexed_alike_and_survive_a_rebuild(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CUSTOM.items():
        monkeypatch.setenv(name, value)
    # a server write
    client = create_app({"REPO": str(repo), "TESTING": True, "RATELIMIT_ENABLED": False}
                        ).test_client()
    _, secret = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    headers = {"Authorization": f"Bearer {secret}"}
    created = client.post(MANAGE, json=article(slug="by-server"), headers=headers)
    assert created.status_code == 201
    assert client.post(f"{MANAGE}/by-server/publish", json={},
                       headers=headers).status_code == 200
    # CLI writes: an import, and the cron's publication of a draft whose time has come
    source = tmp_path / "due.json"
    source.write_text(json.dumps(article(slug="by-cron", publish_at="2020-01-01T00:00:00Z")))
    cms(repo, "import", str(source), "--name", "Ivy Importer", "--email", "ivy@example.org")
    assert cms(repo, "publish-due").stdout == "Published by-cron\n"

    live = history(repo, ["by-server", "by-cron"])
    actions = {slug: [r["action"] for r in items] for slug, items in live.items()}
    assert actions == {"by-server": ["publish", "create"], "by-cron": ["publish", "create"]}

    index = Path(ArticleStore(str(repo)).index.tables.path)
    index.unlink()
    assert history(repo, ["by-server", "by-cron"]) == live


def test_settings_come_from_defaults_then_environment_then_the_mapping() -> None:
    settings = Settings.load({"REPO": "/srv/news"}, environ={
        "CMS_REPO": "/elsewhere", "CMS_DURABLE": "true", "CMS_COMMITTER_EMAIL": "bot@x.example",
        "CMS_SCHEDULER_INTERVAL": "0"})
    assert (settings.repo, settings.durable, settings.scheduler_interval) == ("/srv/news", True, 0)
    assert settings.committer.name == "Git CMS"
    assert settings.committer.email == "bot@x.example"
    assert Settings.load(environ={}).durable is False


def test_cms_durable_reaches_the_store_the_cli_and_app_open(repo: Path) -> None:
    settings = Settings.load({"REPO": str(repo)}, environ={"CMS_DURABLE": "true"})
    assert ArticleStore.open(settings).repo.durable is True
    app = create_app({"REPO": str(repo), "TESTING": True, "DURABLE": True})
    assert app.extensions["cms.store"].repo.durable is True
