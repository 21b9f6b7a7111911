"""Scheduled articles go live by themselves under a real multi-worker server, exactly once."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from conftest import GIT_ENV, article, cms_command

from cms.auth.tokens import TokenStore
from cms.content.identity import Person
from cms.store import ArticleStore

MANAGE = "/api/v1/manage/articles"


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"CMS_SCHEDULER_INTERVAL": "0.2"}


def test_scheduled_articles_go_live_by_themselves_once(server, editor_token, git):
    when = (datetime.now(UTC) + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    slugs = []
    for i in range(3):
        created = requests.post(
            server + MANAGE, json=article(f"Embargoed story {i}"), headers=editor_token
        ).json()
        scheduled = requests.post(
            f"{server}{MANAGE}/{created['slug']}/publish",
            json={"publish_at": when},
            headers=editor_token,
        )
        assert scheduled.json()["meta"]["state"] == "scheduled"
        slugs.append(created["slug"])
    for slug in slugs:
        assert requests.get(f"{server}/api/v1/articles/{slug}").status_code == 404
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        live = [requests.get(f"{server}/api/v1/articles/{s}").status_code for s in slugs]
        if live == [200, 200, 200]:
            break
        time.sleep(0.2)
    assert live == [200, 200, 200]
    assert datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") >= when
    time.sleep(1)  # give every worker's scheduler time to (wrongly) publish again
    subjects = git("log", "--format=%s", "published").splitlines()
    for slug in slugs:
        assert subjects.count(f"Publish {slug}") == 1
    states = {
        a["slug"]: a["meta"]["state"]
        for a in requests.get(server + MANAGE, headers=editor_token).json()["items"]
    }
    assert states == dict.fromkeys(slugs, "published")
    git("fsck", "--strict")


def test_revoking_a_token_cancels_the_schedules_it_set(repo, client, git):
    tokens = TokenStore(str(repo))
    eve, eve_secret = tokens.create("Eve Editor", "eve@example.org", "editor")
    _, ed_secret = tokens.create("Ed Other", "ed@example.org", "editor")
    as_eve = {"Authorization": f"Bearer {eve_secret}"}
    as_ed = {"Authorization": f"Bearer {ed_secret}"}
    when = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def scheduled(title, headers, live=False):
        slug = client.post(MANAGE, json=article(title), headers=headers).get_json()["slug"]
        if live:
            client.post(f"{MANAGE}/{slug}/publish", headers=headers)
        made = client.post(
            f"{MANAGE}/{slug}/publish", json={"publish_at": when}, headers=headers
        ).get_json()
        assert made["meta"]["publish_at"] == when
        return slug

    embargoed = scheduled("Embargoed budget", as_eve)
    update = scheduled("Live story, update scheduled", as_eve, live=True)
    others = scheduled("Ed's own embargo", as_ed)
    # another editor's edit that keeps the time leaves the schedule Eve's
    assert (
        client.patch(
            f"{MANAGE}/{embargoed}",
            json={"summary": "Edited since"},
            headers={**as_ed, "If-Match": "*"},
        ).status_code
        == 200
    )
    # one whose time has come but that nothing has published yet (no scheduler ran)
    due = (
        ArticleStore(str(repo))
        .create(
            article("Due and waiting", publish_at="2020-01-01T00:00:00Z"),
            Person("Eve Editor", "eve@example.org"),
            may_schedule=True,
        )
        .slug
    )

    revoked = subprocess.run(
        [cms_command(), "--repo", str(repo), "token", "revoke", eve.id],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    )
    assert revoked.returncode == 0, revoked.stderr
    assert sorted(revoked.stdout.splitlines()) == sorted(
        [
            f"Unscheduled {embargoed} (was {when})",
            f"Unscheduled {update} (was {when})",
            f"Unscheduled {due} (was 2020-01-01T00:00:00Z)",
        ]
    )
    assert f"Revoked {eve.id} (Eve Editor <eve@example.org>)" in revoked.stderr
    assert "3 pending schedule(s) cancelled" in revoked.stderr

    log = git("log", "--format=%s|%(trailers:key=Revoked-Token,valueonly)", "-3", "main")
    assert sorted(line for line in log.splitlines() if line) == sorted(
        f"Unschedule {slug} (token {eve.id} revoked)|{eve.id}" for slug in (embargoed, update, due)
    )
    shown = {
        a["slug"]: a["meta"]
        for a in client.get(f"{MANAGE}?per_page=100", headers=as_ed).get_json()["items"]
    }
    assert shown[embargoed]["state"] == "draft" and shown[embargoed]["publish_at"] is None
    assert shown[update]["state"] == "published" and shown[update]["publish_at"] is None
    assert shown[due]["state"] == "draft"
    assert shown[others]["state"] == "scheduled" and shown[others]["publish_at"] == when
    # the one that was due never goes live now
    ran = subprocess.run(
        [cms_command(), "--repo", str(repo), "publish-due"],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    )
    assert ran.returncode == 0 and ran.stdout == "", ran.stdout + ran.stderr
    assert client.get(f"/api/v1/articles/{due}").status_code == 404
    # revoking again cancels nothing more
    again = subprocess.run(
        [cms_command(), "--repo", str(repo), "token", "revoke", eve.id],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    )
    assert again.returncode == 0 and again.stdout == "", again.stdout
