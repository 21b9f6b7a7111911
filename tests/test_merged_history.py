"""A merged save (`Prefer: merge`) leaves a merge commit on `main`; revisions, diff, restore,
webhooks, mirrors and the gate all keep working on that history."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from click.testing import CliRunner
from conftest import GIT_ENV, article, cms_command

from cms.cli.main import main
from cms.content.identity import Person
from cms.content.layout import article_path
from cms.git.repository import Repository
from cms.store import ArticleStore
from cms.webhooks import feed

EVE = Person("Eve Editor", "eve@example.org")
ADA = Person("Ada Admin", "ada@example.org")


def _git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def merged_save(store: ArticleStore) -> tuple[str, str, str]:
    """Eve creates, Ada changes the title, Eve's stale summary edit is merged: the slug,
    the revision Eve started from and the merge revision."""
    made = store.create(article(), EVE)
    store.patch(made.slug, {"title": "Ada's title"}, ADA, {made.etag})
    merged = store.patch(made.slug, {"summary": "Eve's summary"}, EVE, {made.etag}, merge=True)
    assert merged.meta["merged"] == {"theirs": ["/title"], "yours": ["/summary"]}
    return made.slug, made.meta["revision"], merged.meta["revision"]


def test_revisions_list_the_merge_once_by_its_editor(store: ArticleStore, repo: Path):
    slug, _, merge = merged_save(store)
    items, total = store.revisions(slug)
    assert total == 3
    assert [(i["revision"], i["author"]["name"]) for i in items][0] == (merge, "Eve Editor")
    assert [i["action"] for i in items] == ["update", "update", "create"]
    # a fresh index built from git alone agrees (it walks main by first parents)
    for stale in (repo / "cms").glob("index.sqlite*"):
        stale.unlink()
    again = ArticleStore(str(repo))
    assert again.revisions(slug)[1] == 3
    assert again.get(slug).fields["title"] == "Ada's title"


def test_diff_and_restore_across_the_merge(store: ArticleStore):
    slug, start, merge = merged_save(store)
    changes = store.reading.diff(slug, start, merge)["changes"]
    assert {c["path"] for c in changes} == {"/title", "/summary"}
    current = store.get(slug)
    restored = store.drafts.restore(slug, start, ADA, {current.etag})
    assert restored.fields["title"] == article()["title"]
    assert "summary" not in restored.fields


def test_webhooks_see_one_update_for_the_merge(store: ArticleStore, repo: Path):
    made = store.create(article(), EVE)
    before = store.repo.tips()
    store.patch(made.slug, {"title": "Ada's title"}, ADA, {made.etag})
    store.patch(made.slug, {"summary": "Eve's summary"}, EVE, {made.etag}, merge=True)
    after = store.repo.tips()
    events, _ = feed.pending(
        Repository(str(repo)), dict(before), dict(after), store.writes.committer.email
    )
    bodies = [json.loads(e.body) for e in events]
    assert [(b["type"], b["data"]["slug"]) for b in bodies] == [
        ("article.updated", made.slug),
        ("article.updated", made.slug),
    ]
    assert bodies[-1]["data"]["revision"] == after["main"]


def test_a_mirror_receives_the_merge_and_both_sides(
    store: ArticleStore, repo: Path, tmp_path: Path
):
    _, _, merge = merged_save(store)
    mirror = tmp_path / "mirror.git"
    _git("init", "-q", "--bare", "--initial-branch=main", str(mirror))
    runner = CliRunner()
    added = runner.invoke(
        main,
        ["--repo", str(repo), "mirror", "add", "backup", f"file://{mirror}"],
        catch_exceptions=False,
    )
    assert added.exit_code == 0, added.output
    pushed = runner.invoke(main, ["--repo", str(repo), "mirror", "push"], catch_exceptions=False)
    assert pushed.output == "backup: pushed\n"
    assert _git("--git-dir", str(mirror), "rev-parse", "main") == merge
    parents = _git("--git-dir", str(mirror), "log", "-1", "--format=%P", "main").split()
    assert len(parents) == 2


def test_the_gate_accepts_pushes_on_top_of_a_merged_save(tmp_path: Path):
    repo = tmp_path / "gated"
    init = subprocess.run(
        [cms_command(), "--repo", str(repo), "init", "--no-token"],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    )
    assert init.returncode == 0, init.stderr
    store = ArticleStore(str(repo))
    slug, _, merge = merged_save(store)
    work = tmp_path / "work"
    _git("clone", "-q", str(repo), str(work))
    path = work / article_path(slug)
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "summary": "By hand"}, indent=2) + "\n")
    _git("commit", "-qam", "Edit by hand", cwd=work)
    result = subprocess.run(
        ["git", "push", "origin", "main"],
        cwd=work,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    )
    assert result.returncode == 0, result.stderr
    assert _git("--git-dir", str(repo), "log", "-1", "--format=%P", "main") == merge
