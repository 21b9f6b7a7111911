"""`create_app` builds and `cms.web.start` starts: an app built for a test or a tool runs no
background thread until asked, its services are one typed object, and every route belongs to
one area of the table of paths (issue 26)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from conftest import article
from flask.testing import FlaskClient

from cms.auth.tokens import TokenStore
from cms.replication.replica import Replica
from cms.web import Services, create_app, paths, services, start

MANAGE = "/api/v1/manage/articles"
FAST = {
    "SCHEDULER_INTERVAL": 0.05,
    "WEBHOOK_INTERVAL": 0.05,
    "MIRROR_POLL_INTERVAL": 0.05,
    "RATELIMIT_ENABLED": False,
}


def background_threads() -> set[str]:
    return {
        t.name
        for t in threading.enumerate()
        if t.name in ("cms-scheduler", "cms-webhooks", "cms-pusher", "cms-replica-fetcher")
    }


def scheduled_in_the_past(client: FlaskClient, repo: Path) -> str:
    """A draft whose publication time has passed: only a scheduler publishes it."""
    _, secret = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    created = client.post(
        MANAGE,
        json=article(publish_at="2020-01-01T00:00:00Z"),
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert created.status_code == 201, created.get_json()
    return str(created.get_json()["slug"])


def test_an_app_built_without_testing_starts_no_thread_until_start_is_called(repo: Path) -> None:
    before = background_threads()
    app = create_app({"REPO": str(repo), **FAST})  # not TESTING: as a tool would build it
    assert not app.testing
    assert background_threads() == before
    client = app.test_client()
    slug = scheduled_in_the_past(client, repo)
    assert client.get(f"/api/v1/articles/{slug}").status_code == 404

    running = start(app)
    try:
        assert {"cms-scheduler", "cms-webhooks", "cms-pusher"} <= background_threads()
        assert start(app) is running  # a second call starts nothing more
        deadline = time.monotonic() + 30
        while client.get(f"/api/v1/articles/{slug}").status_code != 200:
            assert time.monotonic() < deadline, "the scheduler never published the article"
            time.sleep(0.05)
    finally:
        running.stop()
        services(app).close()


def test_a_replica_starts_its_fetcher_and_no_scheduler_nor_pusher(
    repo: Path, tmp_path: Path
) -> None:
    replica = tmp_path / "replica"
    Replica.prepare(str(replica), f"file://{repo}")
    app = create_app({"REPO": str(replica), "REPLICA_OF": f"file://{repo}", **FAST})
    running = start(app)
    try:
        assert sorted(running.names) == ["cms-replica-fetcher"]
    finally:
        running.stop()
        services(app).close()


def test_the_services_are_one_typed_object(app) -> None:  # type: ignore[no-untyped-def]
    built = services(app)
    assert isinstance(built, Services)
    assert built.store.repo.path == app.config["REPO"]
    assert built.mirrors is not None and built.replica is None
    assert [key for key in app.extensions if key.startswith("cms.")] == []
    with app.app_context():
        assert services() is built


def test_every_route_belongs_to_exactly_one_area_of_the_table(app) -> None:  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        found = [area.name for area in paths.AREAS if rule.rule.startswith(area.prefixes)]
        assert len(found) == 1, (rule.rule, found)


@pytest.mark.parametrize(
    ("path", "area"),
    [
        ("/api/v1/articles/budget", "delivery"),
        ("/feed.xml", "delivery"),
        ("/sitemap-2.xml", "delivery"),
        ("/media/3f/3f.jpg", "media"),
        ("/api/v1/manage/webhooks", "management"),
        ("/admin/", "workbench"),
        ("/api/v1/preview/links/abc", "preview links"),
        ("/healthz", "service"),
    ],
)
def test_the_table_names_the_area_of_a_path(path: str, area: str) -> None:
    found = paths.area(path)
    assert found is not None and found.name == area
