"""Headless Chromium for the browser tests (the workbench and the sample frontend).

A test module launches Debian's Chromium once (`module_browser`, module-scoped: the leak
check of `harness.leaks` wants what a module starts ended by its last test) and each test
opens its own contexts in it (`browser`, which closes them after the test): a context is a
fresh profile (no cookies, no storage, no cache), so tests share the process, never a
session, and no page of an earlier test still runs (the workbench polls while open).

Test modules use the fixtures by importing both: `from harness.browser import browser,
module_browser`. A module whose tests each work on articles of their own also shares one
`cms serve` (`module_site`, with `repo` and `server` overriding conftest's for its tests):
starting a server, and Decap's first answers from it, cost seconds a test.

The workbench's watch (watch.js) polls every 5 s: `watched` installs Playwright's clock on a
page's context (time still flows) and `polled` runs the clock to the next poll and returns once
a poll sent after the call was answered and handled, where a test would otherwise sleep a poll.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, sync_playwright

from cms.store import ArticleStore
from harness.launch import cms_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Stands in for any image on another host (a test never reaches outside; the demo's own
# pictures come from the media library of the server under test).
PLACEHOLDER_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="600" viewBox="0 0 1200 600">'
    '<rect width="1200" height="600" fill="#c9d3de"/>'
    '<text x="600" y="315" font-size="48" text-anchor="middle" fill="#4a5866">image</text></svg>'
)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Chromium (with its Playwright driver) while the block runs; closed after."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def module_browser() -> Iterator[Browser]:
    """One Chromium for the module's tests."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    with chromium() as launched:
        yield launched


@pytest.fixture
def browser(module_browser: Browser) -> Iterator[Browser]:
    """The module's Chromium, for this test to open contexts in; they are closed after it."""
    yield module_browser
    for context in module_browser.contexts:
        context.close()


@pytest.fixture(scope="module")
def module_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A content repository and `cms serve` on it for the module's tests: (repo, base URL)."""
    folder = tmp_path_factory.mktemp("site")
    repo = folder / "content-repo"
    ArticleStore.init(str(repo))
    with cms_server(repo, folder / "server.log") as base:
        yield repo, base


@pytest.fixture
def repo(module_site: tuple[Path, str]) -> Path:
    """The module's content repository (conftest's `git` and tokens then use it)."""
    return module_site[0]


@pytest.fixture
def server(module_site: tuple[Path, str]) -> str:
    """Base URL of the module's `cms serve`."""
    return module_site[1]


EVERY = 5000  # ms: watch.js's time between two polls


def watched(page: Page) -> Page:
    """The page with Playwright's clock installed (time still flows as it does), so that
    `polled` can bring the watch's next poll forward instead of waiting its 5 s."""
    page.clock.install()
    return page


def polled(page: Page, slug: str, within: int = 15000) -> None:
    """Wait until the page has asked about `slug` after this call and handled the answer: the
    watch sends a poll only once it has handled the last answer (watch.js's `asking`), so the
    second request seen after now proves the first was answered and shown. The page's clock
    runs the time between polls at once."""
    asked: list[Request] = []

    def seen(request: Request) -> None:
        if f"/{slug}/changes" in request.url:
            asked.append(request)

    page.on("request", seen)
    try:
        deadline = time.monotonic() + within / 1000
        while len(asked) < 2:
            assert time.monotonic() < deadline, f"no two polls of {slug} in {within} ms"
            page.clock.run_for(EVERY // 5)
            page.wait_for_timeout(50)
    finally:
        page.remove_listener("request", seen)
