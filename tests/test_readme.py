"""The README's curl tour and git commands work as written, against a real `cms serve`."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from conftest import GIT_ENV, cms_command

README = Path(__file__).parent.parent / "README.md"


def block_after(heading: str) -> str:
    text = README.read_text()
    section = text[text.index(heading):]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, f"no sh block after {heading}"
    return match.group(1)


def test_the_first_commands_are_make_run_and_make_test():
    first = re.search(r"```sh\n(.*?)```", README.read_text(), re.S)
    assert first is not None
    assert [line.split("#")[0].strip() for line in first.group(1).splitlines()] == [
        "make run", "make test"
    ]


def test_curl_tour_then_git_commands(repo, server, admin_secret):
    subprocess.run([cms_command(), "--repo", str(repo), "init", "--demo", "--no-token"],
                   check=True, capture_output=True)
    tour = block_after("## A tour with curl").replace(
        "export CMS_URL=http://127.0.0.1:8000", f"export CMS_URL={server}"
    )
    env = {**os.environ, **GIT_ENV, "CMS_TOKEN": admin_secret}
    ran = subprocess.run(["bash", "-euo", "pipefail", "-c", tour], env=env,
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    out = ran.stdout
    assert '"status":"ok"' in out
    assert "about:blank" not in out  # no call in the tour answered with an error
    assert '"slug":"bridge-reopens-after-repairs"' in out
    assert '"summary":"Traffic is back on the old bridge."' in out
    assert '"title":"Bridge reopens after eleven weeks"' in out
    assert '"op":"replace","path":"/title"' in out
    assert out.count('"action":"create"') >= 1
    assert "\n204\n" in out
    assert '"state":"published"' in out
    # scheduling the live article keeps it published, the schedule pending in meta
    assert '"state":"scheduled"' not in out and '"publish_at":"2031-01-01T09:00:00Z"}' in out
    assert '"reading_time_minutes":1' in out
    assert "'/api/v1/manage/articles/{slug}/restore'" in out

    git_block = block_after("## Reading the history with git")
    ran = subprocess.run(["bash", "-euo", "pipefail", "-c", git_block], cwd=repo.parent,
                         env=env, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert "Delete bridge-reopens-after-repairs" in ran.stdout
    assert "Restore bridge-reopens-after-repairs to" in ran.stdout
    assert "Publish bridge-reopens-after-repairs" in ran.stdout
    assert "+  \"summary\": \"Traffic is back on the old bridge.\"," in ran.stdout
    assert '"slug": "riverside-library-reopens-after-renovation"' in ran.stdout
