"""Signed CMS commits: with CMS_SIGNING_KEY, `git log --show-signature` tells the CMS's own
commits from anyone else's."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import GIT_ENV, article, cms_command
from gitcraft import good, run

from cms.auth.tokens import TokenStore
from cms.web import create_app


def test_the_cms_signs_its_commits_and_git_verifies_them(tmp_path: Path):
    key = tmp_path / "cms-key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cms", "-f", str(key)], check=True
    )
    repo = tmp_path / "content-repo"
    env = {**os.environ, "CMS_SIGNING_KEY": str(key)}
    made = subprocess.run(
        [cms_command(), "--repo", str(repo), "init", "--no-token"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    app = create_app(
        {"REPO": str(repo), "TESTING": True, "RATELIMIT_ENABLED": False, "SIGNING_KEY": str(key)}
    )
    _, secret = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    created = app.test_client().post(
        "/api/v1/manage/articles", json=article(), headers={"Authorization": f"Bearer {secret}"}
    )
    assert created.status_code == 201
    shown = subprocess.run(
        ["git", "--git-dir", str(repo), "log", "--show-signature", "-1", "main"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert 'Good "git" signature for cms@localhost' in shown.stdout + shown.stderr
    assert (
        subprocess.run(
            ["git", "--git-dir", str(repo), "verify-commit", "main"], capture_output=True
        ).returncode
        == 0
    )

    # a commit pushed with plain git is not the CMS's: it has no signature git accepts
    work = tmp_path / "work.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(work)], check=True)
    pushed = good(work, run(work, "rev-parse", "main"))
    subprocess.run(
        ["git", "--git-dir", str(work), "push", "-q", "origin", f"{pushed}:refs/heads/main"],
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    assert (
        subprocess.run(
            ["git", "--git-dir", str(repo), "verify-commit", pushed], capture_output=True
        ).returncode
        != 0
    )
