"""Scheduled articles go live by themselves under a real multi-worker server, exactly once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from conftest import article

MANAGE = "/api/v1/manage/articles"


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"CMS_SCHEDULER_INTERVAL": "0.2"}


def test_scheduled_articles_go_live_by_themselves_once(server, editor_token, git):
    when = (datetime.now(UTC) + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    slugs = []
    for i in range(3):
        created = requests.post(server + MANAGE, json=article(f"Embargoed story {i}"),
                                headers=editor_token).json()
        scheduled = requests.post(f"{server}{MANAGE}/{created['slug']}/publish",
                                  json={"publish_at": when}, headers=editor_token)
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
    states = {a["slug"]: a["meta"]["state"] for a in requests.get(
        server + MANAGE, headers=editor_token).json()["items"]}
    assert states == dict.fromkeys(slugs, "published")
    git("fsck", "--strict")
