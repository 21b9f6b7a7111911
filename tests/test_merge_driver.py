"""`cms merge-driver %O %A %B`: a real `git pull` of two clones' edits to one article merges
field by field; a real conflict leaves a file naming the conflicting fields."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from conftest import GIT_ENV, article, cms_command

from cms.content.identity import Person
from cms.content.layout import article_path
from cms.store import ArticleStore


def _doc_block(page: str, heading: str) -> str:
    text = (Path(__file__).parent.parent / "docs" / page).read_text()
    after = text.split(f"\n## {heading.removeprefix('# ')}\n", 1)[1]
    return after.split("```sh\n", 1)[1].split("```", 1)[0]


DOC_BLOCK = _doc_block("editing-together.md", "# Plain git: the merge driver")


def _git(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True
    )


def _clones(repo: Path, tmp_path: Path) -> tuple[str, Path, Path]:
    slug = ArticleStore(str(repo)).create(article(), Person("Eve", "eve@example.org")).slug
    clones = []
    for name in ("ann", "bob"):
        work = tmp_path / name
        assert _git("clone", "-q", str(repo), str(work), cwd=tmp_path).returncode == 0
        # the two lines docs/editing-together.md gives, with this checkout's `cms`
        lines = DOC_BLOCK.replace("'cms ", f"'{cms_command()} ")
        done = subprocess.run(["sh", "-e", "-c", lines], cwd=work, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        _git("config", "pull.rebase", "false", cwd=work)
        clones.append(work)
    return slug, clones[0], clones[1]


def _edit(work: Path, slug: str, message: str, **fields: object) -> None:
    path = work / article_path(slug)
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, **fields}, indent=2, ensure_ascii=False) + "\n")
    assert _git("commit", "-qam", message, cwd=work).returncode == 0


def test_a_pull_of_edits_to_different_fields_merges_cleanly(repo: Path, tmp_path: Path):
    slug, ann, bob = _clones(repo, tmp_path)
    _edit(ann, slug, "Ann's title", title="Ann's title")
    assert _git("push", "-q", "origin", "main", cwd=ann).returncode == 0
    body = json.loads((bob / article_path(slug)).read_text())["body"]
    _edit(
        bob,
        slug,
        "Bob's summary and block",
        summary="Bob's summary",
        body=[body[0], {"type": "paragraph", "text": "Bob's block."}],
    )
    pulled = _git("pull", "-q", "--no-edit", "origin", "main", cwd=bob)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    merged = json.loads((bob / article_path(slug)).read_text())
    assert merged["title"] == "Ann's title"
    assert merged["summary"] == "Bob's summary"
    assert merged["body"][1]["text"] == "Bob's block."
    assert "<<<<<<<" not in (bob / article_path(slug)).read_text()
    assert len(_git("log", "-1", "--format=%P", cwd=bob).stdout.split()) == 2
    # and the merge goes through the gate-less server as a normal push
    assert _git("push", "-q", "origin", "main", cwd=bob).returncode == 0


def test_a_real_conflict_leaves_a_file_naming_the_fields(repo: Path, tmp_path: Path):
    slug, ann, bob = _clones(repo, tmp_path)
    _edit(ann, slug, "Ann's title", title="Ann's title")
    assert _git("push", "-q", "origin", "main", cwd=ann).returncode == 0
    _edit(bob, slug, "Bob's title", title="Bob's title", summary="Bob's summary")
    pulled = _git("pull", "--no-edit", "origin", "main", cwd=bob)
    assert pulled.returncode != 0
    assert "CONFLICT" in pulled.stdout
    assert "both sides changed /title" in pulled.stdout + pulled.stderr
    left = json.loads((bob / article_path(slug)).read_text())
    assert left["conflicts"] == [
        {
            "path": "/title",
            "base": article()["title"],
            "ours": "Bob's title",
            "theirs": "Ann's title",
        }
    ]
    assert left["summary"] == "Bob's summary"


def test_files_that_are_not_articles_fall_back_to_a_line_merge(tmp_path: Path):
    base, ours, theirs = (tmp_path / n for n in ("base", "ours", "theirs"))
    base.write_text("one\ntwo\nthree\n")
    ours.write_text("ONE\ntwo\nthree\n")
    theirs.write_text("one\ntwo\nTHREE\n")
    result = subprocess.run(
        [cms_command(), "merge-driver", str(base), str(ours), str(theirs)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert ours.read_text() == "ONE\ntwo\nTHREE\n"
