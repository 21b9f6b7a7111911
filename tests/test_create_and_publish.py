"""`?publish=true`: create (or replace) and publish in one call, as git and receivers see it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from cms.auth.tokens import TokenStore
from cms.edge.changes import changed
from cms.store import ArticleStore
from cms.web import create_app
from cms.web.services import services
from cms.webhooks import feed
from harness import GIT_ENV, article

URL = "/api/v1/manage/articles"


def log(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), "log", *args],
        env=GIT_ENV,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def refs(repo: Path) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), "for-each-ref", "--format=%(refname) %(objectname)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_create_and_publish_is_two_commits_moved_at_once(client, editor_token, repo, git):
    before = git("rev-parse", "main", "published").split()
    made = client.post(f"{URL}?publish=true", json=article(), headers=editor_token)
    assert made.status_code == 201
    body = made.get_json()
    slug = body["slug"]
    assert made.headers["Location"].endswith(f"{URL}/{slug}")
    assert body["meta"]["state"] == "published"
    assert body["meta"]["published_at"] is not None
    main, published = git("rev-parse", "main", "published").split()
    assert body["meta"]["revision"] == main
    assert body["meta"]["published_revision"] == published
    # history as two calls make it: the draft commit on main, its publication on published
    assert git("rev-parse", "main^", "published^").split() == before
    assert git("log", "-1", "--format=%s%n%an", "main").split("\n")[:2] == [
        f"Create {slug}",
        "Eve Editor",
    ]
    subject, author, *message = git("log", "-1", "--format=%s%n%an%n%B", "published").split("\n")
    assert (subject, author) == (f"Publish {slug}", "Eve Editor")
    assert {"Action: publish", f"Revision: {main}"} <= set(message)
    assert git("diff", "published", "main") == ""
    # the ETag is the draft's, and it is what the next save needs
    etag = made.headers["ETag"]
    shown = client.get(f"{URL}/{slug}", headers=editor_token)
    assert shown.headers["ETag"] == etag
    assert shown.get_json()["meta"]["state"] == "published"
    edited = client.put(
        f"{URL}/{slug}", json=article("A new title"), headers={**editor_token, "If-Match": etag}
    )
    assert edited.status_code == 200
    assert edited.get_json()["meta"]["state"] == "changed"
    # delivery shows it at once
    live = client.get(f"/api/v1/articles/{slug}")
    assert live.status_code == 200
    assert live.get_json()["title"] == "Council approves budget"
    revisions = client.get(f"{URL}/{slug}/revisions", headers=editor_token).get_json()["items"]
    assert len(revisions) == 3
    fsck = subprocess.run(
        ["git", "--git-dir", str(repo), "fsck", "--full"], capture_output=True, text=True
    )
    assert fsck.returncode == 0, fsck.stderr


def test_replace_and_publish(client, editor_token, created, git):
    slug, etag = created["slug"], created["etag"]
    changed_ = client.put(
        f"{URL}/{slug}?publish=true",
        json=article("Budget approved, at last"),
        headers={**editor_token, "If-Match": etag},
    )
    assert changed_.status_code == 200
    assert changed_.get_json()["meta"]["state"] == "published"
    assert changed_.get_json()["title"] == "Budget approved, at last"
    assert changed_.headers["ETag"] != etag
    main = git("rev-parse", "main").strip()
    assert git("log", "-1", "--format=%s", "main").strip() == f"Update {slug}: title"
    assert f"Revision: {main}" in git("log", "-1", "--format=%B", "published")
    assert client.get(f"/api/v1/articles/{slug}").get_json()["title"] == "Budget approved, at last"

    # the same content again: no draft commit; live as it is, so no publication either
    tips = git("rev-parse", "main", "published")
    again = client.put(
        f"{URL}/{slug}?publish=true",
        json=article("Budget approved, at last"),
        headers={**editor_token, "If-Match": changed_.headers["ETag"]},
    )
    assert again.status_code == 200
    assert again.headers["ETag"] == changed_.headers["ETag"]
    assert git("rev-parse", "main", "published") == tips

    # a draft saved before, unchanged now, goes live: one commit, on published only
    saved = client.put(
        f"{URL}/{slug}",
        json=article("Saved, not yet live"),
        headers={**editor_token, "If-Match": again.headers["ETag"]},
    )
    main = git("rev-parse", "main").strip()
    live = client.put(
        f"{URL}/{slug}?publish=true",
        json=article("Saved, not yet live"),
        headers={**editor_token, "If-Match": saved.headers["ETag"]},
    )
    assert live.status_code == 200
    assert live.get_json()["meta"]["state"] == "published"
    assert git("rev-parse", "main").strip() == main
    assert f"Revision: {main}" in git("log", "-1", "--format=%B", "published")


def test_a_stale_if_match_publishes_nothing(client, editor_token, created, git):
    slug = created["slug"]
    client.patch(
        f"{URL}/{slug}",
        json={"title": "Someone else's"},
        headers={**editor_token, "If-Match": created["etag"]},
    )
    tips = git("rev-parse", "main", "published")
    stale = client.put(
        f"{URL}/{slug}?publish=true",
        json=article("Mine"),
        headers={**editor_token, "If-Match": created["etag"]},
    )
    assert stale.status_code == 412
    assert git("rev-parse", "main", "published") == tips


def test_an_author_may_create_but_not_publish(client, author_token, repo):
    before = refs(repo)
    refused = client.post(f"{URL}?publish=true", json=article(), headers=author_token)
    assert refused.status_code == 403
    assert refused.content_type == "application/problem+json"
    assert "publish" in refused.get_json()["errors"]
    assert refs(repo) == before
    made = client.post(f"{URL}?publish=false", json=article(), headers=author_token)
    assert made.status_code == 201
    assert made.get_json()["meta"]["state"] == "draft"
    refused = client.put(
        f"{URL}/{made.get_json()['slug']}?publish=true",
        json=article("Mine, live"),
        headers={**author_token, "If-Match": made.headers["ETag"]},
    )
    assert refused.status_code == 403
    assert "publish" in refused.get_json()["errors"]


@pytest.mark.parametrize(
    ("query", "body", "status", "field"),
    [
        ("publish=yes", article(), 400, "publish"),
        ("publish=1", article(), 400, "publish"),
        ("publish=true", {**article(), "title": ""}, 422, "title"),
        ("publish=true", {**article(), "colour": "red"}, 422, "colour"),
        ("publish=true", article(publish_at="2999-01-01T00:00:00Z"), 422, "publish_at"),
        (
            "publish=true",
            article(image={"src": "/media/2026/12/missing.png", "alt": "x"}),
            422,
            "image",
        ),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    client, editor_token, repo, query, body, status, field
):
    before = refs(repo)
    answer = client.post(f"{URL}?{query}", json=body, headers=editor_token)
    assert answer.status_code == status, answer.get_json()
    assert answer.content_type == "application/problem+json"
    assert any(k == field or k.startswith(f"{field}.") for k in answer.get_json()["errors"])
    assert refs(repo) == before


def test_a_taken_slug_is_409_and_nothing_moves(client, editor_token, created, repo):
    before = refs(repo)
    taken = client.post(
        f"{URL}?publish=true", json=article(slug=created["slug"]), headers=editor_token
    )
    assert taken.status_code == 409
    assert "slug" in taken.get_json()["errors"]
    assert refs(repo) == before


def _app(path: Path) -> tuple[Any, dict[str, str]]:
    ArticleStore.init(str(path))
    app = create_app({"REPO": str(path), "TESTING": True, "RATELIMIT_ENABLED": False})
    _, secret = TokenStore(str(path)).create("Eve Editor", "eve@example.org", "editor")
    return app, {"Authorization": f"Bearer {secret}"}


def test_receivers_and_caches_hear_what_two_calls_tell_them(tmp_path):
    """The events a webhook receiver gets and the keys a cache is purged of are those of a
    create then a publish."""
    seen = {}
    for name in ("one-call", "two-calls"):
        app, headers = _app(tmp_path / name)
        store = services(app).store
        since = store.repo.tips()
        client = app.test_client()
        body = article(slug="budget", tags=["council"], section="news")
        if name == "one-call":
            assert client.post(f"{URL}?publish=true", json=body, headers=headers).status_code == 201
        else:
            assert client.post(URL, json=body, headers=headers).status_code == 201
            assert client.post(f"{URL}/budget/publish", headers=headers).status_code == 200
        until = store.catch_up()
        events, _ = feed.pending(store.repo, dict(since), dict(until), store.committer.email)
        with store.index.tables.reading():
            span = changed(store.repo, store.index, since, until, per_file=1000, max_keys=500)
        assert span is not None
        seen[name] = ([(e.type, e.line) for e in events], span.keys, span.commits)
    assert seen["one-call"] == seen["two-calls"]
    assert seen["one-call"][0] == [("article.created", "main"), ("article.published", "published")]
    assert seen["one-call"][2] == 2
