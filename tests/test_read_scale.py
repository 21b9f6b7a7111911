"""The read side at archive scale: a response cache bounded by bytes and keyed on what changes
the answer, paged sync consistent with one state of `published`, a sitemap index, and reads
that never wait on bulk work (a large push is caught up in the background)."""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import article
from flask import Flask

from cms.content import layout
from cms.web import create_app, services

MANAGE = "/api/v1/manage/articles"
PUBLIC = "/api/v1/articles"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture
def make_app() -> Iterator[Callable[..., Flask]]:
    """Builds apps over a repository; their services (git processes, delivery's threads)
    are closed after the test."""
    made: list[Flask] = []

    def make(repo: Path, **settings: Any) -> Flask:
        app = create_app(
            {"REPO": str(repo), "TESTING": True, "RATELIMIT_ENABLED": False, **settings}
        )
        made.append(app)
        return app

    yield make
    for app in made:
        services(app).close()


def publish_many(client, token, count: int, prefix: str = "Story") -> list[str]:
    slugs = []
    for i in range(count):
        created = client.post(
            MANAGE, json=article(f"{prefix} {i}", tags=["archive"]), headers=token
        ).get_json()
        assert client.post(f"{MANAGE}/{created['slug']}/publish", headers=token).status_code == 200
        slugs.append(created["slug"])
    return slugs


def files_at(git, commit: str) -> dict[str, str]:
    """slug -> title of every article file on a commit, as plain git shows it."""
    found = {}
    for path in git("ls-tree", "-r", "--name-only", commit, "--", "articles").split():
        slug = layout.slug_from_path(path)
        found[slug] = json.loads(git("show", f"{commit}:{path}"))["title"]
    return found


# --- the response cache ------------------------------------------------------------------


def test_the_cache_never_holds_more_than_its_byte_budget(repo, editor_token, make_app):
    app = make_app(repo, RESPONSE_CACHE_BYTES=12_000, RESPONSE_CACHE_ENTRY_BYTES=2_500)
    client = app.test_client()
    slugs = publish_many(client, editor_token, 6)
    cache = app.wsgi_app
    urls = [f"{PUBLIC}?per_page={n}" for n in range(1, 21)]
    urls += [f"{PUBLIC}/{s}" for s in slugs] + [
        f"{PUBLIC}?tag=archive&page={n}&per_page=1" for n in range(1, 7)
    ]
    urls += [f"/api/v1/sync?limit={n}" for n in range(1, 7)] + ["/feed.json", "/feed.xml"]
    for url in urls * 2:
        assert client.get(url).status_code == 200
        stats = cache.stats()
        assert stats["bytes"] <= stats["budget"] == 12_000
    assert 0 < stats["entries"] < len(urls)  # it kept some, and had to let some go
    # an answer over the per-entry cap is served, never kept
    before = cache.stats()["entries"]
    big = client.get("/api/v1/sync?limit=1000")
    assert len(big.data) > 2_500 and cache.stats()["entries"] <= before


def test_cache_busting_parameters_share_one_entry(repo, editor_token, make_app):
    app = make_app(repo)
    client = app.test_client()
    slug = publish_many(client, editor_token, 2)[0]
    cache = app.wsgi_app
    for url in (
        "/feed.json",
        "/feed.xml",
        f"{PUBLIC}/{slug}",
        f"{PUBLIC}?tag=archive",
        "/api/v1/sync",
        "/sitemap.xml",
    ):
        plain = client.get(url)
        entries = cache.stats()["entries"]
        joiner = "&" if "?" in url else "?"
        for n in range(20):
            busted = client.get(f"{url}{joiner}b={n}&utm_source=x{n}")
            assert busted.data == plain.data and busted.headers["ETag"] == plain.headers["ETag"]
        assert cache.stats()["entries"] == entries, url
    # the parameters a route reads still make their own answers
    first = client.get(f"{PUBLIC}?per_page=1&b=1").get_json()
    second = client.get(f"{PUBLIC}?per_page=1&page=2&b=2").get_json()
    assert first["items"][0]["slug"] != second["items"][0]["slug"]
    link = client.get(f"{PUBLIC}?per_page=1&b=3").headers["Link"]
    assert "b=" not in link and "page=2" in link


def test_article_reads_answered_outside_flask_match_the_apps_own(repo, editor_token, make_app):
    app = make_app(repo, RESPONSE_CACHE_BYTES=0)  # every request a miss
    client = app.test_client()
    first, second = publish_many(client, editor_token, 2)
    for headers in ({}, {"Origin": "https://news.example"}):
        by_app = client.get(f"{PUBLIC}/{first}", headers=headers)  # the app answers, once
        direct = client.get(f"{PUBLIC}/{first}", headers=headers)
        assert direct.data == by_app.data
        assert sorted((k, v) for k, v in direct.headers.items() if k != "Date") == sorted(
            (k, v) for k, v in by_app.headers.items() if k != "Date"
        )
        other = client.get(f"{PUBLIC}/{second}", headers=headers)
        assert other.get_json()["slug"] == second
        assert sorted(k for k, _ in other.headers) == sorted(k for k, _ in by_app.headers)
        assert (
            client.get(
                f"{PUBLIC}/{second}", headers={**headers, "If-None-Match": other.headers["ETag"]}
            ).status_code
            == 304
        )
    missing = client.get(f"{PUBLIC}/no-such-story")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    client.post(f"{MANAGE}/{second}/unpublish", headers=editor_token)
    assert client.get(f"{PUBLIC}/{second}").status_code == 404


# --- paged sync ----------------------------------------------------------------------------


def page_through(client, token: str | None, limit: int, between=None):
    """Every page of one delta: (changed articles, deleted slugs, the final token)."""
    changed, deleted = [], []
    while True:
        url = f"/api/v1/sync?limit={limit}" + (f"&token={token}" if token else "")
        page = client.get(url)
        assert page.status_code == 200, page.get_json()
        body = page.get_json()
        assert len(body["changed"]) + len(body["deleted"]) <= limit
        changed += body["changed"]
        deleted += body["deleted"]
        token = body["next_token"]
        if not body["has_more"]:
            return changed, deleted, token
        if between:
            between()


def test_sync_pages_cover_every_article_once_while_editors_publish(
    repo, git, editor_token, make_app
):
    app = make_app(repo)
    client = app.test_client()
    live = publish_many(client, editor_token, 24)
    drafts = [
        client.post(MANAGE, json=article(f"Draft {i}"), headers=editor_token).get_json()["slug"]
        for i in range(8)
    ]
    moved = threading.Event()
    stop = threading.Event()

    def publisher():
        editor = app.test_client()
        n = 0
        while not stop.is_set():
            slug = drafts[n % len(drafts)] if n % 2 == 0 else live[n % len(live)]
            for verb in ("publish", "unpublish"):
                editor.post(f"{MANAGE}/{slug}/{verb}", headers=editor_token)
                moved.set()
            n += 1

    def wait_for_a_change():
        moved.clear()
        assert moved.wait(30)

    thread = threading.Thread(target=publisher)
    thread.start()
    try:
        changed, deleted, state = page_through(client, None, 5, between=wait_for_a_change)
    finally:
        stop.set()
        thread.join()
    assert git("rev-parse", "published").strip() != state  # published moved while paging
    expected = files_at(git, state)
    slugs = [a["slug"] for a in changed]
    assert len(slugs) == len(set(slugs)) and set(slugs) == set(expected) and deleted == []
    assert slugs == sorted(slugs)
    for item in changed:  # each as it was in that state of published
        assert item["title"] == expected[item["slug"]]
        assert (
            git("rev-parse", f"{item['revision']}:{layout.article_path(item['slug'])}").strip()
            == git("rev-parse", f"{state}:{layout.article_path(item['slug'])}").strip()
        )

    # later: only what changed since that state
    changed, deleted, final = page_through(client, state, 3)
    assert final == git("rev-parse", "published").strip()
    now = files_at(git, final)
    assert {a["slug"] for a in changed} == {
        s
        for s in now
        if s not in expected
        or git("rev-parse", f"{state}:{layout.article_path(s)}")
        != git("rev-parse", f"{final}:{layout.article_path(s)}")
    }
    assert set(deleted) == set(expected) - set(now)
    assert {a["slug"]: a["title"] for a in changed} == {a["slug"]: now[a["slug"]] for a in changed}
    assert page_through(client, final, 3) == ([], [], final)


def test_sync_limit_and_tokens_are_checked(client, editor_token):
    publish_many(client, editor_token, 3)
    for bad in ("0", "1001", "x"):
        response = client.get(f"/api/v1/sync?limit={bad}")
        assert response.status_code == 400 and "limit" in response.get_json()["errors"]
    first = client.get("/api/v1/sync?limit=2").get_json()
    assert first["has_more"] is True and len(first["changed"]) == 2
    token = first["next_token"]
    for garbled in (
        token[:-1] + "!",
        token.replace(".", "-", 1),
        "a" * 40 + "..x",
        "0" * 40 + ".." + first["changed"][-1]["slug"],
        "nonsense",
    ):
        response = client.get(f"/api/v1/sync?token={garbled}")
        assert response.status_code == 410, garbled
        assert response.mimetype == "application/problem+json"
    rest = client.get(f"/api/v1/sync?limit=2&token={token}").get_json()
    assert rest["has_more"] is False and len(rest["changed"]) == 1


# --- the sitemap ----------------------------------------------------------------------------


def test_past_the_limit_the_sitemap_is_an_index_of_files(repo, editor_token, make_app):
    app = make_app(
        repo, SITEMAP_MAX_URLS=3, ARTICLE_URL="https://news.example/read?s=1&p=50%25/{slug}"
    )
    client = app.test_client()
    slugs = publish_many(client, editor_token, 3)
    one = ET.fromstring(client.get("/sitemap.xml").data)
    assert one.tag == f"{SITEMAP}urlset" and len(one) == 3

    slugs += publish_many(client, editor_token, 4, prefix="More")
    response = client.get("/sitemap.xml")
    assert response.mimetype == "application/xml"
    index = ET.fromstring(response.data)
    assert index.tag == f"{SITEMAP}sitemapindex"
    files = [s.find(f"{SITEMAP}loc").text for s in index]
    assert [f.rsplit("/", 1)[1] for f in files] == [
        "sitemap-1.xml",
        "sitemap-2.xml",
        "sitemap-3.xml",
    ]
    seen = []
    for url in files:
        part = ET.fromstring(client.get(url.split("localhost", 1)[1]).data)
        assert part.tag == f"{SITEMAP}urlset" and 1 <= len(part) <= 3
        for entry in part:
            loc = entry.find(f"{SITEMAP}loc").text
            assert loc.startswith("https://news.example/read?s=1&p=50%25/")
            seen.append(loc.rsplit("/", 1)[1])
            assert entry.find(f"{SITEMAP}lastmod").text.endswith("Z")
    assert sorted(seen) == sorted(slugs)
    for missing in ("/sitemap-0.xml", "/sitemap-4.xml"):
        assert client.get(missing).status_code == 404


# --- bulk work off the request path -------------------------------------------------------


def test_a_large_push_is_caught_up_in_the_background(repo, git, tmp_path, editor_token, make_app):
    app = make_app(repo, CATCH_UP_INLINE_COMMITS=3)
    client = app.test_client()
    doomed = publish_many(client, editor_token, 2)
    for line in ("main", "published"):  # the same commits on both lines, as plain git
        work = tmp_path / line
        git("clone", "-q", "--branch", line, str(repo), str(work), cwd=tmp_path)
        git("rm", "-q", layout.article_path(doomed[0]), cwd=work)
        git("commit", "-qm", "Withdraw a story", cwd=work)
        for i in range(12):
            path = work / layout.article_path(f"pushed-{i}")
            path.parent.mkdir(parents=True, exist_ok=True)
            doc = {
                "slug": f"pushed-{i}",
                "title": f"Pushed {i}",
                "body": [
                    {
                        "type": "paragraph",
                        "text": f"A story pushed with plain git, number {i}. It has two sentences.",
                    }
                ],
            }
            path.write_text(json.dumps(doc, indent=2) + "\n")
            git("add", ".", cwd=work)
            git("commit", "-qm", f"Add pushed-{i}", cwd=work)
        git("push", "-q", "origin", line, cwd=work)

    answers = [client.get(f"{PUBLIC}?per_page=100").get_json()["meta"]["total"]]
    thread = services(app).delivery.ready._catching_up
    assert thread is not None  # the reader did not do it: a background thread does
    thread.join(60)
    settled = client.get(f"{PUBLIC}?per_page=100").get_json()
    assert settled["meta"]["total"] == 13 and answers[0] <= 13
    assert {i["slug"] for i in settled["items"]} == {doomed[1]} | {f"pushed-{i}" for i in range(12)}
    assert client.get(f"{PUBLIC}/{doomed[0]}").status_code == 404
    pushed = client.get(f"{PUBLIC}/pushed-3").get_json()
    assert pushed["title"] == "Pushed 3" and pushed["summary_generated"] is True


def test_an_oversized_article_file_is_not_delivered(repo, git, tmp_path, editor_token, make_app):
    app = make_app(repo)
    client = app.test_client()
    kept = publish_many(client, editor_token, 1)[0]
    text = "x" * 2_200_000  # over the 2 MiB limit (one long word: quick to index)
    for line in ("main", "published"):
        work = tmp_path / line
        git("clone", "-q", "--branch", line, str(repo), str(work), cwd=tmp_path)
        path = work / layout.article_path("huge")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {"slug": "huge", "title": "Huge", "body": [{"type": "paragraph", "text": text}]}
            )
        )
        git("add", ".", cwd=work)
        git("commit", "-qm", "A huge story", cwd=work)
        git("push", "-q", "origin", line, cwd=work)

    assert client.get(f"{PUBLIC}/huge").status_code == 404
    assert [i["slug"] for i in client.get(PUBLIC).get_json()["items"]] == [kept]
    assert client.get("/sitemap.xml").data.count(b"<loc>") == 1
    assert [a["slug"] for a in client.get("/api/v1/sync").get_json()["changed"]] == [kept]
    assert [i["id"].rsplit("/", 1)[1] for i in client.get("/feed.json").get_json()["items"]] == [
        kept
    ]


@pytest.fixture
def client(repo, make_app):
    return make_app(repo).test_client()
