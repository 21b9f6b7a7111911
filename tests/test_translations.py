"""Translation groups through the management API and plain git: the group rules refused by
every route, stale translations with the source's field diff, a translation started from
its source."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import article

BASE = "/api/v1/manage/articles"


def make(client: Any, token: dict[str, str], slug: str, language: str, **extra: Any
         ) -> dict[str, Any]:
    response = client.post(BASE, json=article(slug=slug, title=f"{slug} title",
                                              language=language, **extra), headers=token)
    assert response.status_code == 201, response.get_json()
    return {**response.get_json(), "etag": response.headers["ETag"]}


def commits(git: Any) -> int:
    return int(git("rev-list", "--count", "main"))


def test_a_group_in_three_languages_through_the_api(client, editor_token, git):
    source = make(client, editor_token, "summit", "en")
    revision = source["meta"]["revision"]
    make(client, editor_token, "summit-ru", "ru", translation_of="summit",
         translated_from=revision)
    make(client, editor_token, "summit-de", "de", translation_of="summit",
         translated_from=revision)

    for slug in ("summit", "summit-ru", "summit-de"):
        group = client.get(f"{BASE}/{slug}/translations", headers=editor_token).get_json()
        assert [(m["slug"], m["language"], m["role"]) for m in group["items"]] == [
            ("summit", "en", "source"), ("summit-de", "de", "translation"),
            ("summit-ru", "ru", "translation")]
        assert [m.get("stale") for m in group["items"]] == [None, False, False]
    # the link is in the files plain git shows
    shown = json.loads(git("show", "main:" + "articles/" + _shard("summit-ru")))
    assert shown["translation_of"] == "summit" and shown["translated_from"] == revision


def _shard(slug: str) -> str:
    from cms.content import layout
    return layout.article_path(slug).removeprefix("articles/")


def test_a_translation_of_a_translation_is_refused_by_create_put_patch(
        client, editor_token, git):
    make(client, editor_token, "talks", "en")
    make(client, editor_token, "talks-ru", "ru", translation_of="talks")
    plain = make(client, editor_token, "talks-de", "de")
    before = commits(git)

    created = client.post(BASE, json=article(slug="talks-fr", language="fr",
                                             translation_of="talks-ru"),
                          headers=editor_token)
    assert created.status_code == 422
    assert "translation of a translation" in created.get_json()["errors"]["translation_of"][0]

    patched = client.patch(f"{BASE}/talks-de", json={"translation_of": "talks-ru"},
                           headers={**editor_token, "If-Match": plain["etag"],
                                    "Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 422
    assert "translation_of" in patched.get_json()["errors"]

    sent = {k: v for k, v in plain.items() if k not in ("etag", "meta")}
    put = client.put(f"{BASE}/talks-de", json={**sent, "translation_of": "talks-ru"},
                     headers={**editor_token, "If-Match": plain["etag"]})
    assert put.status_code == 422
    assert commits(git) == before  # nothing written


def test_the_other_group_rules_are_422_naming_the_field(client, editor_token, git):
    make(client, editor_token, "vote", "en")
    make(client, editor_token, "vote-ru", "ru", translation_of="vote")
    before = commits(git)
    cases = [
        (dict(slug="vote-ru2", language="ru", translation_of="vote"), "language"),
        (dict(slug="vote-en", language="en", translation_of="vote"), "translation_of"),
        (dict(slug="vote-es", language="es", translation_of="nothing-here"), "translation_of"),
        (dict(slug="vote-it", language="it", translated_from="abcdef1"), "translated_from"),
    ]
    for fields, field in cases:
        answer = client.post(BASE, json=article(**fields), headers=editor_token)
        assert answer.status_code == 422, fields
        assert answer.headers["Content-Type"].startswith("application/problem+json")
        assert field in answer.get_json()["errors"], answer.get_json()
    # a source with translations cannot become a translation itself
    make(client, editor_token, "other", "de")
    current = client.get(f"{BASE}/vote", headers=editor_token)
    answer = client.patch(f"{BASE}/vote", json={"translation_of": "other"},
                          headers={**editor_token, "If-Match": current.headers["ETag"],
                                   "Content-Type": "application/merge-patch+json"})
    assert answer.status_code == 422
    assert "has translations" in answer.get_json()["errors"]["translation_of"][0]
    assert commits(git) == before + 1


def test_stale_after_a_source_edit_and_after_its_publication_then_fresh(
        client, editor_token):
    source = make(client, editor_token, "budget", "en")
    translation = make(client, editor_token, "budget-ru", "ru", translation_of="budget",
                       translated_from=source["meta"]["revision"])

    edited = client.patch(f"{BASE}/budget", json={"title": "Budget passed"},
                          headers={**editor_token, "If-Match": source["etag"],
                                   "Content-Type": "application/merge-patch+json"})
    assert edited.status_code == 200
    member = client.get(f"{BASE}/budget-ru/translations",
                        headers=editor_token).get_json()["items"][1]
    assert member["stale"] is True
    assert member["source_changes"]["from_"] == source["meta"]["revision"]
    assert [(c["path"], c["new"]) for c in member["source_changes"]["changes"]] == [
        ("/title", "Budget passed")]

    published = client.post(f"{BASE}/budget/publish", headers=editor_token)
    assert published.status_code == 200
    member = client.get(f"{BASE}/budget/translations",
                        headers=editor_token).get_json()["items"][1]
    assert member["stale"] is True

    now = client.get(f"{BASE}/budget", headers=editor_token).get_json()["meta"]["revision"]
    saved = client.patch(f"{BASE}/budget-ru", json={"translated_from": now},
                         headers={**editor_token, "If-Match": translation["etag"],
                                  "Content-Type": "application/merge-patch+json"})
    assert saved.status_code == 200
    member = client.get(f"{BASE}/budget/translations",
                        headers=editor_token).get_json()["items"][1]
    assert member["stale"] is False and member["source_changes"]["changes"] == []


def test_start_a_translation_prefilled_from_its_source_in_one_commit(
        client, editor_token, git):
    source = make(client, editor_token, "flood", "en", tags=["weather"])
    before = commits(git)
    started = client.post(f"{BASE}/flood/translations",
                          json={"language": "ru", "slug": "flood-ru"}, headers=editor_token)
    assert started.status_code == 201, started.get_json()
    body = started.get_json()
    assert body["slug"] == "flood-ru" and body["language"] == "ru"
    assert body["title"] == source["title"] and body["body"] == source["body"]
    assert body["tags"] == ["weather"]
    assert body["translation_of"] == "flood"
    assert body["translated_from"] == source["meta"]["revision"]
    assert body["meta"]["state"] == "draft"
    assert commits(git) == before + 1

    again = client.post(f"{BASE}/flood/translations", json={"language": "ru"},
                        headers=editor_token)
    assert again.status_code == 422 and "language" in again.get_json()["errors"]
    of_translation = client.post(f"{BASE}/flood-ru/translations", json={"language": "de"},
                                 headers=editor_token)
    assert of_translation.status_code == 422
    assert "translation_of" in of_translation.get_json()["errors"]
    missing = client.post(f"{BASE}/flood/translations", json={}, headers=editor_token)
    assert missing.status_code == 422 and "language" in missing.get_json()["errors"]
    assert commits(git) == before + 1


def test_deleting_a_source_leaves_its_translations_standing(client, editor_token):
    source = make(client, editor_token, "quake", "en")
    make(client, editor_token, "quake-ru", "ru", translation_of="quake",
         translated_from=source["meta"]["revision"])
    gone = client.delete(f"{BASE}/quake", headers={**editor_token, "If-Match": source["etag"]})
    assert gone.status_code == 204
    group = client.get(f"{BASE}/quake-ru/translations", headers=editor_token)
    assert group.status_code == 200
    assert [(m["slug"], m["stale"]) for m in group.get_json()["items"]] == [
        ("quake-ru", False)]
    assert client.get(f"{BASE}/quake-ru", headers=editor_token).status_code == 200
