"""Draft preview: the draft line shaped like the delivery API, and signed, expiring links."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from conftest import article
from itsdangerous import URLSafeSerializer

from cms.web import services


def make(client, headers, title, **fields):
    response = client.post(
        "/api/v1/manage/articles", json=article(title, **fields), headers=headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_draft_is_shaped_exactly_like_a_live_article(client, editor_token):
    # `updated_at` is the draft commit's second in a preview and the publish commit's in
    # delivery (an open question, see the closing note of 2026-12-01): start at a fresh
    # second so both commits share one, as they did when this test was written
    time.sleep(1.02 - time.time() % 1)
    made = make(client, editor_token, "Bridge reopens", summary="The bridge is open again.")
    slug = made["slug"]
    draft = client.get(f"/api/v1/preview/articles/{slug}", headers=editor_token)
    assert draft.status_code == 200 and draft.headers["Cache-Control"] == "no-store"
    shown = draft.get_json()
    assert shown["published_at"] is None and shown["revision"] == made["meta"]["revision"]
    assert shown["summary"] == "The bridge is open again." and not shown["summary_generated"]
    assert shown["reading_time_minutes"] == 1 and shown["word_count"] > 0
    assert "meta" not in shown and "publish_at" not in shown
    assert client.get(f"/api/v1/articles/{slug}").status_code == 404  # still a draft

    assert (
        client.post(f"/api/v1/manage/articles/{slug}/publish", headers=editor_token).status_code
        == 200
    )
    live = client.get(f"/api/v1/articles/{slug}").get_json()
    now = client.get(f"/api/v1/preview/articles/{slug}", headers=editor_token).get_json()
    # the same answer field for field, but `revision`: a draft's is its commit on main
    assert {**now, "revision": None} == {**live, "revision": None}
    assert now["revision"] == made["meta"]["revision"] != live["revision"]

    etag = client.get(f"/api/v1/manage/articles/{slug}", headers=editor_token).headers["ETag"]
    client.patch(
        f"/api/v1/manage/articles/{slug}",
        json={"summary": None},
        headers={**editor_token, "If-Match": etag},
    )
    changed = client.get(f"/api/v1/preview/articles/{slug}", headers=editor_token).get_json()
    assert changed["summary_generated"] is True
    assert changed["published_at"] == live["published_at"]
    assert client.get(f"/api/v1/articles/{slug}").get_json()["summary_generated"] is False


def test_drafts_list_newest_first_with_neighbours_among_drafts(client, author_token):
    slugs = []
    for title in ("First draft", "Second draft", "Third draft"):
        slugs.append(make(client, author_token, title)["slug"])
        time.sleep(1.05)  # updated_at has whole seconds: keep the order unambiguous
    listed = client.get("/api/v1/preview/articles?per_page=2", headers=author_token)
    assert listed.status_code == 200
    body = listed.get_json()
    assert [i["slug"] for i in body["items"]] == ["third-draft", "second-draft"]
    assert body["meta"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2}
    assert 'rel="next"' in listed.headers["Link"]
    assert "body" not in body["items"][0] and "reading_time_minutes" in body["items"][0]
    middle = client.get("/api/v1/preview/articles/second-draft", headers=author_token).get_json()
    assert middle["previous"] == {"slug": "first-draft", "title": "First draft"}
    assert middle["next"] == {"slug": "third-draft", "title": "Third draft"}


def test_preview_needs_a_token_and_names_bad_input(client, author_token):
    assert client.get("/api/v1/preview/articles").status_code == 401
    assert client.get("/api/v1/preview/articles/anything").status_code == 401
    missing = client.get("/api/v1/preview/articles/no-such-draft", headers=author_token)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    bad = client.get("/api/v1/preview/articles?page=0", headers=author_token)
    assert bad.status_code == 400 and "page" in bad.get_json()["errors"]


def test_a_preview_link_shows_the_draft_as_it_is_when_opened_without_a_token(client, author_token):
    slug = make(client, author_token, "Secret plans")["slug"]
    made = client.post(f"/api/v1/manage/articles/{slug}/preview-link", headers=author_token)
    assert made.status_code == 201
    link = made.get_json()
    expires = datetime.fromisoformat(link["expires_at"].replace("Z", "+00:00"))
    assert abs(expires - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=1)
    path = urlsplit(link["url"]).path
    assert link["url"].startswith("http://localhost/api/v1/preview/links/")

    opened = client.get(path, headers={"Origin": "http://frontend.example"})
    assert opened.status_code == 200
    assert opened.headers["Access-Control-Allow-Origin"] == "*"
    shown = opened.get_json()
    assert shown["title"] == "Secret plans" and shown["published_at"] is None
    assert shown["previous"] is None and shown["next"] is None  # that one draft, nothing else

    etag = client.get(f"/api/v1/manage/articles/{slug}", headers=author_token).headers["ETag"]
    client.patch(
        f"/api/v1/manage/articles/{slug}",
        json={"title": "Secret plans, revised"},
        headers={**author_token, "If-Match": etag},
    )
    assert client.get(path).get_json()["title"] == "Secret plans, revised"

    tampered = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    assert client.get(tampered).status_code == 404


def test_a_preview_link_stops_working_after_it_expires(client, author_token):
    slug = make(client, author_token, "Brief exposure")["slug"]
    made = client.post(
        f"/api/v1/manage/articles/{slug}/preview-link", json={"expires_in": 1}, headers=author_token
    )
    assert made.status_code == 201
    path = urlsplit(made.get_json()["url"]).path
    assert client.get(path).status_code == 200
    time.sleep(1.5)
    expired = client.get(path)
    assert expired.status_code == 410 and expired.mimetype == "application/problem+json"
    assert "expired" in expired.get_json()["detail"]


def test_preview_link_requests_are_checked(client, author_token):
    slug = make(client, author_token, "Checked link")["slug"]
    url = f"/api/v1/manage/articles/{slug}/preview-link"
    assert client.post(url).status_code == 401
    for body in ({"expires_in": 0}, {"expires_in": "soon"}, {"expires_in": 10**9}, {"lifetime": 5}):
        response = client.post(url, json=body, headers=author_token)
        assert response.status_code == 422, body
        assert set(response.get_json()["errors"]) <= {"expires_in", "lifetime"}
    missing = client.post("/api/v1/manage/articles/nope/preview-link", headers=author_token)
    assert missing.status_code == 404
    deleted_link = client.post(url, headers=author_token).get_json()["url"]
    editor = services(client.application).tokens.create("Ed", "ed@example.org", "editor")[1]
    etag = client.get(f"/api/v1/manage/articles/{slug}", headers=author_token).headers["ETag"]
    client.delete(
        f"/api/v1/manage/articles/{slug}",
        headers={"Authorization": f"Bearer {editor}", "If-Match": etag},
    )
    assert client.get(urlsplit(deleted_link).path).status_code == 404


def delete(client, headers, slug):
    etag = client.get(f"/api/v1/manage/articles/{slug}", headers=headers).headers["ETag"]
    response = client.delete(
        f"/api/v1/manage/articles/{slug}", headers={**headers, "If-Match": etag}
    )
    assert response.status_code == 204, response.get_json()


def link_path(client, headers, slug):
    made = client.post(f"/api/v1/manage/articles/{slug}/preview-link", headers=headers)
    assert made.status_code == 201, made.get_json()
    return urlsplit(made.get_json()["url"]).path


def test_a_preview_link_ends_with_the_article_not_its_slug(client, editor_token):
    slug = make(client, editor_token, "Quarterly figures")["slug"]
    old = link_path(client, editor_token, slug)
    assert client.get(old).get_json()["title"] == "Quarterly figures"
    delete(client, editor_token, slug)
    assert client.get(old).status_code == 404
    # a different draft under the same slug is another article: the old link shows nothing
    again = make(
        client,
        editor_token,
        "Quarterly figures",
        summary="EMBARGOED: merger talks with the harbour authority.",
    )
    assert again["slug"] == slug
    shown = client.get(old)
    assert shown.status_code == 404 and shown.mimetype == "application/problem+json"
    assert "EMBARGOED" not in shown.get_data(as_text=True)
    new = link_path(client, editor_token, slug)
    assert client.get(new).get_json()["summary"].startswith("EMBARGOED")
    # edits within the article's life keep its links working
    etag = client.get(f"/api/v1/manage/articles/{slug}", headers=editor_token).headers["ETag"]
    client.patch(
        f"/api/v1/manage/articles/{slug}",
        json={"title": "Quarterly figures, v2"},
        headers={**editor_token, "If-Match": etag},
    )
    assert client.get(new).get_json()["title"] == "Quarterly figures, v2"


def test_an_editor_revokes_every_preview_link_of_an_article(
    client, author_token, editor_token, git
):
    slug = make(client, author_token, "Board changes")["slug"]
    other = make(client, author_token, "Budget leak")["slug"]
    first, second = link_path(client, author_token, slug), link_path(client, author_token, slug)
    kept = link_path(client, author_token, other)
    url = f"/api/v1/manage/articles/{slug}/preview-links"
    before = git("for-each-ref")
    assert client.delete(url).status_code == 401
    refused = client.delete(url, headers=author_token)
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert client.get(first).status_code == 200

    revoked = client.delete(url, headers=editor_token)
    assert revoked.status_code == 204 and revoked.get_data() == b""
    for path in (first, second):
        gone = client.get(path)
        assert gone.status_code == 410 and gone.mimetype == "application/problem+json"
        assert "revoked" in gone.get_json()["detail"]
    assert client.get(kept).status_code == 200  # another article's links are untouched
    fresh = link_path(client, author_token, slug)  # links made afterwards work
    assert client.get(fresh).get_json()["title"] == "Board changes"
    assert client.get(first).status_code == 410
    assert git("for-each-ref") == before  # revoking writes nothing into the repository

    missing = client.delete("/api/v1/manage/articles/no-such/preview-links", headers=editor_token)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    bad = client.delete("/api/v1/manage/articles/Not_A_Slug/preview-links", headers=editor_token)
    assert bad.status_code == 404 and "slug" in bad.get_json()["errors"]


def test_a_link_signed_before_links_named_their_article_is_refused(client, author_token, repo):
    slug = make(client, author_token, "Old style")["slug"]
    key = (repo / "cms" / "preview.key").read_text().strip()
    signer = URLSafeSerializer(key.encode(), salt="cms-preview-link")
    old = signer.dumps([slug, int(time.time()) + 3600])  # as links were signed until now
    refused = client.get(f"/api/v1/preview/links/{old}")
    assert refused.status_code == 410 and refused.mimetype == "application/problem+json"
    assert "new one" in refused.get_json()["detail"]
