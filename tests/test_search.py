"""Search as readers and editors type it: other forms of a word in the article's language,
the last word as a prefix, relevance ranking with a highlighted snippet."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cms.index import search
from cms.web import create_app, services

MANAGE = "/api/v1/manage/articles"
PUBLIC = "/api/v1/articles"


def story(title: str, *paragraphs: str, **fields: Any) -> dict[str, Any]:
    return {
        "title": title,
        "body": [{"type": "paragraph", "text": p} for p in paragraphs],
        **fields,
    }


STORIES = [
    story(
        "Harbour festival draws crowds",
        "Thousands came to the quay on Saturday.",
        "Traffic on the old bridge was slow; repairs are due next year.",
        section="local",
    ),
    story(
        "Bridge reopens after repairs",
        "The river crossing reopened on Monday.",
        "Engineers repaired the deck in eleven weeks.",
        section="local",
    ),
    story(
        "Neue Brücken für die Stadt",
        "Die Stadt baut zwei Brücken über den Fluss.",
        "Die Arbeiten beginnen im Frühling.",
        language="de",
    ),
    story(
        "Мосты закрыты на ремонт",
        "Два моста в центре города закрыты.",
        "Ремонт продлится до осени.",
        language="ru",
    ),
    story("Council approves budget", "The budget passed by seven votes to two."),
]


@pytest.fixture
def site(client: FlaskClient, editor_token: dict[str, str]) -> dict[str, str]:
    """The stories published oldest first (the last is the newest), and a draft."""
    slugs = {}
    for doc in STORIES:
        slug = client.post(MANAGE, json=doc, headers=editor_token).get_json()["slug"]
        assert client.post(f"{MANAGE}/{slug}/publish", headers=editor_token).status_code == 200
        slugs[doc["title"]] = slug
    client.post(
        MANAGE, json=story("Bridge plans leak", "A draft about bridges."), headers=editor_token
    )
    return slugs


def found(client: FlaskClient, query: str, **params: str) -> list[str]:
    response = client.get(PUBLIC, query_string={"q": query, **params})
    assert response.status_code == 200, response.get_json()
    return [item["slug"] for item in response.get_json()["items"]]


def test_other_forms_of_a_word_match_in_english_german_and_russian(
    client: FlaskClient, site: dict[str, str]
) -> None:
    bridge, festival = site["Bridge reopens after repairs"], site["Harbour festival draws crowds"]
    german, russian = site["Neue Brücken für die Stadt"], site["Мосты закрыты на ремонт"]
    assert set(found(client, "bridges")) == {bridge, festival}
    assert set(found(client, "bridge")) == {bridge, festival}
    assert set(found(client, "repair")) == {bridge, festival}
    assert set(found(client, "repairs reopened")) == {bridge}
    assert found(client, "repairing deck") == [bridge]
    assert found(client, "Brücke") == [german]
    assert found(client, "brucke stadt") == [german]  # accents ignored, as before
    assert found(client, "мост") == [russian]
    assert found(client, "ремонта") == [russian]
    assert found(client, "votes") == [site["Council approves budget"]]
    assert found(client, "bridges", language="de") == []
    assert found(client, "xylophone") == []


def test_the_last_word_matches_as_a_prefix(client: FlaskClient, site: dict[str, str]) -> None:
    bridge, festival = site["Bridge reopens after repairs"], site["Harbour festival draws crowds"]
    assert set(found(client, "brid")) == {bridge, festival}
    assert found(client, "river cross") == [bridge]
    assert found(client, "Brü") == [site["Neue Brücken für die Stadt"]]
    assert found(client, "brid river") == []  # only the last word is a prefix


def test_relevance_ranks_a_title_match_first_and_highlights(
    client: FlaskClient, site: dict[str, str]
) -> None:
    bridge, festival = site["Bridge reopens after repairs"], site["Harbour festival draws crowds"]
    # newest first by default, whatever matched where
    assert found(client, "bridges") == [bridge, festival]
    response = client.get(PUBLIC, query_string={"q": "bridges", "sort": "relevance"})
    items = response.get_json()["items"]
    assert [i["slug"] for i in items] == [bridge, festival]
    assert response.get_json()["meta"]["total"] == 2
    assert items[1]["highlight"] == (
        "…on Saturday. Traffic on the old <mark>bridge</mark> was slow; repairs are due next year."
    )
    assert "<mark>" in items[0]["highlight"]
    # the title outweighs the body even for an older article
    festival_first = client.get(PUBLIC, query_string={"q": "harbour", "sort": "relevance"})
    assert [i["slug"] for i in festival_first.get_json()["items"]] == [festival]
    repairs = client.get(PUBLIC, query_string={"q": "repairs", "sort": "relevance"})
    assert [i["slug"] for i in repairs.get_json()["items"]] == [bridge, festival]
    plain = client.get(PUBLIC, query_string={"q": "bridges"}).get_json()["items"]
    assert all("highlight" not in i for i in plain)
    filtered = client.get(
        PUBLIC,
        query_string={
            "q": "bridges",
            "sort": "relevance",
            "section": "local",
            "per_page": 1,
            "page": 2,
        },
    )
    assert [i["slug"] for i in filtered.get_json()["items"]] == [festival]
    assert filtered.get_json()["meta"]["total"] == 2
    bad = client.get(PUBLIC, query_string={"q": "bridges", "sort": "oldest"})
    assert bad.status_code == 400 and "sort" in bad.get_json()["errors"]


def test_editors_search_drafts_by_relevance(
    client: FlaskClient, site: dict[str, str], author_token: dict[str, str]
) -> None:
    response = client.get(
        MANAGE, query_string={"q": "bridge", "sort": "relevance"}, headers=author_token
    )
    items = response.get_json()["items"]
    assert [i["slug"] for i in items] == [
        "bridge-plans-leak",
        site["Bridge reopens after repairs"],
        site["Harbour festival draws crowds"],
    ]
    assert items[0]["meta"]["state"] == "draft"
    assert items[0]["highlight"] == "<mark>Bridge</mark> plans leak"  # the title, first
    live = client.get(
        MANAGE,
        query_string={"q": "bridge", "sort": "relevance", "state": "published", "per_page": 1},
        headers=author_token,
    ).get_json()
    assert [i["slug"] for i in live["items"]] == [site["Bridge reopens after repairs"]]
    assert live["meta"]["total"] == 2


def test_every_match_is_counted_and_paged_past_the_ranking_window(
    client: FlaskClient,
    site: dict[str, str],
    author_token: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # relevance ranks the newest RANK_WINDOW matches (10,000); older ones follow, newest
    # first, and meta.total counts them all: the same with a window of one
    monkeypatch.setattr(search, "RANK_WINDOW", 1)
    bridge, festival = site["Bridge reopens after repairs"], site["Harbour festival draws crowds"]
    for url, headers, expected in (
        (PUBLIC, {}, [bridge, festival]),
        (MANAGE, author_token, ["bridge-plans-leak", bridge, festival]),
    ):
        pages = []
        for page in (1, 2, 3, 4):
            body = client.get(
                url,
                headers=headers,
                query_string={"q": "bridges", "sort": "relevance", "per_page": 1, "page": page},
            ).get_json()
            assert body["meta"]["total"] == len(expected)
            pages += [i["slug"] for i in body["items"]]
        assert pages == expected
        whole = client.get(
            url, headers=headers, query_string={"q": "bridges", "sort": "relevance"}
        ).get_json()["items"]
        assert [i["slug"] for i in whole] == expected
        assert all("<mark>" in i["highlight"] for i in whole)


def test_an_index_from_before_stemming_is_rebuilt(
    repo: Path, client: FlaskClient, site: dict[str, str]
) -> None:
    db = sqlite3.connect(repo / "cms" / "index.sqlite")
    db.executescript(
        "DROP TABLE live_text; CREATE VIRTUAL TABLE live_text USING "
        "fts5(title, summary, body); PRAGMA user_version = 6;"
    )
    db.close()
    app = create_app({"REPO": str(repo), "TESTING": True})
    try:
        assert set(found(app.test_client(), "bridges")) == {
            site["Bridge reopens after repairs"],
            site["Harbour festival draws crowds"],
        }
    finally:
        services(app).close()


def test_a_highlight_looks_only_so_far_into_a_long_body(
    client: FlaskClient, editor_token: dict[str, str], author_token: dict[str, str]
) -> None:
    # a body of about 70 KB: the scan for a match stops after HIGHLIGHT_CHARS of it, so one
    # query over many such articles cannot cost a second of CPU; the article is still found
    filler = " ".join(["The council met again on Monday to discuss the quay walls."] * 30)
    blocks = [filler] * 40
    deep = story(
        "Council minutes, complete",
        *blocks,
        "A zeppelin landed at the end.",
        summary="What the council said, all of it.",
    )
    near = story(
        "Council minutes, short",
        filler[: search.HIGHLIGHT_CHARS // 2],
        "A zeppelin landed early on.",
        *blocks,
        summary="The gist of it.",
    )
    slugs = []
    for doc in (deep, near):
        made = client.post(MANAGE, json=doc, headers=editor_token)
        assert made.status_code == 201, made.get_json()
        slug = made.get_json()["slug"]
        assert client.post(f"{MANAGE}/{slug}/publish", headers=editor_token).status_code == 200
        slugs.append(slug)
    assert len("\n".join(blocks)) > 5 * search.HIGHLIGHT_CHARS
    for url, headers in ((PUBLIC, {}), (MANAGE, author_token)):
        body = client.get(
            url, headers=headers, query_string={"q": "zeppelins", "sort": "relevance"}
        ).get_json()
        shown = {i["slug"]: i["highlight"] for i in body["items"]}
        assert set(shown) == set(slugs) and body["meta"]["total"] == 2
        assert shown[slugs[0]] == "What the council said, all of it."  # the summary's start
        assert "<mark>zeppelin</mark> landed early on." in shown[slugs[1]]
