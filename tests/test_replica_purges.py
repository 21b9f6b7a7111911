"""A read replica purges the cache in front of it: a real primary `cms serve` pushing to a bare
mirror served by a real `git daemon`, a real `cms serve --replica-of git://...` fetching from
it with `CMS_PURGE_TARGETS` of its own, and a real Varnish (Debian's `varnish` with xkey,
`deploy/varnish/default.vcl`) in front of the replica only.

A publication on the primary reaches readers of the replica's Varnish once the replica has
fetched it, within a second of its refs moving, and never before: the test reads through
Varnish all along, so a purge sent ahead of the replica's own state would let Varnish keep
the old answer again, for a day, and the test would see it stay. An unaffected article stays
the very object Varnish kept, and a push of many commits that arrives in one fetch is one
PURGE."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from click.testing import CliRunner
from conftest import article, cms_command, free_port, stop
from test_replicas import Cluster, eventually, git, refs, spawn, wait_until_up

from cms.auth.tokens import TokenStore
from cms.cli import main as cms_main
from cms.content.layout import article_path
from cms.replication.mirrors import Mirrors
from harness.fastimport import commit_each
from harness.varnish import available, purges_seen, varnish

PUBLIC = "/api/v1/articles"
# as on the primary (tests/test_edge.py): the new content through the cache within a second
WITHIN = 1.0


class Fronted:
    """The primary, the mirror, and one replica with a Varnish in front of it."""

    def __init__(self, cluster: Cluster, root: Path) -> None:
        self.cluster = cluster
        self.repo = root / "replica"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.cache_port = free_port()
        self.target = f"varnish+http://127.0.0.1:{self.cache_port}"
        self.folder = root / "varnish"
        self.cache = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.admin: dict[str, str] = {}

    def start_replica(self) -> None:
        log = self.cluster.root / "replica.log"
        self.proc = spawn(
            [
                cms_command(),
                "--repo",
                str(self.repo),
                "serve",
                "--port",
                str(self.port),
                "--workers",
                "2",
                "--replica-of",
                self.cluster.mirror_url,
            ],
            log,
            {
                "CMS_REPLICA_INTERVAL": "0.2",
                "CMS_PURGE_TARGETS": self.target,
                # the second sending of each purge would blur the count of PURGEs
                "CMS_PURGE_REPEAT_AFTER": "0",
            },
        )
        wait_until_up(self.proc, f"{self.base}/healthz", log)
        # tokens are never replicated: an admin of the replica's own
        _, secret = TokenStore(str(self.repo)).create("Ada Admin", "ada@example.org", "admin")
        self.admin = {"Authorization": f"Bearer {secret}"}

    # -- reading -------------------------------------------------------------------------

    def through(self, path: str) -> requests.Response:
        return requests.get(self.cache + path, timeout=10)

    def origin(self, path: str) -> requests.Response:
        # as Varnish asks the replica: with the Host the reader sent
        host = urlsplit(self.cache).netloc
        return requests.get(self.base + path, headers={"Host": host}, timeout=10)

    def published(self) -> str:
        """The commit the replica's own `published` is at."""
        return refs(self.repo).get("refs/heads/published", "")

    def purges(self) -> dict[str, Any]:
        """What the replica's /healthz shows its admin of its purges."""
        body = requests.get(f"{self.base}/healthz", headers=self.admin, timeout=10).json()
        return dict(body["purges"])

    def idle(self) -> dict[str, Any]:
        """Wait until the replica turned every commit it holds into purges and sent them."""

        def done() -> dict[str, Any] | None:
            shown = self.purges()
            quiet = shown["commits_behind"] == 0 and not any(t["pending"] for t in shown["targets"])
            return shown if quiet else None

        return eventually(done, "the replica's purges all sent")

    def has(self, slug: str, title: str) -> bool:
        r = requests.get(f"{self.base}{PUBLIC}/{slug}", timeout=10)
        return r.status_code == 200 and r.json()["title"] == title


def stored(response: requests.Response) -> str | None:
    """The id of the object Varnish answered from (None: fetched for this request)."""
    ids = response.headers["X-Varnish"].split()
    return ids[1] if len(ids) == 2 else None


@pytest.fixture(scope="module")
def fronted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fronted]:
    """One primary, mirror, replica and Varnish for the tests of this module: each publishes
    articles of its own and counts from what it finds."""
    assert available(), "varnishd and the xkey vmod are needed: make system-packages"
    tmp_path = tmp_path_factory.mktemp("replica-purges")
    cluster = Cluster(tmp_path)
    setup = Fronted(cluster, tmp_path)
    try:
        cluster.start_daemon()
        Mirrors(str(cluster.primary_repo)).push("mirror")  # so the replica has a history
        cluster.start_servers()  # the primary alone
        setup.start_replica()
        with varnish(setup.port, setup.folder, port=setup.cache_port) as cache:
            setup.cache = cache
            yield setup
    finally:
        if setup.proc is not None:
            stop(setup.proc)
        cluster.stop_all()


def publish_new(cluster: Cluster, title: str, **fields: Any) -> str:
    slug = str(cluster.call("POST", "/articles", json=article(title, **fields)).json()["slug"])
    cluster.call("POST", f"/articles/{slug}/publish")
    return slug


def test_a_replica_purges_its_cache_once_it_has_the_commit_and_never_before(
    fronted: Fronted,
) -> None:
    cluster = fronted.cluster
    far, near, story = (
        publish_new(cluster, title, section="world") for title in ("Far", "Near", "Story")
    )
    eventually(lambda: fronted.has(story, "Story"), "the replica serves the story")
    fronted.idle()
    page, far_page, near_page = (f"{PUBLIC}/{s}" for s in (story, far, near))
    lists = [PUBLIC, f"{PUBLIC}?section=world"]
    kept = {}
    for path in [page, far_page, near_page, *lists]:
        fronted.through(path)
        again = fronted.through(path)
        assert stored(again) is not None, (path, again.headers)
        kept[path] = stored(again)
    assert fronted.through(page).json()["title"] == "Story"

    # a correction on the primary; the replica has it once its fetcher brought it
    before = fronted.published()
    cluster.call(
        "PATCH",
        f"/articles/{story}",
        json={"title": "Story, corrected"},
        headers={"If-Match": cluster.etag(story), "Content-Type": "application/merge-patch+json"},
    )
    cluster.call("POST", f"/articles/{story}/publish")
    moved: list[float] = []
    watching = threading.Event()

    def watch() -> None:
        while not watching.is_set():
            if fronted.published() != before:
                moved.append(time.monotonic())
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    deadline = time.monotonic() + 30
    try:
        # read through Varnish all along: every read of the old answer refills the cache
        # with it, so a purge sent before the replica served the new title would leave the
        # old one there for good
        while True:
            seen = fronted.through(page).json()["title"]
            if seen == "Story, corrected":
                break
            assert time.monotonic() < deadline, "the replica's cache never showed the correction"
            time.sleep(0.02)
        served = time.monotonic()
    finally:
        watching.set()
        watcher.join()
    assert moved, "Varnish showed the correction before the replica's published moved"
    assert served - moved[0] < WITHIN, f"{served - moved[0]:.2f} s after the replica had it"

    # the lists it is on and its neighbour follow; the article two away stays the same object
    for path in [near_page, *lists]:
        eventually(
            lambda p=path: (
                fronted.through(p).content == fronted.origin(p).content
                and "Story, corrected" in fronted.through(p).text
            ),
            f"{path} through the replica's cache shows the correction",
            timeout=WITHIN * 5,
        )
    again = fronted.through(far_page)
    assert stored(again) == kept[far_page], again.headers
    assert again.content == fronted.origin(far_page).content

    # the replica's status names its own cache, and every purge went through
    shown = fronted.idle()
    (target,) = shown["targets"]
    assert target["target"] == fronted.target and target["pending"] == 0
    # the replica's purger starts before the Varnish of this fixture (which needs the replica
    # answering): its first purge may have been refused then, and was taken since
    if target["last_error"] is not None:
        assert "Connection refused" in target["last_error"], target
        assert target["last_error_at"] <= target["last_purge_at"], target
    assert target["requests"] >= 2  # `all` for a cache new to it, then the correction
    # `cms purge status` in this process (click's CliRunner): it reads the outbox on disk
    listed = CliRunner(env={"CMS_PURGE_TARGETS": fronted.target}).invoke(
        cms_main, ["--repo", str(fronted.repo), "purge", "status", "--json"], prog_name="cms"
    )
    assert listed.exit_code == 0, (listed.stderr, listed.exception)
    assert json.loads(listed.stdout)["targets"][0]["requests"] == target["requests"]


def test_a_push_of_many_commits_reaching_the_replica_in_one_fetch_is_one_purge(
    fronted: Fronted, tmp_path: Path
) -> None:
    cluster = fronted.cluster
    slug = publish_new(cluster, "Live story", section="world", tags=["Harbour"])
    eventually(lambda: fronted.has(slug, "Live story"), "the replica serves the story")
    fronted.idle()
    page = f"{PUBLIC}/{slug}"
    fronted.through(page)

    # forty commits on the primary's published by plain git, pushed as one ref move: the
    # mirror gets them in one push, the replica in one fetch
    work = tmp_path / "clone"
    git("clone", "-q", "--branch", "published", str(cluster.primary_repo), str(work))
    path = work / article_path(slug)
    doc = json.loads(path.read_text())
    takes = [
        (f"Take {n}", json.dumps({**doc, "title": f"Live story, take {n}"}) + "\n")
        for n in range(40)
    ]
    commit_each(work, article_path(slug), takes)
    with purges_seen(fronted.folder, tmp_path / "purges.log") as seen:
        git("push", "-q", "origin", "published", cwd=work)
        eventually(lambda: fronted.has(slug, "Live story, take 39"), "the replica has the push")
        eventually(
            lambda: fronted.through(page).json()["title"] == "Live story, take 39",
            "the replica's cache shows the last take",
            timeout=WITHIN * 5,
        )
        fronted.idle()
    assert len(seen) == 1, seen
    ((_, named),) = seen
    assert sorted(named) == sorted(
        [
            f"a:{slug}",
            "feed",
            "l:en",
            "list",
            "q",
            "s:world",
            "sitemap:1",
            "sync",
            "t:harbour",
        ]
    )
