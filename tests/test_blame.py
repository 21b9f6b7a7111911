"""`GET .../blame`: who last changed each field and body block; the same answers as `git
blame` on the article's file, also across a merged save."""

from __future__ import annotations

from typing import Any

from conftest import article

URL = "/api/v1/manage/articles"
SCALARS = ("title", "summary", "section", "language")


def _git_blame(git: Any, path: str) -> dict[str, str]:
    """The commit git blame names for each line of `path` on main, by the line's text."""
    out: dict[str, str] = {}
    sha = ""
    for line in git("blame", "--porcelain", "main", "--", path).splitlines():
        head = line.split(" ")
        if len(head[0]) == 40 and len(head) >= 3 and head[1].isdigit():
            sha = head[0]
        elif line.startswith("\t"):
            out[line[1:].strip()] = sha
    return out


def test_blame_names_each_editor_and_agrees_with_git_blame(client, editor_token, admin_token, git):
    made = client.post(URL, json=article(summary="First", section="news"), headers=editor_token)
    slug, etag = made.get_json()["slug"], made.headers["ETag"]
    admin = client.patch(
        f"{URL}/{slug}", json={"title": "Admin's title"}, headers={**admin_token, "If-Match": etag}
    )
    body = made.get_json()["body"]
    merged = client.patch(
        f"{URL}/{slug}",
        json={
            "summary": "Editor's summary",
            "body": [body[0], {"type": "paragraph", "text": "Editor's block."}],
        },
        headers={**editor_token, "If-Match": etag, "Prefer": "merge"},
    )
    assert merged.status_code == 200
    r = client.get(f"{URL}/{slug}/blame", headers=editor_token)
    assert r.status_code == 200
    answer = r.get_json()
    fields = answer["fields"]
    assert fields["title"]["author"]["name"] == "Ada Admin"
    assert fields["title"]["revision"] == admin.get_json()["meta"]["revision"]
    assert fields["summary"]["author"]["name"] == "Eve Editor"
    assert fields["section"]["revision"] == made.get_json()["meta"]["revision"]
    blocks = answer["items"]
    assert [b["index"] for b in blocks] == [0, 1]
    assert blocks[0]["revision"] == made.get_json()["meta"]["revision"]
    assert blocks[1]["author"]["name"] == "Eve Editor"
    assert answer["revision"] == merged.get_json()["meta"]["revision"]
    # the same answers as git blame for every scalar field's line of the file
    path = git("ls-tree", "-r", "--name-only", "main", "articles").split()[0]
    lines = _git_blame(git, path)
    doc = client.get(f"{URL}/{slug}", headers=editor_token).get_json()
    for name in SCALARS:
        line = next(text for text in lines if text.startswith(f'"{name}": '))
        assert fields[name]["revision"] == lines[line], name
    assert doc["summary"] == "Editor's summary"


def test_blame_pages_over_blocks_and_404s(client, editor_token):
    many = [{"type": "paragraph", "text": f"Block {i}."} for i in range(5)]
    made = client.post(URL, json=article(body=many), headers=editor_token)
    slug = made.get_json()["slug"]
    r = client.get(f"{URL}/{slug}/blame?page=2&per_page=2", headers=editor_token)
    assert r.status_code == 200
    assert [b["index"] for b in r.get_json()["items"]] == [2, 3]
    assert r.get_json()["meta"] == {"page": 2, "per_page": 2, "total": 5, "pages": 3}
    assert 'rel="next"' in r.headers["Link"]
    missing = client.get(f"{URL}/no-such-story/blame", headers=editor_token)
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"
    bad = client.get(f"{URL}/{slug}/blame?per_page=0", headers=editor_token)
    assert bad.status_code == 400 and "per_page" in bad.get_json()["errors"]
