"""Translations in the workbench, in headless Chromium against a real `cms serve`: an
article's group seen from its editor, a stale translation with what changed in its source,
and a Russian translation started from an English article, prefilled and saved in Decap."""

from __future__ import annotations

import json
import re
from typing import Any

import requests
from playwright.sync_api import expect
from test_workbench import signed_in

from cms.auth.tokens import TokenStore
from cms.content import layout
from harness.browser import browser, module_browser  # noqa: F401 - fixtures: one Chromium a module
from tests.conftest import article

__all__ = ["browser", "module_browser"]


def api(server: str, token: str) -> Any:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        return session.request(
            method, f"{server}/api/v1/manage/articles{path}", timeout=20, **kwargs
        )

    return call


def test_start_a_russian_translation_from_an_english_article(repo, server, browser, git, tmp_path):  # noqa: F811
    _, eve = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    call = api(server, eve)
    made = call("POST", "", json=article(slug="summit", title="Leaders meet at the summit"))
    assert made.status_code == 201, made.text
    first = made.json()["meta"]["revision"]
    german = article(
        slug="summit-de",
        title="Gipfeltreffen",
        language="de",
        translation_of="summit",
        translated_from=first,
    )
    assert call("POST", "", json=german).status_code == 201
    etag = call("GET", "/summit").headers["ETag"]
    edited = call(
        "PATCH",
        "/summit",
        json={"title": "Leaders agree at the summit"},
        headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"},
    )
    assert edited.status_code == 200
    source_revision = edited.json()["meta"]["revision"]

    problems: list[str] = []
    page = signed_in(browser, server, eve, problems)
    page.goto(f"{server}/admin/#/collections/articles/entries/summit")
    expect(page.get_by_label("Title", exact=True)).to_have_value("Leaders agree at the summit")
    # the group, seen from the English article's editor: German is stale
    link = page.get_by_test_id("translations-link")
    expect(link).to_have_text("Translations: en · de (stale) ↗", timeout=15000)
    page.screenshot(path=str(tmp_path / "workbench-entry.png"))
    with page.context.expect_page() as opened:
        link.click()
    group = opened.value
    expect(group.get_by_test_id("translations-title")).to_have_text(
        "Translations: Leaders agree at the summit"
    )
    members = group.get_by_test_id("member")
    expect(members).to_have_count(2)
    german_row = group.locator("tr[data-slug='summit-de']")
    expect(german_row.get_by_test_id("stale")).to_have_text("Stale")
    # what changed in the source since the German was made from it
    change = german_row.get_by_test_id("change")
    expect(change).to_have_count(1)
    expect(change.locator(".field")).to_have_text("Title")
    expect(change.locator("del")).to_have_text("Leaders meet at the summit")
    expect(change.locator("ins")).to_have_text("Leaders agree at the summit")
    group.screenshot(path=str(tmp_path / "workbench-translations.png"), full_page=True)

    # start the Russian translation: a draft prefilled with the source's fields, in Decap
    before = git("rev-parse", "main").strip()
    group.get_by_label("Language").fill("ru")
    group.get_by_role("button", name="Start the translation").click()
    expect(group).to_have_url(re.compile(r"/admin/#/collections/articles/entries/summit-ru$"))
    title = group.get_by_label("Title", exact=True)
    expect(title).to_have_value("Leaders agree at the summit", timeout=20000)
    expect(group.get_by_label("Language (optional)", exact=True)).to_have_value("ru")
    log = git("log", "--format=%an|%s", f"{before}..main").splitlines()
    assert log == ["Eve Editor|Create summit-ru"]
    title.fill("Лидеры договорились на саммите")
    group.get_by_role("button", name="Save", exact=True).click()
    expect(group.get_by_text("Article saved")).to_be_visible(timeout=15000)
    saved = json.loads(git("show", f"main:{layout.article_path('summit-ru')}"))
    assert saved["title"] == "Лидеры договорились на саммите"
    assert saved["language"] == "ru" and saved["translation_of"] == "summit"
    assert saved["translated_from"] == source_revision
    assert saved["body"] == made.json()["body"]  # the source's body, to translate

    # back on the group's page: Russian is up to date, German is marked so with one click
    group.goto(f"{server}/admin/translations?slug=summit-ru")
    expect(group.get_by_test_id("member")).to_have_count(3)
    expect(group.locator("tr[data-slug='summit-ru']").get_by_test_id("fresh")).to_be_visible()
    group.locator("tr[data-slug='summit-de']").get_by_role("button", name="Mark up to date").click()
    expect(group.locator("tr[data-slug='summit-de']").get_by_test_id("fresh")).to_be_visible()
    marked = json.loads(git("show", f"main:{layout.article_path('summit-de')}"))
    assert marked["translated_from"] == source_revision
    assert git("log", "-1", "--format=%an|%s", "main").startswith("Eve Editor|Update summit-de")
    members = call("GET", "/summit/translations").json()["items"]
    assert [(m["slug"], m.get("stale")) for m in members] == [
        ("summit", None),
        ("summit-de", False),
        ("summit-ru", False),
    ]
    assert problems == []
