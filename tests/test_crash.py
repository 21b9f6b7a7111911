"""Crash suite: `cms serve` killed with SIGKILL, whole process group, at random moments under
write load (see `harness.crash` for what is checked after each restart), and single writers
killed at exact instants of a save. `soak/crash_soak.py` runs the same loop for longer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask import Flask

from cms.auth.tokens import TokenStore
from cms.git.refs import STALE_LOCK_SECONDS
from cms.store import ArticleStore
from cms.web import create_app, services
from harness import article
from harness.crash import (
    FIRST_WRITE_LIMIT,
    URL,
    CrashRun,
    cms_check_problems,
    fsck_problems,
    leftovers,
    summaries_on,
)

# The soak's short form: `make test` kills 3 times; `make soak` sets CMS_SOAK_CRASHES for its
# long form (and runs soak/crash_soak.py for SOAK_MINUTES besides).
CRASHES = int(os.environ.get("CMS_SOAK_CRASHES", "3"))


def test_kill_9_under_write_load_loses_no_acknowledged_write(repo, tmp_path):
    # the count is what matters; the time budget only bounds a machine that is very slow
    run = CrashRun(repo, tmp_path, crashes=CRASHES, budget=max(150.0, 20.0 * CRASHES))
    run.execute()
    assert run.generation == CRASHES, f"the time budget ran out before {CRASHES} crashes"
    assert run.lost == 0
    assert run.checked == len(run.ledger) > 100
    assert run.problems == []


# -- a single writer killed at an exact instant of a save -----------------------------------

# The child runs the store directly and SIGKILLs itself at one point of a save, found by
# wrapping os.replace (object temp file -> object; ref lock -> ref) or the index.
CHILD = r"""
import os, signal, sys
import cms.index
from cms.content.identity import Person
from cms.store import ArticleStore

repo, point = sys.argv[1], sys.argv[2]
store = ArticleStore(repo)
editor = Person("Killed Writer", "killed@example.org")
real_replace = os.replace
seen = {"objects": 0, "locks": 0, "armed": False}

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def replace(src, dst, *args, **kwargs):
    name = os.path.basename(os.fspath(src))
    if seen["armed"] and name.startswith("tmp_obj_"):
        seen["objects"] += 1
        if point == "object" and seen["objects"] == 3:
            die()
    if seen["armed"] and name.endswith(".lock"):
        seen["locks"] += 1
        if point == "ref-lock" and seen["locks"] == 1:
            die()
        if point == "between-refs" and seen["locks"] == 2:
            die()
    return real_replace(src, dst, *args, **kwargs)

os.replace = replace
body = [{"type": "paragraph", "text": "Before the kill."}]
store.create({"slug": "victim", "title": "Victim", "summary": "before", "body": body}, editor)
store.publish("victim", editor)
if point == "index":
    cms.index.catch_up.CatchUp.record = lambda *args, **kwargs: die()
if point == "index-transaction":
    real_apply = cms.index.catch_up.CatchUp.apply
    def apply(*args, **kwargs):
        real_apply(*args, **kwargs)
        die()
    cms.index.catch_up.CatchUp.apply = apply
seen["armed"] = True
if point == "between-refs":
    store.delete("victim", editor, {"*"})
else:
    store.patch("victim", {"summary": "cut off"}, editor, {"*"})
print("not killed")
"""


@pytest.mark.parametrize(
    "point", ["object", "ref-lock", "between-refs", "index", "index-transaction"]
)
def test_writer_killed_at_an_exact_instant(point, repo, tmp_path):
    """object: after two objects of a save, before the third is renamed in; ref-lock: holding
    `main.lock` with the new id written; between-refs: a delete of a live article, after `main`
    moved and before `published` did; index: refs moved, index not told; index-transaction:
    inside the index's SQLite transaction."""
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(repo), point], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    locks, temps = leftovers(repo)
    problems = fsck_problems(repo) + cms_check_problems(repo)

    # restart: a new process on the same repository
    app = create_app({"REPO": str(repo), "TESTING": True})
    try:
        check_restart(point, repo, app, locks, temps, problems)
    finally:
        services(app).close()


def check_restart(
    point: str, repo: Path, app: Flask, locks: list[str], temps: list[str], problems: list[str]
) -> None:
    """After the restart: the cut-off write whole or absent, the index agreeing with git, and
    the next write prompt."""
    client = app.test_client()
    _, secret = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    headers = {"Authorization": f"Bearer {secret}"}
    after = article("After the restart", slug="after", summary="after")
    began = time.monotonic()
    created = client.post(URL, json=after, headers=headers)
    first_write = time.monotonic() - began
    began = time.monotonic()
    published = client.post(f"{URL}/after/publish", headers=headers)
    first_publish = time.monotonic() - began
    print(
        f"\nkilled at {point}: locks left {locks}, temp objects left {len(temps)}, first "
        f"write {first_write:.2f} s ({created.status_code}), first publish "
        f"{first_publish:.2f} s ({published.status_code}), problems {problems}"
    )

    # the cut-off write happened entirely or not at all, and the index says what git says
    main, _ = summaries_on(repo, "main")
    live, _ = summaries_on(repo, "published")
    if point in ("object", "ref-lock"):
        assert main["victim"] == live["victim"] == "before"
    elif point == "between-refs":
        # not acknowledged: deleted from both lines, untouched, or (cut between the moves)
        # withdrawn first and still a draft; never live without a draft
        assert "victim" in main or "victim" not in live, (
            "a delete cut between its two ref moves left a live article with no draft"
        )
    else:
        assert main["victim"] == "cut off"
        assert live["victim"] == "before"
    listed = {
        a["slug"]: a.get("summary") for a in client.get(URL, headers=headers).get_json()["items"]
    }
    assert listed == main
    delivered = {
        a["slug"]: a.get("summary") for a in client.get("/api/v1/articles").get_json()["items"]
    }
    assert delivered == {s: v for s, v in live.items() if s in main}

    assert problems == []
    assert created.status_code == 201 and published.status_code == 200
    assert first_write < FIRST_WRITE_LIMIT and first_publish < FIRST_WRITE_LIMIT, (
        f"a lock left by the killed writer blocked the next write for "
        f"{max(first_write, first_publish):.1f} s (stale after {STALE_LOCK_SECONDS:.0f} s)"
    )
    assert fsck_problems(repo) == [] and cms_check_problems(repo) == []
    store = ArticleStore(str(repo))
    try:
        assert store.count() == len(main)
    finally:
        store.close()
