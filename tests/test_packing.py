"""Packing in the background: saves' loose objects go into packs while editors save, a plain
git push lands and a replica-like fetcher reads through a real `git daemon`; nothing is lost
and `git fsck --full` is clean."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from cms.auth.tokens import TokenStore
from cms.content import canonical, layout
from cms.content.articles import validate, with_slug
from cms.content.identity import Person
from cms.git import maintenance
from cms.settings import BadSetting, Settings
from harness import GIT_ENV, article
from harness.launch import cms_server, free_port

URL = "/api/v1/manage/articles"
ENV = {**os.environ, **GIT_ENV}
EVE = Person("Eve Editor", "eve@example.org")


def git(*args: str, cwd: Path | None = None, check: bool = True) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=ENV, capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {result.stderr}")
    return result.stdout


def packs(repo: Path) -> set[str]:
    return {n for n in os.listdir(repo / "objects" / "pack") if n.endswith(".pack")}


def fsck(repo: Path) -> None:
    result = subprocess.run(
        ["git", "--git-dir", str(repo), "fsck", "--full", "--strict"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_packer_packs_at_its_threshold_and_keeps_what_no_ref_names(store, repo):
    packer = maintenance.Packer(str(repo), interval=1.0, threshold=60)
    for i in range(5):
        store.create(article(f"Small start {i}"), EVE)
    assert maintenance.loose_objects(str(repo)) < 60
    assert packer.step() is False
    assert maintenance.loose_objects(str(repo)) > 0

    for i in range(12):
        store.create(article(f"Enough to pack {i}"), EVE)
    # a save's objects written, its compare-and-swap not yet made: no ref names this blob
    orphan = store.repo.write("blob", b'{"written": "but not yet committed"}\n')
    before = maintenance.loose_objects(str(repo))
    assert before >= 60
    assert packer.step() is True
    assert maintenance.loose_objects(str(repo)) <= 1  # the orphan, loose or packed
    assert git("--git-dir", str(repo), "cat-file", "-p", orphan) == (
        '{"written": "but not yet committed"}\n'
    )
    assert len(packs(repo)) >= 1
    # the store reads on through the objects' new home, and saves on
    assert store.get("enough-to-pack-3").fields["title"] == "Enough to pack 3"
    store.create(article("After packing"), EVE)
    assert store.count() == 18
    fsck(repo)


@pytest.mark.parametrize(
    ("name", "value"),
    [("PACK_THRESHOLD", "0"), ("PACK_INTERVAL", "-1"), ("PACK_INTERVAL", "soon")],
)
def test_bad_packing_settings_are_named(name, value):
    with pytest.raises(BadSetting) as refused:
        Settings.load({name: value})
    assert f"CMS_{name}" in str(refused.value)


def _push_one(repo: Path, work: Path, n: int) -> bool:
    """One plain-git commit adding an article, pushed to `main` through the gate; False
    when `main` moved meanwhile (the push is refused as not a fast-forward)."""
    git("fetch", "-q", "origin", "main", cwd=work)
    git("reset", "-q", "--hard", "FETCH_HEAD", cwd=work)
    slug = f"pushed-by-git-{n}"
    doc = with_slug(validate(article(f"Pushed by git {n}")), slug)
    path = work / layout.article_path(slug)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(canonical.dumps(doc))
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", f"Add {slug} with plain git", cwd=work)
    return (
        subprocess.run(
            ["git", "push", "-q", "origin", "HEAD:main"], cwd=work, env=ENV, capture_output=True
        ).returncode
        == 0
    )


def test_packing_while_editors_save_git_pushes_and_a_fetcher_reads(repo: Path, tmp_path: Path):
    _, secret = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    auth = {"Authorization": f"Bearer {secret}"}
    port = free_port()
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--export-all",
            "--reuseaddr",
            f"--base-path={repo.parent}",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(repo.parent),
        ],
        env=ENV,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "git daemon never listened"
                time.sleep(0.05)
        source = f"git://127.0.0.1:{port}/{repo.name}"
        fetched = tmp_path / "fetcher.git"
        git("init", "-q", "--bare", str(fetched))
        work = tmp_path / "work"
        git("clone", "-q", "--branch", "main", str(repo), str(work))

        env = {"CMS_PACK_INTERVAL": "0.2", "CMS_PACK_THRESHOLD": "100"}
        with cms_server(repo, tmp_path / "server.log", env) as base:
            acknowledged: list[str] = []
            failures: list[str] = []
            fetches = [0]
            seen_packs: list[frozenset[str]] = []
            done = threading.Event()
            lock = threading.Lock()

            def editor(number: int) -> None:
                session = requests.Session()
                session.headers.update(auth)
                for i in range(45):
                    made = session.post(
                        f"{base}{URL}", json=article(f"Client {number} save {i}"), timeout=60
                    )
                    if made.status_code != 201:
                        failures.append(f"create {made.status_code} {made.text[:200]}")
                        continue
                    edited = session.patch(
                        f"{base}{URL}/{made.json()['slug']}",
                        json={"summary": f"Edited {i}"},
                        headers={
                            "If-Match": made.headers["ETag"],
                            "Content-Type": "application/merge-patch+json",
                        },
                        timeout=60,
                    )
                    if edited.status_code != 200:
                        failures.append(f"patch {edited.status_code} {edited.text[:200]}")
                        continue
                    with lock:
                        acknowledged.append(made.json()["meta"]["revision"])
                        acknowledged.append(edited.json()["meta"]["revision"])

            def fetcher() -> None:
                while not done.is_set():
                    result = subprocess.run(
                        [
                            "git",
                            "--git-dir",
                            str(fetched),
                            "fetch",
                            "-q",
                            "--no-auto-maintenance",
                            source,
                            "+refs/heads/*:refs/remotes/primary/*",
                        ],
                        env=ENV,
                        capture_output=True,
                        text=True,
                    )
                    if result.returncode != 0:
                        failures.append(f"fetch: {result.stderr}")
                    fetches[0] += 1
                    seen_packs.append(frozenset(packs(repo)))

            pushed = [0]

            def pusher() -> None:
                for n in range(3):
                    for _ in range(60):
                        if _push_one(repo, work, n):
                            pushed[0] += 1
                            break
                        time.sleep(0.1)

            editors = [threading.Thread(target=editor, args=(n,)) for n in range(4)]
            others = [threading.Thread(target=fetcher), threading.Thread(target=pusher)]
            for t in editors + others:
                t.start()
            for t in editors:
                t.join()
            others[1].join()
            # the packer catches up with the last saves
            deadline = time.monotonic() + 60
            while maintenance.loose_objects(str(repo)) >= 100:
                assert time.monotonic() < deadline, "the packer never packed the last saves"
                time.sleep(0.1)
            done.set()
            others[0].join()

            assert failures == []
            assert len(acknowledged) == 4 * 45 * 2
            assert pushed[0] == 3
            assert fetches[0] >= 3
            # the packs changed under the fetcher's feet: packing ran while it read
            assert len(set(seen_packs)) >= 2
            on_main = set(git("--git-dir", str(repo), "rev-list", "main").split())
            assert set(acknowledged) <= on_main
            # the server still reads and writes
            listed = requests.get(f"{base}{URL}?per_page=1", headers=auth, timeout=30).json()
            assert listed["meta"]["total"] == 4 * 45 + 3
        # about five objects a save, 363 commits: nearly all in packs now
        assert maintenance.loose_objects(str(repo)) < 100
        fsck(repo)
        git(
            "--git-dir",
            str(fetched),
            "fetch",
            "-q",
            source,
            "+refs/heads/*:refs/remotes/primary/*",
        )
        assert git("--git-dir", str(fetched), "rev-parse", "primary/main") == git(
            "--git-dir", str(repo), "rev-parse", "main"
        )
        fsck(fetched)
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
