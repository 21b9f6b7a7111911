"""The derived index (read index and history index) agrees with git after every kind of change:
API creates, updates, deletes, publishes, unpublishes, and plain-git pushes to both lines,
including a force push; and a rebuilt index is the same as the one kept up to date."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from conftest import article

from cms.content import layout
from cms.store import ArticleStore
from cms.web import create_app, services

MANAGE = "/api/v1/manage/articles"


def git_files(git, line: str) -> dict[str, str]:
    """slug -> blob of every article file on a line, by plain git."""
    out = git("ls-tree", "-r", line, "--", "articles").splitlines()
    files = {}
    for entry in out:
        meta, path = entry.split("\t")
        slug = layout.slug_from_path(path)
        assert slug is not None, path
        files[slug] = meta.split()[2]
    return files


def git_history(git, slug: str) -> set[str]:
    path = layout.article_path(slug)
    shas: set[str] = set()
    for line in ("main", "published"):
        shas |= set(git("log", "--first-parent", "--format=%H", line, "--", path).split())
    return shas


def index_view(store: ArticleStore) -> dict:
    store.catch_up()
    drafts = {
        a.slug: (a.etag, a.meta["revision"], a.meta["state"])
        for a in store.list(per_page=100_000)[0]
    }
    live = store.index.live.blobs()
    history = {
        slug: [r["revision"] for r in store.revisions(slug, per_page=100_000)[0]]
        for slug in store.index.tables.db.execute("SELECT DISTINCT slug FROM revisions").fetchall()
        for slug in slug
    }
    return {"drafts": drafts, "live": live, "history": history}


def check(store: ArticleStore, git) -> dict:
    view = index_view(store)
    main, published = git_files(git, "main"), git_files(git, "published")
    assert {s: e for s, (e, _, _) in view["drafts"].items()} == main
    for slug, (_, revision, state) in view["drafts"].items():
        last = git(
            "log", "-1", "--first-parent", "--format=%H", "main", "--", layout.article_path(slug)
        ).strip()
        assert revision == last, slug
        expected = (
            "published"
            if published.get(slug) == main[slug]
            else "draft"
            if slug not in published
            else "changed"
        )
        assert state == expected, slug
    assert view["live"] == {s: b for s, b in published.items() if s in main}
    for slug, shas in view["history"].items():
        assert set(shas) == git_history(git, slug), slug
        assert len(shas) == len(set(shas))
    return view


def push(
    git, repo: Path, tmp_path: Path, line: str, edit, message: str, force: bool = False
) -> None:
    work = tmp_path / f"clone-{time.monotonic_ns()}"
    git("clone", "-q", "--branch", line, str(repo), str(work), cwd=tmp_path)
    edit(work)
    git("add", "-A", cwd=work)
    git("commit", "-q", "--allow-empty", "-m", message, cwd=work)
    if force:
        git("reset", "-q", "--hard", "HEAD~2", cwd=work)
    git("push", "-q", *(["--force"] if force else []), "origin", line, cwd=work)


def test_index_agrees_with_git_through_every_kind_of_change(
    client, editor_token, repo, git, tmp_path, store
):
    rng = random.Random(7)
    slugs: list[str] = []
    for step in range(60):
        roll = rng.random()
        if roll < 0.3 or not slugs:
            created = client.post(
                MANAGE, json=article(f"Story {step}", tags=[f"t{step % 4}"]), headers=editor_token
            )
            slugs.append(created.get_json()["slug"])
            continue
        slug = rng.choice(slugs)
        current = client.get(f"{MANAGE}/{slug}", headers=editor_token)
        headers = {**editor_token, "If-Match": current.headers["ETag"]}
        if roll < 0.55:
            client.patch(f"{MANAGE}/{slug}", json={"summary": f"step {step}"}, headers=headers)
        elif roll < 0.75:
            client.post(f"{MANAGE}/{slug}/publish", headers=editor_token)
        elif roll < 0.82:
            client.post(f"{MANAGE}/{slug}/unpublish", headers=editor_token)
        elif roll < 0.9:
            client.delete(f"{MANAGE}/{slug}", headers=headers)
            slugs.remove(slug)
        else:

            def edit(work: Path, slug=slug, step=step) -> None:
                path = work / layout.article_path(slug)
                doc = json.loads(path.read_text())
                doc["title"] = f"Edited by hand at step {step}"
                path.write_text(json.dumps(doc, indent=2) + "\n")

            push(git, repo, tmp_path, "main", edit, f"Hand edit {step}")
        if step % 10 == 9:
            check(store, git)

    # plain git on the published line: a hand-made publication of a draft's content
    draft = next(s for s in slugs if s not in git_files(git, "published"))
    blob = git_files(git, "main")[draft]

    def publish_by_hand(work: Path) -> None:
        path = work / layout.article_path(draft)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(git("cat-file", "blob", blob).encode())

    push(git, repo, tmp_path, "published", publish_by_hand, f"Publish {draft} by hand")
    kept = check(store, git)
    assert draft in kept["live"]

    # a force push that drops the last two commits of main is followed, not mistaken
    push(git, repo, tmp_path, "main", lambda work: None, "to be dropped", force=True)
    check(store, git)

    # a rebuilt index equals the kept one
    kept = index_view(store)
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (repo / "cms" / name).unlink(missing_ok=True)
    again = ArticleStore(str(repo))
    try:
        rebuilt = index_view(again)
    finally:
        again.close()
    assert rebuilt == kept


def test_a_worker_follows_lines_moved_back_after_another_worker_indexed_them(
    app, client, editor_token, repo, git
):
    # two workers share the index file; `client` is one of them and has seen this state
    kept = client.post(MANAGE, json=article("Kept story"), headers=editor_token).get_json()
    client.post(f"{MANAGE}/{kept['slug']}/publish", headers=editor_token)
    assert client.get(f"/api/v1/articles/{kept['slug']}").status_code == 200
    before = {line: git("rev-parse", line).strip() for line in ("main", "published")}
    second = create_app({"REPO": str(repo), "TESTING": True})
    try:
        other = second.test_client()
        wrong = other.post(
            MANAGE, json=article("Published by mistake"), headers=editor_token
        ).get_json()["slug"]
        other.post(f"{MANAGE}/{wrong}/publish", headers=editor_token)
        assert other.get(f"/api/v1/articles/{wrong}").status_code == 200
    finally:
        services(second).close()
    # both lines moved back by plain git, as a force push does
    for line, sha in before.items():
        git("update-ref", f"refs/heads/{line}", sha)
    assert client.get(f"/api/v1/articles/{wrong}").status_code == 404
    listed = client.get("/api/v1/articles?per_page=50").get_json()
    assert [i["slug"] for i in listed["items"]] == [kept["slug"]] and listed["meta"]["total"] == 1
    assert client.get(f"{MANAGE}/{wrong}", headers=editor_token).status_code == 404
    check(services(app).store, git)
