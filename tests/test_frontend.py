"""The sample frontend in examples/frontend/, served from its own origin, reading the delivery API
of a real `cms serve`, driven in headless Chromium as a reader would use it.

The demo repository is written once a module and copied for each server: one server for the
tests that only read (they count the demo's articles), one for the tests that publish articles
of their own and look only at those, and one of its own for the test that counts the list after
it publishes. One Chromium a module, a fresh context a test."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests
from conftest import article, cms_command, cms_server, free_port, running
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, expect

from cms.auth.tokens import TokenStore
from cms.demo.articles import ARTICLES as DEMO_ARTICLES
from harness.browser import PLACEHOLDER_SVG, module_browser  # noqa: F401 - fixture: one Chromium

__all__ = ["module_browser"]

FRONTEND = Path(__file__).resolve().parent.parent / "examples" / "frontend"
SUMMARY_BUTTON = "No time to read? Get a summary"


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A content repository with the demo articles, written once a module and never served:
    each site below serves a copy of it (`shutil.copytree` of a bare repository)."""
    repo = tmp_path_factory.mktemp("demo") / "content-repo"
    done = subprocess.run(
        [cms_command(), "--repo", str(repo), "init", "--demo", "--no-token"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return repo


def demo_copy(template: Path, folder: Path) -> Path:
    """A copy of the demo repository in `folder`, written before any server starts on it."""
    repo = folder / "content-repo"
    shutil.copytree(template, repo, symlinks=True)
    return repo


@pytest.fixture(scope="module")
def reading_site(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`cms serve` over the demo content, for the tests that only read: no test writes to it,
    so every test on it sees the demo articles and nothing else."""
    folder = tmp_path_factory.mktemp("reading")
    with cms_server(demo_copy(demo_template, folder), folder / "server.log") as base:
        yield base


@pytest.fixture(scope="module")
def writing_site(
    demo_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, str]]:
    """`cms serve` over the demo content for the tests that publish articles of their own and
    look only at those (a title, a slug of their own): (repo, base URL)."""
    folder = tmp_path_factory.mktemp("writing")
    repo = demo_copy(demo_template, folder)
    with cms_server(repo, folder / "server.log") as base:
        yield repo, base


@pytest.fixture
def repo(writing_site: tuple[Path, str]) -> Path:
    """The writing site's repository (conftest's tokens then use it)."""
    return writing_site[0]


@pytest.fixture
def server(writing_site: tuple[Path, str]) -> str:
    """Base URL of the writing site's `cms serve`."""
    return writing_site[1]


@pytest.fixture
def api(reading_site: str) -> str:
    """Base URL of `cms serve` over the demo content, unchanged by any test."""
    return reading_site


@pytest.fixture(scope="module")
def frontend() -> Iterator[str]:
    """examples/frontend/ served by `python -m http.server` on another port (another origin)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(
        [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(FRONTEND),
        ],
        f"{base}/index.html",
    ):
        yield base


@pytest.fixture
def errors() -> list[dict[str, str]]:
    """Console errors, page errors and unexpected requests, as the browser reports them."""
    return []


@pytest.fixture
def page(module_browser: Browser, errors: list[dict[str, str]]) -> Iterator[Page]:  # noqa: F811
    """A fresh page (a new context: no cookies, storage or cache) in the module's headless
    Chromium that records what goes wrong in `errors`."""

    def outside(route: Route) -> None:
        request = route.request
        if urlsplit(request.url).hostname == "127.0.0.1":
            route.continue_()
        elif request.resource_type == "image":
            route.fulfill(status=200, content_type="image/svg+xml", body=PLACEHOLDER_SVG)
        else:
            errors.append({"kind": "request", "text": "unexpected request", "url": request.url})
            route.abort()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(
                {"kind": "console", "text": message.text, "url": message.location.get("url", "")}
            )

    context = module_browser.new_context(viewport={"width": 1024, "height": 900}, locale="en-GB")
    try:
        context.route("**/*", outside)
        tab = context.new_page()
        tab.on("console", console)
        tab.on(
            "pageerror",
            lambda error: errors.append({"kind": "pageerror", "text": str(error), "url": ""}),
        )
        yield tab
    finally:
        context.close()


def assert_no_errors(errors: list[dict[str, str]], *expected_404: str) -> None:
    """Nothing went wrong in the browser, except a favicon or one of the expected 404s."""

    def expected(error: dict[str, str]) -> bool:
        return (
            error["kind"] == "console"
            and "404" in error["text"]
            and (error["url"].endswith("/favicon.ico") or error["url"] in expected_404)
        )

    assert [e for e in errors if not expected(e)] == []


def public(api: str, path: str = "", **params: Any) -> Any:
    response = requests.get(f"{api}/api/v1/articles{path}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def at(frontend: str, api: str, route: str = "/") -> str:
    return f"{frontend}/?api={api}#{route}"


def publish(api: str, headers: dict[str, str], fields: dict[str, Any]) -> str:
    created = requests.post(
        f"{api}/api/v1/manage/articles", json=fields, headers=headers, timeout=10
    )
    assert created.status_code == 201, created.text
    slug = created.json()["slug"]
    published = requests.post(
        f"{api}/api/v1/manage/articles/{slug}/publish", headers=headers, timeout=10
    )
    assert published.status_code == 200, published.text
    return slug


def test_a_reader_opens_an_article_its_summary_and_the_next_one(
    api, frontend, page, errors, tmp_path
):
    listed = public(api, per_page=20)["items"]
    assert len(listed) == len(DEMO_ARTICLES)

    page.goto(at(frontend, api))
    expect(page.get_by_role("heading", name="Latest articles")).to_be_visible()
    expect(page.get_by_test_id("article-list")).to_be_visible()
    expect(page.get_by_test_id("article-link")).to_have_text([a["title"] for a in listed])
    expect(page.get_by_test_id("article-section").first).to_have_text(listed[0]["section"])
    expect(page.get_by_test_id("published-date").first).to_have_attribute(
        "datetime", listed[0]["published_at"]
    )

    whole = [public(api, f"/{a['slug']}") for a in listed]
    chosen = next(a for a in whole if a["previous"] and a["next"] and not a["summary_generated"])
    assert chosen["summary"], "an editor-written summary must be delivered as it is"

    page.get_by_role("link", name=chosen["title"], exact=True).click()
    expect(page).to_have_url(re.compile(rf"#/articles/{chosen['slug']}$"))
    expect(page.get_by_test_id("article-title")).to_have_text(chosen["title"])
    expect(page).to_have_title(re.compile(re.escape(chosen["title"])))
    expect(page.get_by_test_id("article")).to_have_attribute("lang", chosen["language"])
    for author in chosen["authors"]:
        expect(page.get_by_test_id("byline")).to_contain_text(author["name"])
    expect(page.get_by_test_id("reading-time")).to_have_text(
        f"{chosen['reading_time_minutes']} min read"
    )
    if chosen.get("image"):
        lead = page.get_by_role("img", name=chosen["image"]["alt"], exact=True)
        expect(lead).to_be_visible()
        lead.evaluate("image => image.decode()")
    body = page.get_by_test_id("article-body")
    for block in chosen["body"]:
        for text in [block.get("text"), *block.get("items", [])]:
            if text:
                expect(body).to_contain_text(text)

    toggle = page.get_by_role("button", name=SUMMARY_BUTTON)
    panel = page.get_by_test_id("summary-panel")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(panel).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(panel).to_be_visible()
    expect(page.get_by_test_id("summary-text")).to_have_text(chosen["summary"])
    expect(page.get_by_test_id("summary-note")).to_have_count(0)
    page.screenshot(path=tmp_path / "article.png", full_page=True)
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(panel).to_be_hidden()

    previous = page.get_by_test_id("previous-link")
    expect(previous).to_contain_text("Previous article")
    expect(previous).to_contain_text(chosen["previous"]["title"])
    expect(previous).to_have_attribute("href", f"#/articles/{chosen['previous']['slug']}")
    following = page.get_by_test_id("next-link")
    expect(following).to_contain_text("Next article")
    expect(following).to_contain_text(chosen["next"]["title"])
    following.click()
    expect(page).to_have_url(re.compile(rf"#/articles/{chosen['next']['slug']}$"))
    expect(page.get_by_test_id("article-title")).to_have_text(chosen["next"]["title"])
    newer = public(api, f"/{chosen['next']['slug']}")
    for link, neighbour in (("previous-link", newer["previous"]), ("next-link", newer["next"])):
        if neighbour is None:
            expect(page.get_by_test_id(link)).to_be_hidden()
        else:
            expect(page.get_by_test_id(link)).to_contain_text(neighbour["title"])

    page.get_by_test_id("back-link").click()
    expect(page.get_by_test_id("article-link")).to_have_count(len(listed))
    assert_no_errors(errors)


@pytest.fixture
def fresh_site(demo_template: Path, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """`cms serve` of this test's own over a copy of the demo content, and an editor's token
    (Eve Editor): for a test that counts the list after it publishes."""
    repo = demo_copy(demo_template, tmp_path)
    _, secret = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    with cms_server(repo, tmp_path / "server.log") as base:
        yield base, {"Authorization": f"Bearer {secret}"}


def test_a_newly_published_article_tops_the_list_on_reload(fresh_site, frontend, page, errors):
    api, editor_token = fresh_site
    page.goto(at(frontend, api))
    links = page.get_by_test_id("article-link")
    expect(links).to_have_count(len(DEMO_ARTICLES))

    # Publication times have whole seconds and ties go by slug: be a second past the demo's.
    newest = datetime.fromisoformat(public(api)["items"][0]["published_at"])
    time.sleep(max(0.0, (newest - datetime.now(UTC)).total_seconds() + 1.1))
    slug = publish(api, editor_token, article("Fresh from the newsroom"))

    page.reload()
    expect(links).to_have_count(len(DEMO_ARTICLES) + 1)
    expect(links.first).to_have_text("Fresh from the newsroom")
    assert public(api)["items"][0]["slug"] == slug

    links.first.click()
    expect(page.get_by_test_id("article-title")).to_have_text("Fresh from the newsroom")
    expect(page.get_by_test_id("article-body")).to_contain_text(
        "The budget passed by seven votes to two."
    )
    fresh = public(api, f"/{slug}")
    assert fresh["summary_generated"] is True and fresh["previous"] and fresh["next"] is None
    expect(page.get_by_test_id("next-link")).to_be_hidden()
    expect(page.get_by_test_id("previous-link")).to_contain_text(fresh["previous"]["title"])
    toggle = page.get_by_role("button", name=SUMMARY_BUTTON)
    if fresh["summary"]:
        toggle.click()
        expect(page.get_by_test_id("summary-text")).to_have_text(fresh["summary"])
        expect(page.get_by_test_id("summary-note")).to_contain_text("generated from the article")
    else:  # no summary to give: no button that would open an empty panel
        expect(toggle).to_have_count(0)
    assert_no_errors(errors)


def test_the_demo_pictures_come_from_the_media_library_with_a_srcset(api, frontend, page, errors):
    slug = "riverside-library-reopens-after-renovation"
    image = public(api, f"/{slug}")["image"]
    page.goto(at(frontend, api, f"/articles/{slug}"))
    lead = page.get_by_role("img", name=image["alt"], exact=True)
    expect(lead).to_be_visible()
    lead.evaluate("image => image.decode()")
    assert lead.get_attribute("srcset") == image["srcset"]
    assert (lead.get_attribute("width"), lead.get_attribute("height")) == ("1600", "1000")
    chosen = lead.evaluate("image => image.currentSrc")
    assert chosen.startswith(f"{api}/media/") and chosen in image["srcset"]
    assert lead.evaluate("image => image.naturalWidth") > 0
    assert_no_errors(errors)


def test_an_unknown_article_is_not_found(api, frontend, page, errors):
    page.goto(at(frontend, api, "/articles/no-such-article"))
    expect(page.get_by_role("heading", name="Article not found")).to_be_visible()
    expect(page.get_by_test_id("article")).to_have_count(0)
    page.get_by_test_id("back-link").click()
    expect(page.get_by_test_id("article-link")).to_have_count(len(DEMO_ARTICLES))
    assert_no_errors(errors, f"{api}/api/v1/articles/no-such-article")


def test_text_from_the_api_is_shown_as_text_never_as_markup(
    server, frontend, page, errors, editor_token
):
    api = server  # the writing site: its own articles, looked at alone
    markup = '<img src="x" onerror="window.injected = 1">'
    slug = publish(
        api,
        editor_token,
        {
            "title": f"Markup {markup} in a title",
            "summary": "<b>Not bold</b> & not <script>window.injected = 2</script>",
            "authors": [{"name": "<em>Ed</em>", "url": "https://example.org/ed"}],
            "body": [
                {"type": "paragraph", "text": f"First line {markup}\nsecond line"},
                {"type": "heading", "text": "<i>Heading</i>", "level": 3},
                {"type": "quote", "text": "<u>quoted</u>", "cite": "<s>someone</s>"},
                {"type": "list", "items": ["<li>one</li>", "two"], "ordered": True},
                {"type": "embed", "url": "https://video.example.org/clip?a=1&b=<2>"},
            ],
        },
    )
    page.goto(at(frontend, api, f"/articles/{slug}"))
    shown = page.get_by_test_id("article")
    expect(page.get_by_test_id("article-title")).to_have_text(f"Markup {markup} in a title")
    expect(page.get_by_test_id("byline")).to_have_text("By <em>Ed</em>")
    body = page.get_by_test_id("article-body")
    expect(body).to_contain_text(f"First line {markup}")
    expect(body.locator("h3")).to_have_text("<i>Heading</i>")
    expect(body.locator("blockquote")).to_have_text("<u>quoted</u>")
    expect(body.locator("figcaption")).to_have_text("— <s>someone</s>")
    expect(body.locator("ol > li")).to_have_text(["<li>one</li>", "two"])
    expect(body.get_by_role("link")).to_have_attribute(
        "href", re.compile(r"^https://video\.example\.org/clip\?a=1&b=")
    )
    page.get_by_role("button", name=SUMMARY_BUTTON).click()
    expect(page.get_by_test_id("summary-text")).to_have_text(
        "<b>Not bold</b> & not <script>window.injected = 2</script>"
    )
    expect(shown.locator("img, b, i, u, s, em, script, ol li li")).to_have_count(0)
    assert page.evaluate("window.injected") is None
    assert_no_errors(errors)


def test_a_preview_link_opens_a_draft_without_a_token_until_it_expires(
    server, frontend, page, errors, author_token
):
    created = requests.post(
        f"{server}/api/v1/manage/articles",
        headers=author_token,
        json=article("Embargoed story"),
        timeout=10,
    )
    slug = created.json()["slug"]
    link = requests.post(
        f"{server}/api/v1/manage/articles/{slug}/preview-link",
        json={"expires_in": 3},
        headers=author_token,
        timeout=10,
    ).json()
    # the link carries no token, and the browser holds none
    page.goto(f"{frontend}/?api={server}&preview={quote(link['url'], safe='')}")
    expect(page.get_by_test_id("preview-banner")).to_have_text("Preview of an unpublished draft")
    expect(page.get_by_test_id("article-title")).to_have_text("Embargoed story")
    expect(page.get_by_test_id("article-body")).to_contain_text(
        "The budget passed by seven votes to two."
    )
    assert requests.get(f"{server}/api/v1/articles/{slug}", timeout=10).status_code == 404

    expires = datetime.fromisoformat(link["expires_at"].replace("Z", "+00:00"))
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds() + 0.5))
    page.reload()
    expect(page.get_by_test_id("preview-unavailable")).to_contain_text("expired")
    expect(page.get_by_test_id("article")).to_have_count(0)
    # the browser reports the expired link's 410 on the console; nothing else went wrong
    assert [e for e in errors if not (e["kind"] == "console" and "410" in e["text"])] == []


def test_a_translated_article_switches_language_with_html_lang_and_hreflang(
    server, frontend, page, errors, editor_token
):
    api = server  # the writing site: its own articles, looked at alone
    source = publish(
        api, editor_token, {**article("Summit opens"), "slug": "summit-en", "language": "en"}
    )
    translation = publish(
        api,
        editor_token,
        {
            **article("Саммит открылся"),
            "slug": "summit-ru",
            "language": "ru",
            "translation_of": source,
        },
    )
    page.goto(at(frontend, api, f"/articles/{source}"))
    expect(page.get_by_test_id("article-title")).to_have_text("Summit opens")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator('link[rel="alternate"][hreflang="ru"]')).to_have_attribute(
        "href", re.compile(rf"#/articles/{translation}$")
    )
    expect(page.locator('link[rel="alternate"][hreflang]')).to_have_count(2)

    page.get_by_test_id("language-link").click()
    expect(page.get_by_test_id("article-title")).to_have_text("Саммит открылся")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_test_id("language-link")).to_have_text("en")
    assert_no_errors(errors)
