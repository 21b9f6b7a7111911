"""Fault suite: the disk fills, or the repository becomes read-only, during saves; the index's
disk fills; a crashed writer left a ref lock behind.

Every failed save must be a clear 503 `application/problem+json` (type, title, status, detail;
no trace, no path), leave nothing half-written (`git fsck --strict` clean, the branches where
they were, no partial article, no lock or temp file left), and the service must recover by
itself once the fault clears. Reads keep working while writes fail.

The faults are real: a small tmpfs (this needs root, or CAP_SYS_ADMIN, to mount; without it
these tests fail and say so), filled to the last byte, or remounted read-only. The kernel
refuses a read-only remount while any file on it is open for writing, and the server keeps its
SQLite index (`<git dir>/cms/`) open, so where the repository goes read-only under a running
server that folder is its own mount, as it would be if only objects and refs became
unwritable.
"""

from __future__ import annotations

import errno
import gc
import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import article
from flask import Flask
from flask.testing import FlaskClient

import cms.git.refs
import cms.git.repository
from cms.auth.tokens import TokenStore
from cms.git.refs import LOCK_WAIT_SECONDS, STALE_LOCK_SECONDS
from cms.store import ArticleStore
from cms.web import create_app, services
from harness.crash import Server, cms_check_problems, fsck_problems, leftovers, summaries_on, tip

URL = "/api/v1/manage/articles"
PAGE = os.sysconf("SC_PAGE_SIZE")  # tmpfs hands out space a page at a time
PROBLEM = "application/problem+json"


# -- real filesystems --------------------------------------------------------------------


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        pytest.fail(
            f"The fault suite needs to mount a small real filesystem, and `mount "
            f"{' '.join(args)}` failed: {result.stderr.strip() or result.returncode}. Run the "
            "tests as root (or with CAP_SYS_ADMIN, e.g. `docker run --cap-add SYS_ADMIN`).",
            pytrace=False,
        )


def _holders(where: Path) -> set[int]:
    """The processes with a file open under `where`."""
    inside, found = str(where) + "/", set()
    for proc in os.listdir("/proc"):
        if not proc.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{proc}/fd")
            for fd in fds:
                if os.readlink(f"/proc/{proc}/fd/{fd}").startswith(inside):
                    found.add(int(proc))
                    break
        except OSError:
            continue  # ended meanwhile, or not ours to read
    return found


def _unmount(where: Path) -> None:
    gc.collect()  # let go of git helpers and SQLite connections nobody refers to any more
    for _ in range(30):
        if subprocess.run(["umount", str(where)], capture_output=True).returncode == 0:
            return
        if _holders(where) <= {os.getpid()}:
            # only files of this process are open there (the repository's write.lock, an
            # index connection of an app the test still holds): waiting frees nothing
            break
        time.sleep(0.1)  # a killed server's processes, a helper still ending
    subprocess.run(["umount", "-l", str(where)], capture_output=True, check=True)


@contextmanager
def tmpfs(where: Path, size: str = "2m") -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where))
    try:
        yield where
    finally:
        _unmount(where)


@contextmanager
def bind(source: Path, target: Path) -> Iterator[Path]:
    source.mkdir(parents=True, exist_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    _mount("--bind", str(source), str(target))
    try:
        yield target
    finally:
        _unmount(target)


def remount(where: Path, mode: str) -> None:
    _mount("-o", f"remount,{mode}", str(where))


class Filler:
    """Fills a filesystem to the last byte with one file, and gives space back."""

    def __init__(self, disk: Path) -> None:
        self.disk = disk
        self.path = disk / "filler"

    def fill(self) -> int:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        written = 0
        try:
            for size in (1 << 16, 4096, 512, 64, 1):
                block = b"\0" * size
                for _ in range(1 << 16):
                    try:
                        n = os.write(fd, block)
                    except OSError as e:
                        if e.errno != errno.ENOSPC:
                            raise
                        break
                    written += n
                    if n < size:
                        break
        finally:
            os.close(fd)
        assert os.statvfs(self.disk).f_bavail == 0
        return written

    def free(self, pages: int) -> None:
        size = os.path.getsize(self.path)
        os.truncate(self.path, max(0, size - pages * PAGE))

    def clear(self) -> None:
        if self.path.exists():
            self.path.unlink()


# -- the app, its answers and the repository's state ---------------------------------------


def open_app(repo: Path) -> tuple[Flask, FlaskClient, dict[str, str]]:
    ArticleStore.init(str(repo)).close()
    _, secret = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    app = create_app({"REPO": str(repo), "TESTING": True})
    return app, app.test_client(), {"Authorization": f"Bearer {secret}"}


def release(app: Flask) -> None:
    """Close this thread's git helper and SQLite connection, so the filesystem can go."""
    store = services(app).store
    store.repo.git.close()
    store.index.tables.db.close()
    services(app).close()  # and every other thread's git helpers


def answer(r: Any) -> tuple[int, str, str]:
    """(status, media type, body text) of a Flask test response or a requests response."""
    if isinstance(r, requests.Response):
        return r.status_code, r.headers.get("Content-Type", "").split(";")[0], r.text
    return r.status_code, r.mimetype, r.get_data(as_text=True)


def json_of(r: Any) -> Any:
    return r.json() if isinstance(r, requests.Response) else r.get_json()


def assert_unavailable(r: Any, *private: Path) -> str:
    """A clean 503 problem: type, title, status, detail; no trace, no path. Returns detail."""
    status, media, text = answer(r)
    assert status == 503, f"expected 503, got {status}: {text[:500]}"
    assert media == PROBLEM
    body = json_of(r)
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == 503 and body["title"] == "Service Unavailable"
    assert body["type"] == "about:blank" and body["detail"]
    for leak in ("Traceback", 'File "', ".py", "/tmp", *(str(p) for p in private)):
        assert leak not in text, f"{leak!r} leaked in {text}"
    assert "/" not in body["detail"]
    return body["detail"]


def state(repo: Path) -> dict[str, str | None]:
    return {line: tip(repo, line) for line in ("main", "published")}


def assert_untouched(repo: Path, before: dict[str, str | None]) -> None:
    """Nothing half-written: branches where they were, no lock or temp file, fsck clean."""
    assert state(repo) == before
    assert leftovers(repo) == ([], [])
    assert fsck_problems(repo) == []


def assert_whole(repo: Path) -> None:
    assert leftovers(repo)[0] == []
    assert fsck_problems(repo) == []
    assert cms_check_problems(repo) == []


def create(
    client: Any, headers: dict[str, str], slug: str, base: str = "", publish: bool = False
) -> str:
    """Create (and publish) an article; return its ETag."""
    r = client.post(
        base + URL, json=article(f"Story {slug}", slug=slug, summary=slug), headers=headers
    )
    assert answer(r)[0] == 201, answer(r)
    if publish:
        assert answer(client.post(f"{base}{URL}/{slug}/publish", headers=headers))[0] == 200
    return r.headers["ETag"]


def writes(
    client: Any, headers: dict[str, str], kept: str, draft: str, base: str = ""
) -> dict[str, Callable[[], Any]]:
    """One of each kind of save, on a published article `kept` and a draft `draft`."""
    h = {**headers, "If-Match": "*"}
    return {
        "create": lambda: client.post(
            base + URL, json=article("Never saved", slug="never"), headers=headers
        ),
        "patch": lambda: client.patch(
            f"{base}{URL}/{kept}", json={"summary": "not saved"}, headers=h
        ),
        "put": lambda: client.put(
            f"{base}{URL}/{draft}", json=article("Not saved", slug=draft), headers=h
        ),
        "publish": lambda: client.post(f"{base}{URL}/{draft}/publish", headers=headers),
        "unpublish": lambda: client.post(f"{base}{URL}/{kept}/unpublish", headers=headers),
        "delete": lambda: client.delete(f"{base}{URL}/{draft}", headers=h),
    }


def read_problems(client: Any, headers: dict[str, str], kept: str, base: str = "") -> list[str]:
    """Reads of an existing article, lists and health: each must be a 200 with the right
    content. Returns what is wrong."""
    found = []
    checks = {
        "manage get": (client.get(f"{base}{URL}/{kept}", headers=headers), kept),
        "delivery get": (client.get(f"{base}/api/v1/articles/{kept}"), kept),
        "manage list": (client.get(base + URL, headers=headers), None),
        "delivery list": (client.get(base + "/api/v1/articles"), None),
        "healthz": (client.get(base + "/healthz"), None),
    }
    for name, (r, summary) in checks.items():
        status, _, text = answer(r)
        if status != 200:
            found.append(f"{name}: {status} {text[:200]}")
        elif summary is not None and json_of(r).get("summary") != summary:
            found.append(f"{name}: summary {json_of(r).get('summary')!r}, not {summary!r}")
    return found


def commits_since(repo: Path, since: str | None, line: str = "main") -> int:
    out = subprocess.run(
        ["git", "--git-dir", str(repo), "rev-list", "--count", f"{since}..refs/heads/{line}"],
        capture_output=True,
        text=True,
    )
    return int(out.stdout)


# -- the disk fills ------------------------------------------------------------------------


def test_full_disk_every_save_is_a_clean_503_and_the_next_one_succeeds(tmp_path):
    with tmpfs(tmp_path / "disk") as disk:
        repo = disk / "content-repo"
        app, client, headers = open_app(repo)
        try:
            create(client, headers, "kept", publish=True)
            create(client, headers, "draft")
            before = state(repo)
            filler = Filler(disk)
            filler.fill()
            details = {
                name: assert_unavailable(save(), disk)
                for name, save in writes(client, headers, "kept", "draft").items()
            }
            print(f"\nfull disk: {len(details)} saves refused: {set(details.values())}")
            problems = read_problems(client, headers, "kept")
            assert_untouched(repo, before)
            assert cms_check_problems(repo) == []  # on the full disk too

            filler.clear()
            create(client, headers, "after")
            r = client.patch(
                f"{URL}/kept", json={"summary": "kept"}, headers={**headers, "If-Match": "*"}
            )  # unchanged: no commit
            assert r.status_code == 200
            r = client.patch(
                f"{URL}/draft", json={"summary": "saved"}, headers={**headers, "If-Match": "*"}
            )
            assert r.status_code == 200
            assert commits_since(repo, before["main"]) == 2
            assert summaries_on(repo, "main")[0] == {
                "kept": "kept",
                "draft": "saved",
                "after": "after",
            }
            assert_whole(repo)
            assert problems == [], "reads failed while the disk was full"
        finally:
            release(app)


def test_disk_filling_up_in_the_middle_of_a_save(tmp_path):
    """With 0, 1, 2 … pages left, a save runs out of space at its blob, at one of its trees,
    at its commit, at the ref lock, or in the index: each is a whole save or a clean 503, and
    reads answer correctly or 503."""
    outcomes: dict[int, str] = {}
    problems: list[str] = []
    with tmpfs(tmp_path / "disk") as disk:
        repo = disk / "content-repo"
        app, client, headers = open_app(repo)
        try:
            create(client, headers, "kept", publish=True)
            filler = Filler(disk)
            for pages in [*range(0, 14), 128]:  # the last: plenty
                before = state(repo)
                filler.fill()
                filler.free(pages)
                slug = f"saved-with-{pages}-pages-free"
                r = client.post(
                    URL, json=article("Tight", slug=slug, summary=slug), headers=headers
                )
                read = client.get(f"{URL}/{slug}", headers=headers)
                listed = client.get(URL, headers=headers, query_string={"per_page": 100})
                committed = commits_since(repo, before["main"])
                outcomes[pages] = (
                    f"{r.status_code}, {'committed' if committed else 'nothing'}"
                    f", then GET {read.status_code}, list {listed.status_code}"
                )
                if r.status_code == 503:
                    assert_unavailable(r, disk)
                    if committed:
                        problems.append(f"{pages} pages: 503, but the save was committed")
                elif r.status_code != 201 or committed != 1:
                    problems.append(
                        f"{pages} pages: {r.status_code} "
                        f"{r.get_data(as_text=True)[:200]}, {committed} commits"
                    )
                if committed == 0:
                    assert_untouched(repo, before)
                if read.status_code not in ((200 if committed else 404), 503):
                    problems.append(
                        f"{pages} pages: GET {read.status_code} (committed: {committed})"
                    )
                elif read.status_code == 200 and read.get_json()["summary"] != slug:
                    problems.append(f"{pages} pages: GET shows {read.get_json()['summary']}")
                if listed.status_code not in (200, 503):
                    problems.append(f"{pages} pages: list {listed.status_code}")
                assert leftovers(repo)[0] == [] and fsck_problems(repo) == []
                filler.clear()
            print(
                f"\nsave with N pages ({PAGE} bytes) free -> "
                + "".join(f"\n  {n}: {o}" for n, o in outcomes.items())
            )
            listed = client.get(URL, headers=headers, query_string={"per_page": 100})
            assert {a["slug"]: a["summary"] for a in listed.get_json()["items"]} == (
                summaries_on(repo, "main")[0]
            )
            assert_whole(repo)
            assert any(o.startswith("503") for o in outcomes.values())
            assert outcomes[max(outcomes)].startswith("201")
            assert problems == []
        finally:
            release(app)


def test_full_disk_under_cms_serve(tmp_path):
    with tmpfs(tmp_path / "disk") as disk:
        repo = disk / "content-repo"
        ArticleStore.init(str(repo)).close()
        _, secret = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
        headers = {"Authorization": f"Bearer {secret}"}
        server = Server(repo, tmp_path / "server.log")
        server.start()
        try:
            with requests.Session() as s:
                base = server.base
                create(s, headers, "kept", base, publish=True)
                create(s, headers, "draft", base)
                before = state(repo)
                filler = Filler(disk)
                filler.fill()
                for save in writes(s, headers, "kept", "draft", base).values():
                    assert_unavailable(save(), disk)
                problems = read_problems(s, headers, "kept", base)
                assert_untouched(repo, before)
                filler.clear()
                create(s, headers, "after", base, publish=True)
                assert commits_since(repo, before["main"]) == 1
                assert commits_since(repo, before["published"], "published") == 1
        finally:
            server.kill()
        assert_whole(repo)
        assert problems == [], "reads failed while the disk was full"


# -- the repository becomes read-only ----------------------------------------------------


@contextmanager
def read_only_repository(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A repository on its own tmpfs, its `cms/` folder (the index, tokens) on another
    mount, so that the tmpfs can be remounted read-only under a running server."""
    with tmpfs(tmp_path / "disk") as disk:
        repo = disk / "content-repo"
        with bind(tmp_path / "cms-state", repo / "cms"):
            ArticleStore.init(str(repo)).close()
            try:
                yield disk, repo
            finally:
                if "ro" in _options(disk):
                    remount(disk, "rw")


def _options(where: Path) -> list[str]:
    out = subprocess.run(
        ["findmnt", "-n", "-o", "OPTIONS", "--target", str(where)], capture_output=True, text=True
    ).stdout
    return out.strip().split(",")


@pytest.mark.parametrize("via", ["test-client", "cms-serve"])
def test_read_only_repository_refuses_saves_and_recovers(via, tmp_path):
    with read_only_repository(tmp_path) as (disk, repo):
        _, secret = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
        headers = {"Authorization": f"Bearer {secret}"}
        server, app = None, None
        if via == "cms-serve":
            server = Server(repo, tmp_path / "server.log")
            server.start()
            client: Any = requests.Session()
            base = server.base
        else:
            app = create_app({"REPO": str(repo), "TESTING": True})
            client, base = app.test_client(), ""
        try:
            create(client, headers, "kept", base, publish=True)
            create(client, headers, "draft", base)
            before = state(repo)
            remount(disk, "ro")
            assert "ro" in _options(disk)
            details = {
                assert_unavailable(save(), disk)
                for save in writes(client, headers, "kept", "draft", base).values()
            }
            print(f"\nread-only repository ({via}): {details}")
            assert read_problems(client, headers, "kept", base) == []
            assert state(repo) == before
            assert fsck_problems(repo) == []
            remount(disk, "rw")
            create(client, headers, "after", base, publish=True)
            assert commits_since(repo, before["main"]) == 1
            assert_whole(repo)
        finally:
            if server is not None:
                server.kill()
                client.close()
            if app is not None:
                release(app)


def test_read_only_from_the_start_reads_are_never_a_500(tmp_path):
    """The whole repository, index included, is read-only before the app starts (a read-only
    volume, a replica): saves are 503, reads work or are 503, never a 500."""
    with tmpfs(tmp_path / "disk") as disk:
        repo = disk / "content-repo"
        store = ArticleStore.init(str(repo))
        _, secret = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
        headers = {"Authorization": f"Bearer {secret}"}
        app = create_app({"REPO": str(repo), "TESTING": True})
        client = app.test_client()
        create(client, headers, "kept", publish=True)
        release(app)
        store.repo.git.close()
        del app, client, store
        remount(disk, "ro")
        try:
            app = create_app({"REPO": str(repo), "TESTING": True})
            client = app.test_client()
            statuses = {
                "manage get": client.get(f"{URL}/kept", headers=headers).status_code,
                "manage list": client.get(URL, headers=headers).status_code,
                "delivery get": client.get("/api/v1/articles/kept").status_code,
                "delivery list": client.get("/api/v1/articles").status_code,
                "healthz": client.get("/healthz").status_code,
            }
            print(f"\nread-only from the start: {statuses}")
            assert_unavailable(client.post(URL, json=article("No"), headers=headers), disk)
            assert all(s in (200, 503) for s in statuses.values()), statuses
        finally:
            services(app).close()
            remount(disk, "rw")


@pytest.mark.parametrize("when", ["after-the-first-object", "before-the-ref-moves"])
def test_repository_goes_read_only_in_the_middle_of_a_save(when, tmp_path, monkeypatch):
    """The filesystem turns read-only between two steps of one save. (Injected by wrapping
    `cms.git.repository.write_object` / `cms.git.refs.compare_and_swap`; a named fault-injection
    hook in the storage layer would be sturdier.)"""
    with read_only_repository(tmp_path) as (disk, repo):
        _, secret = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
        headers = {"Authorization": f"Bearer {secret}"}
        app = create_app({"REPO": str(repo), "TESTING": True})
        client = app.test_client()
        try:
            create(client, headers, "kept", publish=True)
            before = state(repo)
            armed = [True]
            if when == "after-the-first-object":
                real_write = cms.git.repository.write_object

                def write_object(*args: Any, **kwargs: Any) -> str:
                    sha = real_write(*args, **kwargs)
                    if armed[0]:
                        armed[0] = False
                        remount(disk, "ro")
                    return sha

                monkeypatch.setattr(cms.git.repository, "write_object", write_object)
            else:
                real_swap = cms.git.refs.compare_and_swap

                def compare_and_swap(*args: Any, **kwargs: Any) -> None:
                    if armed[0]:
                        armed[0] = False
                        remount(disk, "ro")
                    real_swap(*args, **kwargs)

                monkeypatch.setattr(cms.git.refs, "compare_and_swap", compare_and_swap)
            r = client.patch(
                f"{URL}/kept", json={"summary": "half"}, headers={**headers, "If-Match": "*"}
            )
            assert not armed[0], "the fault was not injected"
            assert_unavailable(r, disk)
            assert read_problems(client, headers, "kept") == []
            assert_untouched(repo, before)
            remount(disk, "rw")
            r = client.patch(
                f"{URL}/kept", json={"summary": "whole"}, headers={**headers, "If-Match": "*"}
            )
            assert r.status_code == 200
            assert commits_since(repo, before["main"]) == 1
            assert_whole(repo)
        finally:
            release(app)


# -- the index's disk fills --------------------------------------------------------------


def test_index_on_a_full_disk_answers_correctly_or_503_never_500(tmp_path):
    """The SQLite index (`<git dir>/cms/`) on its own small filesystem, filled up; git has
    room. Saves and reads must answer correctly or 503, and the index catch up afterwards."""
    repo = tmp_path / "content-repo"
    (repo / "cms").mkdir(parents=True)
    with tmpfs(repo / "cms", size="1m") as disk:
        app, client, headers = open_app(repo)
        try:
            create(client, headers, "kept", publish=True)
            index = services(app).store.index.tables.path
            with sqlite3.connect(index) as db:  # as SQLite leaves it after a checkpoint
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
            filler = Filler(disk)
            filler.fill()
            h = {**headers, "If-Match": "*"}
            seen = {
                "create": client.post(
                    URL,
                    json=article("Indexless", slug="indexless", summary="indexless"),
                    headers=headers,
                ),
                "get new": client.get(f"{URL}/indexless", headers=headers),
                "patch": client.patch(f"{URL}/kept", json={"summary": "kept 2"}, headers=h),
                "get kept": client.get(f"{URL}/kept", headers=headers),
                "list": client.get(URL, headers=headers),
                "publish": client.post(f"{URL}/kept/publish", headers=headers),
                "delivery get": client.get("/api/v1/articles/kept"),
                "delivery list": client.get("/api/v1/articles"),
                "healthz": client.get("/healthz"),
            }
            statuses = {k: r.status_code for k, r in seen.items()}
            print(f"\nindex on a full disk: {statuses}")
            main, _ = summaries_on(repo, "main")
            problems = [f"{name}: 500" for name, r in seen.items() if r.status_code == 500]
            for r in seen.values():
                if r.status_code == 503:
                    assert_unavailable(r, disk, repo)
            if seen["get new"].status_code == 200:
                assert seen["get new"].get_json()["summary"] == main["indexless"]
            if seen["get kept"].status_code == 200:
                assert seen["get kept"].get_json()["summary"] == main["kept"]
            filler.clear()
            listed = client.get(URL, headers=headers).get_json()["items"]
            assert {a["slug"]: a["summary"] for a in listed} == main
            live = client.get("/api/v1/articles").get_json()["items"]
            assert {a["slug"]: a["summary"] for a in live} == {
                s: v for s, v in summaries_on(repo, "published")[0].items() if s in main
            }
            assert_whole(repo)
            assert problems == []
        finally:
            release(app)


# -- a stale ref lock ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "age"),
    [
        ("main", 0.0),
        ("main", STALE_LOCK_SECONDS - 1),
        ("main", STALE_LOCK_SECONDS + 1),
        ("published", STALE_LOCK_SECONDS + 1),
    ],
)
def test_stale_ref_lock_left_by_a_crashed_writer(ref, age, repo, client, editor_token, created):
    """`refs/heads/<ref>.lock`, as a writer killed while holding it leaves it, `age` seconds
    old. The next write waits and then succeeds once the lock is older than the stale
    threshold, or fails with 503 within the lock wait; it never hangs."""
    slug = created["slug"]
    lock = repo / "refs" / "heads" / f"{ref}.lock"
    lock.write_text(f"{tip(repo, ref)}\n")
    os.utime(lock, (time.time() - age, time.time() - age))
    before = state(repo)

    def save() -> Any:
        if ref == "main":
            return client.patch(
                f"{URL}/{slug}",
                json={"summary": "after the lock"},
                headers={**editor_token, "If-Match": created["etag"]},
            )
        return client.post(f"{URL}/{slug}/publish", headers=editor_token)

    result: list[Any] = []
    began = time.monotonic()
    worker = threading.Thread(target=lambda: result.append(save()), daemon=True)
    worker.start()
    worker.join(timeout=LOCK_WAIT_SECONDS + STALE_LOCK_SECONDS + 10)
    waited = time.monotonic() - began
    assert not worker.is_alive(), f"the write hung for {waited:.0f} s behind {lock.name}"
    r = result[0]
    print(
        f"\n{ref}.lock {age:.0f} s old: {r.status_code} after {waited:.2f} s "
        f"(stale after {STALE_LOCK_SECONDS:.0f} s, lock wait {LOCK_WAIT_SECONDS:.0f} s)"
    )
    if r.status_code == 503:
        assert_unavailable(r, repo)
        assert waited <= LOCK_WAIT_SECONDS + 2
        assert state(repo) == before
        began = time.monotonic()
        retry = save()
        print(f"  the retry: {retry.status_code} after {time.monotonic() - began:.2f} s")
        assert retry.status_code == 200
    else:
        assert r.status_code == 200, answer(r)
        assert waited >= STALE_LOCK_SECONDS - age - 0.5
        assert waited <= max(0.0, STALE_LOCK_SECONDS - age) + 2
        assert state(repo)[ref] != before[ref]
    assert not lock.exists()
    assert fsck_problems(repo) == []
