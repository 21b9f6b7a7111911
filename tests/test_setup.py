"""Getting it running: `make run` and the Docker set-up do what a new user and an operator
expect (issue 12, items 13 and 14)."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
from pathlib import Path

from conftest import GIT_ENV, cms_command

ROOT = Path(__file__).parent.parent
ENV = {**{k: v for k, v in os.environ.items() if k != "CMS_REPO"}, **GIT_ENV,
       "GIT_CONFIG_GLOBAL": os.devnull}


def make_dry_run(*args: str) -> str:
    """What `make run` would do from scratch (-B: as if nothing were installed yet)."""
    return subprocess.run(["make", "-n", "-B", "-C", str(ROOT), *args], env=ENV, check=True,
                          capture_output=True, text=True).stdout


def test_make_run_installs_only_what_serving_needs():
    commands = make_dry_run("run")
    installs = [line for line in commands.splitlines() if "pip install" in line]
    assert installs, commands
    assert not any("[dev]" in line or "[bench]" in line for line in installs), installs
    assert "cms serve --host 127.0.0.1 --port 8000" in commands


def test_make_run_takes_port_and_host():
    commands = make_dry_run("run", "PORT=8080", "HOST=0.0.0.0")
    assert "cms serve --host 0.0.0.0 --port 8080" in commands


def test_a_busy_port_is_a_clear_error(repo):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([cms_command(), "--repo", str(repo), "serve", "--port",
                                 str(port)], env=ENV, capture_output=True, text=True,
                                timeout=60)
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
        result = subprocess.run([cms_command(), *argv[1:]], env={**ENV, "CMS_REPO": str(repo)},
                                capture_output=True, text=True, check=True, timeout=60)
        assert "cms_" not in result.stdout + result.stderr  # no secret in the container log
    log = subprocess.run(["git", "--git-dir", str(repo), "log", "--format=%s", "--all"],
                         env=ENV, capture_output=True, text=True, check=True).stdout
    assert log.splitlines() == ["Initialize content repository"]


def test_compose_is_durable_and_the_readme_says_how_to_get_a_token():
    compose = (ROOT / "docker-compose.yml").read_text()
    assert re.search(r"CMS_DURABLE:\s*\"?true\"?", compose), compose
    readme = (ROOT / "README.md").read_text()
    docker = readme[readme.index("## Docker"):]
    assert "docker compose exec cms cms token create" in docker
    assert "CMS_DURABLE" in docker
