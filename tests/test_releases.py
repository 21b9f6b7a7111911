"""Releases: several articles live in one commit on `published`, all or nothing, over HTTP
and as `cms publish SLUG...`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from conftest import GIT_ENV, article
from flask.testing import FlaskClient

from cms.cli.main import main
from cms.content import layout

MANAGE = "/api/v1/manage/articles"
RELEASES = "/api/v1/manage/releases"


def draft(client: FlaskClient, headers: dict[str, str], title: str) -> str:
    response = client.post(MANAGE, json=article(title), headers=headers)
    assert response.status_code == 201
    return response.get_json()["slug"]


def published(git: Any) -> str:
    return git("rev-parse", "published").strip()


def break_draft(repo: Path, slug: str) -> None:
    """Put a file that fails the schema on `main` with plain git plumbing (as a ref moved by
    hand on the server would: no hook runs)."""
    env = {**os.environ, **GIT_ENV, "GIT_INDEX_FILE": str(repo / "scratch-index")}

    def run(*args: str, data: str | None = None) -> str:
        return subprocess.run(
            ["git", "--git-dir", str(repo), *args],
            input=data,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    blob = run("hash-object", "-w", "--stdin", data=json.dumps({"slug": slug, "title": "x"}))
    run("read-tree", "main")
    run("update-index", "--add", "--cacheinfo", f"100644,{blob},{layout.article_path(slug)}")
    tree = run("write-tree")
    old = run("rev-parse", "main")
    commit = run("commit-tree", tree, "-p", old, "-m", f"Break {slug}")
    run("update-ref", "refs/heads/main", commit, old)
    os.unlink(repo / "scratch-index")


def test_a_release_publishes_all_in_one_commit(
    client: FlaskClient, editor_token: dict[str, str], git: Any
) -> None:
    slugs = [
        draft(client, editor_token, t) for t in ("Polls open", "Turnout high", "Results tonight")
    ]
    before = published(git)
    response = client.post(
        RELEASES, json={"slugs": slugs, "message": "Election night"}, headers=editor_token
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [a["meta"]["state"] for a in body["articles"]] == ["published"] * 3
    assert git("rev-list", "--count", f"{before}..published").strip() == "1"
    assert body["revision"] == published(git)
    message = git("log", "-1", "--format=%an <%ae>%n%B", "published")
    assert message.splitlines()[:2] == ["Eve Editor <eve@example.org>", "Election night"]
    assert [line for line in message.splitlines() if line.startswith("Article: ")] == [
        f"Article: {s}" for s in slugs
    ]
    assert "Action: publish" in message
    changed = git("diff", "--name-only", before, "published").split()
    assert sorted(changed) == sorted(layout.article_path(s) for s in slugs)
    for slug in slugs:
        assert client.get(f"/api/v1/articles/{slug}").status_code == 200
        revisions = client.get(f"{MANAGE}/{slug}/revisions", headers=editor_token).get_json()
        assert revisions["items"][0]["action"] == "publish"
        assert revisions["items"][0]["revision"] == body["revision"]


def test_a_release_with_one_invalid_article_publishes_none(
    client: FlaskClient, editor_token: dict[str, str], repo: Path, git: Any
) -> None:
    good = [draft(client, editor_token, t) for t in ("Storm warning", "Schools closed")]
    broken = draft(client, editor_token, "Roads flooded")
    break_draft(repo, broken)
    before = published(git)
    response = client.post(
        RELEASES, json={"slugs": [good[0], broken, good[1]]}, headers=editor_token
    )
    assert response.status_code == 422
    problem = response.get_json()
    assert response.content_type == "application/problem+json"
    assert list(problem["errors"]) == ["slugs.1"]
    assert broken in problem["errors"]["slugs.1"][0] and "body" in problem["errors"]["slugs.1"][0]
    assert broken in problem["detail"]
    assert published(git) == before
    for slug in good:
        assert client.get(f"/api/v1/articles/{slug}").status_code == 404

    unknown = client.post(
        RELEASES, json={"slugs": [good[0], "no-such-story", good[0]]}, headers=editor_token
    )
    assert unknown.status_code == 422
    assert set(unknown.get_json()["errors"]) == {"slugs.2"}  # named twice, checked first
    missing = client.post(
        RELEASES, json={"slugs": [good[0], "no-such-story"]}, headers=editor_token
    )
    assert missing.status_code == 422
    assert missing.get_json()["errors"] == {"slugs.1": ["There is no article 'no-such-story'."]}
    assert published(git) == before


def test_a_release_of_something_live_as_it_is_conflicts(
    client: FlaskClient, editor_token: dict[str, str], git: Any
) -> None:
    live, fresh = (draft(client, editor_token, t) for t in ("Old news", "New news"))
    client.post(f"{MANAGE}/{live}/publish", headers=editor_token)
    before = published(git)
    response = client.post(RELEASES, json={"slugs": [fresh, live]}, headers=editor_token)
    assert response.status_code == 409
    assert response.get_json()["errors"] == {"slugs.1": [f"'{live}' is live as it is."]}
    assert published(git) == before


def test_an_author_cannot_release(
    client: FlaskClient, author_token: dict[str, str], git: Any
) -> None:
    slug = draft(client, author_token, "My scoop")
    before = published(git)
    response = client.post(RELEASES, json={"slugs": [slug]}, headers=author_token)
    assert response.status_code == 403
    assert published(git) == before
    for bad in (
        {},
        {"slugs": []},
        {"slugs": "x"},
        {"slugs": [slug], "extra": 1},
        {"slugs": [slug], "message": "two\nlines"},
    ):
        assert client.post(RELEASES, json=bad, headers=author_token).status_code == 403


def test_bad_release_bodies_are_named(
    client: FlaskClient, editor_token: dict[str, str], git: Any
) -> None:
    slug = draft(client, editor_token, "Fine")
    before = published(git)
    for bad, field in (
        ({}, "slugs"),
        ({"slugs": []}, "slugs"),
        ({"slugs": "x"}, "slugs"),
        ({"slugs": [slug], "extra": 1}, "extra"),
        ({"slugs": [slug], "message": "two\nlines"}, "message"),
        ({"slugs": ["Not A Slug"]}, "slugs.0"),
    ):
        response = client.post(RELEASES, json=bad, headers=editor_token)
        assert response.status_code == 422, bad
        assert field in response.get_json()["errors"], (bad, response.get_json())
    assert published(git) == before


def test_cms_publish_releases_from_the_command_line(
    client: FlaskClient, repo: Path, editor_token: dict[str, str], git: Any
) -> None:
    slugs = [draft(client, editor_token, t) for t in ("Match report", "Match photos")]
    runner = CliRunner()
    before = published(git)
    refused = runner.invoke(
        main,
        [
            "--repo",
            str(repo),
            "publish",
            slugs[0],
            "nope",
            "--author",
            "Cli Editor <cli@example.org>",
        ],
    )
    assert refused.exit_code == 1
    assert "nope" in refused.output and published(git) == before
    result = runner.invoke(
        main, ["--repo", str(repo), "publish", *slugs, "--author", "Cli Editor <cli@example.org>"]
    )
    assert result.exit_code == 0, result.output
    assert git("rev-list", "--count", f"{before}..published").strip() == "1"
    assert git("log", "-1", "--format=%an|%s", "published").strip() == (
        "Cli Editor|Publish 2 articles: match-report, match-photos"
    )
