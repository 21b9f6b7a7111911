"""The management API as an editor's tool uses it."""

from __future__ import annotations

import re

from conftest import article

URL = "/api/v1/manage/articles"


def test_create_returns_the_article_with_location_and_etag(client, author_token):
    response = client.post(
        URL,
        json=article(tags=["Budget", "Council", "budget"], section="politics"),
        headers=author_token,
    )
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"{URL}/council-approves-budget"
    assert re.fullmatch(r'"[0-9a-f]{40}"', response.headers["ETag"])
    assert body["slug"] == "council-approves-budget"
    assert body["tags"] == ["budget", "council"]
    assert body["language"] == "en"
    meta = body["meta"]
    assert meta["state"] == "draft"
    assert re.fullmatch(r"[0-9a-f]{40}", meta["revision"])
    assert (
        meta["created_by"]
        == meta["updated_by"]
        == {"name": "Ann Author", "email": "ann@example.org"}
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["created_at"])
    assert meta["published_revision"] is None and meta["published_at"] is None
    shown = client.get(response.headers["Location"], headers=author_token)
    assert shown.get_json() == body
    assert shown.headers["ETag"] == response.headers["ETag"]


def test_slugs_are_derived_from_titles_and_numbered_on_collision(client, author_token):
    slugs = [
        client.post(URL, json=article("Ça va? Über-große Äpfel!"), headers=author_token).get_json()[
            "slug"
        ]
        for _ in range(3)
    ]
    assert slugs == [
        "ca-va-uber-grosse-apfel",
        "ca-va-uber-grosse-apfel-2",
        "ca-va-uber-grosse-apfel-3",
    ]
    emoji = client.post(URL, json=article("🎉🎉"), headers=author_token).get_json()
    assert emoji["slug"] == "article"


def test_put_replaces_and_patch_merges(client, author_token, created):
    slug, headers = created["slug"], {**author_token, "If-Match": created["etag"]}
    replaced = client.put(
        f"{URL}/{slug}", json=article("New title", summary="Short."), headers=headers
    )
    assert replaced.status_code == 200
    assert replaced.get_json()["title"] == "New title"
    assert replaced.headers["ETag"] != created["etag"]
    patched = client.patch(
        f"{URL}/{slug}",
        data='{"summary": null, "section": "world"}',
        content_type="application/merge-patch+json",
        headers={**author_token, "If-Match": replaced.headers["ETag"]},
    )
    assert patched.status_code == 200
    body = patched.get_json()
    assert "summary" not in body and body["section"] == "world"
    assert body["title"] == "New title"
    assert body["meta"]["created_at"] == created["meta"]["created_at"]
    assert body["meta"]["revision"] != replaced.get_json()["meta"]["revision"]


def test_meta_sent_back_is_ignored(client, author_token, created):
    sent = {k: v for k, v in created.items() if k != "etag"}
    sent["meta"] = {**sent["meta"], "state": "published"}
    sent["title"] = "Changed"
    response = client.put(
        f"{URL}/{created['slug']}", json=sent, headers={**author_token, "If-Match": created["etag"]}
    )
    assert response.status_code == 200
    assert response.get_json()["meta"]["state"] == "draft"


def test_if_match_star_and_lists(client, author_token, created):
    slug = created["slug"]
    star = client.patch(
        f"{URL}/{slug}", json={"summary": "One."}, headers={**author_token, "If-Match": "*"}
    )
    assert star.status_code == 200
    listed = client.patch(
        f"{URL}/{slug}",
        json={"summary": "Two."},
        headers={**author_token, "If-Match": f'"{"0" * 40}", {star.headers["ETag"]}'},
    )
    assert listed.status_code == 200


def test_roles(client, author_token, editor_token, admin_token, created):
    slug = created["slug"]
    first = created["meta"]["revision"]
    denied = client.delete(f"{URL}/{slug}", headers={**author_token, "If-Match": created["etag"]})
    assert denied.status_code == 403
    assert denied.mimetype == "application/problem+json"
    assert (
        client.post(
            f"{URL}/{slug}/restore", json={"revision": first}, headers=author_token
        ).status_code
        == 403
    )
    assert client.get(URL, headers=admin_token).status_code == 200
    assert (
        client.delete(
            f"{URL}/{slug}", headers={**editor_token, "If-Match": created["etag"]}
        ).status_code
        == 204
    )
    assert client.get(f"{URL}/{slug}", headers=author_token).status_code == 404


def test_list_filters_and_pagination(client, author_token):
    for i in range(5):
        client.post(
            URL,
            json=article(f"Storm update {i}", section="weather", tags=["storm"]),
            headers=author_token,
        )
    client.post(
        URL,
        json=article(
            "Budget vote",
            section="politics",
            tags=["Budget"],
            summary="Councillors argued about potholes.",
        ),
        headers=author_token,
    )
    everything = client.get(URL, headers=author_token).get_json()
    assert everything["meta"] == {"page": 1, "per_page": 20, "total": 6, "pages": 1}
    assert everything["items"][0]["slug"] == "budget-vote"  # most recently updated first

    page = client.get(f"{URL}?section=weather&per_page=2&page=2", headers=author_token)
    body = page.get_json()
    assert body["meta"] == {"page": 2, "per_page": 2, "total": 5, "pages": 3}
    assert len(body["items"]) == 2
    links = page.headers["Link"]
    assert "page=3" in links and 'rel="next"' in links
    assert "page=1" in links and 'rel="prev"' in links
    assert "section=weather" in links
    last = client.get(f"{URL}?section=weather&per_page=2&page=3", headers=author_token)
    assert 'rel="next"' not in last.headers["Link"]

    def slugs(query: str) -> set[str]:
        return {
            a["slug"]
            for a in client.get(f"{URL}?{query}", headers=author_token).get_json()["items"]
        }

    assert slugs("tag=BUDGET") == {"budget-vote"}
    assert slugs("q=potholes") == {"budget-vote"}
    assert slugs("q=seven votes") == {f"storm-update-{i}" for i in range(5)} | {"budget-vote"}
    assert slugs("q=nothing-matches-this") == set()
    assert slugs("q=%22%29%28*") == set()
    assert slugs("state=draft") == slugs("")
    assert slugs("state=published") == set()


def test_revisions_view_and_diff(client, editor_token, created):
    slug = created["slug"]
    first = created["meta"]["revision"]
    etag = created["etag"]
    for i in range(3):
        body = article(summary=f"Version {i}")
        body["body"][1]["text"] = f"The budget passed, take {i}."
        etag = client.put(
            f"{URL}/{slug}", json=body, headers={**editor_token, "If-Match": etag}
        ).headers["ETag"]
    revisions = client.get(f"{URL}/{slug}/revisions?per_page=2", headers=editor_token)
    body = revisions.get_json()
    assert body["meta"]["total"] == 4
    assert [r["action"] for r in body["items"]] == ["update", "update"]
    assert 'rel="next"' in revisions.headers["Link"]
    newest = body["items"][0]
    assert newest["author"] == {"name": "Eve Editor", "email": "eve@example.org"}
    assert newest["message"].startswith(f"Update {slug}: summary, body")
    assert newest["published"] is False
    oldest = client.get(
        f"{URL}/{slug}/revisions?page=2&per_page=2", headers=editor_token
    ).get_json()["items"][-1]
    assert oldest["revision"] == first and oldest["action"] == "create"
    assert newest["parent"] == body["items"][1]["revision"]

    old = client.get(f"{URL}/{slug}/revisions/{first[:8]}", headers=editor_token).get_json()
    assert "summary" not in old and old["meta"]["revision"] == first

    diff = client.get(f"{URL}/{slug}/diff?from={first}", headers=editor_token).get_json()
    assert diff["from"] == first and diff["to"] == newest["revision"]
    assert diff["changes"] == [
        {"op": "add", "path": "/summary", "new": "Version 2"},
        {
            "op": "replace",
            "path": "/body/1/text",
            "old": "The budget passed by seven votes to two.",
            "new": "The budget passed, take 2.",
        },
    ]
    between = client.get(
        f"{URL}/{slug}/diff?from={first}&to={body['items'][1]['revision']}", headers=editor_token
    ).get_json()
    assert between["changes"][0] == {"op": "add", "path": "/summary", "new": "Version 1"}


def test_revisions_survive_delete_and_restore_needs_if_match_while_the_article_exists(
    client, editor_token, created
):
    slug, first = created["slug"], created["meta"]["revision"]
    changed = client.patch(
        f"{URL}/{slug}",
        json={"title": "Changed"},
        headers={**editor_token, "If-Match": created["etag"]},
    )
    assert (
        client.post(
            f"{URL}/{slug}/restore", json={"revision": first}, headers=editor_token
        ).status_code
        == 428
    )
    assert (
        client.post(
            f"{URL}/{slug}/restore",
            json={"revision": first},
            headers={**editor_token, "If-Match": created["etag"]},
        ).status_code
        == 412
    )
    client.delete(f"{URL}/{slug}", headers={**editor_token, "If-Match": changed.headers["ETag"]})
    history = client.get(f"{URL}/{slug}/revisions", headers=editor_token).get_json()
    assert [r["action"] for r in history["items"]] == ["delete", "update", "create"]
    at = client.get(f"{URL}/{slug}/revisions/{first}", headers=editor_token)
    assert at.status_code == 200 and at.get_json()["title"] == "Council approves budget"
    at_delete = history["items"][0]["revision"]
    assert (
        client.get(f"{URL}/{slug}/revisions/{at_delete}", headers=editor_token).status_code == 404
    )
    restored = client.post(f"{URL}/{slug}/restore", json={"revision": first}, headers=editor_token)
    assert restored.status_code == 200
    assert restored.get_json()["title"] == "Council approves budget"
    assert restored.headers["ETag"] == created["etag"]
    assert client.get(f"{URL}/never-existed/revisions", headers=editor_token).status_code == 404


def test_health_and_openapi(client, created, admin_token):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    health = client.get("/healthz", headers=admin_token).get_json()
    assert health["status"] == "ok" and health["articles"] == 1
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path, methods in {
        "/api/v1/manage/articles": {"get", "post"},
        "/api/v1/manage/articles/{slug}": {"get", "put", "patch", "delete"},
        "/api/v1/manage/articles/{slug}/revisions": {"get"},
        "/api/v1/manage/articles/{slug}/revisions/{revision}": {"get"},
        "/api/v1/manage/articles/{slug}/diff": {"get"},
        "/api/v1/manage/articles/{slug}/restore": {"post"},
        "/healthz": {"get"},
    }.items():
        assert methods <= set(paths[path]), path
    assert paths["/api/v1/manage/articles/{slug}"]["put"]["responses"]["412"]
    from openapi_spec_validator import validate

    validate(spec)
