"""Translation groups through the management API and plain git: the group rules refused by
every route, stale translations with the source's field diff, a translation started from
its source."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import article

BASE = "/api/v1/manage/articles"


def make(
    client: Any, token: dict[str, str], slug: str, language: str, **extra: Any
) -> dict[str, Any]:
    response = client.post(
        BASE,
        json=article(slug=slug, title=f"{slug} title", language=language, **extra),
        headers=token,
    )
    assert response.status_code == 201, response.get_json()
    return {**response.get_json(), "etag": response.headers["ETag"]}


def commits(git: Any) -> int:
    return int(git("rev-list", "--count", "main"))


def test_a_group_in_three_languages_through_the_api(client, editor_token, git):
    source = make(client, editor_token, "summit", "en")
    revision = source["meta"]["revision"]
    make(client, editor_token, "summit-ru", "ru", translation_of="summit", translated_from=revision)
    make(client, editor_token, "summit-de", "de", translation_of="summit", translated_from=revision)

    for slug in ("summit", "summit-ru", "summit-de"):
        group = client.get(f"{BASE}/{slug}/translations", headers=editor_token).get_json()
        assert [(m["slug"], m["language"], m["role"]) for m in group["items"]] == [
            ("summit", "en", "source"),
            ("summit-de", "de", "translation"),
            ("summit-ru", "ru", "translation"),
        ]
        assert [m.get("stale") for m in group["items"]] == [None, False, False]
    # the link is in the files plain git shows
    shown = json.loads(git("show", "main:" + "articles/" + _shard("summit-ru")))
    assert shown["translation_of"] == "summit" and shown["translated_from"] == revision


def _shard(slug: str) -> str:
    from cms.content import layout

    return layout.article_path(slug).removeprefix("articles/")


def test_a_translation_of_a_translation_is_refused_by_create_put_patch(client, editor_token, git):
    make(client, editor_token, "talks", "en")
    make(client, editor_token, "talks-ru", "ru", translation_of="talks")
    plain = make(client, editor_token, "talks-de", "de")
    before = commits(git)

    created = client.post(
        BASE,
        json=article(slug="talks-fr", language="fr", translation_of="talks-ru"),
        headers=editor_token,
    )
    assert created.status_code == 422
    assert "translation of a translation" in created.get_json()["errors"]["translation_of"][0]

    patched = client.patch(
        f"{BASE}/talks-de",
        json={"translation_of": "talks-ru"},
        headers={
            **editor_token,
            "If-Match": plain["etag"],
            "Content-Type": "application/merge-patch+json",
        },
    )
    assert patched.status_code == 422
    assert "translation_of" in patched.get_json()["errors"]

    sent = {k: v for k, v in plain.items() if k not in ("etag", "meta")}
    put = client.put(
        f"{BASE}/talks-de",
        json={**sent, "translation_of": "talks-ru"},
        headers={**editor_token, "If-Match": plain["etag"]},
    )
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
    answer = client.patch(
        f"{BASE}/vote",
        json={"translation_of": "other"},
        headers={
            **editor_token,
            "If-Match": current.headers["ETag"],
            "Content-Type": "application/merge-patch+json",
        },
    )
    assert answer.status_code == 422
    assert "has translations" in answer.get_json()["errors"]["translation_of"][0]
    assert commits(git) == before + 1


def test_stale_after_a_source_edit_and_after_its_publication_then_fresh(client, editor_token):
    source = make(client, editor_token, "budget", "en")
    translation = make(
        client,
        editor_token,
        "budget-ru",
        "ru",
        translation_of="budget",
        translated_from=source["meta"]["revision"],
    )

    edited = client.patch(
        f"{BASE}/budget",
        json={"title": "Budget passed"},
        headers={
            **editor_token,
            "If-Match": source["etag"],
            "Content-Type": "application/merge-patch+json",
        },
    )
    assert edited.status_code == 200
    member = client.get(f"{BASE}/budget-ru/translations", headers=editor_token).get_json()["items"][
        1
    ]
    assert member["stale"] is True
    assert member["source_changes"]["from"] == source["meta"]["revision"]
    assert [(c["path"], c["new"]) for c in member["source_changes"]["changes"]] == [
        ("/title", "Budget passed")
    ]

    published = client.post(f"{BASE}/budget/publish", headers=editor_token)
    assert published.status_code == 200
    member = client.get(f"{BASE}/budget/translations", headers=editor_token).get_json()["items"][1]
    assert member["stale"] is True

    now = client.get(f"{BASE}/budget", headers=editor_token).get_json()["meta"]["revision"]
    saved = client.patch(
        f"{BASE}/budget-ru",
        json={"translated_from": now},
        headers={
            **editor_token,
            "If-Match": translation["etag"],
            "Content-Type": "application/merge-patch+json",
        },
    )
    assert saved.status_code == 200
    member = client.get(f"{BASE}/budget/translations", headers=editor_token).get_json()["items"][1]
    assert member["stale"] is False and member["source_changes"]["changes"] == []


def test_start_a_translation_prefilled_from_its_source_in_one_commit(client, editor_token, git):
    source = make(client, editor_token, "flood", "en", tags=["weather"])
    before = commits(git)
    started = client.post(
        f"{BASE}/flood/translations",
        json={"language": "ru", "slug": "flood-ru"},
        headers=editor_token,
    )
    assert started.status_code == 201, started.get_json()
    body = started.get_json()
    assert body["slug"] == "flood-ru" and body["language"] == "ru"
    assert body["title"] == source["title"] and body["body"] == source["body"]
    assert body["tags"] == ["weather"]
    assert body["translation_of"] == "flood"
    assert body["translated_from"] == source["meta"]["revision"]
    assert body["meta"]["state"] == "draft"
    assert commits(git) == before + 1

    again = client.post(f"{BASE}/flood/translations", json={"language": "ru"}, headers=editor_token)
    assert again.status_code == 422 and "language" in again.get_json()["errors"]
    of_translation = client.post(
        f"{BASE}/flood-ru/translations", json={"language": "de"}, headers=editor_token
    )
    assert of_translation.status_code == 422
    assert "translation_of" in of_translation.get_json()["errors"]
    missing = client.post(f"{BASE}/flood/translations", json={}, headers=editor_token)
    assert missing.status_code == 422 and "language" in missing.get_json()["errors"]
    assert commits(git) == before + 1


def test_deleting_a_source_leaves_its_translations_standing(client, editor_token):
    source = make(client, editor_token, "quake", "en")
    make(
        client,
        editor_token,
        "quake-ru",
        "ru",
        translation_of="quake",
        translated_from=source["meta"]["revision"],
    )
    gone = client.delete(f"{BASE}/quake", headers={**editor_token, "If-Match": source["etag"]})
    assert gone.status_code == 204
    group = client.get(f"{BASE}/quake-ru/translations", headers=editor_token)
    assert group.status_code == 200
    assert [(m["slug"], m["stale"]) for m in group.get_json()["items"]] == [("quake-ru", False)]
    assert client.get(f"{BASE}/quake-ru", headers=editor_token).status_code == 200


# --- delivery ----------------------------------------------------------------------------


def publish(client: Any, token: dict[str, str], slug: str) -> None:
    assert client.post(f"{BASE}/{slug}/publish", headers=token).status_code == 200


def live_group(client: Any, token: dict[str, str]) -> None:
    """en source `summit` with ru and de translations, all live, and a draft fr."""
    source = make(client, token, "summit", "en")
    for language in ("ru", "de", "fr"):
        make(
            client,
            token,
            f"summit-{language}",
            language,
            translation_of="summit",
            translated_from=source["meta"]["revision"],
        )
    for slug in ("summit", "summit-ru", "summit-de"):
        publish(client, token, slug)


def test_a_delivered_article_carries_its_groups_live_members(client, editor_token):
    live_group(client, editor_token)
    for slug in ("summit", "summit-ru"):
        body = client.get(f"/api/v1/articles/{slug}").get_json()
        assert body["translations"] == [
            {"language": "en", "slug": "summit", "title": "summit title"},
            {"language": "de", "slug": "summit-de", "title": "summit-de title"},
            {"language": "ru", "slug": "summit-ru", "title": "summit-ru title"},
        ]
    make(client, editor_token, "alone", "en")
    publish(client, editor_token, "alone")
    assert client.get("/api/v1/articles/alone").get_json()["translations"] == []
    listed = client.get("/api/v1/articles?language=ru").get_json()["items"]
    assert [m["slug"] for m in listed[0]["translations"]] == ["summit", "summit-de", "summit-ru"]


def test_unpublishing_a_source_keeps_its_translations_delivered(client, editor_token):
    live_group(client, editor_token)
    assert client.post(f"{BASE}/summit/unpublish", headers=editor_token).status_code == 200
    body = client.get("/api/v1/articles/summit-ru").get_json()
    assert [m["slug"] for m in body["translations"]] == ["summit-de", "summit-ru"]
    assert client.get("/api/v1/articles/summit").status_code == 404


def test_fallback_lists_page_across_languages_with_exact_totals(client, editor_token):
    # 5 English articles; 2 of them have a live Russian translation, one a draft one;
    # 1 Russian article of its own
    for n in range(5):
        make(client, editor_token, f"en-{n}", "en")
        publish(client, editor_token, f"en-{n}")
    for n in (1, 3):
        make(client, editor_token, f"ru-{n}", "ru", translation_of=f"en-{n}")
        publish(client, editor_token, f"ru-{n}")
    make(client, editor_token, "ru-4", "ru", translation_of="en-4")
    make(client, editor_token, "ru-own", "ru")
    publish(client, editor_token, "ru-own")

    seen, totals = [], set()
    for number in (1, 2, 3):
        answer = client.get(
            f"/api/v1/articles?language=ru&fallback=en&per_page=2&page={number}"
        ).get_json()
        seen += [(i["slug"], i["language"]) for i in answer["items"]]
        totals.add(answer["meta"]["total"])
    assert totals == {6}
    assert seen == [
        ("ru-own", "ru"),
        ("ru-3", "ru"),
        ("ru-1", "ru"),
        ("en-4", "en"),
        ("en-2", "en"),
        ("en-0", "en"),
    ]
    plain = client.get("/api/v1/articles?language=ru").get_json()
    assert plain["meta"]["total"] == 3
    bad = client.get("/api/v1/articles?fallback=en")
    assert bad.status_code == 400 and "fallback" in bad.get_json()["errors"]


SITEMAP_XSD = b"""<?xml version="1.0" encoding="UTF-8"?>
<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    targetNamespace="http://www.sitemaps.org/schemas/sitemap/0.9"
    xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" elementFormDefault="qualified">
  <xsd:import namespace="http://www.w3.org/1999/xhtml" schemaLocation="xhtml-link.xsd"/>
  <xsd:element name="urlset">
    <xsd:complexType><xsd:sequence>
      <xsd:element name="url" maxOccurs="unbounded" type="tUrl"/>
    </xsd:sequence></xsd:complexType>
  </xsd:element>
  <xsd:complexType name="tUrl"><xsd:sequence>
    <xsd:element name="loc" type="tLoc"/>
    <xsd:element name="lastmod" type="xsd:string" minOccurs="0"/>
    <xsd:element name="changefreq" type="xsd:string" minOccurs="0"/>
    <xsd:element name="priority" type="xsd:decimal" minOccurs="0"/>
    <xsd:any namespace="##other" processContents="strict" minOccurs="0"
             maxOccurs="unbounded"/>
  </xsd:sequence></xsd:complexType>
  <xsd:simpleType name="tLoc"><xsd:restriction base="xsd:anyURI">
    <xsd:minLength value="12"/><xsd:maxLength value="2048"/>
  </xsd:restriction></xsd:simpleType>
</xsd:schema>
"""
# Google's hreflang sitemap element: xhtml:link with rel, hreflang and href
XHTML_LINK_XSD = b"""<?xml version="1.0" encoding="UTF-8"?>
<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    targetNamespace="http://www.w3.org/1999/xhtml" elementFormDefault="qualified">
  <xsd:element name="link"><xsd:complexType>
    <xsd:attribute name="rel" use="required">
      <xsd:simpleType><xsd:restriction base="xsd:string">
        <xsd:enumeration value="alternate"/></xsd:restriction></xsd:simpleType>
    </xsd:attribute>
    <xsd:attribute name="hreflang" use="required">
      <xsd:simpleType><xsd:restriction base="xsd:string">
        <xsd:pattern value="x-default|[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*"/>
      </xsd:restriction></xsd:simpleType>
    </xsd:attribute>
    <xsd:attribute name="href" type="xsd:anyURI" use="required"/>
  </xsd:complexType></xsd:element>
</xsd:schema>
"""


def test_the_sitemap_carries_hreflang_alternates_valid_against_the_schema(
    client, editor_token, tmp_path
):
    from lxml import etree

    live_group(client, editor_token)
    make(client, editor_token, "alone", "en")
    publish(client, editor_token, "alone")
    (tmp_path / "xhtml-link.xsd").write_bytes(XHTML_LINK_XSD)
    (tmp_path / "sitemap.xsd").write_bytes(SITEMAP_XSD)
    schema = etree.XMLSchema(etree.parse(str(tmp_path / "sitemap.xsd")))

    answer = client.get("/sitemap.xml")
    assert answer.status_code == 200
    document = etree.fromstring(answer.data)
    schema.assertValid(document)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    links = {}
    for url in document.findall("s:url", ns):
        loc = url.findtext("s:loc", namespaces=ns)
        links[loc.rsplit("/", 1)[-1]] = [
            (link.get("hreflang"), link.get("href").rsplit("/", 1)[-1])
            for link in url.findall("x:link", ns)
        ]
    expected = [("en", "summit"), ("x-default", "summit"), ("de", "summit-de"), ("ru", "summit-ru")]
    assert links == {"summit": expected, "summit-ru": expected, "summit-de": expected, "alone": []}


def test_publishing_a_source_emits_translation_stale_for_each_it_made_stale(
    client, editor_token, git, repo
):
    from cms.git.repository import Repository
    from cms.webhooks import feed

    source = make(client, editor_token, "storm", "en")
    make(
        client,
        editor_token,
        "storm-ru",
        "ru",
        translation_of="storm",
        translated_from=source["meta"]["revision"],
    )
    make(client, editor_token, "storm-de", "de", translation_of="storm")  # no revision: stale
    publish(client, editor_token, "storm")  # what ru was made from: ru stays fresh
    start = {line: git("rev-parse", line).strip() for line in ("main", "published")}
    current = client.get(f"{BASE}/storm", headers=editor_token)
    assert (
        client.patch(
            f"{BASE}/storm",
            json={"title": "Storm hits the coast"},
            headers={
                **editor_token,
                "If-Match": current.headers["ETag"],
                "Content-Type": "application/merge-patch+json",
            },
        ).status_code
        == 200
    )
    publish(client, editor_token, "storm")
    tips = {line: git("rev-parse", line).strip() for line in ("main", "published")}

    repository = Repository(str(repo))
    try:
        events, _ = feed.pending(repository, start, tips, "cms@localhost")
        # the first publication made only the translation without translated_from stale
        first, _ = feed.pending(
            repository, {"main": None, "published": None}, start, "cms@localhost"
        )
    finally:
        repository.close()
    stale = [json.loads(e.body) for e in events if e.type == "article.translation_stale"]
    assert sorted((s["data"]["slug"], s["data"]["language"]) for s in stale) == [
        ("storm-de", "de"),
        ("storm-ru", "ru"),
    ]
    assert {s["data"]["source"]["revision"] for s in stale} == {tips["published"]}
    assert [e.type for e in events if e.type != "article.translation_stale"] == [
        "article.updated",
        "article.published",
    ]

    assert [
        json.loads(e.body)["data"]["slug"] for e in first if e.type == "article.translation_stale"
    ] == ["storm-de"]


def test_cms_import_refuses_a_translation_of_a_translation_and_imports_nothing(repo, git, tmp_path):
    import os
    import subprocess

    from conftest import GIT_ENV, cms_command

    records = [
        {"slug": "a", "title": "A", "language": "en"},
        {"slug": "a-ru", "title": "A ru", "language": "ru", "translation_of": "a"},
        {"slug": "a-uk", "title": "A uk", "language": "uk", "translation_of": "a-ru"},
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(article(**r)) + "\n" for r in records))
    before = git("rev-parse", "main")
    result = subprocess.run(
        [cms_command(), "--repo", str(repo), "import", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    )
    assert result.returncode == 1
    assert "translation_of: 'a-ru' is itself a translation" in result.stderr
    assert git("rev-parse", "main") == before


def test_feeds_take_language(client, editor_token):
    live_group(client, editor_token)
    russian = client.get("/feed.json?language=ru").get_json()
    assert [i["url"].rsplit("/", 1)[-1] for i in russian["items"]] == ["summit-ru"]
    everything = client.get("/feed.json").get_json()
    assert len(everything["items"]) == 3
    atom = client.get("/feed.xml?language=de")
    assert atom.status_code == 200 and b"summit-de" in atom.data and b"summit-ru" not in (atom.data)
