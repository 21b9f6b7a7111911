"""`GET /api/v1/manage/articles/{slug}/changes`: who saved an article since the version you have
and which fields changed, 304 while nobody did (the workbench asks it every few seconds for an
open entry, issue 23)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import article

from cms.auth.tokens import TokenStore

OWN = {"Origin": "http://localhost"}
PATCH = "application/merge-patch+json"


def url(slug: str, since: str | None = None) -> str:
    return f"/api/v1/manage/articles/{slug}/changes" + (f"?since={since}" if since else "")


def bare(etag: str) -> str:
    return etag.strip('"')


def patch(client, slug: str, etag: str, token: dict[str, str], **fields: Any) -> str:
    response = client.patch(
        f"/api/v1/manage/articles/{slug}",
        data=json.dumps(fields),
        content_type=PATCH,
        headers={**token, "If-Match": etag, "Prefer": "merge"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.headers["ETag"]


def problem(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def test_nothing_saved_since_is_a_304_with_the_articles_own_etag(
    client, created, author_token, git
):
    slug, etag = created["slug"], created["etag"]
    before = git("for-each-ref")
    answer = client.get(url(slug, bare(etag)), headers={**author_token, "If-None-Match": etag})
    assert answer.status_code == 304
    assert answer.headers["ETag"] == etag  # the article's ETag, as GET and PUT answer it
    assert answer.get_data() == b""
    # without If-None-Match: the answer, which says nothing changed
    answer = client.get(url(slug, etag), headers=author_token)  # quoted, as the header holds it
    assert answer.status_code == 200 and answer.headers["ETag"] == etag
    body = answer.get_json()
    assert (body["etag"], body["since"]["etag"]) == (bare(etag), bare(etag))
    assert body["revision"] == created["meta"]["revision"] == body["since"]["revision"]
    assert (body["saves"], body["saved_count"], body["changes"]) == ([], 0, [])
    assert git("for-each-ref") == before  # read-only: no ref moved


def test_a_save_since_names_who_saved_when_and_which_fields(client, created, author_token, repo):
    slug, opened = created["slug"], created["etag"]
    _, ann = TokenStore(str(repo)).create("Ann Archer", "ann@example.org", "editor")
    ann_token = {"Authorization": f"Bearer {ann}"}
    after_ann = patch(client, slug, opened, ann_token, title="Council passes budget")

    answer = client.get(url(slug, bare(opened)), headers={**author_token, "If-None-Match": opened})
    assert answer.status_code == 200
    tag = f'"{bare(opened)}..{bare(after_ann)}"'
    assert answer.headers["ETag"] == tag  # names both versions: the answer depends on both
    body = answer.get_json()
    assert body["etag"] == bare(after_ann)
    assert [(s["author"]["name"], s["message"].splitlines()[0]) for s in body["saves"]] == [
        ("Ann Archer", f"Update {slug}: title")
    ]
    assert body["saves"][0]["date"].endswith("Z") and body["saved_count"] == 1
    assert body["changes"] == [
        {
            "op": "replace",
            "path": "/title",
            "old": "Council approves budget",
            "new": "Council passes budget",
        }
    ]
    # asked again with that ETag: 304 until someone saves again
    again = client.get(url(slug, bare(opened)), headers={**author_token, "If-None-Match": tag})
    assert again.status_code == 304 and again.headers["ETag"] == tag

    # a second save, by someone else, of another field: both saves, both fields, newest first
    patch(client, slug, after_ann, author_token, summary="Seven votes to two.")
    answer = client.get(url(slug, bare(opened)), headers={**author_token, "If-None-Match": tag})
    assert answer.status_code == 200 and answer.headers["ETag"] != tag
    body = answer.get_json()
    assert [s["author"]["name"] for s in body["saves"]] == ["Ann Author", "Ann Archer"]
    assert sorted(c["path"] for c in body["changes"]) == ["/summary", "/title"]
    # and from Ann's version, only the summary changed since
    body = client.get(url(slug, bare(after_ann)), headers=author_token).get_json()
    assert [c["path"] for c in body["changes"]] == ["/summary"]
    assert body["saved_count"] == 1


def test_body_blocks_changed_are_named_by_block(client, created, author_token):
    slug, opened = created["slug"], created["etag"]
    blocks = article()["body"]
    patch(
        client,
        slug,
        opened,
        author_token,
        body=[blocks[0], {"type": "paragraph", "text": "It passed seven to two."}],
    )
    body = client.get(url(slug, bare(opened)), headers=author_token).get_json()
    assert [c["path"] for c in body["changes"]] == ["/body/1/text"]


@pytest.mark.parametrize("role", ["author", "editor", "admin"])
def test_every_role_may_watch(client, created, repo, role):
    _, secret = TokenStore(str(repo)).create("Rae Reader", "rae@example.org", role)
    answer = client.get(
        url(created["slug"], bare(created["etag"])),
        headers={"Authorization": f"Bearer {secret}", "If-None-Match": created["etag"]},
    )
    assert answer.status_code == 304


def test_without_a_live_token_it_is_401(client, created, repo):
    where = url(created["slug"], bare(created["etag"]))
    assert "Bearer" in problem(client.get(where), 401)["detail"]
    wrong = {"Authorization": "Bearer cms_00000000_" + "x" * 30}
    assert problem(client.get(where, headers=wrong), 401)["detail"] == (
        "The token is unknown or revoked."
    )
    tokens = TokenStore(str(repo))
    token, secret = tokens.create("Ann Author", "ann@example.org", "author")
    revoked = {"Authorization": f"Bearer {secret}"}
    assert client.get(where, headers={**revoked, "If-None-Match": created["etag"]}).status_code == (
        304
    )
    tokens.revoke(token.id)
    problem(client.get(where, headers={**revoked, "If-None-Match": created["etag"]}), 401)


def test_bad_slugs_and_unknown_articles_are_404_problems(client, created, author_token):
    since = bare(created["etag"])
    found = problem(client.get(url("Not_A_Slug", since), headers=author_token), 404)
    assert found["errors"] == {"slug": ["Not a valid slug."]}
    found = problem(client.get(url("no-such-article", since), headers=author_token), 404)
    assert found["detail"] == "There is no article 'no-such-article'."


def test_an_article_deleted_since_is_404(client, created, editor_token):
    slug, etag = created["slug"], created["etag"]
    deleted = client.delete(
        f"/api/v1/manage/articles/{slug}", headers={**editor_token, "If-Match": etag}
    )
    assert deleted.status_code == 204
    found = problem(
        client.get(url(slug, bare(etag)), headers={**editor_token, "If-None-Match": etag}), 404
    )
    assert found["detail"] == f"There is no article '{slug}'."


@pytest.mark.parametrize(
    ("since", "detail"),
    [
        (None, "Say which version of the article you have: since=<its ETag>."),
        ("abc", "Invalid since."),
        ("W/%22" + "a" * 40 + "%22", "Invalid since."),
        ("a" * 40, "was never a version of the article"),
    ],
)
def test_a_missing_or_wrong_since_is_a_400_naming_it(client, created, author_token, since, detail):
    found = problem(client.get(url(created["slug"], since), headers=author_token), 400)
    assert detail in found["detail"]
    assert list(found["errors"]) == ["since"]


def test_a_version_of_an_earlier_life_is_not_one_of_this_article(client, created, editor_token):
    slug = created["slug"]
    changed = patch(client, slug, created["etag"], editor_token, title="Council passes budget")
    client.delete(f"/api/v1/manage/articles/{slug}", headers={**editor_token, "If-Match": changed})
    again = client.post("/api/v1/manage/articles", json=article(), headers=editor_token)
    assert again.status_code == 201
    found = problem(client.get(url(slug, bare(changed)), headers=editor_token), 400)
    assert found["errors"] == {"since": ["Not an ETag of this article."]}
    # the same content made again is the same file: the current version, nothing since
    body = client.get(url(slug, bare(again.headers["ETag"])), headers=editor_token).get_json()
    assert (body["saves"], body["changes"]) == ([], [])


# -- a workbench session: `since` defaults to the version it loaded or saved --------------


def signed_in(app, repo, name: str, email: str, role: str):
    _, secret = TokenStore(str(repo)).create(name, email, role)
    client = app.test_client()
    assert client.post("/api/v1/session", json={"token": secret}, headers=OWN).status_code == 204
    return client


def decap(client, action: str, params: dict[str, Any]) -> Any:
    body = {"action": action, "params": {"branch": "main", **params}}
    response = client.post("/api/v1/decap", json=body, headers=OWN)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def opened(client, slug: str) -> None:
    """What Decap asks when an editor opens an entry with unpublished changes."""
    decap(
        client,
        "unpublishedEntryDataFile",
        {"collection": "articles", "slug": slug, "path": f"articles/{slug}.json"},
    )


def saved(client, slug: str, data: dict[str, Any]) -> Any:
    return decap(
        client,
        "persistEntry",
        {
            "dataFiles": [{"path": f"articles/{slug}.json", "slug": slug, "raw": json.dumps(data)}],
            "assets": [],
            "options": {"collectionName": "articles", "useWorkflow": True, "status": "draft"},
        },
    )


def test_a_session_watches_the_version_it_opened_and_follows_its_own_saves(
    app, repo, client, created, author_token
):
    slug = created["slug"]
    eve = signed_in(app, repo, "Eve Editor", "eve@example.org", "editor")
    assert problem(eve.get(url(slug)), 400)["errors"] == {
        "since": ["Missing data for required field."]
    }  # not opened in this session yet
    opened(eve, slug)
    answer = eve.get(url(slug), headers={"If-None-Match": created["etag"]})
    assert answer.status_code == 304

    # someone else saves: the session sees it, from the version it opened
    _, ann = TokenStore(str(repo)).create("Ann Archer", "ann@example.org", "editor")
    patch(client, slug, created["etag"], {"Authorization": f"Bearer {ann}"}, title="New title")
    answer = eve.get(url(slug), headers={"If-None-Match": created["etag"]})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["since"]["etag"] == bare(created["etag"])
    assert [s["author"]["name"] for s in body["saves"]] == ["Ann Archer"]
    assert [c["path"] for c in body["changes"]] == ["/title"]
    seen = answer.headers["ETag"]

    # Eve saves the summary (merged with Ann's title): the watch follows her save, no changes
    done = saved(eve, slug, article(summary="Seven votes to two."))
    assert done["merged"]["theirs_by"] == ["Ann Archer"]
    answer = eve.get(url(slug), headers={"If-None-Match": seen})
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["saves"], body["changes"]) == ([], [])
    assert body["since"]["etag"] == body["etag"]
    assert answer.headers["ETag"] == f'"{body["etag"]}"'
    assert eve.get(url(slug), headers={"If-None-Match": answer.headers["ETag"]}).status_code == 304
    # another session's view is its own: Ann's token, asking with Ann's version, sees Eve's save
    body = client.get(url(slug, body["etag"]), headers=author_token).get_json()
    assert body["changes"] == []


def test_a_signed_in_request_from_another_origin_is_refused(app, repo, created):
    eve = signed_in(app, repo, "Eve Editor", "eve@example.org", "editor")
    opened(eve, created["slug"])
    refused = eve.get(url(created["slug"]), headers={"Origin": "http://evil.example"})
    assert problem(refused, 403)["errors"] == {"Origin": ["Not this server's origin."]}
