"""Caches in front: a real Varnish (Debian's `varnish` and `varnish-modules`, started here on
127.0.0.1 with `deploy/varnish/default.vcl`) in front of a real `cms serve` that purges it.

After a publication through the API, a plain-git push to `published`, a scheduled publication
and a release, every URL whose answer changed reads, through Varnish, what the origin answers
within a second, while an unaffected answer stays the very object Varnish kept (`X-Varnish`
names the same stored object, `Age` grows). The management API, preview links and requests
carrying credentials are never kept; purges come only from the origin's address; a purge
survives the server being killed between the commit and the purge."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from click.testing import CliRunner

from cms.auth.tokens import TokenStore
from cms.cli import main as cms_main
from cms.content.layout import article_path
from harness import GIT_ENV, article
from harness.killable import Server
from harness.launch import free_port
from harness.varnish import DEPLOY, available, varnish

MANAGE = "/api/v1/manage/articles"
PUBLIC = "/api/v1/articles"
# what the issue asks: the new content through the cache within a second of the change
WITHIN = 1.0
ENV = {"CMS_SCHEDULER_INTERVAL": "0.2", "CMS_RATELIMIT_ENABLED": "false"}


class Edge:
    """A CMS server and the Varnish in front of it."""

    def __init__(self, server: Server, cache: str, folder: Path, admin: dict[str, str]) -> None:
        self.server, self.cache, self.folder, self.admin = server, cache, folder, admin
        self.host = urlsplit(cache).netloc

    def through(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.cache + path, timeout=10, **kwargs)

    def origin(self, path: str) -> requests.Response:
        # as Varnish asks it: with the Host the reader sent (absolute URLs are built from it)
        return requests.get(self.server.base + path, headers={"Host": self.host}, timeout=10)


def stored(response: requests.Response) -> str | None:
    """The id of the object Varnish answered from (None: it was fetched for this request)."""
    ids = response.headers["X-Varnish"].split()
    return ids[1] if len(ids) == 2 else None


def token(repo: Path, role: str) -> dict[str, str]:
    _, secret = TokenStore(str(repo)).create(f"Tess {role.title()}", f"{role}@example.org", role)
    return {"Authorization": f"Bearer {secret}"}


def plain_git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture
def edge(repo: Path, tmp_path: Path) -> Iterator[Edge]:
    assert available(), "varnishd and the xkey vmod are needed: make system-packages"
    cache_port = free_port()
    server = Server(
        repo,
        tmp_path / "server.log",
        workers=2,
        port=free_port(),
        env={
            **ENV,
            "CMS_PURGE_TARGETS": f"varnish+http://127.0.0.1:{cache_port}",
            # the second sending of each purge has a test of its own
            "CMS_PURGE_REPEAT_AFTER": "0",
        },
    )
    server.start()
    try:
        with varnish(server.port or 0, tmp_path / "varnish", port=cache_port) as cache:
            yield Edge(server, cache, tmp_path / "varnish", token(repo, "admin"))
    finally:
        server.kill()


def create(edge: Edge, headers: dict[str, str], title: str, **fields: Any) -> str:
    made = requests.post(edge.server.base + MANAGE, json=article(title, **fields), headers=headers)
    assert made.status_code == 201, made.text
    return str(made.json()["slug"])


def publish(edge: Edge, headers: dict[str, str], slug: str, **body: Any) -> None:
    done = requests.post(f"{edge.server.base}{MANAGE}/{slug}/publish", json=body, headers=headers)
    assert done.status_code == 200, done.text


def retitle(edge: Edge, headers: dict[str, str], slug: str, title: str) -> None:
    url = f"{edge.server.base}{MANAGE}/{slug}"
    etag = requests.get(url, headers=headers).headers["ETag"]
    changed = requests.patch(
        url,
        json={"title": title},
        headers={**headers, "If-Match": etag, "Content-Type": "application/merge-patch+json"},
    )
    assert changed.status_code == 200, changed.text


def idle(edge: Edge, admin: dict[str, str]) -> None:
    """Wait until every commit is turned into purges and every purge is sent (/healthz)."""
    deadline = time.monotonic() + 30
    while True:
        purges = requests.get(edge.server.base + "/healthz", headers=admin).json()["purges"]
        if purges["commits_behind"] == 0 and not any(t["pending"] for t in purges["targets"]):
            return
        assert time.monotonic() < deadline, purges
        time.sleep(0.05)


def warm(edge: Edge, paths: list[str]) -> dict[str, str]:
    """Read each path twice through Varnish: the second is a hit. Return each stored object."""
    idle(edge, edge.admin)
    objects = {}
    for path in paths:
        edge.through(path)
        again = edge.through(path)
        assert stored(again) is not None, (path, again.headers)
        assert "Age" in again.headers
        objects[path] = stored(again) or ""
    return objects


def settled(
    edge: Edge,
    paths: list[str],
    since: float,
    check: Callable[[str, requests.Response], bool] = lambda p, r: True,
    within: float = WITHIN,
) -> None:
    """Within `within` seconds of `since`, each path reads through Varnish exactly what the
    origin answers, and passes `check`."""
    for path in paths:
        while True:
            seen = edge.through(path)
            if seen.content == edge.origin(path).content and check(path, seen):
                break
            assert time.monotonic() - since < within, (
                f"{path} still stale {time.monotonic() - since:.2f} s after the change: "
                f"{seen.headers} {seen.text[:300]}"
            )
            time.sleep(0.02)


def kept(edge: Edge, objects: dict[str, str]) -> None:
    """Each path is still answered from the object Varnish kept before."""
    for path, obj in objects.items():
        again = edge.through(path)
        assert stored(again) == obj, (path, again.headers)
        assert again.content == edge.origin(path).content, path


def title(response: requests.Response) -> str:
    return str(response.json()["title"])


def test_publications_by_every_route_reach_readers_through_varnish_within_a_second(
    repo: Path, edge: Edge, tmp_path: Path
) -> None:
    editor = token(repo, "editor")
    slugs = [
        create(edge, editor, f"Story {name}", section=section, tags=tags)
        for name, section, tags in (
            ("one", "world", ["x"]),
            ("two", "world", []),
            ("three", "politics", ["x"]),
            ("four", "sport", []),
            ("five", "world", []),
        )
    ]
    for slug in slugs:
        publish(edge, editor, slug)
    s1, s2, s3, s4, s5 = slugs
    lists = [
        PUBLIC,
        f"{PUBLIC}?section=world",
        f"{PUBLIC}?section=politics",
        f"{PUBLIC}?section=sport",
        f"{PUBLIC}?tag=x",
        f"{PUBLIC}?q=story",
    ]
    others = ["/feed.xml", "/feed.json", "/sitemap.xml", "/api/v1/sync"]
    pages = [f"{PUBLIC}/{s}" for s in slugs]
    objects = warm(edge, pages + lists + others + [f"{PUBLIC}/story-six"])
    assert edge.through(f"{PUBLIC}/story-six").status_code == 404  # kept, with its key
    keys = edge.through(f"{PUBLIC}/{s2}").headers["Surrogate-Key"].split()
    assert keys == [f"p:{s2}", f"a:{s2}", f"a:{s1}", f"a:{s3}", "all"]

    # 1. through the API: a corrected title on the third story
    retitle(edge, editor, s3, "Story three, corrected")
    publish(edge, editor, s3)
    since = time.monotonic()
    settled(
        edge,
        [
            f"{PUBLIC}/{s3}",
            f"{PUBLIC}/{s2}",
            f"{PUBLIC}/{s4}",
            PUBLIC,
            f"{PUBLIC}?section=politics",
            f"{PUBLIC}?tag=x",
            f"{PUBLIC}?q=story",
            "/feed.json",
            "/feed.xml",
            "/sitemap.xml",
            "/api/v1/sync",
        ],
        since,
    )
    assert title(edge.through(f"{PUBLIC}/{s3}")) == "Story three, corrected"
    assert edge.through(f"{PUBLIC}/{s2}").json()["next"]["title"] == "Story three, corrected"
    assert edge.through(f"{PUBLIC}/{s4}").json()["previous"]["title"] == ("Story three, corrected")
    kept(
        edge,
        {
            p: objects[p]
            for p in (
                f"{PUBLIC}/{s1}",
                f"{PUBLIC}/{s5}",
                f"{PUBLIC}?section=sport",
                f"{PUBLIC}?section=world",
            )
        },
    )

    # 2. a plain-git push to published: the fifth story's title fixed by hand
    objects = warm(edge, pages + lists)
    work = tmp_path / "clone"
    plain_git("clone", "-q", "--branch", "published", str(repo), str(work), cwd=tmp_path)
    path = work / article_path(s5)
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "title": "Story five, fixed by hand"}) + "\n")
    plain_git("commit", "-qam", "Fix a title on the live site", cwd=work)
    plain_git("push", "-q", "origin", "published", cwd=work)
    since = time.monotonic()
    settled(
        edge,
        [f"{PUBLIC}/{s5}", f"{PUBLIC}/{s4}", PUBLIC, f"{PUBLIC}?section=world"],
        since,
        lambda p, r: "fixed by hand" in r.text,
    )
    kept(
        edge,
        {
            p: objects[p]
            for p in (
                f"{PUBLIC}/{s1}",
                f"{PUBLIC}/{s2}",
                f"{PUBLIC}?section=politics",
                f"{PUBLIC}?section=sport",
            )
        },
    )

    # 3. a scheduled publication, made by the server's scheduler when its time comes
    objects = warm(edge, pages + lists)
    s6 = create(edge, editor, "Story six", section="sport")
    at = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    publish(edge, editor, s6, publish_at=at)
    live = plain_git("--git-dir", str(repo), "rev-parse", "published", cwd=tmp_path)
    while plain_git("--git-dir", str(repo), "rev-parse", "published", cwd=tmp_path) == live:
        time.sleep(0.01)
    since = time.monotonic()
    settled(
        edge,
        [f"{PUBLIC}/{s6}", f"{PUBLIC}/{s5}", PUBLIC, f"{PUBLIC}?section=sport"],
        since,
        lambda p, r: r.status_code == 200 and "Story six" in r.text,
    )
    assert edge.through(f"{PUBLIC}/{s5}").json()["next"] == {"slug": s6, "title": "Story six"}
    kept(
        edge,
        {p: objects[p] for p in (f"{PUBLIC}/{s1}", f"{PUBLIC}/{s3}", f"{PUBLIC}?section=politics")},
    )

    # 4. a release: two drafts live in one commit
    pages.append(f"{PUBLIC}/{s6}")
    objects = warm(edge, pages + lists)
    s7, s8 = (create(edge, editor, f"Story {n}", section="politics") for n in ("seven", "eight"))
    done = requests.post(
        edge.server.base + "/api/v1/manage/releases", json={"slugs": [s7, s8]}, headers=editor
    )
    assert done.status_code == 200, done.text
    since = time.monotonic()
    settled(
        edge,
        [
            f"{PUBLIC}/{s7}",
            f"{PUBLIC}/{s8}",
            f"{PUBLIC}/{s6}",
            PUBLIC,
            f"{PUBLIC}?section=politics",
        ],
        since,
        lambda p, r: r.status_code == 200 and ("politics" not in p or "seven" in r.text),
    )
    assert edge.through(f"{PUBLIC}/{s6}").json()["next"]["slug"] in (s7, s8)
    kept(
        edge,
        {
            p: objects[p]
            for p in (
                f"{PUBLIC}/{s1}",
                f"{PUBLIC}/{s4}",
                f"{PUBLIC}?section=world",
                f"{PUBLIC}?section=sport",
            )
        },
    )


def test_editors_routes_preview_links_and_credentials_are_never_kept_and_only_the_origin_purges(
    repo: Path, edge: Edge
) -> None:
    editor = token(repo, "editor")
    slug = create(edge, editor, "A draft to preview")
    link = requests.post(f"{edge.server.base}{MANAGE}/{slug}/preview-link", headers=editor)
    assert link.status_code == 201
    preview = urlsplit(link.json()["url"]).path
    publish(edge, editor, slug)
    for path, headers in (
        (MANAGE, editor),
        (f"{MANAGE}/{slug}", editor),
        (preview, {}),
        ("/api/v1/preview/articles", editor),
        ("/healthz", {}),
        (f"{PUBLIC}/{slug}", {"Cookie": "session=abc"}),
        (f"{PUBLIC}/{slug}", editor),
    ):
        answers = [edge.through(path, headers=headers) for _ in range(3)]
        assert [a.status_code for a in answers] == [200] * 3, path
        assert [stored(a) for a in answers] == [None] * 3, (path, answers[-1].headers)
    assert edge.through(MANAGE).status_code == 401  # not a kept answer of someone else's

    # a PURGE from any other address is refused, and what is kept stays
    objects = warm(edge, [f"{PUBLIC}/{slug}"])
    with socket.create_connection(
        ("127.0.0.1", urlsplit(edge.cache).port or 80), timeout=5, source_address=("127.0.0.2", 0)
    ) as s:
        s.sendall(b"PURGE / HTTP/1.1\r\nHost: x\r\nxkey: all\r\nConnection: close\r\n\r\n")
        answer = s.recv(200).decode()
    assert answer.startswith("HTTP/1.1 403"), answer
    kept(edge, objects)


class Relay:
    """A TCP relay to Varnish on a port of its own, listening only while on: the address the
    CMS purges, with a cache that is down, then up again, behind it."""

    def __init__(self, to: int) -> None:
        self.port, self.to = free_port(), to
        self.server: socket.socket | None = None

    def on(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.server,), daemon=True).start()

    def off(self) -> None:
        if self.server is not None:
            # shutdown wakes the thread blocked in accept() (close alone would not)
            self.server.shutdown(socket.SHUT_RDWR)
            self.server.close()
            self.server = None

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            try:
                upstream = socket.create_connection(("127.0.0.1", self.to))
            except OSError:
                return  # the cache itself is gone (the test is ending)
            with upstream:
                back = threading.Thread(target=self._pipe, args=(upstream, client))
                back.start()
                self._pipe(client, upstream)
                back.join()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def purge_status(repo: Path, target: str) -> tuple[int, dict[str, Any]]:
    """`cms purge status --json`, in this process through click's CliRunner (what it reads is
    the outbox on disk, which the killed servers left: no process of its own is the point)."""
    ran = CliRunner(env={"CMS_PURGE_TARGETS": target}).invoke(
        cms_main, ["--repo", str(repo), "purge", "status", "--json"], prog_name="cms"
    )
    assert ran.stdout, (ran.stderr, ran.exception)
    return ran.exit_code, json.loads(ran.stdout)


def outbox_written(repo: Path) -> tuple[int, int] | None:
    """When and how far the outbox's write-ahead log was last written (None: none, or empty):
    a purger's look at the refs ends in a write to it, even when it finds nothing new."""
    try:
        found = (repo / "cms" / "purges.sqlite-wal").stat()
    except FileNotFoundError:
        return None
    return (found.st_mtime_ns, found.st_size) if found.st_size else None


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_purge_survives_kill_9_before_it_is_worked_out_and_before_it_is_sent(
    repo: Path, tmp_path: Path
) -> None:
    assert available(), "varnishd and the xkey vmod are needed: make system-packages"
    cache_port = free_port()
    relay = Relay(cache_port)
    target = f"varnish+http://127.0.0.1:{relay.port}"
    server = Server(
        repo,
        tmp_path / "server.log",
        port=free_port(),
        env={
            **ENV,
            "CMS_PURGE_TARGETS": target,
            "CMS_PURGE_REPEAT_AFTER": "0",
            "CMS_PURGE_RETRY_MAX": "1",
        },
    )
    editor = token(repo, "editor")
    page = f"{PUBLIC}/before-the-crash"

    def idle() -> bool:
        status = purge_status(repo, target)[1]
        return status["commits_behind"] == 0 and status["targets"][0]["pending"] == 0

    relay.on()
    server.start()
    try:
        with varnish(server.port or 0, tmp_path / "varnish", port=cache_port) as cache:
            edge = Edge(server, cache, tmp_path / "varnish", token(repo, "admin"))
            publish(edge, editor, create(edge, editor, "Before the crash"))
            wait_for(idle, "the first publication purged")
            objects = warm(edge, [page, PUBLIC])

            # killed between the commit and the purge: a server that looks for new commits
            # once, as it starts, and then not for an hour
            server.kill()
            server.env["CMS_PURGE_INTERVAL"] = "3600"
            written = outbox_written(repo)
            server.start()
            # its one look done before the edit (it would purge it otherwise)
            wait_for(lambda: outbox_written(repo) not in (written, None), "the first look")
            retitle(edge, editor, "before-the-crash", "After the crash")
            publish(edge, editor, "before-the-crash")
            server.kill()
            code, status = purge_status(repo, target)
            assert (code, status["commits_behind"]) == (0, 2)  # the edit and its publication
            assert stored(edge.through(page)) == objects[page]

            # the next start works the purge out, but the cache is unreachable: it waits
            relay.off()
            server.env["CMS_PURGE_INTERVAL"] = "0.05"
            server.start()
            wait_for(
                lambda: purge_status(repo, target)[1]["targets"][0]["attempts"] > 0,
                "a failed attempt",
            )
            code, status = purge_status(repo, target)
            assert (code, status["commits_behind"], status["targets"][0]["pending"]) == (1, 0, 1)
            assert "ConnectionRefused" in status["targets"][0]["last_error"]
            server.kill()  # queued, not sent
            assert stored(edge.through(page)) == objects[page]
            assert "Before the crash" in edge.through(page).text

            relay.on()
            server.start()
            since = time.monotonic()
            settled(
                edge,
                [page, PUBLIC],
                since,
                lambda p, r: "After the crash" in r.text,
                within=WITHIN + 1,
            )  # one retry's wait (CMS_PURGE_RETRY_MAX) at most
            wait_for(idle, "nothing left to purge")
    finally:
        server.kill()
        relay.off()


def test_the_shipped_vcl_compiles_as_docker_compose_runs_it(tmp_path: Path) -> None:
    # as shipped, origin.vcl names the compose service `cms`, which only resolves inside
    # compose's network: here the same file with that name made an address
    assert available(), "varnishd and the xkey vmod are needed: make system-packages"
    shipped = (DEPLOY / "origin.vcl").read_text()
    assert '.host = "cms";' in shipped and '("cms");' in shipped
    (tmp_path / "origin.vcl").write_text(shipped.replace('"cms"', '"127.0.0.1"'))
    ran = subprocess.run(
        [
            "varnishd",
            "-C",
            "-j",
            "none",
            "-n",
            str(tmp_path / "work"),
            "-p",
            f"vcl_path={tmp_path}",
            "-f",
            str(DEPLOY / "default.vcl"),
        ],
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "xkey" in ran.stdout + ran.stderr  # the compiled C calls the vmod
    compose = (DEPLOY.parent.parent / "docker-compose.yml").read_text()
    assert "CMS_PURGE_TARGETS: varnish+http://varnish:80" in compose
    assert "build: deploy/varnish" in compose
