"""Someone else saves an article an editor has open in the workbench: the editor sees who and
which fields before pressing Save, keeps what they typed, and their save merges (issue 23).
Headless Chromium against a real `cms serve`, two browser contexts, two editors."""

from __future__ import annotations

import json

import requests
from playwright.sync_api import expect
from test_workbench import saved, signed_in, two_editors_on_one_article

from cms.auth.tokens import TokenStore
from cms.content import layout

# fixtures: one Chromium and one `cms serve` a module (each test makes articles of its own)
from harness.browser import (
    EVERY,
    browser,
    module_browser,
    module_site,
    polled,
    repo,
    server,
    watched,
)  # noqa: F401

__all__ = ["browser", "module_browser", "module_site", "repo", "server"]

POLL = 15000  # ms: the page asks every 5 s; on this shared machine a poll may come late


def test_an_open_article_saved_by_someone_else_says_who_and_what_before_save(  # noqa: F811
    repo, server, browser, git, tmp_path
):
    problems: list[str] = []
    slug, eve, ann = two_editors_on_one_article(repo, server, browser, problems)
    eve, ann = watched(eve), watched(ann)
    path = layout.article_path(slug)

    # Eve is typing a new summary, not saved yet; meanwhile Ann saves a new title
    eve.get_by_label("Summary (optional)", exact=True).fill("Seven votes to two.")
    ann.get_by_label("Title", exact=True).fill("Council passes budget")
    saved(ann)

    # before Eve presses Save, her editor says who saved and what changed
    notice = eve.get_by_test_id("watch-notice")
    polled(eve, slug)
    expect(notice).to_be_visible(timeout=POLL)
    expect(notice.get_by_role("heading")).to_contain_text("Ann Archer saved this article, ")
    changed = notice.get_by_test_id("watch-field")
    expect(changed).to_have_count(1)
    expect(changed).to_have_text("Title now “Council passes budget”")
    expect(notice).to_contain_text("your changes are merged with theirs")
    # what Eve typed is still in the form, and the form was not replaced by Ann's version
    expect(eve.get_by_label("Summary (optional)", exact=True)).to_have_value("Seven votes to two.")
    expect(eve.get_by_label("Title", exact=True)).to_have_value("Council approves budget")
    eve.screenshot(path=str(tmp_path / "someone-saved.png"))

    # Ann's own save is no news to Ann: one poll later her editor shows no such notice
    polled(ann, slug)
    expect(ann.get_by_test_id("watch-notice")).to_have_count(0)

    # Eve saves: merged with Ann's title, both changes in the article
    saved(eve)
    expect(eve.get_by_test_id("merge-notice")).to_contain_text(
        "Saved, merged with Ann Archer's changes (Title)"
    )
    stored = json.loads(git("show", f"main:{path}"))
    assert (stored["title"], stored["summary"]) == ("Council passes budget", "Seven votes to two.")
    expect(eve.get_by_label("Title", exact=True)).to_have_value(
        "Council passes budget", timeout=15000
    )
    expect(eve.get_by_label("Summary (optional)", exact=True)).to_have_value("Seven votes to two.")
    # the watch follows Eve's save: after the next polls, no notice of her own save
    polled(eve, slug)
    expect(eve.get_by_test_id("watch-notice")).to_have_count(0)

    # Ann, who had her version open, now hears of Eve's summary
    notice = ann.get_by_test_id("watch-notice")
    polled(ann, slug)
    expect(notice).to_be_visible(timeout=POLL)
    expect(notice.get_by_role("heading")).to_contain_text("Eve Editor saved this article, ")
    expect(notice.get_by_test_id("watch-field")).to_have_text("Summary now “Seven votes to two.”")
    assert problems == []


def test_a_save_through_the_api_is_shown_and_a_conflict_notice_takes_its_place(  # noqa: F811
    repo, server, browser, git
):
    problems: list[str] = []
    tokens = TokenStore(str(repo))
    _, eve = tokens.create("Eve Editor", "eve@example.org", "editor")
    _, ann = tokens.create("Ann Archer", "ann@example.org", "editor")
    made = requests.post(
        f"{server}/api/v1/manage/articles",
        json={
            "title": "Council approves budget",
            "body": [
                {"type": "paragraph", "text": "The council met on Monday."},
                {"type": "paragraph", "text": "The vote was close."},
            ],
        },
        headers={"Authorization": f"Bearer {eve}"},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    slug = made.json()["slug"]
    page = watched(signed_in(browser, server, eve, problems))
    page.goto(f"{server}/admin/#/collections/articles/entries/{slug}")
    title = page.get_by_label("Title", exact=True)
    expect(title).to_have_value("Council approves budget", timeout=20000)
    title.fill("Budget approved after long debate")

    # Ann changes the title and the second paragraph through the API
    changed = requests.patch(
        f"{server}/api/v1/manage/articles/{slug}",
        data=json.dumps(
            {
                "title": "Council passes budget",
                "body": [
                    {"type": "paragraph", "text": "The council met on Monday."},
                    {"type": "paragraph", "text": "Seven votes to two."},
                ],
            }
        ),
        headers={
            "Authorization": f"Bearer {ann}",
            "If-Match": made.headers["ETag"],
            "Content-Type": "application/merge-patch+json",
        },
        timeout=10,
    )
    assert changed.status_code == 200, changed.text
    notice = page.get_by_test_id("watch-notice")
    polled(page, slug)
    expect(notice).to_be_visible(timeout=POLL)
    expect(notice.get_by_role("heading")).to_contain_text("Ann Archer saved this article, ")
    expect(notice.get_by_test_id("watch-field")).to_have_text(
        ["Title now “Council passes budget”", "Body block 2 changed"]
    )
    expect(title).to_have_value("Budget approved after long debate")

    # Eve saves her title: both changed it, so the conflict notice replaces this one
    page.get_by_role("button", name="Save", exact=True).click()
    conflict = page.get_by_test_id("conflict-notice")
    expect(conflict).to_contain_text("Someone else saved this article: Ann Archer")
    expect(notice).to_have_count(0)
    expect(title).to_have_value("Budget approved after long debate")
    # and a poll in between does not bring the first notice back over the conflict's
    polled(page, slug)
    expect(page.get_by_test_id("watch-notice")).to_have_count(0)
    problems.remove("pageerror Object")  # Decap's rejected save promise, as in test_workbench
    assert problems == []


def test_an_open_article_deleted_meanwhile_says_so_and_keeps_the_typed_text(  # noqa: F811
    repo, server, browser
):
    problems: list[str] = []
    _, eve = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    auth = {"Authorization": f"Bearer {eve}"}
    made = requests.post(
        f"{server}/api/v1/manage/articles",
        json={"title": "Night buses return", "body": [{"type": "paragraph", "text": "At 1 am."}]},
        headers=auth,
        timeout=10,
    )
    assert made.status_code == 201, made.text
    slug = made.json()["slug"]
    page = watched(signed_in(browser, server, eve, problems))
    page.goto(f"{server}/admin/#/collections/articles/entries/{slug}")
    title = page.get_by_label("Title", exact=True)
    expect(title).to_have_value("Night buses return", timeout=20000)
    # a poll has found the article (200 or 304) before it goes
    with page.expect_response(lambda r: f"/{slug}/changes" in r.url, timeout=POLL):
        page.clock.run_for(EVERY)
    title.fill("Night buses are back")
    deleted = requests.delete(
        f"{server}/api/v1/manage/articles/{slug}",
        headers={**auth, "If-Match": made.headers["ETag"]},
        timeout=10,
    )
    assert deleted.status_code == 204, deleted.text
    notice = page.get_by_test_id("watch-notice")
    polled(page, slug)
    expect(notice.get_by_role("heading")).to_have_text("Someone deleted this article", timeout=POLL)
    expect(notice).to_contain_text("What you typed is still in the form")
    expect(title).to_have_value("Night buses are back")
    assert problems == []
