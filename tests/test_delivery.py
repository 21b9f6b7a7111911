"""The delivery API as a frontend sees it: only what is live, cacheable, open to any origin."""

from __future__ import annotations

import json
import os
import random
import re
import time
from pathlib import Path

import feedparser
import pytest
from conftest import article

from cms.content import layout
from cms.web import create_app, services
from harness.leaks import children

MANAGE = "/api/v1/manage/articles"
PUBLIC = "/api/v1/articles"


def story(title, **fields):
    body = [
        {
            "type": "paragraph",
            "text": "The river rose overnight. Forecasters had warned of "
            "rain for days. Volunteers filled sandbags at dawn.",
        },
        {"type": "heading", "text": "What happens next", "level": 2},
        {
            "type": "paragraph",
            "text": "The council will meet on Friday to discuss the flood "
            "defences. Residents can ask questions at the library.",
        },
    ]
    return {"title": title, "body": body, **fields}


@pytest.fixture
def newsroom(client, editor_token):
    """Three published stories (oldest first), one draft, one changed after publishing."""
    slugs = []
    for i, fields in enumerate(
        [
            {"section": "local", "tags": ["Flood"], "authors": [{"name": "Rita Reporter"}]},
            {
                "section": "politics",
                "tags": ["council"],
                "language": "de",
                "summary": "Der Rat tagt.",
            },
            {"section": "local", "tags": ["flood", "river"], "source": {"name": "Wire"}},
        ]
    ):
        created = client.post(
            MANAGE, json=story(f"Story number {i}", **fields), headers=editor_token
        ).get_json()
        client.post(f"{MANAGE}/{created['slug']}/publish", headers=editor_token)
        slugs.append(created["slug"])
    draft = client.post(
        MANAGE,
        json=article("Secret embargoed draft", tags=["flood"], section="local"),
        headers=editor_token,
    )
    changed = client.get(f"{MANAGE}/{slugs[0]}", headers=editor_token)
    client.patch(
        f"{MANAGE}/{slugs[0]}",
        json={"title": "Unpublished new headline"},
        headers={**editor_token, "If-Match": changed.headers["ETag"]},
    )
    return {"live": slugs, "draft": draft.get_json()["slug"]}


def test_one_article_with_reading_aids_and_neighbours(client, newsroom):
    first, second, third = newsroom["live"]
    response = client.get(f"{PUBLIC}/{second}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["title"] == "Story number 1"
    assert body["summary"] == "Der Rat tagt." and body["summary_generated"] is False
    # the only German story: its neighbours are in its own language, and there are none
    assert body["previous"] is None and body["next"] is None
    english = client.get(f"{PUBLIC}/{first}").get_json()
    assert english["previous"] is None
    assert english["next"] == {"slug": third, "title": "Story number 2"}
    assert re.fullmatch(r"[0-9a-f]{40}", body["revision"])
    assert body["published_at"].endswith("Z") and body["updated_at"].endswith("Z")
    assert body["word_count"] == 40 and body["reading_time_minutes"] == 1
    assert "meta" not in body and "publish_at" not in body
    generated = client.get(f"{PUBLIC}/{third}").get_json()
    assert generated["summary_generated"] is True
    assert generated["summary"] and generated["summary"] in " ".join(
        b.get("text", "") for b in generated["body"]
    )
    assert client.get(f"{PUBLIC}/{third}").get_json()["next"] is None


def test_a_draft_edit_stays_invisible_until_republished(client, editor_token, newsroom, git):
    first = newsroom["live"][0]
    assert client.get(f"{PUBLIC}/{first}").get_json()["title"] == "Story number 0"
    assert '"title": "Unpublished new headline"' in git("diff", "published", "main")
    client.post(f"{MANAGE}/{first}/publish", headers=editor_token)
    assert client.get(f"{PUBLIC}/{first}").get_json()["title"] == "Unpublished new headline"


def test_list_filters_order_and_pages(client, newsroom):
    first, second, third = newsroom["live"]

    def slugs(query=""):
        return [a["slug"] for a in client.get(f"{PUBLIC}?{query}").get_json()["items"]]

    assert slugs() == [third, second, first]
    assert slugs("section=local") == [third, first]
    assert slugs("tag=FLOOD") == [third, first]
    assert slugs("author=rita reporter") == [first]
    assert slugs("language=de") == [second]
    assert slugs("q=sandbags") == [third, second, first]
    assert slugs("q=embargoed") == []
    page = client.get(f"{PUBLIC}?per_page=2&page=2")
    assert page.get_json()["meta"] == {"page": 2, "per_page": 2, "total": 3, "pages": 2}
    assert 'rel="prev"' in page.headers["Link"]
    assert "body" not in page.get_json()["items"][0]
    assert client.get(f"{PUBLIC}?per_page=500").status_code == 400


def every_page(client, query: str, per_page: int = 7) -> tuple[list[str], int]:
    """The slugs of every page of a delivery list, in order, and the total it reports."""
    slugs: list[str] = []
    page, pages, total = 1, 1, 0
    while page <= pages:
        body = client.get(f"{PUBLIC}?{query}&per_page={per_page}&page={page}").get_json()
        slugs += [a["slug"] for a in body["items"]]
        pages, total = body["meta"]["pages"], body["meta"]["total"]
        page += 1
    return slugs, total


def test_every_filter_and_combination_lists_the_live_articles_newest_first(client, editor_token):
    rng = random.Random(11)
    docs: dict[str, dict] = {}
    order: list[str] = []  # publication order; many share a second, so ties are exercised
    for i in range(40):
        fields = {
            "section": rng.choice(["local", "world", "sport"]),
            "tags": rng.sample(["flood", "river", "council", "budget"], rng.randint(0, 2)),
            "authors": [
                {"name": n}
                for n in rng.sample(["Rita Reporter", "Sam Stringer"], rng.randint(0, 2))
            ],
            "language": rng.choice(["en", "de"]),
        }
        if i % 5 == 0:
            fields["summary"] = "A storm warning for the harbour."
        slug = client.post(
            MANAGE, json=story(f"Story {i}", **fields), headers=editor_token
        ).get_json()["slug"]
        docs[slug] = fields
        if i % 9 != 4:  # a few stay drafts
            assert client.post(f"{MANAGE}/{slug}/publish", headers=editor_token).status_code == 200
            order.append(slug)
    for slug in order[3:6]:
        client.post(f"{MANAGE}/{slug}/unpublish", headers=editor_token)
        order.remove(slug)
    gone = order[10]
    etag = client.get(f"{MANAGE}/{gone}", headers=editor_token).headers["ETag"]
    client.delete(f"{MANAGE}/{gone}", headers={**editor_token, "If-Match": etag})
    order.remove(gone)

    checks = {
        "tag": lambda d, v: v in d["tags"],
        "author": lambda d, v: v.lower() in [a["name"].lower() for a in d["authors"]],
        "section": lambda d, v: d["section"] == v,
        "language": lambda d, v: d["language"] == v,
        "q": lambda d, v: "summary" in d,
    }
    values = {
        "tag": "river",
        "author": "sam stringer",
        "section": "local",
        "language": "de",
        "q": "harbour",
    }
    combinations = (
        [()]
        + [(n,) for n in checks]
        + [
            ("tag", "section"),
            ("tag", "author"),
            ("section", "language"),
            ("author", "section"),
            ("tag", "language", "author"),
            ("q", "tag"),
            ("q", "section"),
        ]
    )
    for names in combinations:
        query = "&".join(f"{n}={values[n]}" for n in names)
        expected = [s for s in reversed(order) if all(checks[n](docs[s], values[n]) for n in names)]
        assert expected, names
        assert every_page(client, query) == (expected, len(expected)), names


def test_a_list_total_follows_every_publication(
    client, editor_token, git, repo, tmp_path: Path, newsroom
):
    first, _, third = newsroom["live"]
    assert every_page(client, "tag=flood", per_page=1) == ([third, first], 2)
    slug = client.post(
        MANAGE, json=story("Flood update", tags=["flood"]), headers=editor_token
    ).get_json()["slug"]
    client.post(f"{MANAGE}/{slug}/publish", headers=editor_token)
    assert every_page(client, "tag=flood", per_page=1) == ([slug, third, first], 3)
    client.post(f"{MANAGE}/{slug}/unpublish", headers=editor_token)
    assert every_page(client, "tag=flood", per_page=1) == ([third, first], 2)
    work = tmp_path / "clone"
    git("clone", "-q", "--branch", "published", str(repo), str(work), cwd=tmp_path)
    git("rm", "-q", layout.article_path(first), cwd=work)
    git("commit", "-qm", "Withdraw a story by hand", cwd=work)
    git("push", "-q", "origin", "published", cwd=work)
    assert every_page(client, "tag=flood", per_page=1) == ([third], 1)


def test_a_list_item_is_the_article_without_body_and_neighbours(
    client, git, repo, tmp_path: Path, newsroom
):
    # one article gets a field no schema knows, by plain git on both lines: it is no longer
    # a valid article, so it is not delivered at all (tests/test_read_side.py has the rest)
    slug = newsroom["live"][2]
    for line in ("main", "published"):
        work = tmp_path / line
        git("clone", "-q", "--branch", line, str(repo), str(work), cwd=tmp_path)
        path = work / layout.article_path(slug)
        doc = json.loads(path.read_text())
        doc["internal_note"] = "do not print"
        doc["authors"] = [{"name": "Rita Reporter", "email": "rita@example.org"}]
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        git("commit", "-qam", "A note for the desk", cwd=work)
        git("push", "-q", "origin", line, cwd=work)
    listed = client.get(PUBLIC).get_json()["items"]
    assert [a["slug"] for a in listed] == list(reversed(newsroom["live"][:2]))
    assert client.get(f"{PUBLIC}/{slug}").status_code == 404
    for item in listed:
        whole = client.get(f"{PUBLIC}/{item['slug']}").get_json()
        assert item == {k: v for k, v in whole.items() if k not in ("body", "previous", "next")}
        assert set(item) >= {
            "title",
            "summary",
            "summary_generated",
            "word_count",
            "reading_time_minutes",
            "published_at",
            "updated_at",
            "revision",
        }
    assert "do not print" not in json.dumps(listed) and "rita@" not in json.dumps(listed)


def test_an_article_deleted_from_main_by_plain_git_is_no_longer_delivered(
    client, git, repo, tmp_path: Path, newsroom
):
    first, second, third = newsroom["live"]
    work = tmp_path / "clone"
    git("clone", "-q", "--branch", "main", str(repo), str(work), cwd=tmp_path)
    git("rm", "-q", layout.article_path(third), cwd=work)
    git("commit", "-qm", "Remove a story on main alone", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    assert layout.article_path(third) in git("ls-tree", "-r", "--name-only", "published")

    assert client.get(f"{PUBLIC}/{third}").status_code == 404
    assert every_page(client, "") == ([second, first], 2)
    assert every_page(client, "tag=flood") == ([first], 1)
    assert every_page(client, "section=local") == ([first], 1)
    assert every_page(client, "q=sandbags") == ([second, first], 2)
    assert client.get(f"{PUBLIC}/{first}").get_json()["next"] is None
    assert third not in [a["slug"] for a in client.get("/api/v1/sync").get_json()["changed"]]

    git("revert", "--no-edit", "HEAD", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    assert every_page(client, "tag=flood") == ([third, first], 2)
    assert client.get(f"{PUBLIC}/{first}").get_json()["next"]["slug"] == third


def test_history_of_published_versions(client, editor_token, newsroom):
    first = newsroom["live"][0]
    client.post(f"{MANAGE}/{first}/publish", headers=editor_token)
    history = client.get(f"{PUBLIC}/{first}/history").get_json()
    assert [v["title"] for v in history["items"]] == ["Unpublished new headline", "Story number 0"]
    old = history["items"][1]["revision"]
    then = client.get(f"{PUBLIC}/{first}/history/{old[:8]}")
    assert then.status_code == 200 and then.get_json()["title"] == "Story number 0"
    assert client.get(f"{PUBLIC}/{first}/history/{'0' * 40}").status_code == 404


def test_sync_deltas_list_changes_and_deletions(client, editor_token, newsroom):
    first, second, third = newsroom["live"]
    everything = client.get("/api/v1/sync").get_json()
    assert sorted(a["slug"] for a in everything["changed"]) == sorted(newsroom["live"])
    assert everything["deleted"] == []
    token = everything["next_token"]
    assert client.get(f"/api/v1/sync?token={token}").get_json() == {
        "changed": [],
        "deleted": [],
        "next_token": token,
        "has_more": False,
    }

    client.post(f"{MANAGE}/{first}/publish", headers=editor_token)
    client.post(f"{MANAGE}/{second}/unpublish", headers=editor_token)
    etag = client.get(f"{MANAGE}/{third}", headers=editor_token).headers["ETag"]
    client.delete(f"{MANAGE}/{third}", headers={**editor_token, "If-Match": etag})
    delta = client.get(f"/api/v1/sync?token={token}").get_json()
    assert [a["slug"] for a in delta["changed"]] == [first]
    assert delta["changed"][0]["title"] == "Unpublished new headline"
    assert sorted(delta["deleted"]) == sorted([second, third])
    assert delta["next_token"] != token
    gone = client.get("/api/v1/sync?token=" + "f" * 40)
    assert gone.status_code == 410 and gone.mimetype == "application/problem+json"
    assert client.get("/api/v1/sync?token=nonsense").status_code == 410


def test_feeds_parse_with_a_real_parser(client, newsroom):
    atom = client.get("/feed.xml")
    assert atom.mimetype == "application/atom+xml"
    parsed = feedparser.parse(atom.data)
    assert not parsed.bozo
    assert [e.title for e in parsed.entries] == [
        "Story number 2",
        "Story number 1",
        "Story number 0",
    ]
    assert parsed.entries[0].link.endswith(f"/api/v1/articles/{newsroom['live'][2]}")
    as_json = client.get("/feed.json")
    assert as_json.mimetype == "application/feed+json"
    feed = json.loads(as_json.data)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert [i["title"] for i in feed["items"]] == [
        "Story number 2",
        "Story number 1",
        "Story number 0",
    ]
    assert all(item["id"] and item["url"] and item["content_html"] for item in feed["items"])
    sitemap = client.get("/sitemap.xml").get_data(as_text=True)
    assert sitemap.count("<loc>") == 3 or sitemap.count(":loc>") == 3


def test_caching_headers_and_conditional_requests(client, editor_token, newsroom):
    url = f"{PUBLIC}/{newsroom['live'][1]}"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[^"]+"', etag)  # strong
    assert first.headers["Cache-Control"] == ("public, max-age=60, stale-while-revalidate=300")
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    for path in (
        PUBLIC,
        "/api/v1/sync",
        "/feed.xml",
        "/feed.json",
        "/sitemap.xml",
        f"{url}/history",
    ):
        response = client.get(path)
        assert response.headers.get("ETag"), path
        assert (
            client.get(path, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
        ), path
    # a new publication changes the answer at once, never a stale copy
    etag_before = client.get(url).headers["ETag"]
    current = client.get(f"{MANAGE}/{newsroom['live'][1]}", headers=editor_token)
    client.patch(
        f"{MANAGE}/{newsroom['live'][1]}",
        json={"title": "Fresh"},
        headers={**editor_token, "If-Match": current.headers["ETag"]},
    )
    assert client.get(url).headers["ETag"] == etag_before  # a draft edit is not live
    client.post(f"{MANAGE}/{newsroom['live'][1]}/publish", headers=editor_token)
    fresh = client.get(url, headers={"If-None-Match": etag_before})
    assert fresh.status_code == 200 and fresh.get_json()["title"] == "Fresh"


def test_cache_control_is_configurable(repo, newsroom):
    from cms.web import create_app

    app = create_app(
        {"REPO": str(repo), "TESTING": True, "DELIVERY_CACHE_CONTROL": "public, max-age=5"}
    )
    response = app.test_client().get(PUBLIC)
    assert response.headers["Cache-Control"] == "public, max-age=5"


def test_cors_is_open_for_delivery_and_closed_for_management(client, repo, editor_token, newsroom):
    origin = {"Origin": "https://frontend.example"}
    assert client.get(PUBLIC, headers=origin).headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/feed.json", headers=origin).headers["Access-Control-Allow-Origin"] == "*"
    manage = client.get(MANAGE, headers={**origin, **editor_token})
    assert "Access-Control-Allow-Origin" not in manage.headers
    from cms.web import create_app

    allowed = create_app(
        {"REPO": str(repo), "TESTING": True, "MANAGE_CORS_ORIGINS": "https://editor.example"}
    ).test_client()
    response = allowed.get(MANAGE, headers={"Origin": "https://editor.example", **editor_token})
    assert response.headers["Access-Control-Allow-Origin"] == "https://editor.example"
    other = allowed.get(MANAGE, headers={**origin, **editor_token})
    assert "Access-Control-Allow-Origin" not in other.headers


def public_routes(app):
    return sorted(
        {
            str(rule)
            for rule in app.url_map.iter_rules()
            # the preview of drafts needs a token, like the management API
            if not str(rule).startswith(("/api/v1/manage", "/static", "/api/v1/preview/articles"))
            and "GET" in (rule.methods or ())
        }
    )


def test_no_draft_and_no_email_leaks_through_any_public_endpoint(
    app, client, editor_token, newsroom, store
):
    live = newsroom["live"]
    # also a scheduled, an unpublished and a deleted article
    scheduled = client.post(
        MANAGE, json=article("Scheduled embargoed story"), headers=editor_token
    ).get_json()["slug"]
    client.post(
        f"{MANAGE}/{scheduled}/publish",
        json={"publish_at": "2099-01-01T00:00:00Z"},
        headers=editor_token,
    )
    client.post(f"{MANAGE}/{live[1]}/unpublish", headers=editor_token)
    etag = client.get(f"{MANAGE}/{live[2]}", headers=editor_token).headers["ETag"]
    client.delete(f"{MANAGE}/{live[2]}", headers={**editor_token, "If-Match": etag})
    hidden = [newsroom["draft"], scheduled, live[1], live[2]]
    history = client.get(f"{MANAGE}/{live[0]}/revisions", headers=editor_token).get_json()
    revision = next(r["revision"] for r in history["items"] if r["published"])

    seen = 0
    for route in public_routes(app):
        urls = [route]
        if "<slug>" in route:
            urls = [route.replace("<slug>", s) for s in [live[0], *hidden]]
        urls = [u.replace("<revision>", revision) for u in urls]
        for url in urls:
            response = client.get(url)
            text = response.get_data(as_text=True)
            assert "@" not in text.replace("@context", ""), url
            asked = next((s for s in hidden if f"/{s}" in url), None)
            if asked is not None:
                # a hidden article looks exactly like one that never existed
                assert response.status_code == 404, url
                never = client.get(url.replace(asked, "never-existed"))
                assert text.replace(asked, "X") == never.get_data(as_text=True).replace(
                    "never-existed", "X"
                ), url
                text = text.replace(asked, "")
            for slug in hidden:
                assert slug not in text, (url, slug)
            for words in (
                "Secret embargoed draft",
                "Scheduled embargoed story",
                "Unpublished new headline",
            ):
                assert words not in text, url
            seen += 1
    assert seen >= 20


def test_a_plain_git_push_to_published_is_delivered(client, git, repo, tmp_path: Path, newsroom):
    work = tmp_path / "clone"
    git("clone", "-q", "--branch", "published", str(repo), str(work), cwd=tmp_path)
    path = work / layout.article_path(newsroom["live"][1])
    doc = json.loads(path.read_text())
    doc["title"] = "Corrected by hand"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    before = client.get(f"{PUBLIC}/{newsroom['live'][1]}").headers["ETag"]
    git("commit", "-qam", "Fix a title on the live site", cwd=work)
    git("push", "-q", "origin", "published", cwd=work)
    after = client.get(f"{PUBLIC}/{newsroom['live'][1]}")
    assert after.get_json()["title"] == "Corrected by hand"
    assert after.headers["ETag"] != before


def git_processes_in(path: Path) -> list[int]:
    """The running child processes of this test process working in `path` (an app's
    `git cat-file` helpers run in its repository)."""
    found = []
    for pid in children():
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue  # ended meanwhile
        if Path(cwd).resolve() == path.resolve():
            found.append(pid)
    return found


def test_closing_an_app_leaves_no_git_process_of_it_running(repo, git, tmp_path: Path):
    # articles pushed by plain git get their cards from delivery's filler thread, in
    # batches after the first read; closing the app meanwhile stops it for good
    for line in ("main", "published"):
        work = tmp_path / line
        git("clone", "-q", "--branch", line, str(repo), str(work), cwd=tmp_path)
        for i in range(80):
            path = work / layout.article_path(f"pushed-{i}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(story(f"Pushed story {i}", slug=f"pushed-{i}")) + "\n")
        git("add", ".", cwd=work)
        git("commit", "-qm", "Eighty stories by hand", cwd=work)
        git("push", "-q", "origin", line, cwd=work)
    app = create_app({"REPO": str(repo), "TESTING": True, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    try:
        listed = client.get(f"{PUBLIC}?per_page=100").get_json()
        assert listed["meta"]["total"] == 80
        assert git_processes_in(repo) != []  # the app reads through its own
    finally:
        services(app).close()
    assert git_processes_in(repo) == []
    time.sleep(0.5)  # as long as the filler takes for a batch or two, were it still running
    assert git_processes_in(repo) == []
