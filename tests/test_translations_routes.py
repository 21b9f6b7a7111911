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
