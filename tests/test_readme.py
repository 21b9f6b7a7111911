"""The README and the pages under docs/: their commands work as written, against a real `cms
serve` where they need one, every command block is run by some test or says why not, and
every relative link and anchor resolves."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import GIT_ENV, cms_command

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
# Pages written elsewhere, read but never walked for command blocks or named paths:
# architecture.md is kept by others, configuration.md is generated from cms/settings.py.
NOT_OURS = {"docs/architecture.md", "docs/configuration.md"}
# A page other work brings (the settings branch generates it with `python -m cms.settings
# --docs`): a link to it may point at nothing only while it does not exist yet.
COMING = {"docs/configuration.md"}
COMMAND_LANGUAGES = {"sh", "python", "js"}


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository's root
    heading: str  # the nearest heading above it
    language: str
    text: str


def pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix() if page.is_relative_to(ROOT) else str(page)


def parse(page: Path) -> tuple[list[str], list[Block]]:
    """The page's headings (outside code), and its fenced code blocks in order."""
    headings: list[str] = []
    found: list[Block] = []
    fence: list[str] | None = None
    language = ""
    for line in page.read_text().splitlines():
        if fence is None and line.startswith("```"):
            fence, language = [], line[3:].strip()
        elif fence is not None and line.startswith("```"):
            found.append(
                Block(
                    name(page), headings[-1] if headings else "", language, "\n".join(fence) + "\n"
                )
            )
            fence = None
        elif fence is not None:
            fence.append(line)
        elif m := re.match(r"#{1,6} (.+)", line):
            headings.append(m.group(1).strip())
    return headings, found


def block(page: str, heading: str, language: str = "sh") -> str:
    """The first `language` block under `heading` on `page`."""
    for b in parse(ROOT / page)[1]:
        if b.heading == heading and b.language == language:
            return b.text
    raise AssertionError(f"no {language} block under {heading!r} in {page}")


def bash(script: str, cwd: Path, env: dict[str, str], timeout: int = 120) -> str:
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return ran.stdout + ran.stderr


def shell_env(**extra: str) -> dict[str, str]:
    """This environment with plain git's identity and the `cms` command on PATH."""
    path = f"{Path(cms_command()).parent}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, **GIT_ENV, "PATH": path, **extra}


# Every command block of README.md and docs/*.md, by (page, heading, its number among the
# command blocks under that heading): the test of this file that runs it, another test file
# that runs it, or why it is not run.
ACCOUNTED = {
    ("README.md", "Git CMS", 0): "test_the_first_commands_are_make_run_and_make_test",
    ("README.md", "A tour with curl", 0): "test_readme_tour_then_git_commands",
    ("README.md", "Reading the history with git", 0): "test_readme_tour_then_git_commands",
    ("README.md", "Docker", 0): "not run: no Docker engine runs where this is developed",
    ("docs/tour.md", "A tour with curl", 0): "test_whole_tour_then_git_commands",
    (
        "docs/git-and-the-gate.md",
        "Reading the history with git",
        0,
    ): "test_whole_tour_then_git_commands",
    (
        "docs/git-and-the-gate.md",
        "Reading the history with git",
        1,
    ): "not run: an outline (clone, edit a file by hand, push); tests/test_gate.py pushes",
    ("docs/git-and-the-gate.md", "Signed commits", 0): "test_signed_commits_block",
    (
        "docs/frontends.md",
        "For frontends",
        0,
    ): "not run: a browser's fetch; tests/test_frontend.py drives examples/frontend",
    (
        "docs/frontends.md",
        "For frontends",
        1,
    ): "not run: a server that runs until stopped; tests/test_frontend.py serves the page",
    ("docs/media.md", "Media", 0): "tests/test_media.py",
    ("docs/migration.md", "Migration: import and export", 0): "test_migration_block",
    (
        "docs/webhooks.md",
        "Webhooks",
        0,
    ): "not run: placeholders (a receiver on example.org, ids to fill in)",
    ("docs/webhooks.md", "Webhooks", 1): "tests/test_webhooks.py",
    (
        "docs/replication.md",
        "Mirrors and read replicas",
        0,
    ): "not run: placeholders (git.example.org); tests/test_replicas.py and "
    "tests/test_mirrors.py run a mirror and a replica",
    ("docs/editing-together.md", "Plain git: the merge driver", 0): "tests/test_merge_driver.py",
    ("docs/deploying.md", "Docker", 0): "not run: no Docker engine runs where this is developed",
    ("docs/caches.md", "Sending purges", 0): "tests/test_surrogate_keys.py",
    (
        "docs/caches.md",
        "Behind Varnish",
        0,
    ): "not run: sudo and /etc/varnish; tests/test_edge.py runs varnishd with the same VCL",
}


def command_blocks() -> dict[tuple[str, str, int], Block]:
    found: dict[tuple[str, str, int], Block] = {}
    for page in pages():
        if name(page) in NOT_OURS:
            continue
        counts: dict[str, int] = {}
        for b in parse(page)[1]:
            if b.language in COMMAND_LANGUAGES:
                n = counts[b.heading] = counts.get(b.heading, -1) + 1
                found[(b.page, b.heading, n)] = b
    return found


def test_every_command_block_is_accounted_for():
    found = command_blocks()
    assert [key for key in found if key not in ACCOUNTED] == [], "blocks no test accounts for"
    assert [key for key in ACCOUNTED if key not in found] == [], "accounted for, not found"
    for key, how in ACCOUNTED.items():
        if how.startswith("not run: "):
            continue
        if how.startswith("tests/"):  # another test file reads the block from this page
            text = (ROOT / how).read_text()
            assert f'"{Path(key[0]).name}"' in text and f'"# {key[1]}"' in text, how
        else:
            assert callable(globals().get(how)), f"no test {how} here"


def test_the_first_commands_are_make_run_and_make_test():
    first = re.search(r"```sh\n(.*?)```", README.read_text(), re.S)
    assert first is not None
    assert [line.split("#")[0].strip() for line in first.group(1).splitlines()] == [
        "make run",
        "make test",
    ]


def test_the_readme_stays_short():
    assert len(README.read_text().splitlines()) <= 200


def test_readme_tour_then_git_commands(repo, server, admin_secret):
    tour = block("README.md", "A tour with curl").replace(
        "export CMS_URL=http://127.0.0.1:8000", f"export CMS_URL={server}"
    )
    out = bash(tour, repo.parent, shell_env(CMS_TOKEN=admin_secret))
    assert '"status":"ok"' in out
    assert "about:blank" not in out  # no call in the tour answered with an error
    assert '"slug":"bridge-reopens-after-repairs"' in out
    assert '"state":"published"' in out
    assert '"reading_time_minutes":1' in out  # the public answer, without a token
    assert '"action":"publish"' in out and '"action":"create"' in out

    out = bash(block("README.md", "Reading the history with git"), repo.parent, shell_env())
    assert "Create bridge-reopens-after-repairs" in out
    assert "Publish bridge-reopens-after-repairs" in out
    assert '+  "title": "Bridge reopens after repairs",' in out


def test_whole_tour_then_git_commands(repo, server, admin_secret):
    subprocess.run(
        [cms_command(), "--repo", str(repo), "init", "--demo", "--no-token"],
        check=True,
        capture_output=True,
    )
    tour = block("docs/tour.md", "A tour with curl").replace(
        "export CMS_URL=http://127.0.0.1:8000", f"export CMS_URL={server}"
    )
    out = bash(tour, repo.parent, shell_env(CMS_TOKEN=admin_secret))
    assert '"status":"ok"' in out
    assert "about:blank" not in out  # no call in the tour answered with an error
    assert '"slug":"bridge-reopens-after-repairs"' in out
    assert '"summary":"Traffic is back on the old bridge."' in out
    assert '"title":"Bridge reopens after eleven weeks"' in out
    assert '"op":"replace","path":"/title"' in out
    assert out.count('"action":"create"') >= 1
    assert "\n204\n" in out
    assert '"state":"published"' in out
    # created and published in one call
    assert '"slug":"ferry-timetable-changes"' in out
    assert out.count('"state":"published"') >= 2
    # scheduling the live article keeps it published, the schedule pending in meta
    assert '"state":"scheduled"' not in out and '"publish_at":"2031-01-01T09:00:00Z"}' in out
    assert '"reading_time_minutes":1' in out
    assert "'/api/v1/manage/articles/{slug}/restore'" in out

    git_block = block("docs/git-and-the-gate.md", "Reading the history with git")
    out = bash(git_block, repo.parent, shell_env(), timeout=60)
    assert "Delete bridge-reopens-after-repairs" in out
    assert "Restore bridge-reopens-after-repairs to" in out
    assert "Publish bridge-reopens-after-repairs" in out
    assert '+  "summary": "Traffic is back on the old bridge.",' in out
    assert '"slug": "riverside-library-reopens-after-renovation"' in out


def test_signed_commits_block(tmp_path):
    key = tmp_path / "keys" / "cms-signing-key"
    key.parent.mkdir()
    script = block("docs/git-and-the-gate.md", "Signed commits").replace(
        "/srv/cms-signing-key", str(key)
    )
    assert str(key) in script
    out = bash(script, tmp_path, shell_env(CMS_REPO=str(tmp_path / "content-repo")))
    assert 'Good "git" signature for cms@localhost with ED25519 key SHA256:' in out
    assert (tmp_path / "content-repo" / "cms" / "allowed_signers").exists()


def test_migration_block(tmp_path):
    records = [
        {
            "title": "Harbour festival returns",
            "published_at": "2024-05-01T09:00:00Z",
            "body": [{"type": "paragraph", "text": "Boats and music on the quay."}],
        },
        {
            "title": "Council votes on the budget",
            "published_at": "2025-02-03T18:30:00Z",
            "body": [{"type": "paragraph", "text": "The vote was close."}],
        },
    ]
    (tmp_path / "archive.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    env = shell_env(CMS_REPO=str(tmp_path / "content-repo"))
    subprocess.run([cms_command(), "init", "--no-token"], env=env, check=True, capture_output=True)
    new = tmp_path / "srv" / "new"
    script = block("docs/migration.md", "Migration: import and export").replace(
        "/srv/new", str(new)
    )
    out = bash(script, tmp_path, env)
    assert out.count("2 created, 0 updated, 0 unchanged, 2 published") == 2
    assert "Exported 2 articles to site.json" in out
    assert json.loads((tmp_path / "site.json").read_text())[0]["meta"]["state"] == "published"
    moved = subprocess.run(
        ["git", "--git-dir", str(new), "log", "--format=%ad %s", "--date=short", "published"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert moved[:2] == [
        "2025-02-03 Publish council-votes-on-the-budget",
        "2024-05-01 Publish harbour-festival-returns",
    ]


def anchor(heading: str) -> str:
    """The anchor a heading gets on GitHub: lower case, no punctuation, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor; a repeated one gets -1, -2 ... as on GitHub."""
    found: set[str] = set()
    counts: dict[str, int] = {}
    for heading in parse(page)[0]:
        slug = anchor(heading)
        n = counts[slug] = counts.get(slug, -1) + 1
        found.add(f"{slug}-{n}" if n else slug)
    return found


def links(page: Path) -> list[str]:
    """The targets of the page's markdown links and images, outside code."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_every_relative_link_and_anchor_resolves():
    broken = []
    for page in pages():
        for target in links(page):
            if re.match(r"[a-z][a-z+.-]*:", target):  # https:, mailto: ...
                continue
            path, _, fragment = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            shown = f"{name(page)}: {target}"
            if not file.exists():
                coming = name(file) in COMING and not fragment
                if not coming:
                    broken.append(f"{shown}: no such file")
            elif fragment and fragment not in anchors(file):
                broken.append(f"{shown}: no heading #{fragment} in {name(file)}")
    assert not broken, "\n".join(broken)


def test_the_checks_catch_a_broken_link_and_a_wrong_anchor(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# A page\n\n## What survives what\n\n[x](missing.md) [y](#what-survives)\n"
        "```sh\n[not a link](nowhere.md)\n```\n"
    )
    assert links(page) == ["missing.md", "#what-survives"]
    assert anchors(page) == {"a-page", "what-survives-what"}
    assert anchor("Migration: import and export") == "migration-import-and-export"


@pytest.mark.parametrize("page", [p for p in pages() if name(p) not in NOT_OURS], ids=name)
def test_every_file_a_page_names_exists(page):
    named = re.findall(
        r"`((?:cms|tests|bench|soak|harness|examples|workbench|docs)/[^`\s]*)`", page.read_text()
    )
    files = [p for p in named if re.search(r"\.\w+$|/$", p)]  # not branch names (cms/workflow)
    assert [p for p in files if not (ROOT / p).exists()] == []
