"""`cms mirror` and a replica's refusals, without servers: the CLI's checks and output, pushes
to mirrors on disk (file URLs), and a replica app answering every route of the URL map."""

from __future__ import annotations

import base64
import http.server
import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import GIT_ENV, article, cms_command

from cms.auth.tokens import TokenStore
from cms.cli.main import main
from cms.content.identity import Person
from cms.replication.pusher import Pusher
from cms.replication.replica import Replica
from cms.store import ArticleStore
from cms.web import create_app

ENV = {**GIT_ENV, "GIT_CONFIG_GLOBAL": os.devnull}


def cms(repo: Path, *args: str) -> tuple[int, str]:
    """Run `cms --repo REPO ARGS...` through click; return the exit code and all output."""
    result = CliRunner().invoke(
        main, ["--repo", str(repo), *args], prog_name="cms", catch_exceptions=False
    )
    return result.exit_code, result.output


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **ENV},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def bare(path: Path) -> Path:
    git("init", "-q", "--bare", "--initial-branch=main", str(path))
    return path


def refs(git_dir: Path) -> dict[str, str]:
    out = git("--git-dir", str(git_dir), "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split() for line in out.splitlines())


@pytest.mark.parametrize(
    ("name", "url", "field"),
    [
        ("Backup", "git://example.org/x.git", "name"),
        ("back up", "git://example.org/x.git", "name"),
        ("-backup", "git://example.org/x.git", "name"),
        ("backup-", "git://example.org/x.git", "name"),
        ("a" * 41, "git://example.org/x.git", "name"),
        ("../etc", "git://example.org/x.git", "name"),
        ("backup", "ext::sh -c touch% /tmp/pwned", "url"),
        ("backup", "ext::sh", "url"),
        ("backup", "javascript://example.org/x", "url"),
        ("backup", "https:///no-host.git", "url"),
        ("backup", "relative/path.git", "url"),
        ("backup", "git://example.org/x.git\n--upload-pack=touch", "url"),
        ("backup", "", "url"),
    ],
)
def test_mirror_add_refuses_bad_input_naming_the_field(
    repo: Path, name: str, url: str, field: str
) -> None:
    code, output = cms(repo, "mirror", "add", "--", name, url)
    assert code == 1, output
    assert output.startswith("Error: Invalid mirror"), output
    assert f"\n  {field}: " in output, output
    assert not (repo / "cms" / "mirrors.json").exists()


def test_mirror_add_list_remove(repo: Path, tmp_path: Path) -> None:
    code, output = cms(repo, "mirror", "list")
    assert (code, output) == (0, "No mirrors. Add one with `cms mirror add NAME URL`.\n")
    assert cms(repo, "mirror", "add", "backup", str(tmp_path / "m.git"))[0] == 0
    assert (
        cms(
            repo,
            "mirror",
            "add",
            "github",
            "https://ci-bot:s3cret@github.com/n/c.git",
            "--min-interval",
            "10",
        )[0]
        == 0
    )
    code, output = cms(repo, "mirror", "add", "backup", "git://example.org/other.git")
    assert code == 1 and "There is already a mirror 'backup'" in output
    assert cms(repo, "mirror", "add", "backup", str(tmp_path / "m.git"))[0] == 0  # the same
    code, output = cms(repo, "mirror", "list")
    assert code == 0
    lines = output.splitlines()
    assert lines[0].startswith(f"backup  behind  {tmp_path / 'm.git'}  last push never  ")
    assert lines[1].startswith("github  behind  https://ci-bot:***@github.com/n/c.git  ")
    assert "s3cret" not in output
    assert cms(repo, "mirror", "remove", "backup") == (0, "Removed mirror backup.\n")
    code, output = cms(repo, "mirror", "remove", "backup")
    assert code == 1 and "There is no mirror 'backup'" in output
    assert [line.split()[0] for line in cms(repo, "mirror", "list")[1].splitlines()] == ["github"]
    # kept outside history, so a clone never carries the credential
    assert "s3cret" not in git("--git-dir", str(repo), "log", "--all", "-p")


def test_push_sends_both_lines_and_a_diverged_mirror_is_left_alone(
    repo: Path, store: ArticleStore, tmp_path: Path
) -> None:
    mirror = bare(tmp_path / "mirror.git")
    editor = Person("Eve Editor", "eve@example.org")
    store.publish(store.create(article(), editor).slug, editor)
    cms(repo, "mirror", "add", "backup", f"file://{mirror}")
    code, output = cms(repo, "mirror", "push")
    assert (code, output) == (0, "backup: pushed\n")
    assert refs(mirror) == {k: v for k, v in refs(repo).items()}
    code, output = cms(repo, "mirror", "list")
    assert output.startswith("backup  in sync  ") and "pushes 1  failures 0" in output

    # someone pushes to the mirror directly; the next push is refused, not forced
    work = tmp_path / "work"
    git("clone", "-q", str(mirror), str(work))
    (work / "NOTES.md").write_text("pushed by hand\n")
    git("add", "NOTES.md", cwd=work)
    git("commit", "-qm", "Notes", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    theirs = refs(mirror)
    store.create(article("Second article"), editor)
    code, output = cms(repo, "mirror", "push", "backup")
    assert code == 1
    assert re.match(
        r"backup: the mirror's main has commits this repository does not have; "
        r"not force-pushed",
        output,
    ), output
    assert refs(mirror) == theirs
    code, output = cms(repo, "mirror", "list")
    assert output.startswith("backup  diverged  ") and "failures 1" in output
    assert "\n  error: the mirror's main has commits" in output


def pushed_by(pusher: Pusher) -> None:
    """Let `pusher` look at the refs once and wait for the pushes it started."""
    pusher.push_due()
    for thread in list(pusher._pushing.values()):
        thread.join(60)


def test_the_pusher_sends_an_edit_and_its_publish_together_once_writes_settle(
    repo: Path, store: ArticleStore, tmp_path: Path
) -> None:
    mirror = bare(tmp_path / "mirror.git")
    cms(repo, "mirror", "add", "backup", f"file://{mirror}")
    editor = Person("Eve Editor", "eve@example.org")
    # writes that have not stood still for `settle`, on a mirror behind for less than
    # `min_interval`, are not pushed yet
    waiting = Pusher(str(repo), settle=3600, min_interval=3600)
    slug = store.create(article(), editor).slug
    pushed_by(waiting)
    store.publish(slug, editor)
    pushed_by(waiting)
    assert refs(mirror) == {}
    # once they have settled, one push carries the edit and its publish
    pushed_by(Pusher(str(repo), settle=0, min_interval=3600))
    assert refs(mirror) == refs(repo)
    assert "pushes 1  failures 0" in cms(repo, "mirror", "list")[1]
    # writes that never settle are pushed once the mirror has been behind `min_interval`
    store.unpublish(slug, editor)
    pushed_by(Pusher(str(repo), settle=3600, min_interval=0))
    assert refs(mirror) == refs(repo)
    assert "pushes 2  failures 0" in cms(repo, "mirror", "list")[1]


def test_the_servers_pushes_yield_the_cpu_to_requests_and_a_push_by_hand_does_not(
    repo: Path, store: ArticleStore, tmp_path: Path
) -> None:
    mirror = bare(tmp_path / "mirror.git")
    # a file:// push runs the mirror's receive-pack, and its hook, as a child of `git push`:
    # the hook records the CPU priority (nice value, field 19 of /proc/self/stat) it ran at
    seen = tmp_path / "nice.txt"
    hook = mirror / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\ncut -d' ' -f19 /proc/$$/stat >> {seen}\n")
    hook.chmod(0o755)
    cms(repo, "mirror", "add", "backup", f"file://{mirror}")
    editor = Person("Eve Editor", "eve@example.org")
    store.create(article(), editor)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    pushed_by(Pusher(str(repo), settle=0, min_interval=3600))
    store.create(article("Another one"), editor)
    assert cms(repo, "mirror", "push") == (0, "backup: pushed\n")
    assert refs(mirror) == refs(repo)
    assert seen.read_text().split() == [str(min(mine + 10, 19)), str(mine)]


def test_a_mirror_that_cannot_be_reached_is_reported_failing(repo: Path) -> None:
    cms(repo, "mirror", "add", "gone", "git://127.0.0.1:9/nothing.git")
    code, output = cms(repo, "mirror", "push")
    assert code == 1 and output.startswith("gone: "), output
    code, output = cms(repo, "mirror", "list")
    assert output.startswith("gone  failing  git://127.0.0.1:9/nothing.git  last push never")
    assert "\n  error: " in output


def test_healthz_shows_mirrors_to_admins_only(
    repo: Path, admin_token: dict[str, str], editor_token: dict[str, str]
) -> None:
    cms(repo, "mirror", "add", "backup", "https://bot:s3cret@git.example.org/c.git")
    client = create_app({"REPO": str(repo), "TESTING": True}).test_client()
    assert "mirrors" not in client.get("/healthz").get_json()
    assert "mirrors" not in client.get("/healthz", headers=editor_token).get_json()
    (shown,) = client.get("/healthz", headers=admin_token).get_json()["mirrors"]
    assert shown["name"] == "backup" and shown["status"] == "behind"
    assert shown["url"] == "https://bot:***@git.example.org/c.git"


# -- a replica's app ------------------------------------------------------------------------

PUBLIC_PREFIXES = (
    "/api/v1/articles",
    "/api/v1/sync",
    "/feed.",
    "/sitemap",
    "/media/",
    "/healthz",
    "/api/v1/openapi.json",
    "/frontend/",  # the sample frontend's files, read-only like delivery
)


def test_a_replica_refuses_every_route_but_reading_what_is_live(
    repo: Path, admin_token: dict[str, str]
) -> None:
    before = refs(repo)
    app = create_app(
        {
            "REPO": str(repo),
            "TESTING": True,
            "REPLICA_OF": "https://bot:s3cret@git.example.org/c.git",
            "PRIMARY_URL": "https://cms.example.org",
        }
    )
    client = app.test_client()
    refused = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        url = re.sub(r"<[^>]+>", "x", str(rule))
        public = str(rule).startswith(PUBLIC_PREFIXES)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, json=article(), headers=admin_token)
            if public and method == "GET":
                assert response.status_code != 403, rule
                continue
            refused += 1
            assert response.status_code == 403, (method, str(rule))
            assert response.mimetype == "application/problem+json"
            detail = response.get_json()["detail"]
            assert detail == (
                "This server is a read-only replica of "
                "https://bot:***@git.example.org/c.git; send writes and "
                "management calls to the primary at https://cms.example.org."
            )
    assert refused >= 12
    assert client.post("/api/v1/articles").status_code == 403
    assert client.get("/no/such/page").status_code == 404
    assert refs(repo) == before


def test_replica_of_refuses_a_repository_with_its_own_history(repo: Path, tmp_path: Path) -> None:
    mirror = bare(tmp_path / "m.git")
    code, output = cms(repo, "serve", "--replica-of", f"file://{mirror}")
    assert code == 1
    assert "holds its own history and is not a replica" in output


def test_replica_of_an_unreachable_source_leaves_nothing_behind(tmp_path: Path) -> None:
    code, output = cms(
        tmp_path / "replica", "serve", "--replica-of", "git://127.0.0.1:9/nothing.git"
    )
    assert code == 1 and output.startswith("Error: Cannot copy git://127.0.0.1:9/nothing.git")
    assert not (tmp_path / "replica").exists()


def test_mirror_state_files_are_private(repo: Path, tmp_path: Path) -> None:
    cms(repo, "mirror", "add", "backup", f"file://{bare(tmp_path / 'm.git')}")
    cms(repo, "mirror", "push")
    state = repo / "cms" / "mirrors" / "backup.json"
    assert json.loads(state.read_text())["pushes"] == 1
    assert oct((repo / "cms" / "mirrors.json").stat().st_mode & 0o777) == "0o600"
    assert oct(state.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    "command",
    [
        ["mirror"],
        ["mirror", "add"],
        ["mirror", "list"],
        ["mirror", "remove"],
        ["mirror", "push"],
        ["serve"],
    ],
)
def test_help_shows_an_example(command: list[str], tmp_path: Path) -> None:
    code, output = cms(tmp_path / "none", *command, "--help")
    assert code == 0 and output.startswith("Usage: cms") and "Example" in output
    assert not (tmp_path / "none").exists()


def test_a_replicas_healthz_shows_its_source_to_admins_only(tmp_path: Path, repo: Path) -> None:
    source = bare(tmp_path / "source.git")
    git("--git-dir", str(repo), "push", "-q", str(source), "main", "published")
    replica = tmp_path / "replica"
    Replica.prepare(str(replica), f"file://{source}")
    _, secret = TokenStore(str(replica)).create("Ada Admin", "ada@example.org", "admin")
    client = create_app(
        {"REPO": str(replica), "TESTING": True, "REPLICA_OF": f"file://{source}"}
    ).test_client()
    shown = client.get("/healthz").get_json()["replica"]
    assert set(shown) == {"lag_seconds", "last_fetch_at", "tips"}
    # the draft line's tip would show editorial activity: admins only, as on a primary
    assert shown["tips"] == {"published": refs(source)["refs/heads/published"]}
    admin = client.get("/healthz", headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert admin["replica"]["tips"] == {
        "main": refs(source)["refs/heads/main"],
        "published": refs(source)["refs/heads/published"],
    }
    assert admin["replica"]["source"] == f"file://{source}"
    assert admin["replica"]["last_error"] is None
    assert "mirrors" not in admin


def test_a_replica_promoted_as_the_readme_says_pushes_on_from_the_mirror(
    tmp_path: Path, repo: Path, store: ArticleStore
) -> None:
    editor = Person("Eve Editor", "eve@example.org")
    store.publish(store.create(article("Before the primary was lost"), editor).slug, editor)
    mirror = bare(tmp_path / "mirror.git")
    cms(repo, "mirror", "add", "mirror", f"file://{mirror}")
    cms(repo, "mirror", "push")
    replica = tmp_path / "replica"
    Replica.prepare(str(replica), f"file://{mirror}")
    assert refs(replica) == refs(mirror)
    # the README's steps 3 and 4
    (replica / "cms" / "replica.json").unlink()
    assert cms(replica, "init", "--no-token")[0] == 0
    assert cms(replica, "mirror", "add", "mirror", f"file://{mirror}")[0] == 0
    promoted = ArticleStore.init(str(replica))
    assert promoted.reading.slugs() == ["before-the-primary-was-lost"]
    promoted.create(article("After the promotion"), editor)
    assert cms(replica, "mirror", "push") == (0, "mirror: pushed\n")
    assert refs(mirror) == refs(replica)
    # a replica's fetches would now overwrite it: --replica-of refuses it
    code, output = cms(replica, "serve", "--replica-of", f"file://{mirror}")
    assert code == 1 and "holds its own history and is not a replica" in output


# -- credentials never on a command line ------------------------------------------------------

PASSWORD = "Wq8-hunter2-Zx%40y"  # as written in the URL; git sends "Wq8-hunter2-Zx@y"


class StallingGitHost:
    """An HTTP server that asks for a password (401), then holds the request that brings one
    without answering, until `release()`: long enough to look at every process running."""

    def __init__(self) -> None:
        self.authorizations: list[str] = []
        self.released = threading.Event()
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                sent = self.headers.get("Authorization")
                if sent is None:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                host.authorizations.append(sent)
                host.released.wait(60)
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def command_lines() -> list[bytes]:
    lines = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                lines.append((proc / "cmdline").read_bytes().replace(b"\0", b" "))
            except OSError:
                pass  # gone meanwhile, or not ours to read
    return lines


@pytest.mark.parametrize("run", ["mirror push", "serve --replica-of"])
def test_a_password_in_a_git_url_is_never_on_a_command_line(
    repo: Path, tmp_path: Path, run: str
) -> None:
    host = StallingGitHost()
    url = f"http://alice:{PASSWORD}@127.0.0.1:{host.port}/content.git"
    env = {**os.environ, **ENV}
    if run == "mirror push":
        assert cms(repo, "mirror", "add", "backup", url)[0] == 0
        command = [cms_command(), "--repo", str(repo), "mirror", "push"]
    else:
        # given by the variable: an option would put the password on cms's own command line
        command = [cms_command(), "--repo", str(tmp_path / "replica"), "serve"]
        env["CMS_REPLICA_OF"] = url
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not host.authorizations and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[0]
            time.sleep(0.05)
        # git is waiting for the answer now, with the password it was given
        assert host.authorizations == [
            "Basic " + base64.b64encode(b"alice:Wq8-hunter2-Zx@y").decode()
        ]
        running = command_lines()
        assert any(f"127.0.0.1:{host.port}".encode() in line for line in running), running
        for line in running:
            assert b"hunter2" not in line, line
    finally:
        host.release()
        output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 1, output
    assert "hunter2" not in output
    if run == "mirror push":
        assert output.startswith("backup: "), output
        shown = cms(repo, "mirror", "list")[1]
        assert f"alice:***@127.0.0.1:{host.port}" in shown and "hunter2" not in shown
    else:
        assert "Cannot copy http://alice:***@127.0.0.1:" in output, output
        assert not (tmp_path / "replica").exists()


# -- a replica that checks signatures, set up from the command line --------------------------


def keypair(path: Path) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
        check=True,
    )
    return path


def test_verify_signatures_wants_a_replica_and_a_public_key(repo: Path, tmp_path: Path) -> None:
    key = keypair(tmp_path / "cms-key")
    mirror = bare(tmp_path / "m.git")
    (tmp_path / "not-a-key.pub").write_text("hello\n")
    code, output = cms(repo, "serve", "--verify-signatures", f"{key}.pub")
    assert code == 2 and "--verify-signatures is for a replica: give --replica-of too" in output
    for given, says in [
        (key, "is a private key; give the public half"),
        (tmp_path / "missing.pub", "Cannot read the public key"),
        (tmp_path / "not-a-key.pub", "is not an SSH public key"),
    ]:
        code, output = cms(
            tmp_path / "replica",
            "serve",
            "--replica-of",
            f"file://{mirror}",
            "--verify-signatures",
            str(given),
        )
        assert code == 1 and says in output, output
        assert "\n  verify_signatures: The public half of the primary's signing key" in output
        assert not (tmp_path / "replica").exists()


def test_a_first_copy_whose_published_the_primary_did_not_sign_is_refused(tmp_path: Path) -> None:
    key = keypair(tmp_path / "cms-key")
    primary = ArticleStore.init(str(tmp_path / "primary"), signing_key=str(key))
    editor = Person("Eve Editor", "eve@example.org")
    primary.publish(primary.create(article("Signed story"), editor).slug, editor)
    mirror = bare(tmp_path / "m.git")
    git("--git-dir", str(tmp_path / "primary"), "push", "-q", str(mirror), "main", "published")
    # a signed tip is copied, with the history it was made on
    signed = tmp_path / "signed-replica"
    Replica.prepare(str(signed), f"file://{mirror}", verify_key=f"{key}.pub")
    assert refs(signed) == refs(mirror)
    # a tip nobody signed is not: nothing is left behind
    work = tmp_path / "work"
    git("clone", "-q", "-b", "published", str(mirror), str(work))
    (work / "README.md").write_text("Edited on the mirror\n")
    git("commit", "-qam", "Edit the README on the mirror", cwd=work)
    git("push", "-q", "origin", "published", cwd=work)
    forged = git("rev-parse", "HEAD", cwd=work)
    code, output = cms(
        tmp_path / "replica",
        "serve",
        "--replica-of",
        f"file://{mirror}",
        "--verify-signatures",
        f"{key}.pub",
    )
    assert code == 1, output
    assert output.startswith(
        f"Error: Cannot copy file://{mirror}: commit {forged} on the "
        "source's published is not signed by the primary's key"
    ), output
    assert not (tmp_path / "replica").exists()
