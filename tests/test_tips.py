"""Where the two lines point is read in one place, `Repository.tips()`: `published` first, then
`main`, so a publication is never seen before the draft revision it publishes."""

from __future__ import annotations

import ast
import dataclasses
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

import cms
from cms.content import messages
from cms.content.identity import Person
from cms.git.repository import Repository, Tips
from cms.store import ArticleStore
from harness import article

ROOT = Path(cms.__file__).parent.parent
EDITOR = Person("Eve Editor", "eve@example.org")


def test_tips_is_a_small_frozen_value(store: ArticleStore, git: Any) -> None:
    tips = store.repo.tips()
    assert isinstance(tips, Tips)
    assert tips.main == git("rev-parse", "main").strip()
    assert tips.published == git("rev-parse", "published").strip()
    with pytest.raises(dataclasses.FrozenInstanceError):
        tips.main = None  # type: ignore[misc]
    # read like the mapping it replaces: by line, in the lines' order
    assert tips["main"] == tips.main and tips["published"] == tips.published
    assert dict(tips) == {"main": tips.main, "published": tips.published}
    assert tips == store.repo.tips() and hash(tips) == hash(store.repo.tips())
    with pytest.raises(KeyError):
        tips["cms/workflow"]


def test_tips_of_a_repository_without_branches(tmp_path: Path) -> None:
    assert dict(Repository.init(str(tmp_path / "empty")).tips()) == {
        "main": None,
        "published": None,
    }


def test_a_publication_is_never_seen_before_the_revision_it_publishes(
    repo: Path, git: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process saves and publishes a draft right after the first of the two refs is
    read (whichever it is): the tips read must still hold the published commit's draft."""
    other = ArticleStore(str(repo))
    other.publish(other.create(article("Before the read"), EDITOR).slug, EDITOR)
    reader = Repository(str(repo))
    real = reader.ref
    reads: list[str] = []

    def ref(name: str) -> str | None:
        sha = real(name)
        reads.append(name)
        if len(reads) == 1:
            other.publish(other.create(article("During the read"), EDITOR).slug, EDITOR)
        return sha

    monkeypatch.setattr(reader, "ref", ref)
    tips = reader.tips()
    assert reads == ["published", "main"]
    assert tips.published is not None and tips.main is not None
    revision = messages.trailers(git("log", "-1", "--format=%B", tips.published)).get("Revision")
    assert revision is not None
    ancestor = subprocess.run(
        ["git", "--git-dir", str(repo), "merge-base", "--is-ancestor", revision, tips.main],
        capture_output=True,
    )
    assert ancestor.returncode == 0, f"{tips} holds a publication of {revision}, not its draft"


TWO_REFS = re.compile(r"""ref\((?:MAIN|PUBLISHED|"main"|"published"|'main'|'published')\)""")
PER_LINE = re.compile(r"""ref\(line\)|read_ref\(.*heads/\{line\}""")


def two_ref_reads() -> list[str]:
    """Functions outside `Repository.tips()` that read both branches themselves."""
    found = []
    for folder in ("cms", "bench", "harness", "soak"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "cms" / "git" / "repository.py":
                continue
            text = path.read_text()
            if not TWO_REFS.search(text) and not PER_LINE.search(text):
                continue  # no function of this file can match (and get_source_segment is slow)
            for node in ast.walk(ast.parse(text)):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                    continue
                source = ast.get_source_segment(text, node) or ""
                named = {m.group(0) for m in TWO_REFS.finditer(source)}
                lines = {"main" if "MAIN" in n.upper() else "published" for n in named}
                if len(lines) == 2 or PER_LINE.search(source):
                    where = getattr(node, "name", "lambda")
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {where}")
    return sorted(set(found))


def test_both_refs_are_read_in_one_place() -> None:
    assert two_ref_reads() == []
