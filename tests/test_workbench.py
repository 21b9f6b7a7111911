"""The editors' workbench (Decap CMS at /admin/) driven in headless Chromium against a real
`cms serve`, checked in git and on the delivery API as editors and readers would."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright
from test_frontend import CHROMIUM, CHROMIUM_ARGS, PLACEHOLDER_SVG

from cms.auth.tokens import TokenStore
from cms.content import canonical, layout


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


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
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Entry saved")).to_be_visible(timeout=15000)
    # the preview pane shows it as the delivery API would: reading time, generated summary
    pane = page.frame_locator("iframe").first
    expect(pane.get_by_test_id("preview-meta")).to_have_text("1 min read")
    expect(pane.get_by_text("No time to read?")).to_be_visible()
    expect(pane.get_by_role("img", name="Boats in the harbour")).to_have_attribute(
        "src", re.compile("^blob:")
    )  # the draft's picture, loaded through Decap
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

    # an author's session cannot publish
    author = signed_in(browser, server, ann, problems)
    author.goto(f"{server}/admin/#/collections/articles/entries/{slug}")
    author.get_by_role("button", name="Publish", exact=True).click()
    author.get_by_role("menuitem", name="Publish now").click()
    expect(author.get_by_text(re.compile("needs the editor role"))).to_be_visible()
    assert requests.get(f"{server}/api/v1/articles/{slug}", timeout=10).status_code == 404

    page.get_by_role("button", name="Publish", exact=True).click()
    page.get_by_role("menuitem", name="Publish now").click()
    expect(page.get_by_text("Entry published")).to_be_visible(timeout=15000)
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
    # Decap loads its media library as it starts
    with page.expect_response(
        lambda r: r.url.endswith("/api/v1/decap") and '"getMedia"' in (r.request.post_data or ""),
        timeout=20000,
    ) as answer:
        page.reload()
    # read at once: Chromium may drop a response's body once the page goes on
    answered = len(answer.value.body())
    page.get_by_role("button", name="Media").click()
    assert answered < photo.stat().st_size / 20  # a thumbnail, not the file
    # Decap's proxy backend turns the thumbnail into the picture it shows
    card = page.locator("img[src^='blob:']").first
    expect(card).to_be_visible(timeout=15000)
    assert card.evaluate("img => img.complete && img.naturalWidth") == 320
    assert problems == []
