"""What people see with plain git in the content repository after API writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import article
from flask.testing import FlaskClient

from cms.content import layout

URL = "/api/v1/manage/articles"


def path_of(slug: str) -> str:
    return f"articles/{layout.shard(slug)}/{slug}.json"


def test_create_is_one_commit_authored_by_the_editor(client, editor_token, git):
    before = int(git("rev-list", "--count", "main"))
    response = client.post(URL, json=article("Flood defences approved"), headers=editor_token)
    assert response.status_code == 201
    slug = response.get_json()["slug"]
    assert slug == "flood-defences-approved"
    assert int(git("rev-list", "--count", "main")) == before + 1
    log = git("log", "-1", "--format=%an <%ae>%n%cn <%ce>%n%s%n%(trailers:only,unfold)", "main")
    author, committer, subject, *trailers = log.strip().splitlines()
    assert author == "Eve Editor <eve@example.org>"
    assert committer == "Git CMS <cms@localhost>"
    assert subject == "Create flood-defences-approved"
    assert trailers == ["Article: flood-defences-approved", "Action: create"]
    assert (
        git("log", "--format=%H", "--author=eve@example.org", "main").split()[0]
        == (response.get_json()["meta"]["revision"])
    )
    assert git("ls-tree", "-r", "--name-only", "main", "articles").split() == [path_of(slug)]


def test_update_subject_names_the_changed_fields(client, editor_token, created, git):
    changed = {**article(), "title": "Council approves budget, again", "tags": ["Budget"]}
    response = client.put(
        f"{URL}/{created['slug']}",
        json=changed,
        headers={**editor_token, "If-Match": created["etag"]},
    )
    assert response.status_code == 200
    assert git("log", "-1", "--format=%s", "main").strip() == (
        f"Update {created['slug']}: title, tags"
    )
    assert "Action: update" in git("log", "-1", "--format=%B", "main")
    assert (
        git("log", "--grep", "Action: update", "--format=%s", "main").strip().startswith("Update ")
    )


def test_a_long_slug_keeps_the_subject_within_72_characters(client, editor_token, git):
    slug = "-".join(["word"] * 23)  # 114 characters
    response = client.post(URL, json=article(slug=slug), headers=editor_token)
    assert response.status_code == 201
    subject = git("log", "-1", "--format=%s", "main").strip()
    assert len(subject) <= 72
    assert f"Article: {slug}" in git("log", "-1", "--format=%B", "main")


def test_editing_one_paragraph_diffs_one_paragraph(client, editor_token, git):
    paragraphs = [
        {"type": "paragraph", "text": f"Paragraph number {i} of a long report."} for i in range(40)
    ]
    long = {"title": "A long report", "body": paragraphs}
    created = client.post(URL, json=long, headers=editor_token)
    edited = json.loads(json.dumps(long))
    edited["body"][17]["text"] = "Paragraph seventeen, corrected after publication."
    response = client.put(
        f"{URL}/a-long-report",
        json=edited,
        headers={**editor_token, "If-Match": created.headers["ETag"]},
    )
    assert response.status_code == 200
    patch = git("log", "-1", "-p", "--format=", "main")
    changed = [
        line
        for line in patch.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == [
        '-      "text": "Paragraph number 17 of a long report."',
        '+      "text": "Paragraph seventeen, corrected after publication."',
    ]


def test_file_is_canonical_utf8(client, editor_token, git):
    doc = article(
        "Grüße aus Köln: 東京 and emoji 🎉", language="de", tags=["Köln", "köln", "Reise"]
    )
    slug = client.post(URL, json=doc, headers=editor_token).get_json()["slug"]
    raw = git("cat-file", "blob", f"main:{path_of(slug)}").encode()
    assert "Grüße aus Köln: 東京 and emoji 🎉".encode() in raw
    assert b"\\u" not in raw
    assert raw.endswith(b"}\n")
    lines = raw.decode().splitlines()
    assert lines[1] == f'  "slug": "{slug}",'
    stored = json.loads(raw)
    assert list(stored) == ["slug", "title", "tags", "language", "body"]
    assert stored["tags"] == ["köln", "reise"]


def test_a_save_that_changes_nothing_makes_no_commit(client, editor_token, created, git):
    before = git("rev-parse", "main")
    same = {k: v for k, v in created.items() if k not in ("meta", "etag")}
    headers = {**editor_token, "If-Match": created["etag"]}
    put = client.put(f"{URL}/{created['slug']}", json=same, headers=headers)
    patch = client.patch(
        f"{URL}/{created['slug']}", json={"title": created["title"]}, headers=headers
    )
    assert put.status_code == patch.status_code == 200
    assert put.headers["ETag"] == patch.headers["ETag"] == created["etag"]
    assert git("rev-parse", "main") == before


def test_delete_and_restore_are_new_commits(client, editor_token, created, git):
    slug = created["slug"]
    first = created["meta"]["revision"]
    deleted = client.delete(f"{URL}/{slug}", headers={**editor_token, "If-Match": created["etag"]})
    assert deleted.status_code == 204
    assert git("log", "-1", "--format=%s", "main").strip() == f"Delete {slug}"
    assert path_of(slug) not in git("ls-tree", "-r", "--name-only", "main")
    restored = client.post(
        f"{URL}/{slug}/restore", json={"revision": first[:7]}, headers=editor_token
    )
    assert restored.status_code == 200
    assert git("log", "-1", "--format=%s", "main").strip() == f"Restore {slug} to {first[:12]}"
    assert f"Restored-From: {first}" in git("log", "-1", "--format=%B", "main")
    # history is never rewritten: the first revision is still an ancestor of main
    git("merge-base", "--is-ancestor", first, "main")
    assert git("cat-file", "blob", f"main:{path_of(slug)}") == git(
        "cat-file", "blob", f"{first}:{path_of(slug)}"
    )


def clone(git, repo: Path, tmp_path: Path) -> Path:
    work = tmp_path / "clone"
    git("clone", "-q", str(repo), str(work), cwd=tmp_path)
    return work


def test_a_plain_git_push_is_seen_by_the_next_request(
    client: FlaskClient,
    editor_token: dict[str, str],
    created: dict[str, Any],
    git,
    repo,
    tmp_path: Path,
):
    slug = created["slug"]
    work = clone(git, repo, tmp_path)
    file = work / path_of(slug)
    doc = json.loads(file.read_text())
    doc["title"] = "Edited with a text editor"
    file.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    new_slug = "added-by-hand"
    new_file = work / path_of(new_slug)
    new_file.parent.mkdir(parents=True, exist_ok=True)
    new_file.write_text(json.dumps({"slug": new_slug, **article("Added by hand")}, indent=2))
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "Fix a title by hand", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    pushed = git("rev-parse", "HEAD", cwd=work).strip()

    shown = client.get(f"{URL}/{slug}", headers=editor_token)
    assert shown.get_json()["title"] == "Edited with a text editor"
    assert shown.get_json()["meta"]["revision"] == pushed
    assert shown.get_json()["meta"]["updated_by"] == {
        "name": "Plain Git",
        "email": "plain@example.org",
    }
    assert shown.headers["ETag"] != created["etag"]
    revisions = client.get(f"{URL}/{slug}/revisions", headers=editor_token).get_json()
    assert [r["action"] for r in revisions["items"]] == ["external", "create"]
    assert revisions["items"][0]["revision"] == pushed
    assert revisions["items"][0]["message"].startswith("Fix a title by hand")
    assert client.get(f"{URL}/{new_slug}", headers=editor_token).status_code == 200
    listed = client.get(URL, headers=editor_token).get_json()
    assert {a["slug"] for a in listed["items"]} == {slug, new_slug}

    # a write through the API after the push builds on the pushed commit
    stale = client.patch(
        f"{URL}/{slug}",
        json={"summary": "x"},
        headers={**editor_token, "If-Match": created["etag"]},
    )
    assert stale.status_code == 412
    fresh = client.patch(
        f"{URL}/{slug}",
        json={"summary": "Now with a summary."},
        headers={**editor_token, "If-Match": shown.headers["ETag"]},
    )
    assert fresh.status_code == 200
    assert git("rev-parse", "main^").strip() == pushed


def test_a_commit_by_plain_git_with_cms_trailers_is_still_external(
    client, editor_token, created, git, repo, tmp_path
):
    work = clone(git, repo, tmp_path)
    file = work / path_of(created["slug"])
    file.write_text(file.read_text().replace("Council approves", "Council rejects"))
    git("commit", "-qam", f"Update {created['slug']}: title\n\nAction: update", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    revisions = client.get(f"{URL}/{created['slug']}/revisions", headers=editor_token)
    assert revisions.get_json()["items"][0]["action"] == "external"


def test_history_rewritten_by_force_push_is_followed(
    client, editor_token, created, git, repo, tmp_path
):
    work = clone(git, repo, tmp_path)
    git("reset", "-q", "--hard", "HEAD~1", cwd=work)
    git("push", "-q", "--force", "origin", "main", cwd=work)
    assert client.get(f"{URL}/{created['slug']}", headers=editor_token).status_code == 404
    assert client.get(URL, headers=editor_token).get_json()["meta"]["total"] == 0


def test_the_index_is_rebuilt_from_git_when_deleted(client, editor_token, created, repo):
    other = client.post(URL, json=article("Second story"), headers=editor_token)
    client.patch(
        f"{URL}/second-story",
        json={"summary": "Short."},
        headers={**editor_token, "If-Match": other.headers["ETag"]},
    )
    before_list = client.get(URL, headers=editor_token).get_json()
    before_revs = client.get(f"{URL}/second-story/revisions", headers=editor_token).get_json()
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (repo / "cms" / name).unlink(missing_ok=True)
    from cms.web import create_app

    fresh = create_app({"REPO": str(repo), "TESTING": True}).test_client()
    assert fresh.get(URL, headers=editor_token).get_json() == before_list
    assert (
        fresh.get(f"{URL}/second-story/revisions", headers=editor_token).get_json() == before_revs
    )
