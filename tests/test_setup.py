"""Getting it running: `make run` and the Docker set-up do what a new user and an operator
expect (issue 12, items 13 and 14); the CMS refuses a repository with a working tree, and
`cms init --bare-from` makes a bare one (issue 25, item 9)."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest
from conftest import GIT_ENV, article, cms_command, free_port, running

from cms.errors import NotBareRepository
from cms.web import create_app

ROOT = Path(__file__).parent.parent
ENV = {
    **{k: v for k, v in os.environ.items() if k != "CMS_REPO"},
    **GIT_ENV,
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def make_dry_run(*args: str) -> str:
    """What `make run` would do from scratch (-B: as if nothing were installed yet)."""
    return subprocess.run(
        ["make", "-n", "-B", "-C", str(ROOT), *args],
        env=ENV,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_make_run_installs_only_what_serving_needs():
    commands = make_dry_run("run")
    installs = [line for line in commands.splitlines() if "pip install" in line]
    assert installs, commands
    assert not any("[dev]" in line or "[bench]" in line for line in installs), installs
    assert "cms serve --host 127.0.0.1 --port 8000" in commands


def test_make_run_installs_npm_where_missing_and_keeps_npm_quiet_unless_it_fails():
    commands = make_dry_run("run")
    assert 'system-packages PACKAGES="npm"' in commands  # Debian's npm, which brings node
    (npm,) = [line for line in commands.splitlines() if "npm ci --" in line]
    assert "--loglevel=error" in npm and '>"$log" 2>&1' in commands
    assert 'else cat "$log"' in commands  # its output when it fails


def test_serve_says_where_the_workbench_and_the_sample_frontend_are(repo, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    with running(
        [cms_command(), "--repo", str(repo), "serve", "--port", str(port)],
        f"http://127.0.0.1:{port}/healthz",
        log,
        ENV,
    ):
        said = log.read_text()
        root = f"http://127.0.0.1:{port}"
        assert f"Workbench:        {root}/admin/" in said
        assert f"Sample frontend:  {root}/frontend/" in said
        assert "export CMS_TOKEN=" in said  # where the token to sign in with is
        for page in ("/admin/", "/frontend/"):
            with urllib.request.urlopen(root + page, timeout=10) as answer:
                assert answer.status == 200
    assert said.index("Workbench") < said.lower().index("booting worker")


def test_make_run_takes_port_and_host():
    commands = make_dry_run("run", "PORT=8080", "HOST=0.0.0.0")
    assert "cms serve --host 0.0.0.0 --port 8080" in commands


def test_a_busy_port_is_a_clear_error(repo):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [cms_command(), "--repo", str(repo), "serve", "--port", str(port)],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"127.0.0.1:{port} is already in use" in result.stderr, result.stderr
    assert "--port" in result.stderr and "PORT=" in result.stderr
    assert "Traceback" not in result.stderr


def dockerfile_command() -> list[str]:
    """The shell commands of the image's CMD, split at `&&`."""
    text = (ROOT / "Dockerfile").read_text()
    match = re.search(r"^CMD (.+)$", text, re.M)
    assert match, text
    return [part.strip().removeprefix("exec ") for part in match.group(1).split("&&")]


def test_the_container_starts_without_demo_content_or_a_token_in_its_log(tmp_path):
    steps = dockerfile_command()
    assert steps[-1].startswith("cms serve")
    repo = tmp_path / "data" / "content-repo"
    for step in steps[:-1]:
        argv = shlex.split(step)
        assert argv[0] == "cms", step
        result = subprocess.run(
            [cms_command(), *argv[1:]],
            env={**ENV, "CMS_REPO": str(repo)},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert "cms_" not in result.stdout + result.stderr  # no secret in the container log
    log = subprocess.run(
        ["git", "--git-dir", str(repo), "log", "--format=%s", "--all"],
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert log.splitlines() == ["Initialize content repository"]


def test_compose_is_durable_and_the_readme_says_how_to_get_a_token():
    compose = (ROOT / "docker-compose.yml").read_text()
    assert re.search(r"CMS_DURABLE:\s*\"?true\"?", compose), compose
    readme = (ROOT / "README.md").read_text()
    docker = readme[readme.index("## Docker") :]
    assert "docker compose exec cms cms token create" in docker
    assert "CMS_DURABLE" in docker


# -- day one: the content repository must be bare (issue 25, item 9) ----------------------


def plain_git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True, text=True
    ).stdout


def cms_run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [cms_command(), *args], env=ENV, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def checkout(tmp_path: Path, branch: str = "main") -> Path:
    """An ordinary git checkout (a working tree) with one committed file, as a newcomer has."""
    work = tmp_path / "site"
    plain_git("init", "-q", f"--initial-branch={branch}", str(work))
    (work / "notes.txt").write_text("our old site\n")
    plain_git("add", "notes.txt", cwd=work)
    plain_git("commit", "-q", "-m", "Our old site", cwd=work)
    return work


def snapshot(work: Path) -> dict[str, str]:
    """What a user can see of a checkout: its status, its refs, its hooks and its config."""
    git_dir = work / ".git"
    return {
        "status": plain_git("status", "--porcelain", "--untracked-files=all", cwd=work),
        "refs": plain_git("show-ref", cwd=work),
        "hooks": " ".join(sorted(p.name for p in (git_dir / "hooks").iterdir())),
        "config": (git_dir / "config").read_text(),
        "cms": str((git_dir / "cms").exists()),
    }


@pytest.mark.parametrize("given", ["checkout", "its .git folder"])
def test_init_refuses_a_checkout_and_says_how_to_make_a_bare_repository(
    tmp_path: Path, given: str
) -> None:
    work = checkout(tmp_path)
    before = snapshot(work)
    repo = work if given == "checkout" else work / ".git"
    result = cms_run("--repo", str(repo), "init")
    assert result.returncode == 1, result.stderr
    assert f"{work} is a git checkout with a working tree" in result.stderr, result.stderr
    assert "git commit -a" in result.stderr  # why: it would delete what the CMS saved
    assert f"git clone --bare {work} " in result.stderr
    assert "init --bare-from" in result.stderr
    assert "CMS_TOKEN" not in result.stderr and "Traceback" not in result.stderr
    assert snapshot(work) == before


def test_serve_and_create_app_refuse_a_checkout(tmp_path: Path) -> None:
    work = checkout(tmp_path)
    before = snapshot(work)
    result = cms_run("--repo", str(work), "serve", "--port", str(free_port()))
    assert result.returncode == 1, result.stderr
    assert f"{work} is a git checkout with a working tree" in result.stderr, result.stderr
    assert "git clone --bare" in result.stderr
    assert "Traceback" not in result.stderr and "Booting worker" not in result.stderr

    with pytest.raises(NotBareRepository, match="is a git checkout with a working tree"):
        create_app({"REPO": str(work), "TESTING": True})
    assert snapshot(work) == before


def test_a_bare_repository_with_main_checked_out_in_a_worktree_is_refused(tmp_path: Path) -> None:
    bare = tmp_path / "content.git"
    assert cms_run("--repo", str(bare), "init", "--no-token").returncode == 0
    linked = tmp_path / "browse"
    plain_git("--git-dir", str(bare), "worktree", "add", "-q", str(linked), "main")
    result = cms_run("--repo", str(bare), "serve", "--port", str(free_port()))
    assert result.returncode == 1, result.stderr
    assert f"{linked} has main checked out" in result.stderr, result.stderr
    assert "git worktree remove" in result.stderr
    # a worktree on a branch of its own is no risk: git never sees the CMS move it
    plain_git("--git-dir", str(bare), "worktree", "remove", str(linked))
    plain_git("--git-dir", str(bare), "worktree", "add", "-q", "-b", "mine", str(linked))
    assert cms_run("--repo", str(bare), "init", "--no-token").returncode == 0


def test_init_bare_from_makes_a_bare_copy_that_the_checkout_can_pull_from(tmp_path: Path) -> None:
    work = checkout(tmp_path)
    before = snapshot(work)
    bare = tmp_path / "content.git"
    result = cms_run("--repo", str(bare), "init", "--bare-from", str(work))
    assert result.returncode == 0, result.stderr
    assert f"Copied the branches of {work}" in result.stderr
    assert "CMS_TOKEN=cms_" in result.stderr
    assert plain_git("--git-dir", str(bare), "rev-parse", "--is-bare-repository") == "true\n"
    assert plain_git("--git-dir", str(bare), "log", "--format=%s", "main") == "Our old site\n"
    assert (bare / "hooks" / "pre-receive").is_file()  # initialised as usual: the gate
    assert snapshot(work) == before

    secret = re.search(r"CMS_TOKEN=(\S+)", result.stderr)
    assert secret
    client = create_app({"REPO": str(bare), "TESTING": True}).test_client()
    saved = client.post(
        "/api/v1/manage/articles",
        json=article("First story"),
        headers={"Authorization": f"Bearer {secret.group(1)}"},
    )
    assert saved.status_code == 201, saved.get_json()
    assert snapshot(work) == before  # the checkout shows nothing deleted
    plain_git("pull", "-q", str(bare), "main", cwd=work)
    assert (work / "articles").is_dir()
    assert plain_git("status", "--porcelain", cwd=work) == ""


def test_init_bare_from_a_checkout_without_main_starts_main_and_keeps_its_branches(
    tmp_path: Path,
) -> None:
    work = checkout(tmp_path, branch="master")
    bare = tmp_path / "content.git"
    result = cms_run("--repo", str(bare), "init", "--no-token", "--bare-from", str(work))
    assert result.returncode == 0, result.stderr
    assert f"{work} has no branch main" in result.stderr, result.stderr
    assert plain_git("--git-dir", str(bare), "symbolic-ref", "HEAD") == "refs/heads/main\n"
    assert plain_git("--git-dir", str(bare), "log", "--format=%s", "main") == (
        "Initialize content repository\n"
    )
    assert plain_git("--git-dir", str(bare), "log", "--format=%s", "master") == ("Our old site\n")


def test_init_bare_from_a_clone_of_a_content_repository_keeps_its_articles(tmp_path: Path) -> None:
    first = tmp_path / "first.git"
    assert cms_run("--repo", str(first), "init", "--demo", "--no-token").returncode == 0
    work = tmp_path / "work"
    plain_git("clone", "-q", str(first), str(work))
    assert cms_run("--repo", str(work), "init").returncode == 1
    bare = tmp_path / "copy.git"
    result = cms_run("--repo", str(bare), "init", "--no-token", "--bare-from", str(work))
    assert result.returncode == 0, result.stderr
    assert f"{work} has no branch published (a clone has it only as origin/published)" in (
        result.stderr
    )
    assert plain_git("--git-dir", str(bare), "rev-parse", "main") == plain_git(
        "--git-dir", str(first), "rev-parse", "main"
    )
    checked = cms_run("--repo", str(bare), "check")
    assert checked.returncode == 0 and "OK: " in checked.stderr, checked.stderr


def test_init_bare_from_never_overwrites_what_is_at_the_repo_path(tmp_path: Path) -> None:
    work = checkout(tmp_path)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine\n")
    result = cms_run("--repo", str(taken), "init", "--bare-from", str(work))
    assert result.returncode == 1
    assert f"{taken} already exists" in result.stderr, result.stderr
    assert sorted(p.name for p in taken.iterdir()) == ["keep.txt"]

    missing = cms_run(
        "--repo", str(tmp_path / "new.git"), "init", "--bare-from", str(tmp_path / "nowhere")
    )
    assert missing.returncode == 1
    assert "nowhere" in missing.stderr and "Traceback" not in missing.stderr
    assert not (tmp_path / "new.git").exists()
