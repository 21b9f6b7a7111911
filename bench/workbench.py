"""The workbench at archive scale, in Debian's headless Chromium (issue 24).

On a repository of N published articles (the suite's largest, and one of SMALL articles built
beside it by the same builder, `build.bulk_load` + `build.publish_all`), an editor signed in
to `cms serve` at /admin/; each of ROUNDS rounds, in a fresh browser context, times:

- first screen: from opening `/admin/#/collections/articles` to the newest article's card
  shown (the collection lists the newest first, a page at a time);
- search: from pressing Enter on a title word typed into Decap's "Search all" (the number in
  the middle article's title, "No. <n>") to that article shown among the results;
- open: from clicking that result to its title in the editor's form;
- JS heap: the tab's used JavaScript heap after the three (Chromium's Performance metrics,
  JSHeapUsedSize, no garbage collection forced), the largest of the rounds.

Targets at N = 100,000: first screen and search within 2 s, open under 1 s, heap under 300 MB.
Before this issue the collection took 7.1 s to appear at 5,000 articles, sorted by slug, with
122 MB of heap, and every search loaded the whole collection.

`python -m bench.workbench [--sizes 1000 100000]` runs it alone (it builds its own
repositories); `make bench` runs it as the suite's `workbench` phase.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cms.auth.tokens import TokenStore
from cms.store import ArticleStore

from . import build
from .report import Row
from .servers import HOST, start_cms
from .stats import median

SMALL = 1000
ROUNDS = 3
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 120_000
ROWS = [
    "workbench_first_screen_ms",
    "workbench_search_ms",
    "workbench_open_ms",
    "workbench_heap_mb",
]


def built(workdir: str, n: int, seed: int) -> ArticleStore:
    """A repository of `n` articles, all published, made by the suite's builder."""
    path = os.path.join(workdir, f"workbench-{n}")
    ArticleStore.init(path)
    store = ArticleStore(path)
    rng = random.Random(seed)
    t0 = time.perf_counter()
    build.bulk_load(store, n, rng)
    build.publish_all(store)
    print(f"  built and published {n:,} articles in {time.perf_counter() - t0:.0f}s", flush=True)
    return store


def measure(store: ArticleStore, workdir: str, rounds: int = ROUNDS) -> dict[str, Any]:
    """The timings of `rounds` rounds against `cms serve` on `store` (see the module)."""
    from playwright.sync_api import expect, sync_playwright

    store.catch_up()
    (newest,), total = store.index.live.articles(limit=1, offset=0)
    middle = store.index.live.articles(limit=1, offset=total // 2)[0][0]
    word = middle["title"].rsplit("No. ", 1)[-1]
    _, secret = TokenStore(store.repo.git_dir).create("Bench Editor", "bench@example.org", "editor")
    server = start_cms(store.repo.git_dir, workdir, "/healthz")
    base = f"http://{HOST}:{server.port}"
    out: dict[str, Any] = {
        "articles": total,
        "search_word": word,
        "first_screen_ms": [],
        "search_ms": [],
        "open_ms": [],
        "heap_mb": [],
    }
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                for _ in range(rounds):
                    context = browser.new_context(viewport={"width": 1280, "height": 900})
                    page = context.new_page()
                    page.set_default_timeout(TIMEOUT_MS)
                    page.goto(f"{base}/admin/")
                    page.get_by_label("Your API token").fill(secret)
                    page.get_by_role("button", name="Sign in").click()
                    expect(page.get_by_role("heading", name="Collections")).to_be_visible(
                        timeout=TIMEOUT_MS
                    )
                    page.goto("about:blank")

                    t0 = time.perf_counter()
                    page.goto(f"{base}/admin/#/collections/articles")
                    expect(page.get_by_text(newest["title"], exact=True)).to_be_visible(
                        timeout=TIMEOUT_MS
                    )
                    out["first_screen_ms"].append((time.perf_counter() - t0) * 1000)

                    page.get_by_placeholder("Search all").fill(word)
                    t0 = time.perf_counter()
                    page.keyboard.press("Enter")
                    found = page.get_by_text(middle["title"], exact=True)
                    expect(found).to_be_visible(timeout=TIMEOUT_MS)
                    out["search_ms"].append((time.perf_counter() - t0) * 1000)

                    t0 = time.perf_counter()
                    found.click()
                    expect(page.get_by_label("Title", exact=True)).to_have_value(
                        middle["title"], timeout=TIMEOUT_MS
                    )
                    out["open_ms"].append((time.perf_counter() - t0) * 1000)

                    cdp = context.new_cdp_session(page)
                    cdp.send("Performance.enable")
                    metrics = {
                        m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]
                    }
                    out["heap_mb"].append(metrics["JSHeapUsedSize"] / 1e6)
                    context.close()
            finally:
                browser.close()
    finally:
        server.stop()
    print(
        f"  {total:,} articles: first screen {median(out['first_screen_ms']):.0f} ms, search "
        f"{median(out['search_ms']):.0f} ms, open {median(out['open_ms']):.0f} ms, heap "
        f"{max(out['heap_mb']):.0f} MB",
        flush=True,
    )
    return out


def run(store: ArticleStore, workdir: str, quick: bool, seed: int) -> dict[str, Any]:
    """The suite's phase: the published repository beside one of SMALL articles."""
    small = built(workdir, 200 if quick else SMALL, seed)
    return {
        "small": measure(small, workdir, 1 if quick else ROUNDS),
        "large": measure(store, workdir, 1 if quick else ROUNDS),
    }


def rows(measured: dict[str, Any]) -> list[Row]:
    """The workbench's rows of the table (none if the phase did not run)."""
    if not measured:
        return []
    small, large = measured["small"], measured["large"]
    n, s = f"{large['articles']:,}", f"{small['articles']:,}"
    out = []
    for key, what, target, limit in (
        ("first_screen_ms", "workbench: collection's first screen", "<= 2000 ms", 2000),
        ("search_ms", "workbench: search a title word", "<= 2000 ms", 2000),
        ("open_ms", "workbench: open an entry", "< 1000 ms", 1000),
    ):
        value, base = median(large[key]), median(small[key])
        out.append(
            Row(
                f"workbench_{key}",
                f"{what}, {n} published, Chromium",
                target,
                value,
                "ms",
                f"median {value:.0f} ms of {len(large[key])}",
                base,
                f"{s} articles: {base:.0f} ms",
                value / base if base else None,
                f"{value / base:.2f}x" if base else "-",
                value <= limit,
                {"large": large[key], "small": small[key]},
            )
        )
    heap, base = max(large["heap_mb"]), max(small["heap_mb"])
    out.append(
        Row(
            "workbench_heap_mb",
            f"workbench: tab's JS heap, {n} published",
            "< 300 MB",
            heap,
            "MB",
            f"{heap:.0f} MB max",
            base,
            f"{s} articles: {base:.0f} MB",
            heap / base if base else None,
            f"{heap / base:.2f}x" if base else "-",
            heap < 300,
            {"large": large["heap_mb"], "small": small["heap_mb"]},
        )
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.workbench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[SMALL, 100_000],
        metavar="N",
        help="published articles (default: %(default)s)",
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tmpdir", default=None, help="where to build the repositories")
    parser.add_argument("--out", type=Path, default=None, help="write the timings as JSON")
    args = parser.parse_args(argv)
    if not os.access(CHROMIUM, os.X_OK):
        parser.error(f"{CHROMIUM} is missing (apt-get install chromium, or run make bench)")
    workdir = tempfile.mkdtemp(prefix="cms-bench-workbench-", dir=args.tmpdir)
    try:
        found = {}
        for n in sorted(args.sizes):
            print(f"== workbench, {n:,} articles ==", flush=True)
            found[n] = measure(built(workdir, n, args.seed), workdir, args.rounds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if len(found) >= 2:
        sizes = sorted(found)
        table = rows({"small": found[sizes[0]], "large": found[sizes[-1]]})
        for row in table:
            verdict = "ok" if row.passed else "MISSED"
            print(
                f"{row.what}: {row.measured} ({row.baseline_text}); target {row.target}: {verdict}"
            )
    if args.out:
        args.out.write_text(json.dumps({str(k): v for k, v in found.items()}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
