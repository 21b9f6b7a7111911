"""The editors' workbench (Decap CMS at /admin/) driven in headless Chromium against a real
`cms serve`, checked in git and on the delivery API as editors and readers would."""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from PIL import Image
from playwright.sync_api import Browser, FrameLocator, Page, expect

from cms.auth.tokens import TokenStore
from cms.content import canonical, layout
from harness.browser import (  # noqa: F401 - fixtures: one Chromium and one server per module
    PLACEHOLDER_SVG,
    browser,
    module_browser,
    module_site,
    repo,
    server,
)

__all__ = ["browser", "module_browser", "module_site", "repo", "server"]


def signed_in(browser: Browser, server: str, secret: str, problems: list[str]) -> Page:
    """A fresh browser context on /admin/, signed in with `secret` through the sign-in page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    # nothing leaves 127.0.0.1: the article's image (on example.org) gets a placeholder
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if urlsplit(route.request.url).hostname == "127.0.0.1"
            else route.fulfill(status=200, content_type="image/svg+xml", body=PLACEHOLDER_SVG)
        ),
    )
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # Decap confirms before publishing
    # Decap rejects its save promise with no reason when its own validation refuses an entry
    # (an "undefined" page error); any other page error is a problem
    page.on(
        "pageerror",
        lambda error: problems.append(f"pageerror {error}") if str(error) != "undefined" else None,
    )
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 500 else None
    )
    page.goto(f"{server}/admin/")
    expect(page.get_by_role("heading", name="Newsroom workbench")).to_be_visible()
    page.get_by_label("Your API token").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Collections")).to_be_visible(timeout=20000)
    return page


def decap_call(page: Page, action: str, params: dict[str, Any]) -> dict[str, Any]:
    """A proxy-backend call from the page, with its session: {status, body}."""
    return page.evaluate(
        """async ([action, params]) => {
        const response = await fetch("/api/v1/decap", {method: "POST",
            headers: {"Content-Type": "application/json"},
            body: JSON.stringify({action, params: {branch: "main", ...params}})});
        return {status: response.status, body: await response.json()};
    }""",
        [action, params],
    )


def all_loaded(
    page: Page, frame: FrameLocator | None = None, at_least: int = 1
) -> list[tuple[str, int]]:
    """(src, naturalWidth) of every <img> of the page (or of `frame` in it), once each has
    finished loading; asserts there are `at_least` and that none is broken."""
    where = frame or page
    state: list[Any] = []
    for _ in range(150):  # until every image is done loading (or has failed)
        state = where.locator("img").evaluate_all(
            "els => els.map(e => [e.currentSrc || e.src, e.complete, e.naturalWidth])"
        )
        if len(state) >= at_least and all(done for _, done, _ in state):
            break
        page.wait_for_timeout(100)
    shown = [(src[:80], width) for src, _, width in state]
    assert len(shown) >= at_least, shown
    assert all(width > 0 for _, width in shown), shown  # no broken image
    return shown


def add_block(page: Page, kind: str) -> None:
    page.get_by_role("button", name="Add body").click()
    page.get_by_role("menuitem", name=kind, exact=True).click()


def test_write_review_and_publish_an_article_in_the_workbench(repo, server, browser, git, tmp_path):
    _, eve = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    _, ann = TokenStore(str(repo)).create("Ann Author", "ann@example.org", "author")
    problems: list[str] = []
    page = signed_in(browser, server, eve, problems)
    cookie = next(c for c in page.context.cookies() if c["name"] == "cms_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and eve not in cookie["value"]

    page.goto(f"{server}/admin/#/collections/articles/new")
    page.get_by_label("Title", exact=True).fill("Harbour festival returns")
    add_block(page, "Heading")
    page.get_by_label("Text", exact=True).last.fill("Boats and music")
    page.get_by_label("Level", exact=True).last.fill("7")  # invalid: levels are 2..4
    add_block(page, "Paragraph")
    page.get_by_label("Text", exact=True).last.fill("The festival returns this weekend.")
    add_block(page, "Paragraph")
    page.get_by_label("Text", exact=True).last.fill("Organisers expect ten thousand visitors.")
    add_block(page, "Image")  # uploaded through Decap's media library
    photo = tmp_path / "boats.png"
    Image.new("RGB", (320, 180), (40, 90, 160)).save(photo)
    page.get_by_role("button", name="Choose an image").last.click()
    page.locator("input[type=file]").last.set_input_files(photo)
    page.get_by_role("button", name="Choose selected").click()
    page.get_by_label("Alternative text", exact=True).last.fill("Boats in the harbour")

    before = git("rev-parse", "main").strip()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Level must be between 2 and 4.")).to_be_visible()
    assert git("rev-parse", "main").strip() == before  # refused: nothing committed

    page.get_by_label("Level", exact=True).last.fill("2")
    # still before the first save the picture is only in the browser: the form and the preview pane
    # show it, and no image anywhere is broken
    pane = page.frame_locator("iframe").first
    expect(pane.get_by_role("img", name="Boats in the harbour")).to_be_visible()
    all_loaded(page, pane)
    all_loaded(page)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Article saved")).to_be_visible(timeout=15000)
    # the preview pane shows it as the delivery API would: reading time, generated summary
    # the byline is the signed-in editor's unless she changes it
    expect(pane.get_by_test_id("preview-meta")).to_have_text("By Eve Editor · 1 min read")
    expect(pane.get_by_text("No time to read?")).to_be_visible()
    expect(pane.get_by_role("img", name="Boats in the harbour")).to_have_attribute(
        "src", re.compile("^blob:")
    )  # the draft's picture, loaded through Decap
    all_loaded(page, pane)
    slug = "harbour-festival-returns"
    # the new image is one upload commit, the article one commit, both by the editor
    log = git("log", "--format=%an <%ae>|%s", f"{before}..main").splitlines()
    assert len(log) == 2 and log[0] == (
        "Eve Editor <eve@example.org>|Create harbour-festival-returns"
    )
    assert log[1].startswith("Eve Editor <eve@example.org>|Upload image")
    stored = git("show", f"main:{layout.article_path(slug)}")
    doc = json.loads(stored)
    assert stored == canonical.dumps(doc).decode()  # canonical, whatever order Decap sent
    image = doc["body"][3]
    assert re.fullmatch(r"media/[0-9a-f]{2}/[0-9a-f]{64}\.png", image["src"])
    assert doc["body"] == [
        {"type": "heading", "text": "Boats and music", "level": 2},
        {"type": "paragraph", "text": "The festival returns this weekend."},
        {"type": "paragraph", "text": "Organisers expect ten thousand visitors."},
        {"type": "image", "src": image["src"], "alt": "Boats in the harbour"},
    ]

    # an edit made through the API meanwhile shows on reload
    bearer = {"Authorization": f"Bearer {eve}"}
    manage = f"{server}/api/v1/manage/articles/{slug}"
    etag = requests.get(manage, headers=bearer, timeout=10).headers["ETag"]
    patched = requests.patch(
        manage,
        json={"title": "Harbour festival returns in June"},
        headers={**bearer, "If-Match": etag},
        timeout=10,
    )
    assert patched.status_code == 200
    page.reload()
    expect(page.get_by_label("Title", exact=True)).to_have_value(
        "Harbour festival returns in June", timeout=20000
    )

    page.get_by_role("button", name=re.compile("^Status: Draft")).click()
    page.get_by_role("menuitem", name="In review").click()
    expect(page.get_by_role("button", name=re.compile("^Status: In review"))).to_be_visible()
    page.get_by_role("button", name=re.compile("^Status: In review")).click()
    page.get_by_role("menuitem", name="Ready").click()
    expect(page.get_by_role("button", name=re.compile("^Status: Ready"))).to_be_visible()
    statuses = git("log", "--format=%an|%s", "cms/workflow").splitlines()
    assert statuses[:2] == [
        f"Eve Editor|Move {slug} to pending_publish",
        f"Eve Editor|Move {slug} to pending_review",
    ]
    page.screenshot(path=str(tmp_path / "workbench.png"))

    # an author's session shows no Publish and no Delete, and cannot publish
    author = signed_in(browser, server, ann, problems)
    author.goto(f"{server}/admin/#/collections/articles/entries/{slug}")
    expect(author.get_by_role("button", name=re.compile("^Status: Ready"))).to_be_visible(
        timeout=20000
    )
    expect(author.get_by_role("button", name="Publish", exact=True)).to_have_count(0)
    expect(author.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)
    expect(author.get_by_label("Publish at (editors only)")).to_have_count(0)
    refused = decap_call(
        author, "publishUnpublishedEntry", {"collection": "articles", "slug": slug}
    )
    assert refused["status"] == 403 and "editor role" in refused["body"]["detail"]
    assert requests.get(f"{server}/api/v1/articles/{slug}", timeout=10).status_code == 404

    page.get_by_role("button", name="Publish", exact=True).click()
    page.get_by_role("menuitem", name="Publish now").click()
    expect(page.get_by_text("Article published")).to_be_visible(timeout=15000)
    live = requests.get(f"{server}/api/v1/articles/{slug}", timeout=10)
    assert live.status_code == 200
    assert live.json()["title"] == "Harbour festival returns in June"
    delivered = live.json()["body"][3]
    assert delivered["alt"] == "Boats in the harbour" and delivered["width"] == 320
    picture = requests.get(delivered["src"], timeout=10)  # published with the article
    assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/png"
    assert git("log", "-1", "--format=%an|%s", "published").strip() == (
        f"Eve Editor|Publish {slug}"
    )
    assert problems == []


def test_signing_out_ends_the_session(repo, server, browser):
    _, eve = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    problems: list[str] = []
    page = signed_in(browser, server, eve, problems)
    page.goto(f"{server}/admin/signout")
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "cms_session"]
    page.goto(f"{server}/admin/")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.get_by_label("Your API token").fill("cms_00000000_" + "x" * 43)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signin-message")).to_have_text("That token is unknown or revoked.")
    assert problems == []


def test_the_media_library_shows_thumbnails_of_big_images(repo, server, browser, tmp_path):
    _, eve = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    width, height = 1600, 1200
    photo = tmp_path / "noise.png"  # about 5.8 MB: random pixels do not compress
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(
        photo, compress_level=1
    )
    with photo.open("rb") as f:
        made = requests.post(
            f"{server}/api/v1/manage/media",
            files={"file": f},
            headers={"Authorization": f"Bearer {eve}"},
            timeout=60,
        )
    assert made.status_code == 201, made.text
    problems: list[str] = []
    page = signed_in(browser, server, eve, problems)
    # Decap loads its media library as it starts. The answer's size is read on its way through
    # (a route), not from Chromium afterwards: Chromium may have dropped the body by then
    sizes: list[int] = []

    def measured(route: Any) -> None:
        if '"getMedia"' not in (route.request.post_data or ""):
            route.fallback()
            return
        answer = route.fetch()
        sizes.append(len(answer.body()))
        route.fulfill(response=answer)

    page.route("**/api/v1/decap", measured)
    page.reload()
    expect(page.get_by_role("button", name="Media")).to_be_visible(timeout=20000)
    deadline = time.monotonic() + 20
    while not sizes and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert sizes, "Decap never asked for its media library"
    answered = sizes[0]
    page.get_by_role("button", name="Media").click()
    assert answered < photo.stat().st_size / 20  # a thumbnail, not the file
    # Decap's proxy backend turns the thumbnail into the picture it shows (this file's card:
    # the innermost element holding its name and a picture; the module's other tests add theirs)
    card = (
        page.locator("div", has=page.get_by_text("noise.png", exact=True))
        .filter(has=page.locator("img[src^='blob:']"))
        .last.locator("img[src^='blob:']")
    )
    expect(card).to_be_visible(timeout=15000)
    assert card.evaluate("img => img.complete && img.naturalWidth") == 320
    assert problems == []


def photo_file(tmp_path: Any, name: str, color: tuple[int, int, int]) -> Any:
    path = tmp_path / name
    Image.new("RGB", (640, 360), color).save(path)
    return path


def write_article(
    page: Page, server: str, title: str, text: str, picture: Any, tags: str = ""
) -> None:
    """A new article with one paragraph and a lead image uploaded with it, saved."""
    page.goto(f"{server}/admin/#/collections/articles/new")
    page.get_by_label("Title", exact=True).fill(title)
    if tags:
        page.get_by_label("Tags (optional)", exact=True).fill(tags)
    add_block(page, "Paragraph")
    page.get_by_label("Text", exact=True).last.fill(text)
    page.get_by_role("button", name="Choose an image").first.click()
    page.locator("input[type=file]").last.set_input_files(picture)
    page.get_by_role("button", name="Choose selected").click()
    page.get_by_label("Alternative text (optional)", exact=True).first.fill("Stalls at dusk")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Article saved")).to_be_visible(timeout=15000)


def test_view_preview_and_a_preview_link_show_every_image_before_and_after_publishing(
    repo, server, browser, git, tmp_path
):
    _, eve = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    problems: list[str] = []
    page = signed_in(browser, server, eve, problems)
    slug = "night-market-opens"
    write_article(
        page,
        server,
        "Night market opens",
        "Forty stalls open on the quay.",
        photo_file(tmp_path, "night-market.png", (200, 90, 40)),
    )

    # "View Preview" opens the sample frontend this server serves, on a preview link (Decap
    # 3.16 asks for it when an entry is opened, not after a new entry's first save)
    page.wait_for_url(re.compile(f"/entries/{slug}$"))
    page.reload()
    preview = page.get_by_role("link", name="View Preview")
    expect(preview).to_be_visible(timeout=20000)
    assert urlsplit(preview.get_attribute("href")).path == "/frontend/"
    with page.expect_popup() as opened:
        preview.click()
    front = opened.value
    expect(front.get_by_test_id("preview-banner")).to_be_visible()
    expect(front.get_by_test_id("article-title")).to_have_text("Night market opens")
    expect(front.get_by_role("img", name="Stalls at dusk")).to_be_visible()
    (lead,) = all_loaded(front)  # the draft's own image, not yet published, through the link
    assert "/api/v1/preview/links/" in lead[0]
    link_page = front.url
    front.close()

    page.get_by_role("button", name=re.compile("^Status: Draft")).click()
    page.get_by_role("menuitem", name="Ready").click()
    expect(page.get_by_role("button", name=re.compile("^Status: Ready"))).to_be_visible()
    page.get_by_role("button", name="Publish", exact=True).click()
    page.get_by_role("menuitem", name="Publish now").click()
    expect(page.get_by_text("Article published")).to_be_visible(timeout=15000)

    # after publishing: the same link, now with the public image; and "View Live"
    after = page.context.new_page()
    after.goto(link_page)
    expect(after.get_by_test_id("article-title")).to_have_text("Night market opens")
    (lead,) = all_loaded(after)
    assert f"{server}/media/" in lead[0]
    live = requests.get(f"{server}/api/v1/articles/{slug}", timeout=10).json()
    assert live["image"]["src"].startswith(f"{server}/media/")
    view_live = page.get_by_role("link", name="View Live")
    expect(view_live).to_have_attribute("href", f"{server}/frontend/#/articles/{slug}")
    after.goto(view_live.get_attribute("href"))
    expect(after.get_by_test_id("article-title")).to_have_text("Night market opens")
    all_loaded(after)
    assert problems == []


def test_the_history_view_compares_and_restores_a_revision(repo, server, browser, git):
    _, eve = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    _, ann = TokenStore(str(repo)).create("Ann Author", "ann@example.org", "author")
    bearer = {"Authorization": f"Bearer {eve}"}
    manage = f"{server}/api/v1/manage/articles"
    created = requests.post(
        manage,
        json={
            "title": "Ferry timetable",
            "body": [{"type": "paragraph", "text": "Ferries leave every hour."}],
        },
        headers=bearer,
        timeout=10,
    )
    slug = created.json()["slug"]
    first = created.json()["meta"]["revision"]
    requests.patch(
        f"{manage}/{slug}",
        json={"title": "Ferry timetable changes"},
        headers={**bearer, "If-Match": created.headers["ETag"]},
        timeout=10,
    )
    problems: list[str] = []

    # from the entry: its history field links to the history page
    page = signed_in(browser, server, eve, problems)
    page.goto(f"{server}/admin/#/collections/articles/entries/{slug}")
    link = page.get_by_test_id("history-link")
    expect(link).to_have_attribute("href", f"/admin/history?slug={slug}", timeout=20000)
    expect(page.get_by_test_id("history-field")).to_contain_text("2 revisions")
    with page.expect_popup() as opened:
        link.click()
    history = opened.value
    expect(history.get_by_test_id("history-title")).to_have_text("History: Ferry timetable changes")
    rows = history.get_by_test_id("revision")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Eve Editor")
    expect(rows.nth(0)).to_contain_text("update")
    expect(rows.nth(1)).to_contain_text(f"Create {slug}")
    expect(rows.nth(1)).to_contain_text(first[:7])

    rows.nth(1).get_by_role("button", name="Compare with draft").click()
    change = history.get_by_test_id("change")
    expect(change).to_have_count(1)
    expect(change.locator("del")).to_have_text("Ferry timetable")
    expect(change.locator("ins")).to_have_text("Ferry timetable changes")
    history.screenshot(path=str(repo.parent / "history.png"))

    before = git("rev-parse", "main").strip()
    history.on("dialog", lambda dialog: dialog.accept())
    rows.nth(1).get_by_role("button", name="Restore").click()
    expect(history.get_by_test_id("history-status")).to_contain_text(
        f"Restored revision {first[:7]}"
    )
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("restore")
    log = git("log", "--format=%an|%s", f"{before}..main").splitlines()
    assert log == [f"Eve Editor|Restore {slug} to {first[:12]}"] or (
        len(log) == 1 and log[0].startswith(f"Eve Editor|Restore {slug}")
    )
    stored = json.loads(git("show", f"main:{layout.article_path(slug)}"))
    assert stored["title"] == "Ferry timetable"

    # an author compares, and is told why restoring is not hers
    author = signed_in(browser, server, ann, problems)
    author.goto(f"{server}/admin/history?slug={slug}")
    expect(author.get_by_test_id("revision")).to_have_count(3)
    restore = author.get_by_test_id("revision").nth(1).get_by_role("button", name="Restore")
    expect(restore).to_be_disabled()
    expect(restore).to_have_attribute("title", "Restoring needs the editor role")
    assert problems == []


def test_the_workflow_board_the_media_library_and_tags_fit_a_newsroom(
    repo, server, browser, git, tmp_path
):
    _, ann = TokenStore(str(repo)).create("Ann Author", "ann@example.org", "author")
    problems: list[str] = []
    page = signed_in(browser, server, ann, problems)
    write_article(
        page,
        server,
        "Lantern fair opens",
        "Forty stalls open on the quay. " * 3,
        photo_file(tmp_path, "lantern-fair.png", (230, 180, 40)),
        tags="Market, night , quay",
    )
    slug = "lantern-fair-opens"
    stored = json.loads(git("show", f"main:{layout.article_path(slug)}"))
    assert stored["tags"] == ["market", "night", "quay"]  # typed as one field, three tags
    assert stored["authors"] == [{"name": "Ann Author"}]  # the byline, by default
    # an author is offered no Delete (nor Publish) for her unpublished article
    expect(page.get_by_role("button", name=re.compile("^Status: Draft"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)
    expect(page.get_by_role("button", name="Publish", exact=True)).to_have_count(0)

    # the workflow board: the card shows the title and the first paragraph, as an article
    page.goto(f"{server}/admin/#/workflow")
    card = page.get_by_role("link", name=re.compile("Lantern fair opens"))
    expect(card).to_contain_text("Forty stalls open on the quay.")
    expect(card).not_to_contain_text("typeparagraph")
    expect(page.get_by_role("button", name="New Article", exact=True)).to_be_visible()
    expect(page.get_by_text("New Post")).to_have_count(0)
    card.hover()
    expect(page.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)
    page.screenshot(path=str(tmp_path / "workflow.png"))

    # the media library shows the uploaded name and finds the file by it (a fresh page: Decap
    # keeps the library as it loaded it before the upload went in with the article)
    page.goto(f"{server}/admin/#/collections/articles")
    page.reload()
    page.get_by_role("button", name="Media").click()
    expect(page.get_by_text("lantern-fair.png")).to_be_visible()
    page.get_by_placeholder(re.compile("Search")).last.fill("zeppelin")
    expect(page.get_by_text("lantern-fair.png")).to_have_count(0)
    page.get_by_placeholder(re.compile("Search")).last.fill("lantern")
    expect(page.get_by_text("lantern-fair.png")).to_be_visible()
    all_loaded(page)
    listed = requests.get(
        f"{server}/api/v1/manage/media",
        params={"q": "lantern fair"},
        headers={"Authorization": f"Bearer {ann}"},
        timeout=10,
    ).json()
    assert [i["name"] for i in listed["items"]] == ["lantern-fair.png"]
    assert listed["items"][0]["alt"] == "Stalls at dusk"
    assert problems == []


def test_a_refused_discard_never_says_it_deleted(repo, server, browser, git):
    _, eve = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    bearer = {"Authorization": f"Bearer {eve}"}
    made = requests.post(
        f"{server}/api/v1/manage/articles",
        json={"title": "Late change", "body": [{"type": "paragraph", "text": "Draft."}]},
        headers=bearer,
        timeout=10,
    )
    slug = made.json()["slug"]
    problems: list[str] = []
    page = signed_in(browser, server, eve, problems)
    page.goto(f"{server}/admin/#/collections/articles/entries/{slug}")
    discard = page.get_by_role("button", name="Delete unpublished article")
    expect(discard).to_be_visible(timeout=20000)
    # meanwhile it is published by the API: there is nothing unpublished left to discard
    assert (
        requests.post(
            f"{server}/api/v1/manage/articles/{slug}/publish", headers=bearer, timeout=10
        ).status_code
        == 200
    )
    before = git("for-each-ref")
    discard.click()
    expect(
        page.get_by_text(re.compile("^Nothing was deleted: .*has no unpublished changes"))
    ).to_be_visible()
    expect(page.get_by_text("Unpublished changes deleted")).to_have_count(0)
    assert git("for-each-ref") == before
    assert requests.get(f"{server}/api/v1/articles/{slug}", timeout=10).status_code == 200
    assert problems == []


# -- two editors on one article (issue 23) ---------------------------------------------------


def two_editors_on_one_article(
    repo: Any, server: str, browser: Browser, problems: list[str]
) -> tuple[str, Page, Page]:
    """An article made by the API, open in the workbench in two browser contexts: Eve's and
    Ann's (both editors), each session having loaded the same revision."""
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
    pages = []
    for secret in (eve, ann):
        page = signed_in(browser, server, secret, problems)
        page.goto(f"{server}/admin/#/collections/articles/entries/{slug}")
        expect(page.get_by_label("Title", exact=True)).to_have_value(
            "Council approves budget", timeout=20000
        )
        pages.append(page)
    return slug, pages[0], pages[1]


def saved(page: Page) -> None:
    """Click Save and wait for the server's answer (a toast of an earlier save may linger)."""
    with page.expect_response(
        lambda r: (
            r.url.endswith("/api/v1/decap") and '"persistEntry"' in (r.request.post_data or "")
        ),
        timeout=20000,
    ) as answer:
        page.get_by_role("button", name="Save", exact=True).click()
    assert answer.value.status == 200, answer.value.text()
    expect(page.get_by_text("Article saved").first).to_be_visible(timeout=15000)


def test_two_editors_changing_different_fields_are_merged(repo, server, browser, git):
    problems: list[str] = []
    slug, eve, ann = two_editors_on_one_article(repo, server, browser, problems)
    path = layout.article_path(slug)
    ann.get_by_label("Summary (optional)", exact=True).fill("Seven votes to two.")
    saved(ann)

    # Eve's form still shows the summary she loaded; her save merges with Ann's and says so
    eve.get_by_label("Title", exact=True).fill("Council approves the budget")
    saved(eve)
    notice = eve.get_by_test_id("merge-notice")
    expect(notice).to_contain_text("Saved, merged with Ann Archer's changes (Summary)")
    # the entry is opened again: the form shows what was saved, both edits
    expect(eve.get_by_label("Summary (optional)", exact=True)).to_have_value(
        "Seven votes to two.", timeout=15000
    )
    expect(eve.get_by_label("Title", exact=True)).to_have_value("Council approves the budget")
    stored = json.loads(git("show", f"main:{path}"))
    assert (stored["title"], stored["summary"]) == (
        "Council approves the budget",
        "Seven votes to two.",
    )
    merges = git("log", "--merges", "--format=%an|%s", "main", "--", path).splitlines()
    assert merges == [f"Eve Editor|Merge {slug} title"]

    # her next save starts from the merged article: Ann's summary is not undone
    eve.get_by_label("Title", exact=True).fill("Council approves the 2027 budget")
    saved(eve)
    stored = json.loads(git("show", f"main:{path}"))
    assert (stored["title"], stored["summary"]) == (
        "Council approves the 2027 budget",
        "Seven votes to two.",
    )
    assert len(git("log", "--merges", "--format=%H", "main", "--", path).splitlines()) == 1
    assert problems == []


def test_a_conflict_keeps_what_the_editor_typed_and_saves_the_chosen_values(
    repo, server, browser, git, tmp_path
):
    problems: list[str] = []
    slug, eve, ann = two_editors_on_one_article(repo, server, browser, problems)
    path = layout.article_path(slug)
    ann.get_by_label("Title", exact=True).fill("Council passes budget")
    ann.get_by_label("Summary (optional)", exact=True).fill("Seven votes to two.")
    saved(ann)
    after_ann = git("rev-parse", "main").strip()

    eve.get_by_label("Title", exact=True).fill("Budget approved after long debate")
    eve.get_by_label("Summary (optional)", exact=True).fill("A narrow vote.")
    eve.get_by_role("button", name="Save", exact=True).click()
    notice = eve.get_by_test_id("conflict-notice")
    expect(notice).to_contain_text("Someone else saved this article: Ann Archer, ")
    conflicts = notice.get_by_test_id("conflict")
    expect(conflicts).to_have_count(2)
    title = notice.locator("[data-path='/title']")
    expect(title.get_by_test_id("theirs")).to_have_text("Ann Archer: Council passes budget")
    expect(title.get_by_test_id("yours")).to_have_text("Yours: Budget approved after long debate")
    summary = notice.locator("[data-path='/summary']")
    expect(summary.get_by_test_id("theirs")).to_have_text("Ann Archer: Seven votes to two.")
    expect(summary.get_by_test_id("yours")).to_have_text("Yours: A narrow vote.")
    # nothing was saved, and the form still holds what Eve typed (not Ann's values)
    assert git("rev-parse", "main").strip() == after_ann
    expect(eve.get_by_label("Title", exact=True)).to_have_value("Budget approved after long debate")
    expect(eve.get_by_label("Summary (optional)", exact=True)).to_have_value("A narrow vote.")
    expect(eve.get_by_text("Article saved")).to_have_count(0)
    eve.screenshot(path=str(tmp_path / "conflict.png"))
    # Decap leaves the promise of any refused save rejected with its own action (an "Object"
    # page error); that one is expected here
    problems.remove("pageerror Object")

    # keep her title, take Ann's summary, save again
    notice.get_by_label("Take theirs: Summary").check()
    with eve.expect_response(
        lambda r: r.url.endswith("/api/v1/decap") and '"resolve"' in (r.request.post_data or ""),
        timeout=20000,
    ) as answer:
        notice.get_by_test_id("conflict-save").click()
    assert answer.value.status == 200, answer.value.text()
    expect(eve.get_by_test_id("merge-notice")).to_contain_text(
        "Saved, merged with Ann Archer's changes"
    )
    stored = json.loads(git("show", f"main:{path}"))
    assert (stored["title"], stored["summary"]) == (
        "Budget approved after long debate",
        "Seven votes to two.",
    )
    log = git("log", "--first-parent", "--format=%an|%s", f"{after_ann}..main").splitlines()
    assert log == [f"Eve Editor|Merge {slug} title"]
    expect(eve.get_by_label("Summary (optional)", exact=True)).to_have_value(
        "Seven votes to two.", timeout=15000
    )
    expect(eve.get_by_label("Title", exact=True)).to_have_value("Budget approved after long debate")
    assert problems == []
