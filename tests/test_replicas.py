"""Mirrors and read replicas with real processes: a primary `cms serve` pushing to a bare
mirror served by a real `git daemon` on 127.0.0.1, and two `cms serve --replica-of git://...`
fetching from it. Everything is observed as users see it (HTTP answers, `cms mirror list`,
plain git), polling with a deadline and never asserting how long anything took."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from conftest import GIT_ENV, answers, article, cms_command, free_port, stop

from cms.auth.tokens import TokenStore
from cms.content import canonical
from cms.replication.mirrors import Mirrors
from cms.store import ArticleStore

T = TypeVar("T")
ENV = {**os.environ, **GIT_ENV, "GIT_CONFIG_GLOBAL": os.devnull}
DEADLINE = 30.0


def eventually(probe: Callable[[], T], what: str, timeout: float = DEADLINE) -> T:
    """Call `probe` until it returns something true; return that (fail after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what} (last: {value!r})")
        time.sleep(0.05)


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


def refs(git_dir: Path) -> dict[str, str]:
    out = git("--git-dir", str(git_dir), "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split() for line in out.splitlines())


def spawn(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start `command` in its own process group, its stderr to `log`."""
    with log.open("ab") as err:
        return subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**ENV, **env},
            start_new_session=True,
        )


def wait_until_up(proc: subprocess.Popen[bytes], ready: str, log: Path) -> None:
    if not answers(ready, proc, 60):
        stop(proc)
        raise RuntimeError(f"{proc.args} did not come up:\n{log.read_text()}")


class Cluster:
    """The primary, the git daemon with the mirror, and two replicas."""

    def __init__(
        self, root: Path, signing_key: Path | None = None, replica_args: tuple[str, ...] = ()
    ) -> None:
        """`signing_key`: the primary signs its commits with it; `replica_args`: more
        options for each replica's `cms serve`."""
        self.root = root
        self.signing_key = signing_key
        self.replica_args = replica_args
        self.primary_repo = root / "primary"
        self.mirrors = root / "mirrors"
        self.mirror = self.mirrors / "mirror.git"
        self.daemon_port = free_port()
        self.mirror_url = f"git://127.0.0.1:{self.daemon_port}/mirror.git"
        self.primary_port = free_port()
        self.primary = f"http://127.0.0.1:{self.primary_port}"
        self.replicas: list[str] = []
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        ArticleStore.init(
            str(self.primary_repo), signing_key=str(signing_key) if signing_key else None
        )
        _, secret = TokenStore(str(self.primary_repo)).create(
            "Eve Editor", "eve@example.org", "admin"
        )
        self.auth = {"Authorization": f"Bearer {secret}"}
        git("init", "-q", "--bare", "--initial-branch=main", str(self.mirror))
        Mirrors(str(self.primary_repo)).add("mirror", self.mirror_url)

    def cms(self, *args: str) -> str:
        return subprocess.run(
            [cms_command(), "--repo", str(self.primary_repo), *args],
            env=ENV,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def start_daemon(self) -> None:
        with (self.root / "daemon.log").open("ab") as log:
            self.procs["daemon"] = subprocess.Popen(
                [
                    "git",
                    "daemon",
                    "--export-all",
                    "--enable=receive-pack",
                    "--reuseaddr",
                    "--informative-errors",
                    f"--base-path={self.mirrors}",
                    "--listen=127.0.0.1",
                    f"--port={self.daemon_port}",
                    str(self.mirrors),
                ],
                env=ENV,
                stderr=log,
                start_new_session=True,
            )

        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.daemon_port), timeout=1).close()
                return True
            except OSError:
                return False

        eventually(listening, "git daemon listening")

    def start_servers(self, replicas: int = 0) -> None:
        """Start the primary and `replicas` new replicas together; return once all answer."""
        started = [
            (
                "primary",
                f"{self.primary}/healthz",
                spawn(
                    [
                        cms_command(),
                        "--repo",
                        str(self.primary_repo),
                        "serve",
                        "--port",
                        str(self.primary_port),
                        "--workers",
                        "2",
                    ],
                    self.root / "primary.log",
                    {
                        "CMS_MIRROR_RETRY_MAX": "0.5",
                        "CMS_MIRROR_MIN_INTERVAL": "0.2",
                        **({"CMS_SIGNING_KEY": str(self.signing_key)} if self.signing_key else {}),
                    },
                ),
            )
        ]
        for n in range(len(self.replicas) + 1, len(self.replicas) + 1 + replicas):
            port = free_port()
            self.replicas.append(f"http://127.0.0.1:{port}")
            # one replica with two workers (one of them fetches), one with a single worker
            started.append(
                (
                    f"replica{n}",
                    f"{self.replicas[-1]}/healthz",
                    spawn(
                        [
                            cms_command(),
                            "--repo",
                            str(self.root / f"replica{n}"),
                            "serve",
                            "--port",
                            str(port),
                            "--workers",
                            str(2 if n == 1 else 1),
                            "--replica-of",
                            self.mirror_url,
                            "--primary-url",
                            self.primary,
                            *self.replica_args,
                        ],
                        self.root / f"replica{n}.log",
                        {"CMS_REPLICA_INTERVAL": "0.2"},
                    ),
                )
            )
        for name, _, proc in started:
            self.procs[name] = proc
        for name, ready, proc in started:
            wait_until_up(proc, ready, self.root / f"{name}.log")

    def kill(self, name: str) -> None:
        """SIGKILL the whole process group, as a crash or an OOM kill would."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        procs = list(self.procs.values())
        self.procs.clear()
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    # -- the primary's API ---------------------------------------------------------------

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = requests.request(
            method,
            f"{self.primary}/api/v1/manage{path}",
            headers={**self.auth, **kwargs.pop("headers", {})},
            timeout=30,
            **kwargs,
        )
        assert response.status_code < 300, (method, path, response.text)
        return response

    def etag(self, slug: str) -> str:
        return self.call("GET", f"/articles/{slug}").headers["ETag"]

    def mirror_status(self) -> dict[str, Any]:
        """The mirror's status and push count, as `/healthz` shows them to an admin."""
        health = requests.get(f"{self.primary}/healthz", headers=self.auth, timeout=10).json()
        (mirror,) = health["mirrors"]
        return {"status": mirror["status"], "pushes": mirror["pushes"]}

    def mirror_listed(self) -> dict[str, Any]:
        """The same, as `cms mirror list` prints them, with the error line if any."""
        listing = self.cms("mirror", "list")
        status = re.match(r"mirror  (in sync|behind|failing|diverged)  ", listing)
        pushes = re.search(r"  pushes (\d+)  ", listing)
        error = re.search(r"\n  error: (.*)", listing)
        assert status and pushes, listing
        return {
            "status": status.group(1),
            "pushes": int(pushes.group(1)),
            "error": error.group(1) if error else None,
        }

    def settled(self) -> bool:
        """The mirror and both replicas hold exactly what the primary holds."""
        tips = {k: v for k, v in refs(self.primary_repo).items()}
        if refs(self.mirror) != tips:
            return False
        for n, base in enumerate(self.replicas, start=1):
            # anyone sees the published tip a replica fetched; its repository holds both lines
            shown = requests.get(f"{base}/healthz", timeout=10).json()["replica"]["tips"]
            if (
                shown != {"published": tips["refs/heads/published"]}
                or {k: v for k, v in refs(self.root / f"replica{n}").items() if k in tips} != tips
            ):
                return False
        return True


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("replication"))
    try:
        c.start_daemon()
        Mirrors(str(c.primary_repo)).push("mirror")  # so replicas have something to copy
        c.start_servers(replicas=2)
        yield c
    finally:
        c.stop_all()


def delivered(cluster: Cluster, slug: str) -> list[int | str]:
    """What each replica answers for an article: its title, or the status code."""
    shown: list[int | str] = []
    for base in cluster.replicas:
        r = requests.get(f"{base}/api/v1/articles/{slug}", timeout=10)
        shown.append(r.json()["title"] if r.status_code == 200 else r.status_code)
    return shown


def test_publish_update_unpublish_delete_reach_both_replicas(cluster: Cluster) -> None:
    slug = cluster.call("POST", "/articles", json=article("Bridge reopens")).json()["slug"]
    assert delivered(cluster, slug) == [404, 404]
    cluster.call("POST", f"/articles/{slug}/publish")
    eventually(lambda: delivered(cluster, slug) == ["Bridge reopens"] * 2, "publish")

    cluster.call(
        "PUT",
        f"/articles/{slug}",
        json=article("Bridge reopens at last"),
        headers={"If-Match": cluster.etag(slug)},
    )
    cluster.call("POST", f"/articles/{slug}/publish")
    eventually(lambda: delivered(cluster, slug) == ["Bridge reopens at last"] * 2, "update")

    cluster.call("POST", f"/articles/{slug}/unpublish")
    eventually(lambda: delivered(cluster, slug) == [404, 404], "unpublish")

    cluster.call("POST", f"/articles/{slug}/publish")
    eventually(lambda: delivered(cluster, slug) == ["Bridge reopens at last"] * 2, "again")
    cluster.call("DELETE", f"/articles/{slug}", headers={"If-Match": cluster.etag(slug)})
    eventually(lambda: delivered(cluster, slug) == [404, 404], "delete")
    for base in cluster.replicas:
        listed = requests.get(f"{base}/api/v1/articles", timeout=10).json()["items"]
        assert slug not in [a["slug"] for a in listed]


def test_a_replica_refuses_every_management_call_and_never_commits(cluster: Cluster) -> None:
    slug = cluster.call("POST", "/articles", json=article("Council meets")).json()["slug"]
    cluster.call("POST", f"/articles/{slug}/publish")
    eventually(cluster.settled, "replicas in sync")
    replica_repos = [cluster.root / "replica1", cluster.root / "replica2"]
    before = [refs(r) for r in replica_repos]
    commits = [git("--git-dir", str(r), "rev-list", "--all", "--count") for r in replica_repos]
    manage = "/api/v1/manage/articles"
    calls = [
        ("POST", manage, article("Sneaky")),
        ("GET", manage, None),
        ("GET", f"{manage}/{slug}", None),
        ("PUT", f"{manage}/{slug}", article("Changed")),
        ("PATCH", f"{manage}/{slug}", {"title": "Patched"}),
        ("DELETE", f"{manage}/{slug}", None),
        ("POST", f"{manage}/{slug}/publish", None),
        ("POST", f"{manage}/{slug}/unpublish", None),
        ("POST", f"{manage}/{slug}/restore", {"revision": before[0]["refs/heads/main"]}),
        ("GET", f"{manage}/{slug}/revisions", None),
        ("POST", "/api/v1/articles", article()),
        ("DELETE", f"/api/v1/articles/{slug}", None),
    ]
    for base in cluster.replicas:
        for method, path, body in calls:
            r = requests.request(
                method,
                base + path,
                json=body,
                timeout=10,
                headers={**cluster.auth, "If-Match": "*"},
            )
            assert r.status_code == 403, (method, path, r.text)
            assert r.headers["Content-Type"] == "application/problem+json"
            assert f"the primary at {cluster.primary}" in r.json()["detail"]
        assert requests.get(f"{base}/api/v1/articles/{slug}", timeout=10).status_code == 200
    assert [refs(r) for r in replica_repos] == before
    assert [
        git("--git-dir", str(r), "rev-list", "--all", "--count") for r in replica_repos
    ] == commits
    assert set(before[0]) == {"refs/heads/main", "refs/heads/published"}
    assert before[0] == refs(cluster.mirror)


def test_replicas_keep_serving_when_the_primary_is_killed(cluster: Cluster) -> None:
    slug = cluster.call("POST", "/articles", json=article("Storm warning")).json()["slug"]
    cluster.call("POST", f"/articles/{slug}/publish")
    eventually(lambda: delivered(cluster, slug) == ["Storm warning"] * 2, "publish")
    cluster.kill("primary")
    try:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{cluster.primary}/healthz", timeout=5)
        for _ in range(3):
            assert delivered(cluster, slug) == ["Storm warning"] * 2
            for base in cluster.replicas:
                assert requests.get(f"{base}/feed.json", timeout=10).status_code == 200
                health = requests.get(f"{base}/healthz", timeout=10).json()
                assert health["status"] == "ok"
                # anyone sees the lag; the source and its errors are for admins
                assert set(health["replica"]) == {"lag_seconds", "last_fetch_at", "tips"}
                assert health["replica"]["lag_seconds"] >= 0
    finally:
        cluster.start_servers()


def test_a_mirror_that_was_down_catches_up_with_one_push(cluster: Cluster) -> None:
    live = cluster.call("POST", "/articles", json=article("Before the outage")).json()["slug"]
    cluster.call("POST", f"/articles/{live}/publish")
    eventually(cluster.settled, "everything in sync")
    eventually(lambda: cluster.mirror_status()["status"] == "in sync", "mirror in sync")
    pushes = cluster.mirror_status()["pushes"]

    cluster.kill("daemon")
    for n in range(50):
        cluster.call("POST", "/articles", json=article(f"Written while the mirror is down {n}"))
    eventually(lambda: cluster.mirror_status()["status"] == "failing", "the failure reported")
    assert delivered(cluster, live) == ["Before the outage"] * 2  # replicas serve what they have

    cluster.start_daemon()
    eventually(cluster.settled, "the mirror and the replicas caught up")
    eventually(lambda: cluster.mirror_status()["status"] == "in sync", "mirror in sync")
    assert cluster.mirror_listed() == {"status": "in sync", "pushes": pushes + 1, "error": None}


def test_a_mirror_pushed_to_directly_is_reported_not_overwritten(cluster: Cluster) -> None:
    eventually(cluster.settled, "everything in sync")
    replica = cluster.replicas[0]
    old_token = requests.get(f"{replica}/api/v1/sync", timeout=10).json()["next_token"]

    # someone pushes a commit of their own to the mirror's published line
    work = cluster.root / "work"
    git("clone", "-q", "-b", "published", cluster.mirror_url, str(work))
    (work / "README.md").write_text("Edited on the mirror\n")
    git("commit", "-qam", "Edit the README on the mirror", cwd=work)
    git("push", "-q", "origin", "published", cwd=work)
    theirs = refs(cluster.mirror)["refs/heads/published"]
    # replicas follow their source, whatever it holds
    eventually(
        lambda: requests.get(f"{replica}/api/v1/sync", timeout=10).json()["next_token"] == theirs,
        "the replica follows the mirror",
    )

    slug = cluster.call("POST", "/articles", json=article("After the divergence")).json()["slug"]
    cluster.call("POST", f"/articles/{slug}/publish")
    eventually(lambda: cluster.mirror_status()["status"] == "diverged", "divergence reported")
    listed = cluster.mirror_listed()
    assert listed["status"] == "diverged"
    assert listed["error"].startswith(
        "the mirror's published has commits this repository does not have; not force-pushed"
    ), listed
    assert refs(cluster.mirror)["refs/heads/published"] == theirs
    assert delivered(cluster, slug) == [404, 404]

    # the operator puts the mirror back; the pusher carries on, replicas follow (force)
    git(
        "--git-dir",
        str(cluster.primary_repo),
        "push",
        "-q",
        "--force",
        cluster.mirror_url,
        "published:published",
    )
    eventually(cluster.settled, "the mirror repaired and the replicas following")
    eventually(lambda: cluster.mirror_status()["status"] == "in sync", "mirror in sync")
    eventually(lambda: delivered(cluster, slug) == ["After the divergence"] * 2, "publish")
    for base in cluster.replicas:
        gone = requests.get(f"{base}/api/v1/sync", params={"token": theirs}, timeout=10)
        assert gone.status_code == 410, gone.text
        kept = requests.get(f"{base}/api/v1/sync", params={"token": old_token}, timeout=10)
        assert [a["slug"] for a in kept.json()["changed"]] == [slug]


# -- a replica that checks the primary's signatures ----------------------------------------------


def keypair(path: Path) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
        check=True,
    )
    return path


@pytest.fixture
def signed(tmp_path: Path) -> Iterator[Cluster]:
    """A primary that signs its commits, and one replica that checks them."""
    key = keypair(tmp_path / "cms-key")
    c = Cluster(tmp_path, signing_key=key, replica_args=("--verify-signatures", f"{key}.pub"))
    try:
        c.start_daemon()
        Mirrors(str(c.primary_repo)).push("mirror")
        c.start_servers(replicas=1)
        yield c
    finally:
        c.stop_all()


def forge(cluster: Cluster, slug: str, title: str, sign_with: Path | None = None) -> str:
    """Push to the mirror a commit on `published` that makes `slug` read `title`, dressed as
    the CMS's own publication (its committer, its trailers); return it."""
    work = cluster.root / f"forge-{time.monotonic_ns()}"
    git("clone", "-q", "-b", "published", cluster.mirror_url, str(work))
    (path,) = work.glob(f"articles/*/{slug}.json")
    doc = json.loads(path.read_text())
    path.write_bytes(canonical.dumps({**doc, "title": title}))
    signing = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={sign_with}"] if sign_with else []
    git(
        "-c",
        "user.name=Git CMS",
        "-c",
        "user.email=cms@localhost",
        *signing,
        "commit",
        "-q",
        *(["-S"] if sign_with else []),
        "-am",
        f"Publish {slug}\n\nArticle: {slug}\nAction: publish",
        cwd=work,
    )
    git("push", "-q", "origin", "published", cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


def test_a_replica_checking_signatures_refuses_what_the_primary_did_not_sign(
    signed: Cluster,
) -> None:
    replica, replica_repo = signed.replicas[0], signed.root / "replica1"
    slug = signed.call("POST", "/articles", json=article("Genuine story")).json()["slug"]
    signed.call("POST", f"/articles/{slug}/publish")
    eventually(lambda: delivered(signed, slug) == ["Genuine story"], "the signed publish")
    eventually(signed.settled, "everything in sync")
    assert requests.get(f"{replica}/healthz", timeout=10).json()["status"] == "ok"
    good = refs(replica_repo)

    def refusing(commit: str) -> dict[str, Any] | None:
        health = requests.get(f"{replica}/healthz", timeout=10).json()
        refused = health["replica"].get("refused") or {}
        return health if refused.get("commit") == commit else None

    def holds_the_last_good_state(why: str) -> None:
        for _ in range(5):  # across several of its fetches
            assert delivered(signed, slug) == ["Genuine story"]
            assert refs(replica_repo) == good  # nothing moved, and no ref left behind
            time.sleep(0.2)
        health = requests.get(f"{replica}/healthz", timeout=10).json()
        assert health["status"] == "degraded"
        assert health["replica"]["tips"] == {"published": good["refs/heads/published"]}
        assert why in health["replica"]["refused"]["reason"], health

    # 1. a commit nobody signed, pushed straight to the mirror, claiming to be a publication
    unsigned = forge(signed, slug, "Forged story")
    health = eventually(lambda: refusing(unsigned), "the unsigned commit refused")
    assert health["status"] == "degraded"
    holds_the_last_good_state("not signed by the primary's key")

    # 2. one signed, but with another key
    git(
        "--git-dir",
        str(signed.primary_repo),
        "push",
        "-q",
        "--force",
        signed.mirror_url,
        "published:published",
    )
    eventually(
        lambda: requests.get(f"{replica}/healthz", timeout=10).json()["status"] == "ok",
        "the replica at ease again once the mirror is repaired",
    )
    other = forge(signed, slug, "Forged with another key", keypair(signed.root / "other-key"))
    eventually(lambda: refusing(other), "the commit signed by another key refused")
    holds_the_last_good_state("not signed by the primary's key")

    # 3. the mirror's published put back to an older state the primary really signed
    git(
        "--git-dir",
        str(signed.primary_repo),
        "push",
        "-q",
        "--force",
        signed.mirror_url,
        "published:published",
    )
    eventually(
        lambda: requests.get(f"{replica}/healthz", timeout=10).json()["status"] == "ok",
        "repaired again",
    )
    older = git("--git-dir", str(signed.primary_repo), "rev-parse", "published~1")
    git(
        "--git-dir",
        str(signed.primary_repo),
        "push",
        "-q",
        "--force",
        signed.mirror_url,
        f"{older}:refs/heads/published",
    )
    eventually(lambda: refusing(older), "the step back refused")
    holds_the_last_good_state("not a descendant")

    # the primary's own next publication, once the mirror is right, goes through
    git(
        "--git-dir",
        str(signed.primary_repo),
        "push",
        "-q",
        "--force",
        signed.mirror_url,
        "published:published",
    )
    signed.call(
        "PUT",
        f"/articles/{slug}",
        json=article("Genuine story, updated"),
        headers={"If-Match": signed.etag(slug)},
    )
    signed.call("POST", f"/articles/{slug}/publish")
    eventually(lambda: delivered(signed, slug) == ["Genuine story, updated"], "the update")
    health = requests.get(f"{replica}/healthz", timeout=10).json()
    assert health["status"] == "ok" and "refused" not in health["replica"], health
