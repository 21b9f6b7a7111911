"""A newsroom moving its archive in and out: `cms import` and `cms export` through click's
CliRunner (in-process: what is under test is the command, not its start-up), one archive run
through the real `cms` process on a pipe as a user's shell runs it; the content repository read
with plain git, the delivery API over the app."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from conftest import GIT_ENV, article, cms_command
from flask.testing import FlaskClient

from cms.cli.main import main
from cms.store import ArticleStore
from cms.web import create_app, services

# the variables a newsroom's shell might hold that would change what the command does
UNSET = ("CMS_REPO", "CMS_TOKEN")
ENV = {
    **{k: v for k, v in os.environ.items() if k not in UNSET},
    **GIT_ENV,
    "GIT_CONFIG_GLOBAL": os.devnull,
}
IVY = "Ivy Importer <ivy@example.org>"
MANAGE = "/api/v1/manage/articles"


def cms(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`cms --repo REPO ARGS...` through click, with the environment the real process would
    get; what it printed to stdout and stderr, and its exit code. An exception the command did
    not turn into an error message fails the test (a real process would print a traceback)."""
    argv = ["--repo", str(repo), *args]
    runner = CliRunner(env={**dict.fromkeys(UNSET), **GIT_ENV, "GIT_CONFIG_GLOBAL": os.devnull})
    result = runner.invoke(main, argv, prog_name="cms", catch_exceptions=False)
    return subprocess.CompletedProcess(argv, result.exit_code, result.stdout, result.stderr)


def cms_process(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `cms` command, its output piped."""
    return subprocess.run(
        [cms_command(), "--repo", str(repo), *args],
        env=ENV,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args], env=ENV, check=True, capture_output=True, text=True
    ).stdout


def tips(repo: Path) -> tuple[str, str]:
    return git(repo, "rev-parse", "main").strip(), git(repo, "rev-parse", "published").strip()


def slugs_on(repo: Path, line: str = "main") -> list[str]:
    paths = git(repo, "ls-tree", "-r", "--name-only", line, "--", "articles").split()
    return sorted(Path(p).stem for p in paths)


def jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def story(title: str, text: str, **fields: Any) -> dict[str, Any]:
    return {"title": title, "body": [{"type": "paragraph", "text": text}], **fields}


ARCHIVE = [
    story(
        "Harbour wall gives way",
        "The old harbour wall collapsed after the storm.",
        published_at="2019-03-04T09:30:00Z",
        section="local",
    ),
    story(
        "Mayor opens new library",
        "The library opened with a queue around the block.",
        published_at="2018-11-20T17:00:00Z",
        tags=["Culture"],
    ),
    story(
        "Ferry strike ends", "Ferries run again after a week.", published_at="2019-03-04T09:30:00Z"
    ),
    story(
        "Budget passes",
        "The council approved the budget.",
        publish_at="2017-06-01T12:00:00Z",
        slug="budget-2017",
    ),
]
ARCHIVE_ORDER = [
    "budget-2017",
    "mayor-opens-new-library",
    "harbour-wall-gives-way",
    "ferry-strike-ends",
]


@contextmanager
def delivery(repo: Path) -> Iterator[FlaskClient]:
    """A test client of an app over `repo`; the app's services (its git processes) are closed
    after the block."""
    app = create_app(
        {"REPO": str(repo), "TESTING": True, "RATELIMIT_ENABLED": False, "SCHEDULER_INTERVAL": 0}
    )
    try:
        yield app.test_client()
    finally:
        services(app).close()


def test_importing_the_same_batch_twice_changes_nothing(repo: Path, tmp_path: Path) -> None:
    source = jsonl(tmp_path / "archive.jsonl", ARCHIVE)
    first = ok(cms(repo, "import", str(source), "--publish", "--author", IVY))
    assert "4 created, 0 updated, 0 unchanged, 4 published" in first.stderr
    before = tips(repo)
    count = git(repo, "rev-list", "--count", "--all")

    again = ok(cms(repo, "import", str(source), "--publish", "--author", IVY))
    assert "0 created, 0 updated, 4 unchanged, 0 published" in again.stderr
    assert tips(repo) == before
    assert git(repo, "rev-list", "--count", "--all") == count
    assert slugs_on(repo) == sorted(ARCHIVE_ORDER)


def test_a_corrected_batch_updates_the_articles_and_never_copies(
    repo: Path, tmp_path: Path
) -> None:
    batch = [
        story("River levels fall", "Teh river fell overnight."),
        story("Schools reopen", "Pupils returned on Monday."),
    ]
    ok(cms(repo, "import", str(jsonl(tmp_path / "b.jsonl", batch)), "--author", IVY))
    batch[0]["body"][0]["text"] = "The river fell overnight."
    corrected = ok(cms(repo, "import", str(jsonl(tmp_path / "b.jsonl", batch)), "--author", IVY))
    assert "0 created, 1 updated, 1 unchanged" in corrected.stderr
    assert slugs_on(repo) == ["river-levels-fall", "schools-reopen"]
    assert git(repo, "log", "-1", "--format=%s", "main").strip() == "Update river-levels-fall: body"
    stored = json.loads(git(repo, "show", "main:" + _path(repo, "river-levels-fall")))
    assert stored["body"][0]["text"] == "The river fell overnight."

    copies = ok(cms(repo, "import", str(tmp_path / "b.jsonl"), "--copies", "--author", IVY))
    assert "2 created" in copies.stderr
    assert slugs_on(repo) == [
        "river-levels-fall",
        "river-levels-fall-2",
        "schools-reopen",
        "schools-reopen-2",
    ]


def _path(repo: Path, slug: str) -> str:
    return next(
        p
        for p in git(repo, "ls-tree", "-r", "--name-only", "main").split()
        if p.endswith(f"/{slug}.json")
    )


def test_an_archive_keeps_its_dates_in_git_and_in_delivery(repo: Path, tmp_path: Path) -> None:
    source = jsonl(tmp_path / "archive.jsonl", ARCHIVE)
    result = ok(cms_process(repo, "import", str(source), "--publish", "--author", IVY))
    assert "Publishing: 4/4 done" in result.stderr  # piped: progress comes as lines

    log = git(
        repo, "log", "--reverse", "--format=%aI %an %(trailers:key=Article,valueonly)", "published"
    ).split("\n")
    dated = [line.split() for line in log if "Ivy" in line]
    assert [(d[0], d[-1]) for d in dated] == [
        ("2017-06-01T12:00:00Z".replace("Z", "+00:00"), "budget-2017"),
        ("2018-11-20T17:00:00+00:00", "mayor-opens-new-library"),
        ("2019-03-04T09:30:00+00:00", "harbour-wall-gives-way"),
        ("2019-03-04T09:30:00+00:00", "ferry-strike-ends"),
    ]

    with delivery(repo) as client:
        listed = client.get("/api/v1/articles").get_json()["items"]
        assert [a["slug"] for a in listed] == ARCHIVE_ORDER[::-1]
        assert [a["published_at"] for a in listed] == [
            "2019-03-04T09:30:00Z",
            "2019-03-04T09:30:00Z",
            "2018-11-20T17:00:00Z",
            "2017-06-01T12:00:00Z",
        ]
        for before, slug, after in zip(
            [None, *ARCHIVE_ORDER[:-1]], ARCHIVE_ORDER, [*ARCHIVE_ORDER[1:], None], strict=True
        ):
            one = client.get(f"/api/v1/articles/{slug}").get_json()
            assert (one["previous"] or {}).get("slug") == before
            assert (one["next"] or {}).get("slug") == after


def _site(repo: Path) -> dict[str, bytes]:
    """The delivery API's bytes for the list and each article, with the commit ids
    (`revision`, which name commits of this repository) blanked out."""
    with delivery(repo) as client:

        def body(url: str) -> bytes:
            response = client.get(url)
            assert response.status_code == 200, url
            return re.sub(rb'"revision": ?"[0-9a-f]{40}"', b'"revision": "-"', response.data)

        listed = body("/api/v1/articles?per_page=100")
        return {
            "list": listed,
            "de": body("/api/v1/articles?language=de"),
            **{
                a["slug"]: body(f"/api/v1/articles/{a['slug']}")
                for a in json.loads(listed)["items"]
            },
        }


def test_export_then_import_into_an_empty_repository_gives_the_same_site(
    repo: Path, tmp_path: Path, client: Any, editor_token: dict[str, str]
) -> None:
    ok(cms(repo, "import", str(jsonl(tmp_path / "a.jsonl", ARCHIVE)), "--publish", "--author", IVY))
    # live with newer draft edits, a plain draft, a scheduled one, and one live now
    read = client.get(f"{MANAGE}/ferry-strike-ends", headers=editor_token)
    client.patch(
        f"{MANAGE}/ferry-strike-ends",
        json={"title": "Ferry strike: new talks"},
        headers={**editor_token, "If-Match": read.headers["ETag"]},
    )
    client.post(MANAGE, json=article("Embargoed report"), headers=editor_token)
    client.post(
        MANAGE,
        json=article("Tomorrow's news", publish_at="2031-01-01T06:00:00Z"),
        headers=editor_token,
    )
    now = client.post(
        MANAGE, json=article("Brücke gesperrt", language="de"), headers=editor_token
    ).get_json()["slug"]
    assert client.post(f"{MANAGE}/{now}/publish", headers=editor_token).status_code == 200
    site = _site(repo)

    for name in ("site.json", "site.jsonl", "site"):
        out = tmp_path / name
        ok(cms(repo, "export", str(out)))
        fresh = tmp_path / f"fresh-{name}"
        ArticleStore.init(str(fresh)).close()
        ok(cms(fresh, "import", str(out), "--author", IVY))
        copy = _site(fresh)
        if name == "site":
            # a folder is read in slug order: two articles that went live in the same second
            # swap places; everything else is the same
            assert _unordered(copy) == _unordered(site)
        else:
            assert copy == site, name
        store = ArticleStore(str(fresh))
        states = {a.slug: a.meta["state"] for a in store.list(per_page=100)[0]}
        store.close()
        assert states == {
            "budget-2017": "published",
            "mayor-opens-new-library": "published",
            "harbour-wall-gives-way": "published",
            "ferry-strike-ends": "changed",
            "embargoed-report": "draft",
            "tomorrow-s-news": "scheduled",
            now: "published",
        }, name

    exported = json.loads((tmp_path / "site.json").read_text(encoding="utf-8"))
    assert isinstance(exported, list) and len(exported) == 7
    by_slug = {r["slug"]: r for r in exported}
    assert by_slug["ferry-strike-ends"]["title"] == "Ferry strike: new talks"
    assert by_slug["ferry-strike-ends"]["meta"]["state"] == "changed"
    assert by_slug["ferry-strike-ends"]["meta"]["live"]["title"] == "Ferry strike ends"
    assert by_slug["ferry-strike-ends"]["meta"]["published_at"] == "2019-03-04T09:30:00Z"
    assert by_slug["embargoed-report"]["meta"] == {"state": "draft"}
    assert by_slug["tomorrow-s-news"]["meta"] == {"state": "scheduled"}

    # importing the export again changes nothing
    fresh = tmp_path / "fresh-site.jsonl"
    before = tips(fresh)
    again = ok(cms(fresh, "import", str(tmp_path / "site.jsonl"), "--author", IVY))
    assert "0 created, 0 updated, 7 unchanged, 0 published" in again.stderr
    assert tips(fresh) == before


def _unordered(site: dict[str, bytes]) -> dict[str, Any]:
    articles = {
        k: {f: v for f, v in json.loads(a).items() if f not in ("previous", "next")}
        for k, a in site.items()
        if k not in ("list", "de")
    }
    return {
        **articles,
        "list": sorted(json.dumps(i, sort_keys=True) for i in json.loads(site["list"])["items"]),
    }


def test_every_bad_record_is_named_and_nothing_is_imported(repo: Path, tmp_path: Path) -> None:
    lines = tmp_path / "bad.jsonl"
    lines.write_text(
        "\n".join(
            [
                json.dumps(story("Fine one", "Fine.")),
                '{"title": "Broken", "body": [',
                json.dumps({"title": "No body"}),
                json.dumps(story("From the future", "x", published_at="2999-01-01T00:00:00Z")),
                json.dumps(story("Fine one", "Same title, same article twice.")),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    before = tips(repo)
    result = cms(repo, "import", str(lines), "--publish", "--author", IVY)
    assert result.returncode == 1
    named = {
        line.split(": ", 1)[0] for line in result.stderr.splitlines() if line.startswith(str(lines))
    }
    assert named == {f"{lines}:2", f"{lines}:3", f"{lines}:4", f"{lines}:5"}
    assert "body: Missing data for required field." in result.stderr
    assert "published_at: It is in the future" in result.stderr
    assert f"'fine-one' is also the article at {lines}:1" in result.stderr
    assert "4 bad record(s) of 5; nothing imported." in result.stderr
    assert "Traceback" not in result.stderr
    assert tips(repo) == before

    array = tmp_path / "bad.json"
    array.write_text(
        '[\n  {"title": "No body here"},\n  {"title": "Fine", "body": '
        '[{"type": "paragraph", "text": "ok"}]},\n  {"title": oops}\n]\n',
        encoding="utf-8",
    )
    result = cms(repo, "import", str(array), "--author", IVY)
    assert result.returncode == 1
    assert f"{array}[0]: body: Missing data" in result.stderr
    assert f"{array}[2]: _json: The record (from line 4) is not valid JSON" in result.stderr
    assert f"{array}[1]" not in result.stderr
    assert tips(repo) == before


def test_a_bad_author_is_refused(repo: Path, tmp_path: Path) -> None:
    source = jsonl(tmp_path / "one.jsonl", [story("Fine", "Fine.")])
    runner = CliRunner()
    for author in [
        "Ivy",
        "<ivy@example.org>",
        "Ivy <ivy@example.org> extra",
        "Ivy\x07 <ivy@example.org>",
        "Ivy <ivy@example.org>\n",
        "Ivy <not-an-email>",
        "Ivy <<ivy@example.org>>",
        " <ivy@example.org>",
    ]:
        result = runner.invoke(
            main, ["--repo", str(repo), "import", str(source), "--author", author]
        )
        assert result.exit_code == 1, author
        assert "--author" in result.output, author
    assert slugs_on(repo) == []
    good = runner.invoke(
        main,
        ["--repo", str(repo), "import", str(source), "--author", "Zoë Ångström <zoe@example.org>"],
    )
    assert good.exit_code == 0, good.output
    assert (
        git(repo, "log", "-1", "--format=%an <%ae>", "main").strip()
        == "Zoë Ångström <zoe@example.org>"
    )


# -- what an import skips, and why (issue 25, item 9) --------------------------------------

FRONT_MATTER = """---
title: Harbour wall gives way
date: 2019-03-04
---

The old harbour wall collapsed after the storm.
"""


def skipped(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The `path: skipped: reason` lines an import printed, by path."""
    found = {}
    for line in result.stderr.splitlines():
        path, sep, reason = line.partition(": skipped: ")
        if sep:
            found[path] = reason
    return found


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_folder_of_markdown_is_named_file_by_file_and_imports_nothing(
    repo: Path, tmp_path: Path
) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    for name in ("harbour-wall.md", "library-opens.md"):
        (posts / name).write_text(FRONT_MATTER, encoding="utf-8")
    before = tips(repo)
    result = cms(repo, "import", f"{posts}/", "--author", IVY)
    assert result.returncode == 1, result.stderr
    assert skipped(result) == {
        f"{posts}/harbour-wall.md": "not a .json or .jsonl article file",
        f"{posts}/library-opens.md": "not a .json or .jsonl article file",
    }
    assert f"Nothing imported: no articles found in {posts}/; 2 file(s) skipped." in (result.stderr)
    assert "0 created" not in result.stderr and "Traceback" not in result.stderr
    assert tips(repo) == before

    named = cms(repo, "import", str(posts / "harbour-wall.md"), "--author", IVY)
    assert named.returncode == 1
    assert skipped(named) == {str(posts / "harbour-wall.md"): "not a .json or .jsonl article file"}
    assert tips(repo) == before


def test_what_is_not_an_article_file_is_skipped_by_name_and_the_rest_imported(
    repo: Path, tmp_path: Path
) -> None:
    posts = tmp_path / "posts"
    write_json(posts / "budget.json", story("Budget passes", "The council approved it."))
    write_json(posts / "2019" / "ferry.json", story("Ferry strike ends", "Ferries run."))
    (posts / "notes.md").write_text(FRONT_MATTER, encoding="utf-8")
    (posts / "._budget.json").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    (posts / ".git").mkdir()
    (posts / ".git" / "config").write_text("[core]\n")
    outside = write_json(tmp_path / "elsewhere" / "secret.json", story("Outside", "Not ours."))
    (posts / "linked.json").symlink_to(outside)
    (posts / "linked-folder").symlink_to(outside.parent, target_is_directory=True)
    write_json(posts / "story.json" / "inner.json", story("Inner", "In a folder."))
    os.mkfifo(posts / "pipe.json")

    result = cms(repo, "import", str(posts), "--author", IVY)
    assert result.returncode == 0, result.stderr
    assert skipped(result) == {
        f"{posts}/._budget.json": "hidden (its name starts with a dot)",
        f"{posts}/.git": "hidden (its name starts with a dot)",
        f"{posts}/linked-folder": "a symbolic link, not followed",
        f"{posts}/linked.json": "a symbolic link, not followed",
        f"{posts}/notes.md": "not a .json or .jsonl article file",
        f"{posts}/pipe.json": "not a regular file",
        f"{posts}/story.json": "a folder named like an article file; not read",
    }
    assert "2 created, 0 updated, 0 unchanged, 0 published; 7 file(s) skipped" in result.stderr
    assert slugs_on(repo) == ["budget-passes", "ferry-strike-ends"]


def test_good_and_bad_json_in_a_folder_names_each_bad_file_and_imports_nothing(
    repo: Path, tmp_path: Path
) -> None:
    posts = tmp_path / "posts"
    write_json(posts / "good.json", story("Fine story", "Fine."))
    write_json(posts / "no-body.json", {"title": "No body"})
    (posts / "broken.json").write_text('{"title": "Cut off', encoding="utf-8")
    write_json(posts / "wrong-type.json", story("Wrong", "x", tags="not a list"))
    (posts / "notes.md").write_text(FRONT_MATTER, encoding="utf-8")
    before = tips(repo)
    result = cms(repo, "import", str(posts), "--author", IVY)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert f"{posts}/no-body.json: body: Missing data for required field." in lines
    assert any(line.startswith(f"{posts}/broken.json: _json: ") for line in lines), lines
    assert any(line.startswith(f"{posts}/wrong-type.json: tags: ") for line in lines), lines
    assert skipped(result) == {f"{posts}/notes.md": "not a .json or .jsonl article file"}
    assert f"{posts}/good.json" not in result.stderr
    assert "3 bad record(s) of 4; nothing imported; 1 file(s) skipped." in result.stderr
    assert tips(repo) == before and slugs_on(repo) == []


def test_an_empty_folder_or_file_imports_nothing_and_says_so(repo: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "none.jsonl").write_text("\n\n", encoding="utf-8")
    (tmp_path / "none.json").write_text("[]\n", encoding="utf-8")
    before = tips(repo)
    for given in (empty, tmp_path / "none.jsonl", tmp_path / "none.json"):
        result = cms(repo, "import", str(given), "--author", IVY)
        assert result.returncode == 1, (given, result.stderr)
        assert f"Nothing imported: no articles found in {given}." in result.stderr
        assert "Traceback" not in result.stderr
    assert tips(repo) == before


# -- an export never writes through a link (issue 25, item 8) ------------------------------

EXPORTED = ["harbour-wall-gives-way", "mayor-opens-new-library"]


def two_articles(repo: Path, tmp_path: Path) -> None:
    ok(
        cms(
            repo,
            "import",
            str(jsonl(tmp_path / "two.jsonl", ARCHIVE[:2])),
            "--publish",
            "--author",
            IVY,
        )
    )


def victim(tmp_path: Path) -> Path:
    """A file outside the export that a link points at: it must keep its bytes."""
    path = tmp_path / "precious.txt"
    path.write_text("precious\n")
    return path


def test_export_refuses_a_link_in_the_folder_and_writes_nothing(repo: Path, tmp_path: Path) -> None:
    two_articles(repo, tmp_path)
    target = victim(tmp_path)
    out = tmp_path / "backup"
    out.mkdir()
    (out / f"{EXPORTED[1]}.json").symlink_to(target)
    result = cms(repo, "export", str(out))
    assert result.returncode == 1, result.stderr
    assert (
        f"{out}/{EXPORTED[1]}.json: a symbolic link (an export never writes through one)"
        in result.stderr.splitlines()
    )
    assert "Nothing exported" in result.stderr and "Traceback" not in result.stderr
    assert target.read_text() == "precious\n"
    assert sorted(p.name for p in out.iterdir()) == [f"{EXPORTED[1]}.json"]

    (out / f"{EXPORTED[1]}.json").unlink()
    (out / f"{EXPORTED[0]}.json").write_text("an older export\n")
    ok(cms(repo, "export", str(out)))
    assert sorted(p.name for p in out.iterdir()) == [f"{s}.json" for s in EXPORTED]
    assert all(not p.is_symlink() and p.read_bytes().startswith(b"{") for p in out.iterdir())
    assert target.read_text() == "precious\n"


def test_export_refuses_a_hard_link_a_folder_or_a_pipe_where_it_would_write(
    repo: Path, tmp_path: Path
) -> None:
    two_articles(repo, tmp_path)
    target = victim(tmp_path)
    out = tmp_path / "backup"
    out.mkdir()
    os.link(target, out / f"{EXPORTED[0]}.json")
    (out / f"{EXPORTED[1]}.json").mkdir()
    result = cms(repo, "export", str(out))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert (
        f"{out}/{EXPORTED[0]}.json: a file with other hard links (writing it would "
        "change them too)" in lines
    )
    assert f"{out}/{EXPORTED[1]}.json: a folder, not a file" in lines
    assert target.read_text() == "precious\n"

    os.mkfifo(tmp_path / "pipe.jsonl")
    piped = cms(repo, "export", str(tmp_path / "pipe.jsonl"))
    assert piped.returncode == 1
    assert f"{tmp_path}/pipe.jsonl: not a regular file" in piped.stderr


def test_export_refuses_a_link_as_the_file_it_writes(repo: Path, tmp_path: Path) -> None:
    two_articles(repo, tmp_path)
    target = victim(tmp_path)
    for name in ("site.jsonl", "site.json"):
        (tmp_path / name).symlink_to(target)
        result = cms(repo, "export", str(tmp_path / name))
        assert result.returncode == 1, result.stderr
        assert (
            f"{tmp_path}/{name}: a symbolic link (an export never writes through one)"
            in result.stderr
        )
        assert target.read_text() == "precious\n"


def test_export_refuses_a_link_anywhere_in_the_path(repo: Path, tmp_path: Path) -> None:
    two_articles(repo, tmp_path)
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "shared").symlink_to(real, target_is_directory=True)
    for given in ("shared/backup", "shared/site.jsonl"):
        result = cms(repo, "export", str(tmp_path / given))
        assert result.returncode == 1, result.stderr
        assert (
            f"{tmp_path}/shared: a symbolic link in the path (an export follows none; "
            f"give the real path: {real}/{given.split('/')[1]})" in result.stderr
        )
        assert list(real.iterdir()) == []

    plain = tmp_path / "plain-file"
    plain.write_text("not a folder\n")
    result = cms(repo, "export", str(plain))
    assert result.returncode == 1
    assert f"{plain}: not a folder" in result.stderr and "Traceback" not in result.stderr
    assert plain.read_text() == "not a folder\n"
