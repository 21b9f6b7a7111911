"""Reproductions from the outside review (issue 12), each through the public surface: HTTP,
the `cms` command, and the repository as plain git shows it."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import GIT_ENV, article, cms_command
from test_media import picture, upload

from cms.web import create_app

# the apps its tests build are closed after each (their git processes, delivery's threads)
pytestmark = pytest.mark.usefixtures("closes_apps")

MANAGE = "/api/v1/manage/articles"
PAST = "2020-01-01T09:00:00Z"


def future(seconds: int = 3600) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def cms(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV, "GIT_CONFIG_GLOBAL": os.devnull}
    env.pop("CMS_REPO", None)
    return subprocess.run(
        [cms_command(), "--repo", str(repo), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def etag(client, slug, headers) -> str:
    return client.get(f"{MANAGE}/{slug}", headers=headers).headers["ETag"]


def refs(git) -> str:
    return git("for-each-ref")


# -- 1. only an editor sets, changes or removes publish_at -------------------------------------


def test_an_author_cannot_schedule_by_any_route(client, git, author_token, editor_token):
    made = client.post(MANAGE, json=article(), headers=author_token).get_json()
    slug = made["slug"]
    before = refs(git)
    star = {**author_token, "If-Match": "*"}
    attempts = [
        client.post(MANAGE, json=article("Other story", publish_at=PAST), headers=author_token),
        client.patch(f"{MANAGE}/{slug}", json={"publish_at": PAST}, headers=star),
        client.patch(f"{MANAGE}/{slug}", json={"publish_at": future()}, headers=star),
        client.put(f"{MANAGE}/{slug}", json=article(publish_at=PAST), headers=star),
    ]
    for response in attempts:
        assert response.status_code == 403, response.get_json()
        assert response.mimetype == "application/problem+json"
        assert "publish_at" in response.get_json()["errors"]
    assert refs(git) == before
    assert cms(client.application.config["REPO"], "publish-due").stdout == ""
    assert client.get(f"/api/v1/articles/{slug}").status_code == 404


def test_an_author_cannot_change_or_remove_an_editors_schedule(
    client, git, author_token, editor_token
):
    slug = client.post(MANAGE, json=article(), headers=editor_token).get_json()["slug"]
    when = future()
    scheduled = client.post(
        f"{MANAGE}/{slug}/publish", json={"publish_at": when}, headers=editor_token
    )
    assert scheduled.status_code == 200
    before = refs(git)
    star = {**author_token, "If-Match": "*"}
    for response in [
        client.patch(f"{MANAGE}/{slug}", json={"publish_at": None}, headers=star),
        client.patch(f"{MANAGE}/{slug}", json={"publish_at": future(7200)}, headers=star),
        client.put(f"{MANAGE}/{slug}", json=article(), headers=star),
    ]:
        assert response.status_code == 403, response.get_json()
    assert refs(git) == before
    # editing the text while keeping the schedule is an author's job
    kept = client.patch(f"{MANAGE}/{slug}", json={"title": "Budget passes"}, headers=star)
    assert kept.status_code == 200
    assert kept.get_json()["publish_at"] == when
    put = client.put(
        f"{MANAGE}/{slug}",
        json=article("Budget passes at last", publish_at=when),
        headers={**author_token, "If-Match": kept.headers["ETag"]},
    )
    assert put.status_code == 200


def test_a_scheduled_publication_is_authored_by_the_editor_who_scheduled_it(
    client, git, repo, author_token, editor_token
):
    slug = client.post(MANAGE, json=article(), headers=author_token).get_json()["slug"]
    # an editor schedules it (the time has already come), then an author fixes a typo
    due = client.patch(
        f"{MANAGE}/{slug}", json={"publish_at": PAST}, headers={**editor_token, "If-Match": "*"}
    )
    assert due.status_code == 200
    assert (
        client.patch(
            f"{MANAGE}/{slug}",
            json={"summary": "Short."},
            headers={**author_token, "If-Match": "*"},
        ).status_code
        == 200
    )
    assert cms(repo, "publish-due").stdout.split() == ["Published", slug]
    author, committer, body = git(
        "log", "-1", "--format=%an <%ae>%n%cn <%ce>%n%B", "published"
    ).split("\n", 2)
    assert author == "Eve Editor <eve@example.org>"
    assert committer == "Git CMS <cms@localhost>"
    assert f"Scheduled-For: {PAST}" in body
    assert client.get(f"/api/v1/articles/{slug}").get_json()["summary"] == "Short."


# -- 2. identities that reach a commit are validated in full ------------------------------------


BAD_IDENTITIES = [
    ("name", "Mal\n"),
    ("name", "Mal\nparent 0000000000000000000000000000000000000000"),
    ("name", "Mal\u2028"),
    ("email", "mal@example.org\n"),
    ("email", "mal@example.org\x7f"),
]


def test_token_create_refuses_a_bad_name_or_email(repo):
    for field, value in BAD_IDENTITIES:
        given = {"name": "Mal", "email": "mal@example.org", field: value}
        result = cms(repo, "token", "create", "--name", given["name"], "--email", given["email"])
        assert result.returncode != 0 and result.stdout == "", (field, value)
        assert f"{field}:" in result.stderr, (field, value, result.stderr)
    assert cms(repo, "token", "list").stdout == ""


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--name", "Mal\nparent 0000000000000000000000000000000000000000"),
        ("--email", "mal@example.org> 0 +0000\nparent x"),
    ],
)
def test_import_refuses_a_bad_identity_and_commits_nothing(repo, git, tmp_path, option, value):
    source = tmp_path / "one.json"
    source.write_text(json.dumps(article()))
    before = refs(git)
    result = cms(repo, "import", str(source), option, value)
    assert result.returncode != 0
    assert option.lstrip("-") in result.stderr
    assert refs(git) == before
    git("fsck", "--strict")


def test_a_token_made_before_validation_cannot_write_a_bad_commit(app, client, repo, git):
    """A token record from an older version, with a newline in its email."""
    path = repo / "cms" / "tokens.json"
    secret = cms(
        repo, "token", "create", "--name", "Mal", "--email", "mal@example.org", "--role", "editor"
    ).stdout.strip()
    records = json.loads(path.read_text())
    records[0]["email"] = "mal@example.org\n"
    path.write_text(json.dumps(records))
    before = refs(git)
    response = client.post(MANAGE, json=article(), headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert refs(git) == before
    git("fsck", "--strict")


# -- 3. public history covers the current life only ----------------------------------------------


def test_public_history_forgets_a_deleted_life(client, editor_token):
    first = client.post(
        MANAGE, json=article(summary="The old life."), headers=editor_token
    ).get_json()
    slug = first["slug"]
    old = client.post(f"{MANAGE}/{slug}/publish", headers=editor_token).get_json()
    old_revision = old["meta"]["published_revision"]
    assert (
        client.delete(f"{MANAGE}/{slug}", headers={**editor_token, "If-Match": "*"}).status_code
        == 204
    )
    again = client.post(
        MANAGE, json=article(slug=slug, summary="The new life."), headers=editor_token
    )
    assert again.status_code == 201
    new = client.post(f"{MANAGE}/{slug}/publish", headers=editor_token).get_json()
    history = client.get(f"/api/v1/articles/{slug}/history").get_json()
    assert [v["revision"] for v in history["items"]] == [new["meta"]["published_revision"]]
    assert history["meta"]["total"] == 1
    assert client.get(f"/api/v1/articles/{slug}/history/{old_revision}").status_code == 404
    assert client.get(f"/api/v1/articles/{slug}/history/{old_revision[:8]}").status_code == 404
    # editors still see both lives
    revisions = client.get(f"{MANAGE}/{slug}/revisions", headers=editor_token).get_json()
    assert old_revision in [r["revision"] for r in revisions["items"]]


# -- 4. /healthz: status for everyone, details for admins --------------------------------------


def test_healthz_shows_details_to_admins_only(client, editor_token, admin_token, created):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/healthz", headers=editor_token).get_json() == {"status": "ok"}
    assert client.get("/healthz", headers={"Authorization": "Bearer nonsense"}).get_json() == {
        "status": "ok"
    }
    details = client.get("/healthz", headers=admin_token)
    assert details.status_code == 200
    body = details.get_json()
    assert body["status"] == "ok" and body["articles"] == 1
    assert len(body["revision"]) == 40
    assert details.headers["Cache-Control"] == "no-store"


# -- 5. absolute URLs come from settings, and only trusted proxies are believed ----------------


def two_live(client, headers) -> None:
    for title in ("Harbour reopens", "Bridge closes"):
        slug = client.post(MANAGE, json=article(title), headers=headers).get_json()["slug"]
        client.post(f"{MANAGE}/{slug}/publish", headers=headers)


def test_public_urls_come_from_the_site_url_never_from_host(repo, editor_token):
    client = create_app(
        {
            "REPO": str(repo),
            "TESTING": True,
            "RATELIMIT_ENABLED": False,
            "SITE_URL": "https://news.example.org",
        }
    ).test_client()
    two_live(client, editor_token)
    evil = {"Host": "evil.example"}
    for url in ("/feed.xml", "/feed.json", "/sitemap.xml", "/api/v1/articles?per_page=1"):
        response = client.get(url, headers=evil)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True) + response.headers.get("Link", "")
        assert "evil.example" not in text, url
        assert "localhost" not in text, url
    link = client.get("/api/v1/articles?per_page=1", headers=evil).headers["Link"]
    assert link.startswith("<https://news.example.org/api/v1/articles?"), link
    feed = client.get("/feed.json", headers=evil).get_json()
    assert feed["feed_url"] == "https://news.example.org/feed.json"
    # a delivered article's media URLs too
    path = upload(client, editor_token, picture(40, 20)).get_json()["path"]
    slug = client.post(
        MANAGE, json=article("Pictured", image={"src": path, "alt": "A view"}), headers=editor_token
    ).get_json()["slug"]
    client.post(f"{MANAGE}/{slug}/publish", headers=editor_token)
    shown = client.get(f"/api/v1/articles/{slug}", headers=evil).get_json()
    assert shown["image"]["src"].startswith("https://news.example.org/"), shown["image"]


def test_trusted_proxies_give_the_client_address_and_scheme(repo, editor_token):
    def app(**config: Any):
        return create_app(
            {"REPO": str(repo), "TESTING": True, "AUTH_FAILURE_LIMIT": "2 per minute", **config}
        ).test_client()

    bad = {"Authorization": "Bearer cms_deadbeef_" + "x" * 43}
    behind = app(TRUSTED_PROXIES=1)
    alice = {**bad, "X-Forwarded-For": "203.0.113.1"}
    assert [behind.get(MANAGE, headers=alice).status_code for _ in range(3)] == [401, 401, 429]
    bob = {**bad, "X-Forwarded-For": "203.0.113.2"}
    assert behind.get(MANAGE, headers=bob).status_code == 401
    # a forged header does not help a client that talks to the server directly
    direct = app()
    assert [
        direct.get(MANAGE, headers={**bad, "X-Forwarded-For": f"198.51.100.{i}"}).status_code
        for i in range(3)
    ] == [401, 401, 429]
    two_live(behind, editor_token)
    link = behind.get(
        "/api/v1/articles?per_page=1", headers={"X-Forwarded-Proto": "https"}
    ).headers["Link"]
    assert link.startswith("<https://"), link
    assert (
        app()
        .get("/api/v1/articles?per_page=1", headers={"X-Forwarded-Proto": "https"})
        .headers["Link"]
        .startswith("<http://")
    )


# -- 6, 7. a live article with a pending schedule -------------------------------------------------


def test_scheduling_a_live_article_keeps_it_published(client, editor_token):
    slug = client.post(MANAGE, json=article(), headers=editor_token).get_json()["slug"]
    client.post(f"{MANAGE}/{slug}/publish", headers=editor_token)
    when = future()
    scheduled = client.post(
        f"{MANAGE}/{slug}/publish", json={"publish_at": when}, headers=editor_token
    ).get_json()
    assert scheduled["meta"]["state"] == "published"
    assert scheduled["meta"]["publish_at"] == when
    listed = client.get(f"{MANAGE}?state=published", headers=editor_token).get_json()
    assert [a["slug"] for a in listed["items"]] == [slug]
    assert client.get(f"/api/v1/articles/{slug}").status_code == 200
    # with other edits pending it is `changed`, still showing the schedule
    edited = client.patch(
        f"{MANAGE}/{slug}",
        json={"title": "Budget passes"},
        headers={**editor_token, "If-Match": "*"},
    ).get_json()
    assert edited["meta"]["state"] == "changed"
    assert edited["meta"]["publish_at"] == when


def test_publishing_now_clears_a_pending_schedule(client, editor_token):
    slug = client.post(MANAGE, json=article(), headers=editor_token).get_json()["slug"]
    scheduled = client.post(
        f"{MANAGE}/{slug}/publish", json={"publish_at": future()}, headers=editor_token
    ).get_json()
    assert scheduled["meta"]["state"] == "scheduled"
    now = client.post(f"{MANAGE}/{slug}/publish", json={"publish_at": PAST}, headers=editor_token)
    assert now.status_code == 200
    body = now.get_json()
    assert body["meta"]["state"] == "published"
    assert "publish_at" not in body and body["meta"]["publish_at"] is None
    current = client.get(f"{MANAGE}/{slug}", headers=editor_token).get_json()
    assert "publish_at" not in current and current["meta"]["state"] == "published"
    assert client.get(f"/api/v1/articles/{slug}").status_code == 200


# -- 8. revisions follow the commit graph -------------------------------------------------------


def test_revisions_in_one_second_come_out_in_the_order_they_were_made(client, git, editor_token):
    for attempt in range(10):
        slug = client.post(
            MANAGE, json=article(f"Story {attempt}"), headers=editor_token
        ).get_json()["slug"]
        client.post(f"{MANAGE}/{slug}/publish", headers=editor_token)
        client.post(f"{MANAGE}/{slug}/publish", json={"publish_at": future()}, headers=editor_token)
        items = client.get(f"{MANAGE}/{slug}/revisions", headers=editor_token).get_json()["items"]
        if len({i["date"] for i in items}) == 1:
            break
    else:
        pytest.fail("never made three revisions within one second")
    assert [i["message"].split()[0] for i in items] == ["Schedule", "Publish", "Create"]


def test_a_commit_dated_before_its_parent_is_still_listed_after_it(
    repo, git, client, editor_token, tmp_path
):
    slug = client.post(MANAGE, json=article(), headers=editor_token).get_json()["slug"]
    work = tmp_path / "clone"
    git("clone", "-q", str(repo), str(work), cwd=tmp_path)
    path = next(work.glob(f"articles/*/{slug}.json"))
    path.write_text(path.read_text().replace("Council approves budget", "Council approves it"))
    old = {"GIT_AUTHOR_DATE": "2001-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2001-01-01T00:00:00Z"}
    subprocess.run(
        ["git", "commit", "-qam", "Fix the title"],
        cwd=work,
        check=True,
        env={**os.environ, **GIT_ENV, **old},
    )
    git("push", "-q", "origin", "main", cwd=work)
    items = client.get(f"{MANAGE}/{slug}/revisions", headers=editor_token).get_json()["items"]
    assert [i["action"] for i in items] == ["external", "create"]


# -- 9. an empty JSON body means no options ------------------------------------------------------


def test_publish_with_an_empty_json_body_publishes(client, editor_token, created):
    response = client.post(
        f"{MANAGE}/{created['slug']}/publish",
        data=b"",
        headers={**editor_token, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["meta"]["state"] == "published"


# -- 10. Retry-After only where there is something to wait for -----------------------------------


def test_no_retry_after_on_success(repo, editor_token):
    client = create_app({"REPO": str(repo), "TESTING": True}).test_client()
    created = client.post(MANAGE, json=article(), headers=editor_token)
    for response in (
        created,
        client.get(MANAGE, headers=editor_token),
        client.get("/api/v1/articles"),
        client.get("/healthz"),
    ):
        assert response.status_code < 300
        assert "Retry-After" not in response.headers


# -- 11. sync reads one snapshot ------------------------------------------------------------------


def test_sync_never_fails_while_editors_publish(repo, server, editor_token):
    slugs = []
    for i in range(30):
        slug = requests.post(
            server + MANAGE, json=article(f"Story {i}"), headers=editor_token
        ).json()["slug"]
        requests.post(f"{server}{MANAGE}/{slug}/publish", headers=editor_token)
        slugs.append(slug)
    stop = threading.Event()

    def toggle(mine: list[str]) -> None:
        with requests.Session() as session:
            while not stop.is_set():
                for slug in mine:
                    session.post(f"{server}{MANAGE}/{slug}/unpublish", headers=editor_token)
                    session.post(f"{server}{MANAGE}/{slug}/publish", headers=editor_token)

    writers = [threading.Thread(target=toggle, args=(slugs[i::3],)) for i in range(3)]
    for w in writers:
        w.start()
    statuses: list[int] = []
    try:
        deadline = time.monotonic() + 5
        with requests.Session() as session:
            n = 0
            while time.monotonic() < deadline:
                n += 1
                statuses.append(session.get(f"{server}/api/v1/sync?n={n}").status_code)
    finally:
        stop.set()
        for w in writers:
            w.join()
    assert len(statuses) > 20
    assert set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}


# -- restore validates like any write ("Roles, precisely") -----------------------------------------


def test_restoring_a_version_that_no_longer_passes_is_422(
    client, git, repo, editor_token, tmp_path
):
    slug = client.post(MANAGE, json=article(), headers=editor_token).get_json()["slug"]
    # a version with a 400-character title, moved onto main by hand (past any gate)
    path = next(
        line.split("\t")[1]
        for line in git("ls-tree", "-r", "main").splitlines()
        if line.endswith(f"/{slug}.json")
    )
    doc = json.loads(git("show", f"main:{path}"))
    doc["title"] = "x" * 400
    blob = subprocess.run(
        ["git", "--git-dir", str(repo), "hash-object", "-w", "--stdin"],
        input=json.dumps(doc),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    env = {**os.environ, **GIT_ENV, "GIT_INDEX_FILE": str(tmp_path / "index")}

    def plumbing(*args: str) -> str:
        return subprocess.run(
            ["git", "--git-dir", str(repo), *args],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    plumbing("read-tree", "main")
    plumbing("update-index", "--cacheinfo", f"100644,{blob},{path}")
    bad = plumbing("commit-tree", plumbing("write-tree"), "-p", "main", "-m", "Long title")
    plumbing("update-ref", "refs/heads/main", bad)
    fixed = client.put(
        f"{MANAGE}/{slug}", json=article(), headers={**editor_token, "If-Match": "*"}
    )
    assert fixed.status_code == 200
    before = refs(git)
    response = client.post(
        f"{MANAGE}/{slug}/restore",
        json={"revision": bad},
        headers={**editor_token, "If-Match": fixed.headers["ETag"]},
    )
    assert response.status_code == 422, response.get_json()
    assert "title" in response.get_json()["errors"]
    assert refs(git) == before
