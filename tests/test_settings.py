"""One settings object for the app and the `cms` command: under custom `CMS_*` settings a CLI
commit and a server commit are indexed alike, and an index rebuilt from scratch agrees."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import GIT_ENV, article, cms_command, free_port

from cms.auth.tokens import TokenStore
from cms.settings import Settings, declared, docs
from cms.store import ArticleStore
from cms.web import create_app, services

MANAGE = "/api/v1/manage/articles"
CUSTOM = {"CMS_COMMITTER_NAME": "Newsroom Bot", "CMS_COMMITTER_EMAIL": "bot@newsroom.example"}


def cms(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [cms_command(), "--repo", str(repo), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV, **CUSTOM},
    )
    assert result.returncode == 0, result.stderr
    return result


def history(repo: Path, slugs: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every revision of each slug as the management API shows it (from a fresh app)."""
    client = create_app(
        {"REPO": str(repo), "TESTING": True, "RATELIMIT_ENABLED": False}
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
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CUSTOM.items():
        monkeypatch.setenv(name, value)
    # a server write
    client = create_app(
        {"REPO": str(repo), "TESTING": True, "RATELIMIT_ENABLED": False}
    ).test_client()
    _, secret = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    headers = {"Authorization": f"Bearer {secret}"}
    created = client.post(MANAGE, json=article(slug="by-server"), headers=headers)
    assert created.status_code == 201
    assert client.post(f"{MANAGE}/by-server/publish", json={}, headers=headers).status_code == 200
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
    settings = Settings.load(
        {"REPO": "/srv/news"},
        environ={
            "CMS_REPO": "/elsewhere",
            "CMS_DURABLE": "true",
            "CMS_COMMITTER_EMAIL": "bot@x.example",
            "CMS_SCHEDULER_INTERVAL": "0",
        },
    )
    assert (settings.repo, settings.durable, settings.scheduler_interval) == ("/srv/news", True, 0)
    assert settings.committer.name == "Git CMS"
    assert settings.committer.email == "bot@x.example"
    # durable by default (issue 27); false only when asked for
    assert Settings.load(environ={}).durable is True
    assert Settings.load(environ={"CMS_DURABLE": "false"}).durable is False


def test_cms_durable_reaches_the_store_the_cli_and_app_open(repo: Path) -> None:
    settings = Settings.load({"REPO": str(repo)}, environ={"CMS_DURABLE": "true"})
    assert ArticleStore.open(settings).repo.durable is True
    app = create_app({"REPO": str(repo), "TESTING": True, "DURABLE": True})
    assert services(app).store.repo.durable is True


# -- every setting declared once, typed and checked at start-up (issue 26) ---------------------

ROOT = Path(__file__).parent.parent
CODE = sorted(Path(inspect.getfile(Settings)).parent.rglob("*.py"))  # every module of cms/
BAD = [
    ("CMS_WEBHOOK_TIMEOUT", "abc", "expected a number of seconds, got 'abc'"),
    ("CMS_WEBHOOK_TIMEOUT", "0", "expected a number of seconds > 0, got '0'"),
    ("CMS_DURABLE", "maybe", "expected true or false (also 1/0, yes/no, on/off), got 'maybe'"),
    (
        "CMS_WEBHOOK_ALLOW_PRIVATE",
        "sure",
        "expected true or false (also 1/0, yes/no, on/off), got 'sure'",
    ),
    ("CMS_SCHEDULER_INTERVAL", "-1", "expected a number of seconds >= 0, got '-1'"),
    ("CMS_MIRROR_POLL_INTERVAL", "1e400", "expected a number of seconds, got '1e400'"),
    ("CMS_TRUSTED_PROXIES", "1.5", "expected a whole number, got '1.5'"),
    ("CMS_MAX_CONTENT_LENGTH", "1MB", "expected a whole number of bytes, or nothing, got '1MB'"),
    ("CMS_MEDIA_MAX_BYTES", "0", "expected a whole number of bytes >= 1, got '0'"),
    ("CMS_SESSION_LIFETIME", "12h", "expected a whole number of seconds, got '12h'"),
    ("CMS_SITEMAP_MAX_URLS", "0", "expected a whole number >= 1, got '0'"),
    (
        "CMS_SITE_URL",
        "news.example.org",
        "expected an http or https URL, or nothing, got 'news.example.org'",
    ),
    ("CMS_AUTH_FAILURE_LIMIT", "lots", "expected a rate limit such as '20 per minute', got 'lots'"),
    (
        "CMS_WEBHOOK_RETRY_DELAYS",
        "5,soon",
        "expected comma-separated numbers of seconds, got '5,soon'",
    ),
    (
        "CMS_COMMITTER_EMAIL",
        "nobody",
        "expected an email address git can write (name@domain), got 'nobody'",
    ),
]


@pytest.mark.parametrize(("variable", "value", "expected"), BAD)
def test_a_bad_value_stops_create_app_with_a_line_naming_the_variable(
    repo: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError) as raised:
        create_app({"REPO": str(repo), "TESTING": True})
    assert str(raised.value) == f"{variable}: {expected}"
    # the mapping names the same setting without the prefix, and is checked alike
    monkeypatch.delenv(variable)
    with pytest.raises(ValueError) as raised:
        create_app({"REPO": str(repo), "TESTING": True, variable.removeprefix("CMS_"): value})
    assert str(raised.value) == f"{variable}: {expected}"


def test_every_bad_setting_is_named_at_once_and_the_mapping_overrides_the_environment(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CMS_WEBHOOK_TIMEOUT", "abc")
    monkeypatch.setenv("CMS_DURABLE", "maybe")
    with pytest.raises(ValueError) as raised:
        create_app({"REPO": str(repo), "TESTING": True})
    assert str(raised.value).splitlines() == [
        "CMS_DURABLE: expected true or false (also 1/0, yes/no, on/off), got 'maybe'",
        "CMS_WEBHOOK_TIMEOUT: expected a number of seconds, got 'abc'",
    ]
    app = create_app({"REPO": str(repo), "TESTING": True, "WEBHOOK_TIMEOUT": 3, "DURABLE": "no"})
    assert app.test_client().get("/healthz").status_code == 200


def test_cms_serve_refuses_a_bad_setting_with_one_clear_line(repo: Path) -> None:
    port = free_port()
    result = subprocess.run(
        [cms_command(), "--repo", str(repo), "serve", "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **GIT_ENV, "CMS_WEBHOOK_TIMEOUT": "abc"},
    )
    assert result.returncode != 0
    assert (
        result.stderr == "Error: CMS_WEBHOOK_TIMEOUT: expected a number of seconds, got 'abc'\n"
    ), result.stderr


def test_settings_come_typed_from_the_environment(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.load(
        environ={
            "CMS_SITE_TITLE": "2024",
            "CMS_WEBHOOK_RETRY_DELAYS": "1, 2.5",
            "CMS_DURABLE": "on",
            "CMS_MANAGE_CORS_ORIGINS": "https://a.example, https://b.example",
            "CMS_MEDIA_MAX_BYTES": "40000",
            "CMS_SITE_URL": "",
            "CMS_MAX_CONTENT_LENGTH": "",
        }
    )
    assert (settings.site_title, settings.webhook_retry_delays, settings.durable) == (
        "2024",
        (1.0, 2.5),
        True,
    )
    assert settings.manage_cors_origins == ("https://a.example", "https://b.example")
    assert (settings.media_max_bytes, settings.site_url, settings.max_content_length) == (
        40000,
        None,
        None,
    )
    # a title of digits is still a title
    monkeypatch.setenv("CMS_SITE_TITLE", "2024")
    feed = create_app({"REPO": str(repo), "TESTING": True}).test_client().get("/feed.json")
    assert feed.get_json()["title"] == "2024"


def test_cms_max_content_length_bounds_a_json_body(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CMS_MAX_CONTENT_LENGTH", "2000")
    client = create_app({"REPO": str(repo), "TESTING": True}).test_client()
    _, secret = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    big = article(body=[{"type": "paragraph", "text": "x" * 3000}])
    response = client.post(MANAGE, json=big, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 413
    assert response.content_type == "application/problem+json"
    assert (
        subprocess.run(
            ["git", "--git-dir", str(repo), "rev-list", "--count", "main"],
            capture_output=True,
            text=True,
        ).stdout
        == "1\n"
    )


def test_docs_configuration_md_is_generated_from_the_declarations() -> None:
    generated = subprocess.run(
        [sys.executable, "-m", "cms.settings", "--docs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert (ROOT / "docs" / "configuration.md").read_text() == generated, (
        "docs/configuration.md is stale: python -m cms.settings --docs > docs/configuration.md"
    )
    for variable in declared():
        assert f"| `{variable}` |" in generated


def test_every_default_the_docs_show_reads_back_as_the_default() -> None:
    for variable, f in declared().items():
        if f.metadata["shown"] is not None:
            continue  # the docs say in words what happens, not a value
        row = next(line for line in docs().splitlines() if line.startswith(f"| `{variable}` |"))
        shown = row.split(" | ")[2].strip("`")
        value = "" if shown == "none" else shown
        assert getattr(Settings.load(environ={variable: value}), f.name) == f.default, variable


# what `cms init` tells a person to export for curl
# CMS_GIT_USERNAME/PASSWORD: how `git` is handed a mirror's credentials (GIT_ASKPASS), by the
# server to its own git processes, never read from the server's environment
NOT_SETTINGS = {"CMS_TOKEN", "CMS_GIT_USERNAME", "CMS_GIT_PASSWORD"}


def test_every_cms_variable_the_code_names_is_declared() -> None:
    named: dict[str, str] = {}
    for path in CODE:
        for name in re.findall(r"\bCMS_[A-Z0-9_]+\b", path.read_text()):
            named.setdefault(name, path.name)
    undeclared = {
        n: where for n, where in named.items() if n not in declared() and n not in NOT_SETTINGS
    }
    assert undeclared == {}


def _is_settings(node: ast.expr) -> bool:
    """`settings`, `x.settings`, `settings()` or `_settings()`: an expression that is the
    Settings object."""
    if isinstance(node, ast.Call):
        node = node.func
    return (
        isinstance(node, ast.Name)
        and node.id in ("settings", "_settings")
        or isinstance(node, ast.Attribute)
        and node.attr == "settings"
    )


def _config_key(node: ast.AST) -> str | None:
    """The key of `<x>.config["KEY"]` or `<x>.config.get("KEY")`, read."""
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.ctx, ast.Load)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "config"
        and isinstance(node.slice, ast.Constant)
    ):
        return str(node.slice.value)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "config"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ):
        return str(node.args[0].value)
    return None


def test_the_code_reads_only_declared_settings_and_never_converts_them_again() -> None:
    known = {f.name for f in dataclasses.fields(Settings)} | {
        n for n in vars(Settings) if not n.startswith("_")
    }
    undeclared, converted, from_config = [], [], []
    for path in CODE:
        where = path.name
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and _is_settings(node.value)
                and node.attr not in known
            ):
                undeclared.append(f"{where}:{node.lineno} {node.attr}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("int", "float", "bool", "str")
                and node.args
                and isinstance(node.args[0], ast.Attribute)
                and _is_settings(node.args[0].value)
            ):
                converted.append(f"{where}:{node.lineno} {ast.unparse(node)}")
            key = _config_key(node)
            if key is not None:
                from_config.append(f"{where}:{node.lineno} {key}")
    assert undeclared == []
    assert converted == []  # Settings.load made them the right type already
    assert from_config == []  # settings are read typed, from the Settings object
