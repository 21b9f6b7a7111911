"""`Prefer: merge`: a save with a stale If-Match is merged three ways, field by field, into
the current draft, and the history shows it as a real merge of two editors' commits."""

from __future__ import annotations

import threading
from typing import Any

import requests
from conftest import article

URL = "/api/v1/manage/articles"
MERGE = {"Prefer": "merge"}


def _put(
    client: Any, slug: str, doc: dict[str, Any], token: dict[str, str], etag: str, **headers: str
) -> Any:
    return client.put(f"{URL}/{slug}", json=doc, headers={**token, "If-Match": etag, **headers})


def _two_editors(
    client: Any, editor_token: dict[str, str], admin_token: dict[str, str]
) -> tuple[str, dict[str, Any], str]:
    """An article the editor read (its fields and ETag), since changed by the admin's title."""
    made = client.post(URL, json=article(summary="First summary"), headers=editor_token)
    slug, etag = made.get_json()["slug"], made.headers["ETag"]
    doc = {k: v for k, v in made.get_json().items() if k != "meta"}
    theirs = client.patch(
        f"{URL}/{slug}", json={"title": "Admin's title"}, headers={**admin_token, "If-Match": etag}
    )
    assert theirs.status_code == 200
    return slug, doc, etag


def test_stale_if_match_without_prefer_is_still_412(client, editor_token, admin_token, git):
    slug, doc, etag = _two_editors(client, editor_token, admin_token)
    before = git("rev-parse", "main")
    r = _put(client, slug, {**doc, "summary": "Mine"}, editor_token, etag)
    assert r.status_code == 412
    assert git("rev-parse", "main") == before


def test_different_fields_merge_into_one_revision(client, editor_token, admin_token, git):
    slug, doc, etag = _two_editors(client, editor_token, admin_token)
    r = _put(client, slug, {**doc, "summary": "Editor's summary"}, editor_token, etag, **MERGE)
    assert r.status_code == 200, r.get_json()
    assert r.headers["Preference-Applied"] == "merge"
    body = r.get_json()
    assert body["title"] == "Admin's title" and body["summary"] == "Editor's summary"
    assert body["meta"]["merged"] == {"theirs": ["/title"], "yours": ["/summary"]}
    assert r.headers["ETag"] != etag
    shown = client.get(f"{URL}/{slug}", headers=editor_token).get_json()
    assert shown["title"] == "Admin's title" and shown["summary"] == "Editor's summary"
    # one new revision in the article's history, on top of create and the admin's update
    revisions = client.get(f"{URL}/{slug}/revisions", headers=editor_token).get_json()
    assert len(revisions["items"]) == 3


def test_history_is_a_merge_of_each_editors_commit(client, editor_token, admin_token, git, repo):
    slug, doc, etag = _two_editors(client, editor_token, admin_token)
    created = git("log", "--format=%H", "--reverse", "main").split()[-2]
    r = _put(client, slug, {**doc, "summary": "Editor's summary"}, editor_token, etag, **MERGE)
    assert r.status_code == 200
    parents = git("log", "-1", "--format=%P", "main").split()
    assert len(parents) == 2  # a merge commit joining the editor's own commit
    assert git("log", "-1", "--format=%P", parents[1]).strip() == created
    assert git("log", "-1", "--format=%an", parents[0]).strip() == "Ada Admin"
    assert git("log", "-1", "--format=%an", parents[1]).strip() == "Eve Editor"
    graph = git("log", "--graph", "--format=%an %s", "main")
    assert "|\\" in graph or "|/" in graph or "\\" in graph
    path = git("ls-tree", "-r", "--name-only", "main", "articles").split()[0]
    blame = git("blame", "--line-porcelain", "main", "--", path)
    by_line = _blame_lines(blame)
    assert by_line['"title": "Admin\'s title",'] == "Ada Admin"
    assert by_line['"summary": "Editor\'s summary",'] == "Eve Editor"
    # the merged file is what the first-parent diff of the merge commit shows
    assert git("fsck").strip() == "" or "dangling" not in git("fsck")


def _blame_lines(porcelain: str) -> dict[str, str]:
    out: dict[str, str] = {}
    author = ""
    for line in porcelain.splitlines():
        if line.startswith("author "):
            author = line[len("author ") :]
        elif line.startswith("\t"):
            out[line[1:].strip()] = author
    return out


def test_same_field_changed_differently_is_a_409_naming_who(client, editor_token, admin_token, git):
    slug, doc, etag = _two_editors(client, editor_token, admin_token)
    before = git("rev-parse", "main")
    r = _put(client, slug, {**doc, "title": "Editor's title"}, editor_token, etag, **MERGE)
    assert r.status_code == 409
    assert r.mimetype == "application/problem+json"
    problem = r.get_json()
    assert problem["conflicts"] == [
        {
            "path": "/title",
            "base": doc["title"],
            "theirs": "Admin's title",
            "yours": "Editor's title",
            "theirs_by": {"name": "Ada Admin"},
            "theirs_revision": before.strip(),
        }
    ]
    current = client.get(f"{URL}/{slug}", headers=editor_token)
    assert r.headers["ETag"] == current.headers["ETag"]
    assert git("rev-parse", "main") == before


def test_the_same_change_on_both_sides_is_no_conflict(client, editor_token, admin_token):
    slug, doc, etag = _two_editors(client, editor_token, admin_token)
    r = _put(
        client,
        slug,
        {**doc, "title": "Admin's title", "summary": "Also mine"},
        editor_token,
        etag,
        **MERGE,
    )
    assert r.status_code == 200
    assert r.get_json()["title"] == "Admin's title"
    assert r.get_json()["summary"] == "Also mine"


def test_body_merges_block_by_block(client, editor_token, admin_token):
    made = client.post(URL, json=article(), headers=editor_token)
    slug, etag = made.get_json()["slug"], made.headers["ETag"]
    body = made.get_json()["body"]
    theirs = [{"type": "heading", "text": "Budget", "level": 2}, *body]
    assert (
        client.patch(
            f"{URL}/{slug}", json={"body": theirs}, headers={**admin_token, "If-Match": etag}
        ).status_code
        == 200
    )
    yours = [body[0], {"type": "paragraph", "text": "The vote was seven to two."}]
    r = client.patch(
        f"{URL}/{slug}", json={"body": yours}, headers={**editor_token, "If-Match": etag, **MERGE}
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["body"] == [theirs[0], body[0], yours[1]]
    # the same block edited by both: a conflict at that block
    etag2 = r.headers["ETag"]
    assert (
        client.patch(
            f"{URL}/{slug}",
            json={"body": [theirs[0], body[0], {"type": "paragraph", "text": "A"}]},
            headers={**admin_token, "If-Match": etag2},
        ).status_code
        == 200
    )
    clash = client.patch(
        f"{URL}/{slug}",
        json={"body": [theirs[0], body[0], {"type": "paragraph", "text": "B"}]},
        headers={**editor_token, "If-Match": etag2, **MERGE},
    )
    assert clash.status_code == 409
    assert [c["path"] for c in clash.get_json()["conflicts"]] == ["/body/2"]


def test_tags_merge_as_a_set_and_authors_and_image_as_whole_values(
    client, editor_token, admin_token
):
    image = {"src": "https://example.org/a.jpg", "alt": "A"}
    made = client.post(
        URL,
        json=article(tags=["a", "b"], authors=[{"name": "Ann"}], image=image),
        headers=editor_token,
    )
    slug, etag = made.get_json()["slug"], made.headers["ETag"]
    theirs = {
        "tags": ["a", "b", "c"],
        "authors": [{"name": "Bo"}],
        "image": {**image, "alt": "Theirs"},
    }
    assert (
        client.patch(
            f"{URL}/{slug}", json=theirs, headers={**admin_token, "If-Match": etag}
        ).status_code
        == 200
    )
    r = client.patch(
        f"{URL}/{slug}",
        json={"tags": ["b", "d"]},
        headers={**editor_token, "If-Match": etag, **MERGE},
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["tags"] == ["b", "c", "d"]
    assert r.get_json()["authors"] == [{"name": "Bo"}]
    assert r.get_json()["image"]["alt"] == "Theirs"
    for change, path in (
        ({"authors": [{"name": "Cy"}]}, "/authors"),
        ({"image": {**image, "caption": "Mine"}}, "/image"),
    ):
        clash = client.patch(
            f"{URL}/{slug}", json=change, headers={**editor_token, "If-Match": etag, **MERGE}
        )
        assert clash.status_code == 409
        assert [c["path"] for c in clash.get_json()["conflicts"]] == [path]


def test_an_etag_that_was_never_a_revision_is_still_412(client, editor_token, admin_token):
    slug, doc, _ = _two_editors(client, editor_token, admin_token)
    r = _put(client, slug, doc, editor_token, '"0123456789abcdef0123456789abcdef01234567"', **MERGE)
    assert r.status_code == 412


def test_a_merged_result_that_is_invalid_is_a_conflict_not_a_500(
    client, editor_token, admin_token, git
):
    made = client.post(URL, json=article(), headers=editor_token)
    slug, etag = made.get_json()["slug"], made.headers["ETag"]
    assert (
        client.patch(
            f"{URL}/{slug}", json={"summary": "x"}, headers={**admin_token, "If-Match": etag}
        ).status_code
        == 200
    )
    r = client.patch(
        f"{URL}/{slug}", json={"title": ""}, headers={**editor_token, "If-Match": etag, **MERGE}
    )
    assert r.status_code == 422
    assert "title" in r.get_json()["errors"]


def test_eight_writers_with_one_stale_etag_lose_nothing(server, editor_token):
    made = requests.post(server + URL, json=article(), headers=editor_token)
    slug, etag = made.json()["slug"], made.headers["ETag"]
    doc = {k: v for k, v in made.json().items() if k != "meta"}
    edits = _eight_edits(doc)
    answers: list[int] = []

    def writer(change: dict[str, Any]) -> None:
        r = requests.put(
            f"{server}{URL}/{slug}",
            json={**doc, **change},
            headers={**editor_token, "If-Match": etag, **MERGE},
        )
        answers.append(r.status_code)

    threads = [threading.Thread(target=writer, args=(e,)) for e in edits]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * 8
    final = requests.get(f"{server}{URL}/{slug}", headers=editor_token).json()
    for change in edits[:6]:
        for key, value in change.items():
            assert final[key] == value, key
    # the two body edits, each of one block, both stand
    assert final["body"] == [edits[6]["body"][0], edits[7]["body"][1]]
    revisions = requests.get(
        f"{server}{URL}/{slug}/revisions?per_page=50", headers=editor_token
    ).json()
    assert len(revisions["items"]) == 9  # create and one revision per writer


def _eight_edits(doc: dict[str, Any]) -> list[dict[str, Any]]:
    body = doc["body"]
    return [
        {"title": "Eight writers"},
        {"summary": "A summary"},
        {"section": "politics"},
        {"tags": ["vote"]},
        {"authors": [{"name": "Ann"}]},
        {"language": "fr"},
        {"body": [{"type": "paragraph", "text": "First, rewritten."}, body[1]]},
        {"body": [body[0], {"type": "paragraph", "text": "Second, rewritten."}]},
    ]


def test_a_conflict_names_who_changed_that_field_not_the_last_saver(
    client, editor_token, admin_token, author_token
):
    slug, doc, etag = _two_editors(client, editor_token, admin_token)  # Ada's title
    current = client.get(f"{URL}/{slug}", headers=author_token)
    later = client.patch(
        f"{URL}/{slug}",
        json={"summary": "Ann's summary"},
        headers={**author_token, "If-Match": current.headers["ETag"]},
    )
    assert later.status_code == 200
    r = _put(client, slug, {**doc, "title": "Editor's title"}, editor_token, etag, **MERGE)
    assert r.status_code == 409
    conflict = r.get_json()["conflicts"][0]
    assert conflict["theirs_by"] == {"name": "Ada Admin"}
    assert conflict["theirs_revision"] == current.get_json()["meta"]["revision"]
