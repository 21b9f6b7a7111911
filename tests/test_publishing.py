"""Publishing on its own line of history, as editors and git see it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from cms.content import layout

URL = "/api/v1/manage/articles"


def publish(client, headers, slug, **body):
    return client.post(f"{URL}/{slug}/publish", json=body or None, headers=headers)


def test_states_through_publish_edit_and_unpublish(client, editor_token, created, git):
    slug = created["slug"]
    assert created["meta"]["state"] == "draft"
    published = publish(client, editor_token, slug)
    assert published.status_code == 200
    meta = published.get_json()["meta"]
    assert meta["state"] == "published"
    assert meta["published_revision"] == git("rev-parse", "published").strip()
    assert meta["published_at"] is not None
    subject, author, *message = git("log", "-1", "--format=%s%n%an%n%B", "published").split("\n")
    assert (subject, author) == (f"Publish {slug}", "Eve Editor")
    assert {"Action: publish", f"Revision: {created['meta']['revision']}"} <= set(message)

    edited = client.patch(
        f"{URL}/{slug}",
        json={"title": "Edited after publishing"},
        headers={**editor_token, "If-Match": published.headers["ETag"]},
    )
    assert edited.get_json()["meta"]["state"] == "changed"
    diff = git("diff", "published", "main")
    assert '-  "title": "Council approves budget",' in diff
    assert '+  "title": "Edited after publishing",' in diff
    assert client.get(f"{URL}?state=changed", headers=editor_token).get_json()["meta"]["total"] == 1

    again = publish(client, editor_token, slug)
    assert again.get_json()["meta"]["state"] == "published"
    assert git("diff", "published", "main") == ""
    assert publish(client, editor_token, slug).status_code == 409

    withdrawn = client.post(f"{URL}/{slug}/unpublish", headers=editor_token)
    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["meta"]["state"] == "draft"
    assert withdrawn.get_json()["title"] == "Edited after publishing"
    assert client.post(f"{URL}/{slug}/unpublish", headers=editor_token).status_code == 409
    assert git("log", "--format=%s", "published").split("\n")[:3] == [
        f"Unpublish {slug}",
        f"Publish {slug}",
        f"Publish {slug}",
    ]
    assert git("log", "--grep", "Action: publish", "--format=%s", "published").count("Publish") == 2

    revisions = client.get(f"{URL}/{slug}/revisions", headers=editor_token).get_json()["items"]
    # all five happened within a second or two; git times have whole seconds, so only the
    # order along each line is certain
    assert sorted((r["action"], r["published"]) for r in revisions) == sorted(
        [
            ("unpublish", True),
            ("publish", True),
            ("update", False),
            ("publish", True),
            ("create", False),
        ]
    )
    assert [r["action"] for r in revisions if r["published"]] == ["unpublish", "publish", "publish"]
    assert [r["action"] for r in revisions if not r["published"]] == ["update", "create"]
    dates = [r["date"] for r in revisions]
    assert dates == sorted(dates, reverse=True)


def test_publish_a_named_revision(client, editor_token, created, git):
    slug, first = created["slug"], created["meta"]["revision"]
    client.patch(
        f"{URL}/{slug}",
        json={"title": "Second thoughts"},
        headers={**editor_token, "If-Match": created["etag"]},
    )
    response = publish(client, editor_token, slug, revision=first[:10])
    assert response.status_code == 200
    assert response.get_json()["meta"]["state"] == "changed"
    live = git("show", f"published:{layout.article_path(slug)}")
    assert '"title": "Council approves budget"' in live
    assert publish(client, editor_token, slug, revision="0" * 40).status_code == 404


def test_publish_needs_an_editor_and_an_article(client, author_token, editor_token, created):
    assert publish(client, author_token, created["slug"]).status_code == 403
    assert (
        client.post(f"{URL}/{created['slug']}/unpublish", headers=author_token).status_code == 403
    )
    assert publish(client, editor_token, "no-such-article").status_code == 404
    assert client.post(f"{URL}/no-such-article/unpublish", headers=editor_token).status_code == 404
    bad = publish(client, editor_token, created["slug"], publish_at="tomorrow")
    assert bad.status_code == 422 and "publish_at" in bad.get_json()["errors"]


def test_delete_removes_the_article_from_both_lines_at_once(client, editor_token, created, git):
    slug = created["slug"]
    live = publish(client, editor_token, slug)
    before = {line: git("rev-parse", line).strip() for line in ("main", "published")}
    deleted = client.delete(
        f"{URL}/{slug}", headers={**editor_token, "If-Match": live.headers["ETag"]}
    )
    assert deleted.status_code == 204
    for line in ("main", "published"):
        assert git("rev-parse", f"{line}^").strip() == before[line]
        assert git("log", "-1", "--format=%s", line).strip() == f"Delete {slug}"
        assert layout.article_path(slug) not in git("ls-tree", "-r", "--name-only", line)


def test_scheduling_saves_publish_at_and_publish_due_publishes_once(
    client, editor_token, created, store, git
):
    slug = created["slug"]
    when = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
    scheduled = publish(
        client, editor_token, slug, publish_at=when.isoformat().replace("+00:00", "Z")
    )
    assert scheduled.status_code == 200
    body = scheduled.get_json()
    assert body["meta"]["state"] == "scheduled"
    assert body["publish_at"] == when.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert git("log", "-1", "--format=%s", "main").strip() == (
        f"Schedule {slug} for {body['publish_at']}"
    )
    assert store.publish_due() == []
    time.sleep(max(0.0, when.timestamp() - time.time()) + 1.1)
    assert store.publish_due() == [slug]
    assert store.publish_due() == []
    assert (
        client.get(f"{URL}/{slug}", headers=editor_token).get_json()["meta"]["state"] == "published"
    )
    assert git("log", "-1", "--format=%s", "published").strip() == f"Publish {slug}"
    assert f"Scheduled-For: {body['publish_at']}" in git("log", "-1", "--format=%B", "published")
    # unpublishing after the scheduled time does not bring it back
    client.post(f"{URL}/{slug}/unpublish", headers=editor_token)
    assert store.publish_due() == []


def test_a_schedule_moved_later_is_not_published_early(client, editor_token, created, store):
    slug = created["slug"]
    soon = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    publish(client, editor_token, slug, publish_at=soon)
    publish(client, editor_token, slug, publish_at=later)
    time.sleep(2.1)
    assert store.publish_due() == []
    assert (
        client.get(f"{URL}?state=scheduled", headers=editor_token).get_json()["meta"]["total"] == 1
    )


def test_published_demo_content(tmp_path):
    from cms.demo.articles import ARTICLES
    from cms.store import ArticleStore

    assert len(ARTICLES) >= 5
    store = ArticleStore.init(str(tmp_path / "demo"))
    for doc in ARTICLES:
        store.publish(store.create(doc, store.committer).slug, store.committer)
    articles, total = store.list(state="published")
    assert total == len(ARTICLES)
    assert {a.slug for a in articles} == {doc["slug"] for doc in ARTICLES}
