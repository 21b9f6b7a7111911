"""The read side is total: bad commits planted past the gate (`git update-ref` on the server,
as a ref moved by hand or a repository from before the gate would hold them) break no route,
and invalid content is never delivered."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import article, cms_command
from flask.testing import FlaskClient
from gitcraft import BAD, SLUG, Bad, blob, commit, run, tree_with
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cms.content import layout

MANAGE = "/api/v1/manage/articles"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def plant(
    repo: Path, build: Any, slug: str = SLUG, lines: tuple[str, ...] = ("main", "published")
) -> dict[str, str]:
    """Build a bad commit on each line's tip and move the line onto it, past any hook."""
    made = {}
    for line in lines:
        tip = run(repo, "rev-parse", line)
        made[line] = build(repo, tip, slug)
        run(repo, "update-ref", f"refs/heads/{line}", made[line], tip)
    return made


def walk(
    client: FlaskClient,
    headers: dict[str, str],
    slugs: list[str],
    revisions: list[str],
    sync_token: str | None = None,
) -> dict[str, Any]:
    """GET every route, management and delivery, for `slugs` at `revisions`; fail on a 5xx.

    Returns {path: response}."""
    paths = [
        "/healthz",
        "/api/v1/openapi.json",
        MANAGE,
        f"{MANAGE}?per_page=100",
        f"{MANAGE}?state=draft",
        f"{MANAGE}?state=invalid",
        f"{MANAGE}?q=hand",
        f"{MANAGE}?q=hand&sort=relevance",
        f"{MANAGE}?tag=x",
        "/api/v1/articles",
        "/api/v1/articles?per_page=100",
        "/api/v1/articles?q=hand",
        "/api/v1/articles?q=written&sort=relevance",
        "/api/v1/sync",
        "/feed.xml",
        "/feed.json",
        "/sitemap.xml",
    ]
    if sync_token:
        paths.append(f"/api/v1/sync?token={sync_token}")
    paths += ["/api/v1/preview/articles?per_page=100"]
    for slug in slugs:
        paths += [
            f"{MANAGE}/{slug}",
            f"{MANAGE}/{slug}/revisions",
            f"/api/v1/articles/{slug}",
            f"/api/v1/articles/{slug}/history",
            f"/api/v1/preview/articles/{slug}",
        ]
        for rev in revisions:
            paths += [
                f"{MANAGE}/{slug}/revisions/{rev}",
                f"{MANAGE}/{slug}/diff?from={rev}",
                f"/api/v1/articles/{slug}/history/{rev}",
            ]
        paths += [
            f"{MANAGE}/{slug}/diff?from={a}&to={b}"
            for a, b in zip(revisions, revisions[1:], strict=False)
        ]
    seen = {}
    for path in paths:
        private = "/manage/" in path or "/preview/" in path
        response = client.get(path, headers=headers if private else {})
        assert response.status_code < 500, (path, response.get_data(as_text=True)[:500])
        seen[path] = response
    # the editors' workbench (Decap CMS's proxy protocol) reads the same files
    calls = [("entriesByFolder", {"folder": "articles"}), ("unpublishedEntries", {})]
    for slug in slugs:
        entry = {"collection": "articles", "slug": slug}
        calls += [
            ("getEntry", {"path": f"articles/{slug}.json"}),
            ("unpublishedEntry", entry),
            ("unpublishedEntryDataFile", {**entry, "path": f"articles/{slug}.json"}),
        ]
    for action, params in calls:
        response = client.post(
            "/api/v1/decap",
            json={"action": action, "params": {"branch": "main", **params}},
            headers=headers,
        )
        assert response.status_code < 500, (action, response.get_data(as_text=True)[:500])
        seen[f"decap {action} {params}"] = response
    for path, response in seen.items():
        if response.is_json and response.status_code == 200:
            for date in re.findall(
                r'"(?:date|[a-z_]+_at)": ?"([^"]*)"', response.get_data(as_text=True)
            ):
                assert RFC3339.match(date), (path, date)
    return seen


@pytest.fixture
def live(client: FlaskClient, editor_token: dict[str, str]) -> str:
    """A valid article, published: lists, feeds and sync are not empty."""
    created = client.post(MANAGE, json=article("Valid and live"), headers=editor_token)
    slug = created.get_json()["slug"]
    assert client.post(f"{MANAGE}/{slug}/publish", headers=editor_token).status_code == 200
    return slug


def delivered(seen: dict[str, Any]) -> str:
    """Everything the delivery routes (and the draft preview shaped like them) answered 200,
    as one text."""
    return "\n".join(
        r.get_data(as_text=True)
        for p, r in seen.items()
        if r.status_code == 200 and "/manage/" not in p and not p.startswith("decap ")
    )


@pytest.mark.parametrize("bad", BAD, ids=[b.name for b in BAD])
def test_a_planted_bad_commit_breaks_no_route(client, editor_token, repo, live, bad: Bad):
    token = client.get("/api/v1/sync").get_json()["next_token"]
    made = plant(repo, bad.build)
    seen = walk(client, editor_token, [live, SLUG], list(made.values()), token)
    assert seen[f"/api/v1/articles/{live}"].status_code == 200
    assert live in seen["/feed.xml"].get_data(as_text=True)
    if bad.file:
        # the bad file is never delivered, nor listed
        assert seen[f"/api/v1/articles/{SLUG}"].status_code == 404
        assert seen[f"/api/v1/articles/{SLUG}/history"].status_code == 404
        assert SLUG not in delivered(seen)


FILE_AT_ITS_PATH = [
    b
    for b in BAD
    if b.file
    and b.name not in ("wrong-folder", "undecodable-file-name", "outside-the-layout", "dot-entries")
]


@pytest.mark.parametrize("bad", FILE_AT_ITS_PATH, ids=[b.name for b in FILE_AT_ITS_PATH])
def test_an_invalid_file_is_shown_invalid_and_repaired_with_put(
    client, editor_token, repo, bad: Bad
):
    plant(repo, bad.build, lines=("main",))
    shown = client.get(f"{MANAGE}/{SLUG}", headers=editor_token)
    assert shown.status_code == 200
    meta = shown.get_json()["meta"]
    assert meta["state"] == "invalid"
    field, message = bad.said("0" * 7).split(": ", 2)[1:]
    assert any(message in m for m in meta["problems"][field]), meta["problems"]
    listed = client.get(f"{MANAGE}?per_page=100", headers=editor_token).get_json()
    assert [a["meta"]["state"] for a in listed["items"] if a["slug"] == SLUG] == ["invalid"]
    repaired = client.put(
        f"{MANAGE}/{SLUG}",
        json=article("Repaired"),
        headers={**editor_token, "If-Match": shown.headers["ETag"]},
    )
    assert repaired.status_code == 200, repaired.get_json()
    assert repaired.get_json()["meta"]["state"] == "draft"
    assert client.get(f"{MANAGE}/{SLUG}", headers=editor_token).get_json()["title"] == "Repaired"


def test_an_invalid_draft_is_not_published_alone_nor_in_a_release(client, editor_token, repo):
    plant(repo, next(b for b in BAD if b.name == "gitlink").build, lines=("main",))
    before = run(repo, "rev-parse", "published")
    alone = client.post(f"{MANAGE}/{SLUG}/publish", headers=editor_token)
    assert alone.status_code == 422
    assert alone.get_json()["errors"] == {
        "mode": ["This is a submodule (gitlink); only plain files are allowed."]
    }
    draft = client.post(MANAGE, json=article("A fine draft"), headers=editor_token)
    release = client.post(
        "/api/v1/manage/releases",
        json={"slugs": [draft.get_json()["slug"], SLUG]},
        headers=editor_token,
    )
    assert release.status_code == 422
    assert release.get_json()["errors"] == {
        "slugs.1": [f"The draft of '{SLUG}' is not valid (mode)."]
    }
    assert run(repo, "rev-parse", "published") == before


def test_an_invalid_file_is_removed_with_delete(client, editor_token, repo):
    plant(repo, next(b for b in BAD if b.name == "string-body").build)
    shown = client.get(f"{MANAGE}/{SLUG}", headers=editor_token)
    gone = client.delete(
        f"{MANAGE}/{SLUG}", headers={**editor_token, "If-Match": shown.headers["ETag"]}
    )
    assert gone.status_code == 204
    assert client.get(f"{MANAGE}/{SLUG}", headers=editor_token).status_code == 404
    assert run(repo, "ls-tree", "-r", "--name-only", "published") == "README.md"


def test_restore_of_an_invalid_revision_is_a_422_naming_the_fields(
    client, editor_token, repo, created
):
    etag = created["etag"]
    slug = created["slug"]
    bad = next(b for b in BAD if b.name == "heading-level-two")
    planted = plant(repo, bad.build, slug, lines=("main",))["main"]
    current = client.get(f"{MANAGE}/{slug}", headers=editor_token)
    assert current.headers["ETag"] != etag
    restore = client.post(
        f"{MANAGE}/{slug}/restore",
        json={"revision": planted},
        headers={**editor_token, "If-Match": current.headers["ETag"]},
    )
    assert restore.status_code == 422
    assert "body.0.level" in restore.get_json()["errors"]
    assert run(repo, "rev-parse", "main") == planted


def test_check_names_every_planted_problem_and_exits_1(repo: Path):
    """All bad commits at once, each on its own article: `cms check` names each problem."""
    shas = {}
    for i, bad in enumerate(BAD):
        shas[bad.name] = plant(repo, bad.build, f"bad-{i}", lines=("main",))["main"]
    result = subprocess.run(
        [cms_command(), "--repo", str(repo), "check"], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    for i, bad in enumerate(BAD):
        if bad.name == "cms-identity-with-restore-trailers":
            continue  # once in, a commit claiming the CMS's identity looks like its own
        if bad.name == "dot-entries":
            assert "'..'" in result.stdout and "'.git'" in result.stdout
            continue
        line = bad.said(shas[bad.name], f"bad-{i}")
        assert line in result.stdout, (bad.name, line, result.stdout)


TEXT = st.binary(max_size=40)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    message=TEXT,
    name=TEXT,
    content=st.one_of(
        TEXT,
        st.builds(
            lambda doc: json.dumps(doc).encode(),
            st.dictionaries(
                st.sampled_from(["slug", "title", "body", "tags", "publish_at", "image"]),
                st.recursive(
                    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: (
                        st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
                    ),
                    max_leaves=6,
                ),
            ),
        ),
    ),
)
def test_any_bytes_in_commits_and_files_break_no_route(
    client, editor_token, repo, live, message, name, content
):
    def build(git_dir: Path, parent: str, slug: str) -> str:
        tree = tree_with(
            git_dir, parent, {layout.article_path(slug): ("100644", blob(git_dir, content))}
        )
        # git's own rule for an identity: no <, > or newline in the name
        clean = bytes(b for b in name if b not in b"<>\n")
        return commit(
            git_dir,
            tree,
            [parent],
            message=message,
            author=clean + b" <x@example.org> 1767225600 +0000",
        )

    made = plant(repo, build, "fuzzed")
    walk(client, editor_token, ["fuzzed", live], list(made.values()))


def test_webhook_events_are_read_from_any_commit_bytes(repo: Path, store):
    """The webhook feed reads history like the index: a planted 0x1E in a message and 0x1F in
    an author's name give their events (author name as written), they break nothing."""
    from cms.webhooks import feed

    start = {line: run(repo, "rev-parse", line) for line in ("main", "published")}
    made = []
    for name in ("record-separator-in-message", "unit-separator-in-author", "year-10000"):
        made.append(
            plant(
                repo, next(b for b in BAD if b.name == name).build, f"hook-{name}", lines=("main",)
            )["main"]
        )
    tips = {line: run(repo, "rev-parse", line) for line in ("main", "published")}
    events, moved = feed.pending(store.repo, start, tips, "cms@localhost")
    assert moved["main"] == tips["main"]
    assert [(e.commit, json.loads(e.body)["data"]["slug"]) for e in events] == [
        (sha, f"hook-{name}")
        for sha, name in zip(
            made,
            ("record-separator-in-message", "unit-separator-in-author", "year-10000"),
            strict=True,
        )
    ]
    assert json.loads(events[1].body)["data"]["author"]["name"] == "Plain\x1fGit"
    assert RFC3339.match(json.loads(events[2].body)["timestamp"])
