"""Decap CMS's proxy-backend protocol at POST /api/v1/decap, as the workbench's signed-in
browser speaks it (session cookie, same Origin), checked in the git history it leaves."""

from __future__ import annotations

import base64
import io
import json
import random
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import article
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from cms.auth.tokens import TokenStore
from cms.content import canonical, layout
from cms.content.identity import Person
from cms.web import create_app
from cms.web.services import services
from cms.workbench import media as workbench_media
from cms.workbench.workflow import UNPUBLISHED_LISTED

OWN = {"Origin": "http://localhost"}
ACTIONS = [
    "info",
    "entriesByFolder",
    "entriesByFiles",
    "getEntry",
    "unpublishedEntries",
    "unpublishedEntry",
    "unpublishedEntryDataFile",
    "unpublishedEntryMediaFile",
    "updateUnpublishedEntryStatus",
    "publishUnpublishedEntry",
    "deleteUnpublishedEntry",
    "persistEntry",
    "deleteFiles",
    "getMedia",
    "getMediaFile",
    "persistMedia",
    "getDeployPreview",
]


def signed_in(app, repo, name: str, email: str, role: str):
    """A test client holding a workbench session for a new token."""
    _, secret = TokenStore(str(repo)).create(name, email, role)
    client = app.test_client()
    assert client.post("/api/v1/session", json={"token": secret}, headers=OWN).status_code == 204
    return client


@pytest.fixture
def eve(app, repo):
    return signed_in(app, repo, "Eve Editor", "eve@example.org", "editor")


@pytest.fixture
def ann(app, repo):
    return signed_in(app, repo, "Ann Author", "ann@example.org", "author")


def call(client, action: str, params: Any = None, expect: int = 200) -> Any:
    body = {"action": action, "params": {"branch": "main", **(params or {})}}
    response = client.post("/api/v1/decap", json=body, headers=OWN)
    assert response.status_code == expect, response.get_data(as_text=True)
    if expect >= 400:
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["error"]  # the line Decap shows
    return response.get_json()


def raw(**fields: Any) -> str:
    return json.dumps(article(**fields) if "title" in fields else {**article(), **fields})


def persist(
    client,
    slug: str,
    data: dict[str, Any],
    expect: int = 200,
    status: str = "draft",
    base: str | None = None,
) -> Any:
    return call(
        client,
        "persistEntry",
        {
            "dataFiles": [{"path": f"articles/{slug}.json", "slug": slug, "raw": json.dumps(data)}],
            "assets": [],
            "options": {
                "collectionName": "articles",
                "useWorkflow": True,
                "status": status,
                "commitMessage": "Create Article",
            },
            "cmsLabelPrefix": "",
            **({"base": base} if base else {}),
        },
        expect,
    )


def entry(slug: str) -> dict[str, str]:
    return {"collection": "articles", "slug": slug}


def test_config_is_generated_from_the_article_schema(client):
    response = client.get("/admin/config.yml")
    assert response.status_code == 200 and response.mimetype == "text/yaml"
    config = json.loads(response.get_data())  # JSON is YAML
    assert config["backend"] == {"name": "git_cms", "proxy_url": "/api/v1/decap", "branch": "main"}
    assert config["publish_mode"] == "editorial_workflow"
    (articles,) = config["collections"]
    assert (articles["folder"], articles["extension"], articles["format"]) == (
        "articles",
        "json",
        "json",
    )
    assert articles["sortable_fields"] == []  # Decap would load every entry to sort them
    by_name = {f["name"]: f for f in articles["fields"]}
    assert list(by_name) == [
        "history",
        "title",
        "summary",
        "section",
        "tags",
        "authors",
        "source",
        "language",
        "image",
        "publish_at",
        "blocks",
        "translation_of",
        "translated_from",
    ]
    assert by_name["history"]["widget"] == "history"
    assert by_name["title"]["required"] is True
    assert by_name["title"]["pattern"][0] == "^.{1,300}$"
    assert by_name["summary"]["required"] is False and by_name["summary"]["widget"] == "text"
    assert by_name["tags"]["max"] == 50 and by_name["tags"]["widget"] == "list"
    assert "field" not in by_name["tags"]  # one comma-separated text box
    assert [f["name"] for f in by_name["image"]["fields"]] == ["src", "alt", "caption", "credit"]
    # images through the media library: upload, choose, or give a URL
    assert by_name["image"]["fields"][0]["widget"] == "image"
    assert by_name["image"]["fields"][0]["choose_url"] is True
    assert config["media_folder"] == config["public_folder"] == "media"
    # an optional object's parts are optional in the form; the server checks them
    assert by_name["image"]["fields"][1]["required"] is False
    assert [f["required"] for f in by_name["authors"]["fields"]] == [True, False]
    image_block = next(t for t in by_name["blocks"]["types"] if t["name"] == "image")
    assert [f["required"] for f in image_block["fields"]] == [True, True, False, False]
    body = by_name["blocks"]
    assert body["label"] == "Body" and body["required"] is True
    assert (body["min"], body["max"]) == (1, 2000)
    assert body["typeKey"] == "type"
    types = {t["name"]: t for t in body["types"]}
    assert list(types) == ["paragraph", "heading", "quote", "list", "image", "embed"]
    level = next(f for f in types["heading"]["fields"] if f["name"] == "level")
    assert (level["widget"], level["min"], level["max"], level["required"]) == (
        "number",
        2,
        4,
        True,
    )
    items = next(f for f in types["list"]["fields"] if f["name"] == "items")
    assert (items["min"], items["max"]) == (1, 500)
    url = next(f for f in types["embed"]["fields"] if f["name"] == "url")
    assert url["pattern"][0].endswith("https?://\\S+$")


def test_admin_shows_sign_in_without_a_session_and_decap_with_one(client, eve):
    bare = client.get("/admin/")
    assert bare.status_code == 200 and b'id="signin"' in bare.data
    assert "'unsafe-eval'" not in bare.headers["Content-Security-Policy"]
    workbench = eve.get("/admin/")
    assert workbench.status_code == 200 and b"/admin/decap-cms.js" in workbench.data
    csp = workbench.headers["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-eval'" in csp and "frame-ancestors 'none'" in csp
    script = eve.get("/admin/decap-cms.js")
    assert script.status_code == 200 and b"DecapCms" in script.data[:2000]
    script.close()
    assert client.get("/admin/../pyproject.toml").status_code == 404
    # the strict policy everywhere else
    assert (
        eve.get("/api/v1/articles")
        .headers["Content-Security-Policy"]
        .startswith("default-src 'none'")
    )


def test_info_and_every_action_needs_a_signed_in_user(client, eve):
    assert call(eve, "info")["publish_modes"] == ["editorial_workflow"]
    anonymous = client.post("/api/v1/decap", json={"action": "info"}, headers=OWN)
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]


def test_a_new_entry_is_one_commit_by_the_editor_in_canonical_form(eve, git, client):
    fields = {
        **article("Harbour reopens"),
        "summary": "",
        "tags": ["Port", ""],
        "image": {"src": "", "alt": ""},
    }
    done = persist(eve, "harbour-reopens", fields)
    assert done["slug"] == "harbour-reopens"
    log = git("log", "--format=%an <%ae>|%s", "main").splitlines()
    assert log[0] == "Eve Editor <eve@example.org>|Create harbour-reopens"
    stored = git("show", f"main:{layout.article_path('harbour-reopens')}")
    expected = {
        "slug": "harbour-reopens",
        "title": "Harbour reopens",
        "tags": ["port"],
        "language": "en",
        "body": article()["body"],
    }
    assert stored == canonical.dumps(expected).decode()  # empties left by widgets are gone
    status = git("log", "-1", "--format=%an|%s%n%b", "cms/workflow")
    assert status.startswith("Eve Editor|Move harbour-reopens to draft")
    assert "Workflow-Status: draft" in status

    assert call(eve, "unpublishedEntries") == ["articles/harbour-reopens"]
    unpublished = call(eve, "unpublishedEntry", {"id": "articles/harbour-reopens"})
    assert unpublished["status"] == "draft" and unpublished["slug"] == "harbour-reopens"
    (diff,) = unpublished["diffs"]
    assert diff["path"] == "articles/harbour-reopens.json" and diff["newFile"] is True
    data = call(
        eve,
        "unpublishedEntryDataFile",
        {**entry("harbour-reopens"), "path": diff["path"], "id": diff["id"]},
    )
    # the blocks under `blocks`; `body` the text the workflow board's card shows
    assert json.loads(data["data"]) == {
        "title": "Harbour reopens",
        "tags": ["port"],
        "language": "en",
        "blocks": article()["body"],
        "body": article()["body"][0]["text"],
    }
    # not live: absent from the collection, and getEntry finds no published file
    assert (
        call(eve, "entriesByFolder", {"folder": "articles", "extension": "json", "depth": 1}) == []
    )
    got = call(eve, "getEntry", {"path": "articles/harbour-reopens.json"})
    assert got["data"] is None and got["file"]["path"] == "articles/harbour-reopens.json"
    assert client.get("/api/v1/articles/harbour-reopens").status_code == 404


def test_an_invalid_entry_is_refused_naming_the_fields_and_nothing_is_committed(eve, git):
    before = git("rev-parse", "main")
    bad = {
        "title": "x" * 301,
        "body": [
            {"type": "paragraph", "text": "fine"},
            {"type": "heading", "text": "Level?", "level": 7},
            {"type": "image", "src": "javascript:alert(1)", "alt": "a"},
        ],
    }
    problem = persist(eve, "bad-entry", bad, expect=422)
    assert set(problem["errors"]) == {"title", "body.1.level", "body.2.src"}
    assert "title" in problem["error"] and "body.1.level" in problem["error"]
    assert git("rev-parse", "main") == before
    assert "cms/workflow" not in git("branch", "--list", "cms/workflow")


def test_statuses_move_publishing_needs_an_editor_and_ready(app, repo, eve, ann, git, client):
    persist(ann, "ferry-strike", article("Ferry strike"))
    assert git("log", "-1", "--format=%an", "main").strip() == "Ann Author"
    call(
        ann,
        "updateUnpublishedEntryStatus",
        {**entry("ferry-strike"), "newStatus": "pending_review"},
    )
    assert call(eve, "unpublishedEntry", entry("ferry-strike"))["status"] == "pending_review"
    # only "ready" can be published, and only by an editor
    call(eve, "publishUnpublishedEntry", entry("ferry-strike"), expect=409)
    call(
        ann,
        "updateUnpublishedEntryStatus",
        {**entry("ferry-strike"), "newStatus": "pending_publish"},
    )
    refused = call(ann, "publishUnpublishedEntry", entry("ferry-strike"), expect=403)
    assert "editor" in refused["detail"]
    assert client.get("/api/v1/articles/ferry-strike").status_code == 404
    call(eve, "publishUnpublishedEntry", entry("ferry-strike"))
    live = client.get("/api/v1/articles/ferry-strike")
    assert live.status_code == 200 and live.get_json()["title"] == "Ferry strike"
    assert git("log", "-1", "--format=%an|%s", "published").strip() == (
        "Eve Editor|Publish ferry-strike"
    )
    history = git("log", "--format=%an|%s", "cms/workflow").splitlines()
    assert history == [
        "Eve Editor|Clear workflow of ferry-strike: published",
        "Ann Author|Move ferry-strike to pending_publish",
        "Ann Author|Move ferry-strike to pending_review",
        "Ann Author|Move ferry-strike to draft",
    ]
    assert call(eve, "unpublishedEntries") == []
    listed = call(eve, "entriesByFolder", {"folder": "articles", "extension": "json", "depth": 1})
    assert [e["file"]["path"] for e in listed] == ["articles/ferry-strike.json"]
    # a status for changes that are live now does not stick to the next changes
    call(eve, "getEntry", {"path": "articles/ferry-strike.json"})
    persist(eve, "ferry-strike", {**article("Ferry strike ends")}, expect=200)
    assert call(eve, "unpublishedEntry", entry("ferry-strike"))["status"] == "draft"


def test_a_conflicting_save_is_refused_not_lost(app, repo, eve, ann, git):
    persist(eve, "tide-tables", article("Tide tables"))
    for client in (eve, ann):  # both open the entry
        call(
            client,
            "unpublishedEntryDataFile",
            {**entry("tide-tables"), "path": "articles/tide-tables.json"},
        )
    persist(eve, "tide-tables", article("Tide tables, corrected"))
    persist(eve, "tide-tables", article("Tide tables, corrected twice"))  # her own base
    refused = persist(ann, "tide-tables", article("Tide tables, by Ann"), expect=409)
    assert "both sides changed /title" in refused["detail"]
    assert [
        (c["path"], c["theirs"], c["yours"], c["theirs_by"]["name"]) for c in refused["conflicts"]
    ] == [("/title", "Tide tables, corrected twice", "Tide tables, by Ann", "Eve Editor")]
    stored = json.loads(git("show", f"main:{layout.article_path('tide-tables')}"))
    assert stored["title"] == "Tide tables, corrected twice"
    # a new entry whose slug is taken does not overwrite it either
    other = signed_in(app, repo, "Olaf Other", "olaf@example.org", "author")
    persist(other, "tide-tables", article("Tide tables"), expect=409)


def test_saves_of_different_fields_from_two_sessions_merge(eve, ann, git):
    persist(eve, "harbour-fees", article("Harbour fees"))
    for client in (eve, ann):  # both open the entry
        call(
            client,
            "unpublishedEntryDataFile",
            {**entry("harbour-fees"), "path": "articles/harbour-fees.json"},
        )
    persist(eve, "harbour-fees", article("Harbour fees rise"))
    persist(ann, "harbour-fees", article("Harbour fees", summary="Ann's summary"))
    stored = json.loads(git("show", f"main:{layout.article_path('harbour-fees')}"))
    assert (stored["title"], stored["summary"]) == ("Harbour fees rise", "Ann's summary")
    assert len(git("log", "-1", "--format=%P", "main").split()) == 2
    assert git("log", "-1", "--format=%an", "main").strip() == "Ann Author"


@pytest.mark.parametrize("second_load", ["same article", "workflow board"])
def test_a_save_merges_against_the_version_its_form_was_loaded_from(
    eve, client, editor_token, git, second_load
):
    """Two loads in one session (a second tab): the first form's save still merges against
    the version it was loaded from, so the other editor's field is kept, not overwritten."""
    slug, path = "ferry-fares", layout.article_path("ferry-fares")
    persist(eve, slug, article("Ferry fares", summary="Draft."))
    file = {**entry(slug), "path": f"articles/{slug}.json"}
    tab1 = call(eve, "unpublishedEntryDataFile", file)
    loaded = json.loads(tab1["data"])
    assert tab1["version"] == git("rev-parse", f"main:{path}").strip()

    # another editor changes the title through the API
    changed = client.patch(
        f"/api/v1/manage/articles/{slug}",
        data=json.dumps({"title": "Ferry fares rise"}),
        headers={
            **editor_token,
            "If-Match": f'"{tab1["version"]}"',
            "Content-Type": "application/merge-patch+json",
        },
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)

    # the same session loads the newer version in a second tab
    if second_load == "same article":
        tab2 = call(eve, "unpublishedEntryDataFile", file)
        assert json.loads(tab2["data"])["title"] == "Ferry fares rise"
        assert tab2["version"] == changed.headers["ETag"].strip('"')
    else:
        # the board loads every card's entry and its data, as Decap does
        ids = call(eve, "unpublishedEntries")
        assert f"articles/{slug}" in ids
        for card_id in ids:
            card = call(eve, "unpublishedEntry", {"id": card_id})
            call(eve, "unpublishedEntryDataFile", {**entry(card["slug"]), "path": file["path"]})

    # tab 1 changes the summary of the form it loaded, and saves with that form's version
    done = persist(eve, slug, {**loaded, "summary": "Up 8% in May."}, base=tab1["version"])
    assert done["merged"]["theirs"] == ["/title"]
    assert done["version"] == git("rev-parse", f"main:{path}").strip()
    stored = json.loads(git("show", f"main:{path}"))
    assert (stored["title"], stored["summary"]) == ("Ferry fares rise", "Up 8% in May.")
    # recorded as the merge it was: the summary made on the loaded version, joined to the line
    parents = git("log", "-1", "--format=%P", "main").split()
    assert len(parents) == 2
    assert json.loads(git("show", f"{parents[1]}:{path}"))["title"] == "Ferry fares"

    # the watch asks about the same version (since=): the API's title change is news to tab 1
    news = eve.get(f"/api/v1/manage/articles/{slug}/changes?since={tab1['version']}")
    assert news.status_code == 200
    assert "/title" in [c["path"] for c in news.get_json()["changes"]]


def test_a_save_without_a_version_falls_back_to_the_session_and_a_bad_one_is_named(eve, git):
    slug = "tram-works"
    persist(eve, slug, article("Tram works", summary="Draft."))
    file = {**entry(slug), "path": f"articles/{slug}.json"}
    call(eve, "unpublishedEntryDataFile", file)
    # Decap's stock proxy backend sends no base: the session's memory is the base
    done = persist(eve, slug, article("Tram works", summary="From Monday."))
    assert "merged" not in done
    before = git("rev-parse", "main")
    bad = persist(eve, slug, article("Tram works"), expect=422, base="not-a-version")
    assert list(bad["errors"]) == ["params.base"]
    # a well-formed version that was never this article's is refused, nothing committed
    other = persist(eve, slug, article("Tram works"), expect=412, base="0" * 40)
    assert other["status"] == 412
    assert git("rev-parse", "main") == before


def persist_resolved(client, slug, data, resolve, expect=200):
    """A save with the answers to a conflict (what the workbench's notice sends)."""
    body = {
        "dataFiles": [{"path": f"articles/{slug}.json", "slug": slug, "raw": json.dumps(data)}],
        "assets": [],
        "options": {"useWorkflow": True, "status": "draft", "resolve": resolve},
    }
    return call(client, "persistEntry", body, expect)


def test_a_merged_save_says_with_whom_and_a_conflict_is_resolved_field_by_field(eve, ann, git):
    path = layout.article_path("night-buses")
    persist(eve, "night-buses", article("Night buses", summary="Draft."))
    for client in (eve, ann):  # both open the entry
        call(
            client,
            "unpublishedEntryDataFile",
            {**entry("night-buses"), "path": "articles/night-buses.json"},
        )
    # no overlap: merged, and the answer says with whose changes
    persist(eve, "night-buses", article("Night buses return", summary="Draft."))
    done = persist(ann, "night-buses", article("Night buses", summary="Every 30 minutes."))
    assert done["merged"] == {
        "theirs": ["/title"],
        "yours": ["/summary"],
        "theirs_by": ["Eve Editor"],
    }

    # overlap: 409, nothing saved, each conflict with who and when (Eve's workbench opened
    # the merged entry again after her save, as conflicts.js does)
    call(
        eve,
        "unpublishedEntryDataFile",
        {**entry("night-buses"), "path": "articles/night-buses.json"},
    )
    persist(eve, "night-buses", article("Night buses are back", summary="Every 20 minutes."))
    before = git("rev-parse", "main")
    mine = article("Night buses: the new timetable", summary="Every 15 minutes.", section="local")
    refused = persist(ann, "night-buses", mine, expect=409)
    assert git("rev-parse", "main") == before
    assert [(c["path"], c["theirs"], c["yours"]) for c in refused["conflicts"]] == [
        ("/title", "Night buses are back", "Night buses: the new timetable"),
        ("/summary", "Every 20 minutes.", "Every 15 minutes."),
    ]
    when = git("log", "-1", "--format=%aI", "main").strip()
    assert all(c["theirs_by"] == {"name": "Eve Editor"} for c in refused["conflicts"])
    assert all(c["theirs_at"][:19] == when[:19] for c in refused["conflicts"])
    etag = git("rev-parse", f"main:{path}").strip()

    # answers for a draft that changed since: refused again, with the conflicts of now
    choices = {"/title": "yours", "/summary": "theirs"}
    stale = persist_resolved(ann, "night-buses", mine, {"etag": "0" * 40, "choices": choices}, 409)
    assert [c["path"] for c in stale["conflicts"]] == ["/title", "/summary"]
    # a bad answer names the field; nothing is saved
    bad = persist_resolved(
        ann, "night-buses", mine, {"etag": etag, "choices": {"/title": "mine"}}, 422
    )
    assert list(bad["errors"]) == ["params.options.resolve.choices./title.value"]
    assert git("rev-parse", "main") == before

    # the answers: her title, his summary, and her section (no conflict) merged in
    done = persist_resolved(ann, "night-buses", mine, {"etag": f'"{etag}"', "choices": choices})
    assert done["merged"]["theirs_by"] == ["Eve Editor"]
    stored = json.loads(git("show", f"main:{path}"))
    assert (stored["title"], stored["summary"], stored["section"]) == (
        "Night buses: the new timetable",
        "Every 20 minutes.",
        "local",
    )
    assert git("log", "-1", "--format=%an|%s", "main").strip().startswith("Ann Author|Merge")
    assert len(git("log", "-1", "--format=%P", "main").split()) == 2


def test_discarding_changes_restores_the_live_version_or_deletes_a_new_draft(eve, ann, git, client):
    persist(eve, "river-walk", article("River walk"))
    call(
        eve, "updateUnpublishedEntryStatus", {**entry("river-walk"), "newStatus": "pending_publish"}
    )
    call(eve, "publishUnpublishedEntry", entry("river-walk"))
    call(eve, "getEntry", {"path": "articles/river-walk.json"})
    persist(eve, "river-walk", article("River walk, rewritten"))
    call(ann, "deleteUnpublishedEntry", entry("river-walk"), expect=403)
    call(eve, "deleteUnpublishedEntry", entry("river-walk"))
    stored = json.loads(git("show", f"main:{layout.article_path('river-walk')}"))
    assert stored["title"] == "River walk"
    assert git("log", "-1", "--format=%s", "main").startswith("Restore river-walk")
    assert client.get("/api/v1/articles/river-walk").get_json()["title"] == "River walk"

    persist(ann, "scrap-this", article("Scrap this"))
    call(eve, "deleteUnpublishedEntry", entry("scrap-this"))
    assert git("log", "-1", "--format=%s", "main").strip() == "Delete scrap-this"
    call(eve, "unpublishedEntry", entry("scrap-this"), expect=404)


def test_delete_files_and_schedules_need_an_editor(eve, ann, git):
    persist(eve, "old-news", article("Old news"))
    call(
        ann,
        "deleteFiles",
        {"paths": ["articles/old-news.json"], "options": {"commitMessage": "Delete"}},
        expect=403,
    )
    call(eve, "deleteFiles", {"paths": ["articles/old-news.json"]})
    assert git("log", "-1", "--format=%an|%s", "main").strip() == "Eve Editor|Delete old-news"
    call(eve, "deleteFiles", {"paths": ["articles/old-news.json"]}, expect=404)
    before = git("rev-parse", "main")
    refused = persist(
        ann, "later", {**article("Later"), "publish_at": "2099-01-01T00:00:00Z"}, expect=403
    )
    assert refused["errors"] == {"publish_at": ["Needs the editor role."]}
    assert git("rev-parse", "main") == before


def test_the_preview_pane_gets_the_unsaved_entry_shaped_like_delivery(eve, client):
    fields = {**article("Unsaved"), "summary": "", "image": {"src": "", "alt": ""}}
    shown = eve.post("/api/v1/decap/preview", json=fields, headers=OWN)
    assert shown.status_code == 200
    body = shown.get_json()
    assert body["summary_generated"] is True and body["reading_time_minutes"] == 1
    assert body["body"] == article()["body"] and "image" not in body
    # an entry being written is not a bad request: the pane says what is missing
    invalid = eve.post("/api/v1/decap/preview", json={"title": ""}, headers=OWN)
    assert invalid.status_code == 200 and set(invalid.get_json()["errors"]) == {"title", "body"}
    pending = {**article(), "body": [{"type": "image", "src": "media/new.png", "alt": "New"}]}
    assert (
        eve.post("/api/v1/decap/preview", json=pending, headers=OWN).get_json()["body"][0]["alt"]
        == "New"
    )
    assert eve.post("/api/v1/decap/preview", json=[1], headers=OWN).status_code == 422
    assert client.post("/api/v1/decap/preview", json=fields, headers=OWN).status_code == 401


def media_picture() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (50, 30), (20, 120, 60)).save(buffer, "PNG")
    return buffer.getvalue()


def png(color: tuple[int, int, int]) -> str:
    """A small PNG, base64-encoded as Decap sends assets."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), color).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_images_go_to_the_media_library(eve, ann, git, client):
    assert call(eve, "getMedia", {"mediaFolder": "media"}) == []
    # the Media tab uploads at once: one "upload" commit by the uploader
    sent = call(
        ann,
        "persistMedia",
        {
            "asset": {"path": "media/red.png", "content": png((200, 0, 0)), "encoding": "base64"},
            "options": {"commitMessage": "Upload"},
        },
    )
    assert re.fullmatch(r"media/[0-9a-f]{2}/[0-9a-f]{64}\.png", sent["path"])
    assert git("log", "-1", "--format=%an|%s", "main").startswith("Ann Author|Upload image")
    listed = call(eve, "getMedia", {"mediaFolder": "media"})
    assert [(f["path"], f["content"]) for f in listed] == [(sent["path"], sent["content"])]
    # Decap asks for a file by media_folder + base name: found without the xx/ folder
    flat = "media/" + sent["path"].rsplit("/", 1)[1]
    assert call(eve, "getMediaFile", {"path": flat})["content"] == sent["content"]
    call(eve, "getMediaFile", {"path": "media/x.png"}, expect=404)

    # in editorial mode an entry brings its new images along: uploaded, then pointed at
    blue = {"path": "media/blue.png", "content": png((0, 0, 200)), "encoding": "base64"}
    fields = {**article("Blue boats"), "image": {"src": "media/blue.png", "alt": "Boats"}}
    before = git("rev-parse", "main")
    bad = {**fields, "title": ""}
    call(
        eve,
        "persistEntry",
        {
            "dataFiles": [{"path": "articles/blue-boats.json", "raw": json.dumps(bad)}],
            "assets": [blue],
            "options": {"useWorkflow": True},
        },
        expect=422,
    )
    assert git("rev-parse", "main") == before  # an invalid entry uploads nothing either
    call(
        eve,
        "persistEntry",
        {
            "dataFiles": [{"path": "articles/blue-boats.json", "raw": json.dumps(fields)}],
            "assets": [blue],
            "options": {"useWorkflow": True},
        },
    )
    log = git("log", "-2", "--format=%an|%s", "main").splitlines()
    assert log[0] == "Eve Editor|Create blue-boats"
    assert log[1].startswith("Eve Editor|Upload image")
    stored = json.loads(git("show", f"main:{layout.article_path('blue-boats')}"))
    assert re.fullmatch(r"media/[0-9a-f]{2}/[0-9a-f]{64}\.png", stored["image"]["src"])
    call(
        eve,
        "persistEntry",
        {
            "dataFiles": [{"path": "articles/x.json", "raw": raw()}],
            "assets": [{**blue, "content": "not base64!"}],
        },
        expect=422,
    )
    call(
        eve,
        "unpublishedEntryMediaFile",
        {**entry("x"), "path": "media/x.png", "id": "1"},
        expect=404,
    )


def noise_png(seed: int, width: int = 480, height: int = 360) -> bytes:
    """A PNG of random pixels (about 0.5 MB: noise does not compress)."""
    pixels = random.Random(seed).randbytes(width * height * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), pixels).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


@pytest.fixture
def big_library(app, repo) -> list[str]:
    """Twelve noise PNGs of about 0.5 MB uploaded through the management API (which makes no
    thumbnail); their library paths in path order."""
    _, secret = TokenStore(str(repo)).create("Lib Editor", "lib@example.org", "editor")
    client = app.test_client()
    paths = []
    for seed in range(12):
        boundary, body = encode_multipart(
            {
                "file": FileStorage(
                    io.BytesIO(noise_png(seed)), f"noise-{seed}.png", content_type="image/png"
                )
            }
        )
        made = client.post(
            "/api/v1/manage/media",
            data=body,
            headers={"Authorization": f"Bearer {secret}"},
            content_type=f"multipart/form-data; boundary={boundary}",
        )
        assert made.status_code == 201, made.get_json()
        paths.append(made.get_json()["path"])
    return sorted(paths)


def thumbnail(item: dict[str, Any]) -> Image.Image:
    data = base64.b64decode(item["content"], validate=True)
    assert len(data) <= workbench_media.THUMBNAIL_MAX_BYTES
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.width) == ("WEBP", workbench_media.THUMBNAIL_WIDTH)
    return image


def test_the_media_library_sends_small_thumbnails_a_page_at_a_time(eve, big_library, monkeypatch):
    originals = 12 * len(noise_png(0))
    # every file is listed, in path order, as Decap's proxy backend reads one: base64
    # `content` (what it turns into the picture it shows), never the original's bytes
    response = eve.post(
        "/api/v1/decap",
        json={"action": "getMedia", "params": {"branch": "main", "mediaFolder": "media"}},
        headers=OWN,
    )
    assert response.status_code == 200
    first = response.get_json()
    assert [f["path"] for f in first] == big_library
    assert all(f["encoding"] == "base64" for f in first)
    # an answer makes at most MEDIA_RENDERS thumbnails; the others come blank this time
    made = [f for f in first if f["content"]]
    assert len(made) == workbench_media.MEDIA_RENDERS
    assert all(f["content"] == "" for f in first[workbench_media.MEDIA_RENDERS :])
    for item in made:
        thumbnail(item)
    again = eve.post(
        "/api/v1/decap",
        json={"action": "getMedia", "params": {"branch": "main", "mediaFolder": "media"}},
        headers=OWN,
    )
    listed = again.get_json()
    assert all(thumbnail(f) for f in listed)  # kept from before, or made now
    assert len(again.get_data()) < originals / 5
    assert len(again.get_data()) <= workbench_media.MEDIA_ANSWER_BYTES + 500 * len(listed)

    # pages of `perPage` files; an empty answer past the last
    pages = [call(eve, "getMedia", {"page": page, "perPage": 5}) for page in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [5, 5, 2, 0]
    assert [f["path"] for p in pages for f in p] == big_library
    assert pages[1] == listed[5:10]

    # the thumbnails of one answer fill at most MEDIA_ANSWER_BYTES; the rest come blank
    one = len(listed[0]["content"])
    monkeypatch.setattr(workbench_media, "MEDIA_ANSWER_BYTES", int(2.5 * one))
    bounded = call(eve, "getMedia", {"mediaFolder": "media"})
    assert [f["path"] for f in bounded] == big_library
    assert sum(len(f["content"]) for f in bounded) <= 2.5 * one
    assert [bool(f["content"]) for f in bounded][:3] == [True, True, False]


def test_an_upload_answers_its_thumbnail_and_a_file_its_bytes(eve, ann):
    data = noise_png(99)
    sent = call(
        ann,
        "persistMedia",
        {
            "asset": {
                "path": "media/noise.png",
                "content": base64.b64encode(data).decode(),
                "encoding": "base64",
            }
        },
    )
    thumbnail(sent)
    # made at upload: the library's next answer has it, within its budget of renders
    listed = call(eve, "getMedia", {"mediaFolder": "media"})
    assert listed == [sent]
    # one file asked for by its path (the editor's preview of an image) is the original
    whole = call(eve, "getMediaFile", {"path": sent["path"]})
    assert base64.b64decode(whole["content"]) == data


def test_view_preview_and_view_live_open_the_sample_frontend(eve, client):
    persist(eve, "draft-preview", article("Draft preview"))
    preview = call(eve, "getDeployPreview", entry("draft-preview"))
    assert preview["status"] == "SUCCESS"
    opened = urlsplit(preview["url"])
    assert opened.path == "/frontend/"  # the sample frontend this server serves
    page = client.get(opened.path)
    assert page.status_code == 200 and b'src="app.js"' in page.data
    page.close()
    (link,) = parse_qs(opened.query)["preview"]
    shown = client.get(urlsplit(link).path)
    assert shown.status_code == 200 and shown.get_json()["title"] == "Draft preview"
    assert call(eve, "getDeployPreview", entry("no-such-entry")) is None
    # Decap's "View Live" of a live article: site_url + preview_path, in the sample frontend
    config = json.loads(eve.get("/admin/config.yml").get_data())
    assert config["site_url"] == "http://localhost/frontend/"
    assert config["collections"][0]["preview_path"] == "#/articles/{{slug}}"


def test_without_the_sample_frontend_view_preview_opens_the_link(repo):
    app = create_app(
        {"REPO": str(repo), "TESTING": True, "RATELIMIT_ENABLED": False, "SAMPLE_FRONTEND": ""}
    )
    eve = signed_in(app, repo, "Eve Editor", "eve@example.org", "editor")
    persist(eve, "draft-preview", article("Draft preview"))
    preview = call(eve, "getDeployPreview", entry("draft-preview"))
    assert urlsplit(preview["url"]).path.startswith("/api/v1/preview/links/")
    assert app.test_client().get("/frontend/").status_code == 404


BAD_PARAMS: list[tuple[str, Any]] = [
    ("entriesByFolder", {"folder": 5}),
    ("entriesByFiles", {"files": "articles/a.json"}),
    ("entriesByFiles", {"files": [{"path": "../../etc/passwd"}]}),
    ("getEntry", {}),
    ("getEntry", {"path": "articles/../x.json"}),
    ("getEntry", {"path": ["articles/a.json"]}),
    ("unpublishedEntry", {"id": 7}),
    ("unpublishedEntry", {"collection": "pages", "slug": "a"}),
    ("unpublishedEntryDataFile", {"collection": "articles", "slug": "a"}),
    ("unpublishedEntryDataFile", {"collection": "articles", "slug": "a", "path": "x.json"}),
    ("unpublishedEntryMediaFile", {"collection": "articles"}),
    (
        "updateUnpublishedEntryStatus",
        {"collection": "articles", "slug": "a", "newStatus": "published"},
    ),
    (
        "updateUnpublishedEntryStatus",
        {"collection": "articles", "slug": "no-such", "newStatus": "pending_review"},
    ),
    ("publishUnpublishedEntry", {"collection": "articles"}),
    ("publishUnpublishedEntry", {"collection": "articles", "slug": "no-such"}),
    ("deleteUnpublishedEntry", {"collection": "articles", "slug": "../../x"}),
    ("persistEntry", {}),
    ("persistEntry", {"dataFiles": [{"path": "articles/a.json"}]}),
    ("persistEntry", {"dataFiles": [{"path": "pages/a.json", "raw": "{}"}]}),
    ("persistEntry", {"dataFiles": [{"path": "articles/a.json", "raw": "[1]"}]}),
    ("persistEntry", {"dataFiles": [{"path": "articles/a.json", "raw": "{not json"}]}),
    (
        "persistEntry",
        {"dataFiles": [{"path": "articles/a.json", "raw": json.dumps({**article(), "slug": "b"})}]},
    ),
    (
        "persistEntry",
        {
            "dataFiles": [{"path": "articles/a.json", "raw": raw()}],
            "options": {"useWorkflow": False},
        },
    ),
    (
        "persistEntry",
        {"dataFiles": [{"path": "articles/a.json", "raw": raw(), "newPath": "articles/b.json"}]},
    ),
    (
        "persistEntry",
        {
            "dataFiles": [{"path": "articles/a.json", "raw": raw()}],
            "assets": [{"path": "media/a.png", "content": "AA"}],
        },
    ),
    ("persistEntry", {"dataFiles": [{"path": "articles/a.json", "raw": raw()}], "options": "yes"}),
    ("deleteFiles", {"paths": []}),
    ("deleteFiles", {"paths": ["media/a.png"]}),
    ("getMedia", {"mediaFolder": {}}),
    ("getMedia", {"page": 0}),
    ("getMedia", {"perPage": 101}),
    ("getMedia", {"perPage": "many"}),
    ("getMediaFile", {"path": None}),
    ("persistMedia", {}),
    ("getDeployPreview", {"slug": "a"}),
]


@pytest.mark.parametrize(("action", "params"), BAD_PARAMS)
def test_bad_params_are_a_problem_never_a_server_error(eve, git, action, params):
    before = git("for-each-ref")
    response = eve.post("/api/v1/decap", json={"action": action, "params": params}, headers=OWN)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["error"]
    assert git("for-each-ref") == before


def test_every_action_is_covered_and_broken_requests_are_problems(eve):
    assert {action for action, _ in BAD_PARAMS} | {"info", "unpublishedEntries"} == set(ACTIONS)
    for body, status in [
        ({"params": {}}, 400),
        ({"action": "launchMissiles"}, 422),
        ({"action": "getEntry", "params": "x"}, 422),
        ([1, 2], 400),
    ]:
        response = eve.post("/api/v1/decap", json=body, headers=OWN)
        assert response.status_code == status, body
        assert response.mimetype == "application/problem+json"
    broken = eve.post("/api/v1/decap", data="{", content_type="application/json", headers=OWN)
    assert broken.status_code == 400
    form = eve.post(
        "/api/v1/decap", data="a=b", headers=OWN, content_type="application/x-www-form-urlencoded"
    )
    assert form.status_code == 415


def test_the_workbench_links_a_translation_and_refuses_a_translation_of_a_translation(eve, git):
    persist(eve, "summit", {**article("Summit opens"), "language": "en"})
    done = persist(
        eve,
        "summit-ru",
        {**article("Саммит открылся"), "language": "ru", "translation_of": "summit"},
    )
    assert done["slug"] == "summit-ru"
    stored = json.loads(git("show", f"main:{layout.article_path('summit-ru')}"))
    assert stored["translation_of"] == "summit"
    before = git("rev-parse", "main")
    problem = persist(
        eve,
        "summit-uk",
        {**article("Саміт"), "language": "uk", "translation_of": "summit-ru"},
        expect=422,
    )
    assert "translation of a translation" in problem["errors"]["translation_of"][0]
    assert git("rev-parse", "main") == before


def test_the_config_fits_the_person_signed_in(app, repo, eve, ann, client, editor_token):
    for section in ("local", "sport"):
        made = client.post(
            "/api/v1/manage/articles",
            json={**article(f"In {section}"), "section": section},
            headers=editor_token,
        )
        assert made.status_code == 201

    def fields(who):
        response = who.get("/admin/config.yml")
        assert response.headers["Cache-Control"] == "private, no-store"
        (articles,) = json.loads(response.get_data())["collections"]
        return articles, {f["name"]: f for f in articles["fields"]}

    collection, by_name = fields(eve)
    assert collection["publish"] is True and collection["delete"] is True
    assert by_name["publish_at"]["widget"] == "datetime"
    assert by_name["authors"]["default"] == [{"name": "Eve Editor"}]  # the byline
    assert (by_name["section"]["widget"], by_name["section"]["options"]) == (
        "select",
        ["local", "sport"],
    )  # the sections already used
    # an author is offered no publish, delete or schedule control
    collection, by_name = fields(ann)
    assert collection["publish"] is False and collection["delete"] is False
    assert by_name["publish_at"]["widget"] == "hidden"
    assert by_name["authors"]["default"] == [{"name": "Ann Author"}]

    configured = create_app(
        {
            "REPO": str(repo),
            "TESTING": True,
            "RATELIMIT_ENABLED": False,
            "SECTIONS": "world, local,politics",
        }
    )
    olaf = signed_in(configured, repo, "Olaf Other", "olaf@example.org", "author")
    assert fields(olaf)[1]["section"]["options"] == ["world", "local", "politics"]


def test_who_is_signed_in(eve, client):
    assert eve.get("/api/v1/session").get_json() == {
        "name": "Eve Editor",
        "email": "eve@example.org",
        "role": "editor",
    }
    assert client.get("/api/v1/session").status_code == 401


def test_the_collection_comes_a_page_at_a_time_newest_first_and_search_finds(
    eve, client, editor_token
):
    slugs = []
    for title in ("Ferry timetable changes", "Night market opens", "Harbour festival returns"):
        made = client.post("/api/v1/manage/articles", json=article(title), headers=editor_token)
        slugs.append(made.get_json()["slug"])
        assert (
            client.post(
                f"/api/v1/manage/articles/{slugs[-1]}/publish", headers=editor_token
            ).status_code
            == 200
        )
    folder = {"folder": "articles", "extension": "json", "depth": 1}
    first = call(eve, "entriesByFolder", {**folder, "per_page": 2})
    assert [e["file"]["path"] for e in first] == [f"articles/{s}.json" for s in slugs[:0:-1]]
    second = call(eve, "entriesByFolder", {**folder, "per_page": 2, "page": 2})
    assert [e["file"]["path"] for e in second] == [f"articles/{slugs[0]}.json"]
    # Decap's own proxy backend sends no page: it gets the newest page, never everything
    assert len(call(eve, "entriesByFolder", folder)) == 3
    found = call(eve, "entriesByFolder", {**folder, "search": "market"})
    assert [e["file"]["path"] for e in found] == ["articles/night-market-opens.json"]
    assert json.loads(found[0]["data"])["title"] == "Night market opens"
    assert call(eve, "entriesByFolder", {**folder, "search": "zeppelin"}) == []
    for bad in ({"per_page": 101}, {"page": 0}, {"search": ""}, {"per_page": "2"}):
        call(eve, "entriesByFolder", {**folder, **bad}, expect=422)


def test_a_workflow_card_shows_the_summary_or_the_first_paragraph(eve):
    long = "The night market opens on Friday. " * 20
    persist(
        eve,
        "night-market",
        {**article("Night market"), "body": [{"type": "paragraph", "text": long}]},
    )
    data = json.loads(
        call(
            eve,
            "unpublishedEntryDataFile",
            {**entry("night-market"), "path": "articles/night-market.json"},
        )["data"]
    )
    assert len(data["body"]) <= 201 and data["body"].endswith("…")
    assert data["body"].startswith("The night market opens on Friday.")
    assert data["blocks"] == [{"type": "paragraph", "text": long}]
    # saving the file as Decap sends it back: the card text is not saved, the blocks are
    persist(eve, "night-market", {**data, "summary": "Stalls and music."})
    again = json.loads(
        call(
            eve,
            "unpublishedEntryDataFile",
            {**entry("night-market"), "path": "articles/night-market.json"},
        )["data"]
    )
    assert again["body"] == "Stalls and music." and again["blocks"] == data["blocks"]


def test_tags_typed_comma_separated_are_stored_as_tags(eve, git):
    # Decap's comma-separated list widget splits "Harbour, festival, " at the commas
    persist(eve, "tagged", {**article("Tagged"), "tags": ["Harbour", "festival", ""]})
    stored = json.loads(git("show", f"main:{layout.article_path('tagged')}"))
    assert stored["tags"] == ["harbour", "festival"]


def test_the_preview_pane_shows_a_new_image_under_its_own_name_before_the_save(eve):
    pending = {
        "title": "Boats",
        "image": {"src": "media/boats.png", "alt": "Boats"},
        "blocks": [
            {"type": "image", "src": "media/more-boats.jpg", "alt": "More"},
            {"type": "paragraph", "text": "Boats in the harbour."},
        ],
        "body": "card text, ignored",
        "history": None,
    }
    shown = eve.post("/api/v1/decap/preview", json=pending, headers=OWN).get_json()
    # Decap holds these files until the save: the pane asks Decap for them by these names,
    # never for a stand-in path that exists nowhere
    assert shown["image"]["src"] == "media/boats.png"
    assert shown["body"][0]["src"] == "media/more-boats.jpg"
    assert shown["reading_time_minutes"] == 1


def test_the_history_page_needs_a_session_and_keeps_a_strict_policy(client, eve):
    assert b'id="signin"' in client.get("/admin/history?slug=anything").data
    page = eve.get("/admin/history?slug=anything")
    assert page.status_code == 200 and b"/admin/history.js" in page.data
    csp = page.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in csp and "script-src 'self';" in csp


def test_the_workbench_media_library_shows_and_finds_the_names(app, repo):
    eve = signed_in(app, repo, "Eve Editor", "eve@example.org", "editor")
    content = base64.b64encode(media_picture()).decode()
    sent = call(
        eve,
        "persistMedia",
        {"asset": {"path": "media/night-market.png", "content": content, "encoding": "base64"}},
    )
    assert sent["name"] == "night-market.png"  # what Decap's library shows and searches
    assert sent["path"].startswith("media/") and sent["path"].endswith(".png")
    (listed,) = call(eve, "getMedia", {"mediaFolder": "media"})
    assert listed["name"] == "night-market.png" and listed["path"] == sent["path"]
    call(
        eve,
        "persistMedia",
        {"asset": {"path": "media/stall.png", "content": content, "encoding": "base64"}},
    )
    (both,) = call(eve, "getMedia", {"mediaFolder": "media"})
    assert both["name"] == "night-market.png, stall.png"


def test_the_workflow_board_lists_a_bounded_number_newest_first(app, eve):
    store = services(app).store
    for n in range(UNPUBLISHED_LISTED + 1):
        store.create(article(f"Draft number {n}"), Person("Eve Editor", "eve@example.org"))
    listed = call(eve, "unpublishedEntries")
    newest = [a.slug for page in (1, 2) for a in store.list(page=page, per_page=100)[0]]
    assert listed == [f"articles/{slug}" for slug in newest]  # the 200 updated last
    assert store.count() == UNPUBLISHED_LISTED + 1
