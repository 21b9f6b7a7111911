"""One editor, two tabs of one workbench session: a save from the first tab merges against the
version that tab's form was loaded from, whatever the second tab loaded since, so the other
editor's change is kept (the base is per form, not per session). Headless Chromium against a real
`cms serve`."""

from __future__ import annotations

import json

import pytest
import requests
from playwright.sync_api import expect
from test_workbench import saved, signed_in

from cms.auth.tokens import TokenStore
from cms.content import layout

# fixtures: one Chromium and one `cms serve` a module (each test makes an article of its own)
from harness.browser import browser, module_browser, module_site, polled, repo, server, watched

__all__ = ["browser", "module_browser", "module_site", "repo", "server"]

POLL = 15000  # ms: the watch asks every 5 s; on this shared machine a poll may come late


@pytest.mark.parametrize("second_tab", ["same article", "workflow board"])
def test_a_second_tab_does_not_move_the_first_forms_base(  # noqa: F811
    repo, server, browser, git, second_tab
):
    problems: list[str] = []
    tokens = TokenStore(str(repo))
    _, eve = tokens.create("Eve Editor", "eve@example.org", "editor")
    _, ann = tokens.create("Ann Archer", "ann@example.org", "editor")
    made = requests.post(
        f"{server}/api/v1/manage/articles",
        json={
            "title": "Council approves budget",
            "summary": "The vote was close.",
            "body": [{"type": "paragraph", "text": "The council met on Monday."}],
        },
        headers={"Authorization": f"Bearer {eve}"},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    slug = made.json()["slug"]
    path = layout.article_path(slug)
    entry = f"{server}/admin/#/collections/articles/entries/{slug}"

    # tab 1: Eve opens the article
    tab1 = watched(signed_in(browser, server, eve, problems))
    tab1.goto(entry)
    expect(tab1.get_by_label("Title", exact=True)).to_have_value(
        "Council approves budget", timeout=20000
    )

    # Ann changes the title through the API
    changed = requests.patch(
        f"{server}/api/v1/manage/articles/{slug}",
        data=json.dumps({"title": "Council passes budget"}),
        headers={
            "Authorization": f"Bearer {ann}",
            "If-Match": made.headers["ETag"],
            "Content-Type": "application/merge-patch+json",
        },
        timeout=10,
    )
    assert changed.status_code == 200, changed.text

    # tab 2, same session: the same article, or the workflow board (which loads every card's
    # data), loads Ann's version
    tab2 = tab1.context.new_page()
    tab2.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 500 else None
    )
    with tab2.expect_response(
        lambda r: (
            r.url.endswith("/api/v1/decap")
            and '"unpublishedEntryDataFile"' in (r.request.post_data or "")
            and slug in (r.request.post_data or "")
        ),
        timeout=30000,
    ) as loaded:
        tab2.goto(entry if second_tab == "same article" else f"{server}/admin/#/workflow")
    assert loaded.value.status == 200
    if second_tab == "same article":
        expect(tab2.get_by_label("Title", exact=True)).to_have_value(
            "Council passes budget", timeout=20000
        )
    else:
        # this article's card (the other test's article may be on the board too)
        card = tab2.locator(f'a[href="#/collections/articles/entries/{slug}?ref=workflow"]')
        expect(card.get_by_text("Council passes budget")).to_be_visible(timeout=20000)

    # tab 1 still hears of Ann's save: its watch asks about its own form's version
    notice = tab1.get_by_test_id("watch-notice")
    polled(tab1, slug)
    expect(notice).to_be_visible(timeout=POLL)
    expect(notice.get_by_role("heading")).to_contain_text("Ann Archer saved this article, ")
    expect(notice.get_by_test_id("watch-field")).to_have_text("Title now “Council passes budget”")

    # tab 1 changes another field of its (stale) form and saves: both changes are kept
    tab1.get_by_label("Summary (optional)", exact=True).fill("Seven votes to two.")
    saved(tab1)
    expect(tab1.get_by_test_id("merge-notice")).to_contain_text(
        "Saved, merged with Ann Archer's changes (Title)"
    )
    stored = json.loads(git("show", f"main:{path}"))
    assert (stored["title"], stored["summary"]) == ("Council passes budget", "Seven votes to two.")
    # and git log shows the merge: Eve's change made on the version she loaded, joined to Ann's
    parents = git("log", "-1", "--format=%P", "main").split()
    assert len(parents) == 2
    assert git("log", "-1", "--format=%an", "main").strip() == "Eve Editor"
    assert json.loads(git("show", f"{parents[1]}:{path}"))["title"] == "Council approves budget"
    assert json.loads(git("show", f"{parents[0]}:{path}"))["title"] == "Council passes budget"
    expect(tab1.get_by_label("Title", exact=True)).to_have_value(
        "Council passes budget", timeout=15000
    )
    assert problems == []
