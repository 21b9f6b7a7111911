"""The git gate: real `git push`es into a bare repository made by `cms init`, through the
pre-receive hook it installs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import GIT_ENV, cms_command
from gitcraft import BAD, PATH, SLUG, commit, good, run, with_files

from cms.auth.tokens import TokenStore
from cms.web import create_app


def cms(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [cms_command(), "--repo", str(repo), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    )


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A content repository made by `cms init`, gate installed; tests copy it."""
    repo = tmp_path_factory.mktemp("gate") / "content-repo"
    result = cms(repo, "init", "--no-token")
    assert result.returncode == 0, result.stderr
    return repo


@pytest.fixture
def server(initialised: Path, tmp_path: Path) -> Path:
    repo = tmp_path / "server"
    shutil.copytree(initialised, repo, symlinks=True)
    return repo


@pytest.fixture
def work(server: Path, tmp_path: Path) -> Path:
    """A clone of the server's repository (its git dir) to push from."""
    clone = tmp_path / "work.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(server), str(clone)], check=True)
    return clone


def refs(repo: Path) -> str:
    return run(repo, "for-each-ref", "--format=%(refname) %(objectname)")


def push(work: Path, *refspecs: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "--git-dir", str(work), "push", "origin", *refspecs],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    )


def test_init_installs_the_hook_and_fsck_and_is_idempotent(server: Path):
    hook = server / "hooks" / "pre-receive"
    first = hook.read_text()
    assert os.access(hook, os.X_OK)
    assert run(server, "config", "receive.fsckObjects") == "true"
    assert run(server, "config", "cms.committerEmail") == "cms@localhost"
    again = cms(server, "init", "--no-token")
    assert again.returncode == 0, again.stderr
    assert hook.read_text() == first
    assert run(server, "config", "--get-all", "receive.fsckObjects") == "true"


def test_init_on_an_existing_repository_without_the_gate_installs_it(tmp_path: Path):
    repo = tmp_path / "old"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(repo)], check=True)
    result = cms(repo, "init", "--no-token")
    assert result.returncode == 0, result.stderr
    assert (repo / "hooks" / "pre-receive").exists()
    assert run(repo, "config", "receive.fsckObjects") == "true"


def test_init_leaves_a_hook_it_did_not_write_alone(server: Path):
    hook = server / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 0\n")
    result = cms(server, "init", "--no-token")
    assert result.returncode == 1
    assert "was not installed by `cms init`" in result.stderr
    assert hook.read_text() == "#!/bin/sh\nexit 0\n"


def test_a_good_push_is_accepted_and_shown_as_external(server: Path, work: Path):
    sha = good(work, run(work, "rev-parse", "main"))
    result = push(work, f"{sha}:refs/heads/main")
    assert result.returncode == 0, result.stderr
    assert run(server, "rev-parse", "main") == sha
    app = create_app({"REPO": str(server), "TESTING": True, "RATELIMIT_ENABLED": False})
    _, secret = TokenStore(str(server)).create("Eve Editor", "eve@example.org", "editor")
    revisions = app.test_client().get(
        f"/api/v1/manage/articles/{SLUG}/revisions", headers={"Authorization": f"Bearer {secret}"}
    )
    assert revisions.status_code == 200
    assert [(r["revision"], r["action"]) for r in revisions.get_json()["items"]] == [
        (sha, "external")
    ]


def test_a_merge_of_good_work_is_accepted(server: Path, work: Path):
    base = run(work, "rev-parse", "main")
    ours = good(work, base)
    theirs = with_files(work, base, {"README.md": b"# Newsroom\n"})
    merged_tree = run(work, "merge-tree", "--write-tree", ours, theirs)
    merge = commit(work, merged_tree, [ours, theirs])
    result = push(work, f"{merge}:refs/heads/main")
    assert result.returncode == 0, result.stderr
    assert run(server, "rev-parse", "main") == merge


@pytest.mark.parametrize("bad", BAD, ids=[b.name for b in BAD])
def test_a_bad_push_is_refused_whole_naming_the_problem(server: Path, work: Path, bad):
    base = run(work, "rev-parse", "main")
    before = refs(server)
    # a good commit first and the bad one on top: the whole push is refused
    sha = bad.build(work, good(work, base), SLUG)
    result = push(work, f"{sha}:refs/heads/main", f"{sha}:refs/heads/published")
    assert result.returncode != 0
    assert f"-> main ({bad.declined})" in result.stderr
    assert bad.said(sha) in result.stderr
    assert bad.also in result.stderr
    assert refs(server) == before


def test_every_problem_is_one_line(server: Path, work: Path):
    base = run(work, "rev-parse", "main")
    bad = with_files(
        work,
        base,
        {PATH: b"{", "README.md": b"x" * (1024 * 1024 + 1), "media/photo.jpg": b"\xff\xd8"},
        message=b"Many things\x07\n",
    )
    result = push(work, f"{bad}:refs/heads/main")
    lines = [
        line.removeprefix("remote: ").rstrip()
        for line in result.stderr.splitlines()
        if line.startswith("remote: ")
    ]
    assert lines == [
        "The CMS refused this push (4 problem(s)); nothing was changed:",
        f"commit {bad[:7]}: message: Control character U+0007 is not allowed.",
        "README.md: size: 1048577 bytes is over the limit of 1048576 bytes for this file.",
        f"{PATH}: _schema: Not valid JSON: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1).",
        "media/photo.jpg: path: Not a media file name: media/<xx>/<sha256>.<jpg|png|webp|gif>, "
        "xx the first two hex digits of the SHA-256 of the file's bytes.",
    ]


def test_pushes_to_other_refs_and_deletions_are_refused(server: Path, work: Path):
    before = refs(server)
    sha = good(work, run(work, "rev-parse", "main"))
    result = push(work, f"{sha}:refs/heads/feature", f"{sha}:refs/tags/v1", ":published")
    assert result.returncode != 0
    for line in (
        "refs/heads/feature: ref: Only main and published can be pushed to.",
        "refs/tags/v1: ref: Only main and published can be pushed to.",
        "refs/heads/published: ref: published cannot be deleted.",
    ):
        assert line in result.stderr
    assert refs(server) == before


def test_moving_main_back_onto_unchecked_content_is_refused(server: Path, work: Path):
    """A bad commit planted on the server past the gate (here on a side ref) cannot be made
    the tip of main by a push that brings no new commit."""
    base = run(server, "rev-parse", "main")
    string_body = next(b for b in BAD if b.name == "string-body")
    planted = string_body.build(server, base, SLUG)
    run(server, "update-ref", "refs/planted", planted)
    run(work, "fetch", "-q", "origin", "refs/planted:refs/planted")
    result = push(work, f"{planted}:refs/heads/main")
    assert result.returncode != 0
    assert f"{PATH}: body: Not a valid list." in result.stderr
    assert run(server, "rev-parse", "main") == base


def test_the_identity_cms_init_recorded_is_refused_without_the_servers_environment(tmp_path: Path):
    repo = tmp_path / "custom"
    made = subprocess.run(
        [cms_command(), "--repo", str(repo), "init", "--no-token"],
        capture_output=True,
        text=True,
        env={**os.environ, "CMS_COMMITTER_EMAIL": "robot@news.example"},
    )
    assert made.returncode == 0, made.stderr
    work = tmp_path / "work.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(work)], check=True)
    base = run(work, "rev-parse", "main")
    tree = run(work, "rev-parse", f"{good(work, base)}^{{tree}}")
    sha = commit(
        work, tree, [base], committer=b"Newsroom Robot <robot@news.example> 1767225600 +0000"
    )
    result = push(work, f"{sha}:refs/heads/main")  # the pusher's environment has no CMS_*
    assert (
        f"commit {sha[:7]}: committer: <robot@news.example> is the CMS's own identity"
        in result.stderr
    )
    assert run(repo, "rev-parse", "main") == base


def _pushed_articles(work: Path, docs: dict[str, dict[str, Any]]) -> str:
    from gitcraft import article_doc

    from cms.content import layout

    return with_files(
        work,
        run(work, "rev-parse", "main"),
        {
            layout.article_path(slug): json.dumps(article_doc(slug, **fields)).encode()
            for slug, fields in docs.items()
        },
    )


def test_a_group_in_three_languages_pushed_with_plain_git_is_accepted(server: Path, work: Path):
    sha = _pushed_articles(
        work,
        {
            "vote": {"language": "en"},
            "vote-ru": {"language": "ru", "translation_of": "vote"},
            "vote-de": {"language": "de", "translation_of": "vote"},
        },
    )
    result = push(work, f"{sha}:refs/heads/main")
    assert result.returncode == 0, result.stderr
    assert run(server, "rev-parse", "main") == sha


def test_the_gate_refuses_a_translation_of_a_translation(server: Path, work: Path):
    before = run(server, "rev-parse", "main")
    sha = _pushed_articles(
        work,
        {
            "vote": {"language": "en"},
            "vote-ru": {"language": "ru", "translation_of": "vote"},
            "vote-uk": {"language": "uk", "translation_of": "vote-ru"},
        },
    )
    result = push(work, f"{sha}:refs/heads/main")
    assert result.returncode != 0
    assert "vote-uk.json: translation_of: 'vote-ru' is itself a translation" in result.stderr
    assert run(server, "rev-parse", "main") == before

    second = _pushed_articles(
        work,
        {
            "vote": {"language": "en"},
            "vote-ru": {"language": "ru", "translation_of": "vote"},
            "vote-ru2": {"language": "ru", "translation_of": "vote"},
        },
    )
    result = push(work, f"{second}:refs/heads/main")
    assert result.returncode != 0 and ": language: 'vote' already has a translation" in (
        result.stderr
    )
    assert run(server, "rev-parse", "main") == before


def _without(work: Path, parent: str, path: str) -> str:
    """A commit on `parent` deleting `path`, made with git's plumbing."""
    index = work / "delete-index"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        run(work, "read-tree", parent, env=env)
        # mode 0 removes the entry (--force-remove would want a work tree)
        run(work, "update-index", "--index-info", data=f"0 {'0' * 40}\t{path}\n".encode(), env=env)
        tree = run(work, "write-tree", env=env)
    finally:
        index.unlink(missing_ok=True)
    return commit(work, tree, [parent])


def test_a_source_deleted_with_plain_git_leaves_its_translations_editable(server: Path, work: Path):
    from cms.content import layout

    group = _pushed_articles(
        work,
        {
            "vote": {"language": "en"},
            "vote-ru": {"language": "ru", "translation_of": "vote"},
        },
    )
    assert push(work, f"{group}:refs/heads/main").returncode == 0
    deleted = _without(work, group, layout.article_path("vote"))
    result = push(work, f"{deleted}:refs/heads/main")
    assert result.returncode == 0, result.stderr
    run(work, "update-ref", "refs/heads/main", deleted)

    # an edit of the translation that keeps its link to the deleted source is accepted
    edited = _pushed_articles(
        work, {"vote-ru": {"language": "ru", "translation_of": "vote", "title": "Выборы"}}
    )
    result = push(work, f"{edited}:refs/heads/main")
    assert result.returncode == 0, result.stderr
    assert run(server, "rev-parse", "main") == edited
    run(work, "update-ref", "refs/heads/main", edited)

    # a new link to the deleted slug is refused
    linked = _pushed_articles(work, {"vote-de": {"language": "de", "translation_of": "vote"}})
    result = push(work, f"{linked}:refs/heads/main")
    assert result.returncode != 0
    assert "vote-de.json: translation_of: There is no article 'vote'" in result.stderr
    assert run(server, "rev-parse", "main") == edited


def test_the_gate_sees_translations_the_cms_wrote_since_the_last_push(server: Path, work: Path):
    # the gate keeps the links of main's tip a push found, and moves them on by a tree diff:
    # a translation the CMS wrote in between must be among them
    from cms.content.identity import Person
    from cms.store import ArticleStore

    sha = _pushed_articles(work, {"vote": {"language": "en"}})
    assert push(work, f"{sha}:refs/heads/main").returncode == 0
    run(work, "update-ref", "refs/heads/main", sha)
    first = _pushed_articles(work, {"vote-ru": {"language": "ru", "translation_of": "vote"}})
    assert push(work, f"{first}:refs/heads/main").returncode == 0
    store = ArticleStore(str(server))
    doc = {"slug": "vote-de", "title": "Wahl", "language": "de", "translation_of": "vote"}
    store.create({**doc, "body": [{"type": "paragraph", "text": "Text."}]}, Person("E", "e@x.org"))
    subprocess.run(
        ["git", "--git-dir", str(work), "fetch", "-q", "origin", "main:main"], check=True
    )

    before = run(server, "rev-parse", "main")
    second = _pushed_articles(work, {"vote-de2": {"language": "de", "translation_of": "vote"}})
    result = push(work, f"{second}:refs/heads/main")
    assert result.returncode != 0
    assert "vote-de2.json: language: 'vote' already has a translation into de ('vote-de')" in (
        result.stderr
    )
    assert run(server, "rev-parse", "main") == before
