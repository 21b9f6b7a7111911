"""Translations in delivery's other routes: previous/next among an article's own language,
sync over every language, and a source deleted or unpublished without breaking a route or
a translation."""

from __future__ import annotations

from typing import Any

from tests.test_translations import BASE, make, publish


def neighbours(client: Any, slug: str) -> tuple[str | None, str | None]:
    body = client.get(f"/api/v1/articles/{slug}").get_json()
    return (
        body["previous"] and body["previous"]["slug"],
        body["next"] and body["next"]["slug"],
    )


def test_previous_and_next_are_neighbours_in_the_articles_own_language(client, editor_token):
    # published in this order, languages interleaved: en-1 ru-1 de-1 en-2 ru-2 en-3
    order = [("en-1", "en"), ("ru-1", "ru"), ("de-1", "de"), ("en-2", "en"), ("ru-2", "ru")]
    order.append(("en-3", "en"))
    for slug, language in order:
        extra = {"translation_of": "en-1"} if slug in ("ru-1", "de-1") else {}
        make(client, editor_token, slug, language, **extra)
        publish(client, editor_token, slug)

    assert neighbours(client, "en-1") == (None, "en-2")
    assert neighbours(client, "en-2") == ("en-1", "en-3")
    assert neighbours(client, "en-3") == ("en-2", None)
    assert neighbours(client, "ru-1") == (None, "ru-2")
    assert neighbours(client, "ru-2") == ("ru-1", None)
    assert neighbours(client, "de-1") == (None, None)
    # unpublishing one takes it out of its language's chain only
    assert client.post(f"{BASE}/en-2/unpublish", headers=editor_token).status_code == 200
    assert neighbours(client, "en-1") == (None, "en-3")
    assert neighbours(client, "ru-1") == (None, "ru-2")


def test_sync_lists_every_language(client, editor_token):
    # the contract's sync has no language parameter (unknown parameters are ignored, as
    # before): a client keeps the languages it wants by each article's `language`
    make(client, editor_token, "day", "en")
    make(client, editor_token, "day-ru", "ru", translation_of="day")
    for slug in ("day", "day-ru"):
        publish(client, editor_token, slug)
    everything = client.get("/api/v1/sync").get_json()
    assert sorted((a["slug"], a["language"]) for a in everything["changed"]) == [
        ("day", "en"),
        ("day-ru", "ru"),
    ]
    only = client.get("/api/v1/sync?language=ru").get_json()["changed"]
    assert sorted(a["slug"] for a in only) == ["day", "day-ru"]


def patch(client: Any, token: dict[str, str], slug: str, changes: dict[str, Any]) -> Any:
    current = client.get(f"{BASE}/{slug}", headers=token)
    return client.patch(
        f"{BASE}/{slug}",
        json=changes,
        headers={
            **token,
            "If-Match": current.headers["ETag"],
            "Content-Type": "application/merge-patch+json",
        },
    )


def test_a_deleted_sources_translations_stay_editable_delivered_and_come_back_together(
    client, editor_token, git
):
    source = make(client, editor_token, "quake", "en")
    for language in ("ru", "de"):
        make(
            client,
            editor_token,
            f"quake-{language}",
            language,
            translation_of="quake",
            translated_from=source["meta"]["revision"],
        )
    for slug in ("quake", "quake-ru", "quake-de"):
        publish(client, editor_token, slug)
    current = client.get(f"{BASE}/quake", headers=editor_token)
    gone = client.delete(
        f"{BASE}/quake", headers={**editor_token, "If-Match": current.headers["ETag"]}
    )
    assert gone.status_code == 204

    # delivery: the source is gone from every route, its translations still show each other
    assert client.get("/api/v1/articles/quake").status_code == 404
    assert [
        m["slug"] for m in client.get("/api/v1/articles/quake-ru").get_json()["translations"]
    ] == [
        "quake-de",
        "quake-ru",
    ]
    sitemap = client.get("/sitemap.xml")
    assert sitemap.status_code == 200
    assert b"/quake-ru" in sitemap.data and b"/quake<" not in sitemap.data
    assert b'hreflang="x-default"' not in sitemap.data  # there is no live source to default to

    # the translations keep their link and can still be edited and published
    edited = patch(client, editor_token, "quake-ru", {"title": "Землетрясение"})
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["translation_of"] == "quake"
    publish(client, editor_token, "quake-ru")
    assert client.get("/api/v1/articles/quake-ru").get_json()["title"] == "Землетрясение"

    # but no new link to the deleted slug, and no translation started from it
    before = git("rev-parse", "main").strip()
    refused = client.post(
        BASE,
        json={
            "slug": "quake-fr",
            "title": "Séisme",
            "language": "fr",
            "translation_of": "quake",
            "body": [{"type": "paragraph", "text": "Texte."}],
        },
        headers=editor_token,
    )
    assert refused.status_code == 422 and "translation_of" in refused.get_json()["errors"]
    relinked = patch(
        client, editor_token, "quake-de", {"translation_of": None, "translated_from": None}
    )
    assert relinked.status_code == 200
    again = patch(client, editor_token, "quake-de", {"translation_of": "quake"})
    assert again.status_code == 422 and "translation_of" in again.get_json()["errors"]
    assert (
        client.post(
            f"{BASE}/quake/translations", json={"language": "it"}, headers=editor_token
        ).status_code
        == 404
    )
    assert git("rev-list", "--count", f"{before}..main").strip() == "1"  # the unlink alone

    # restoring the source brings the group back, for the translation that kept its link
    restored = client.post(
        f"{BASE}/quake/restore", json={"revision": source["meta"]["revision"]}, headers=editor_token
    )
    assert restored.status_code == 200
    group = client.get(f"{BASE}/quake-ru/translations", headers=editor_token).get_json()
    assert [(m["slug"], m["role"]) for m in group["items"]] == [
        ("quake", "source"),
        ("quake-ru", "translation"),
    ]
    publish(client, editor_token, "quake")
    # delivery goes by live versions: quake-de's live one still names the source
    shown = client.get("/api/v1/articles/quake-ru").get_json()["translations"]
    assert [m["slug"] for m in shown] == ["quake", "quake-de", "quake-ru"]
    publish(client, editor_token, "quake-de")
    shown = client.get("/api/v1/articles/quake-ru").get_json()["translations"]
    assert [m["slug"] for m in shown] == ["quake", "quake-ru"]


def test_an_unpublished_source_leaves_its_translations_editable_and_publishable(
    client, editor_token
):
    source = make(client, editor_token, "flood", "en")
    make(
        client,
        editor_token,
        "flood-ru",
        "ru",
        translation_of="flood",
        translated_from=source["meta"]["revision"],
    )
    publish(client, editor_token, "flood")
    assert client.post(f"{BASE}/flood/unpublish", headers=editor_token).status_code == 200
    assert patch(client, editor_token, "flood-ru", {"title": "Наводнение"}).status_code == 200
    publish(client, editor_token, "flood-ru")
    body = client.get("/api/v1/articles/flood-ru").get_json()
    assert body["title"] == "Наводнение" and body["translations"] == []
    group = client.get(f"{BASE}/flood-ru/translations", headers=editor_token).get_json()
    assert [(m["slug"], m["state"]) for m in group["items"]][0] == ("flood", "draft")
    assert client.get("/sitemap.xml").status_code == 200


def test_fallback_lists_take_the_other_filters_with_exact_totals(client, editor_token):
    # en-0..3, tagged flood on the even ones; ru-2 translates en-2 (tagged flood too)
    for n in range(4):
        tags = ["flood"] if n % 2 == 0 else ["vote"]
        make(client, editor_token, f"en-{n}", "en", tags=tags)
        publish(client, editor_token, f"en-{n}")
    make(client, editor_token, "ru-2", "ru", translation_of="en-2", tags=["flood"])
    publish(client, editor_token, "ru-2")

    def listed(query: str) -> tuple[list[str], int]:
        answer = client.get(f"/api/v1/articles?language=ru&fallback=en&{query}").get_json()
        return [i["slug"] for i in answer["items"]], answer["meta"]["total"]

    assert listed("tag=flood") == (["ru-2", "en-0"], 2)
    assert listed("tag=vote") == (["en-3", "en-1"], 2)
    assert listed("tag=flood&per_page=1&page=2") == (["en-0"], 2)
    assert listed("q=ru-2") == (["ru-2"], 1)
    assert listed("tag=nothing") == ([], 0)


def test_restoring_a_revision_that_would_be_a_translation_of_a_translation_is_refused(
    client, editor_token, git
):
    make(client, editor_token, "talks", "en")
    make(client, editor_token, "meeting", "de")
    linked = make(client, editor_token, "talks-ru", "ru", translation_of="talks")
    # unlink the Russian, then make "talks" itself a translation of the German article
    assert patch(client, editor_token, "talks-ru", {"translation_of": None}).status_code == 200
    assert patch(client, editor_token, "talks", {"translation_of": "meeting"}).status_code == 200
    before = git("rev-parse", "main").strip()
    current = client.get(f"{BASE}/talks-ru", headers=editor_token)
    restored = client.post(
        f"{BASE}/talks-ru/restore",
        json={"revision": linked["meta"]["revision"]},
        headers={**editor_token, "If-Match": current.headers["ETag"]},
    )
    assert restored.status_code == 422
    assert "translation of a translation" in restored.get_json()["errors"]["translation_of"][0]
    assert git("rev-parse", "main").strip() == before
