"""The `cms` command as a user runs it: its exit code and output, and the content repository as
plain git shows it afterwards. Commands run in this process through click's CliRunner (the same
`main` the installed script calls, with the same environment) unless a real process is the
point (`process=True`: serving, and the installed script itself)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import traceback
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import GIT_ENV, article, free_port, running
from flask.testing import FlaskClient

from cms.cli import main as cms_main
from cms.content import canonical, layout
from cms.content.articles import validate
from cms.content.media_paths import media_path
from cms.demo.articles import ARTICLES as DEMO_ARTICLES
from cms.demo.articles import with_pictures
from cms.demo.pictures import pictures as demo_pictures
from cms.web import create_app

CMS = shutil.which("cms") or str(Path(sys.executable).parent / "cms")
DEMO_SLUGS = sorted(a["slug"] for a in DEMO_ARTICLES)
TOKEN_RE = re.compile(r"^cms_[0-9a-f]{8}_[A-Za-z0-9_-]+$")
MANAGE = "/api/v1/manage/articles"

# Deterministic git identity; no user or system git config leaks into the commands.
ENV = {
    **{k: v for k, v in os.environ.items() if k not in ("CMS_REPO", "CMS_TOKEN")},
    **GIT_ENV,
    "GIT_CONFIG_GLOBAL": os.devnull,
}


# -- helpers -----------------------------------------------------------------------------


def cms(
    *args: str,
    repo: Path | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
    process: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run `cms` with `args`; never raises on a non-zero exit. In this process unless
    `process`; an exception the command lets out is on stderr as a traceback, as the installed
    script would print it."""
    argv = [*(["--repo", str(repo)] if repo is not None else []), *args]
    if process:
        return subprocess.run(
            [CMS, *argv],
            env=ENV,
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
        )
    runner = CliRunner(
        env={"CMS_REPO": None, "CMS_TOKEN": None, **GIT_ENV, "GIT_CONFIG_GLOBAL": os.devnull}
    )
    before = os.getcwd()
    os.chdir(cwd or before)
    try:
        result = runner.invoke(cms_main, argv, prog_name="cms")
    finally:
        os.chdir(before)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess([CMS, *argv], result.exit_code, result.stdout, stderr)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result


def git_raw(repo: Path, *args: str, cwd: Path | None = None) -> bytes:
    cmd = ["git", *args] if cwd else ["git", "--git-dir", str(repo), *args]
    return subprocess.run(cmd, cwd=cwd, env=ENV, check=True, capture_output=True).stdout


def git(repo: Path, *args: str, cwd: Path | None = None) -> str:
    return git_raw(repo, *args, cwd=cwd).decode("utf-8")


def count(repo: Path, ref: str = "main") -> int:
    return int(git(repo, "rev-list", "--count", ref))


def tip(repo: Path) -> str:
    return git(repo, "rev-parse", "main").strip()


def blob(repo: Path, slug: str, ref: str = "main") -> bytes:
    return git_raw(repo, "cat-file", "-p", f"{ref}:{layout.article_path(slug)}")


def tree_slugs(repo: Path) -> list[str]:
    paths = git(repo, "ls-tree", "-r", "--name-only", "main", "--", layout.ROOT).split()
    return sorted(Path(p).stem for p in paths)


def commits(repo: Path) -> list[dict[str, str]]:
    """Every commit on main except the root, oldest first."""
    fmt = (
        "%an <%ae>%x1f%s%x1f%(trailers:key=Article,valueonly)%x1f"
        "%(trailers:key=Action,valueonly)%x1f%P%x1e"
    )
    out = []
    for record in git(repo, "log", "--reverse", f"--format={fmt}", "main").split("\x1e"):
        if not record.strip():
            continue
        author, subject, slug, action, parents = (f.strip() for f in record.split("\x1f"))
        if parents:
            out.append({"author": author, "subject": subject, "slug": slug, "action": action})
    return out


def token_lines(repo: Path) -> list[str]:
    return ok(cms("token", "list", repo=repo)).stdout.splitlines()


def push_files(repo: Path, work: Path, files: dict[str, bytes]) -> None:
    """Commit `files` with plain git in a clone and bring them to the content repository's
    `main` past the gate (fetched there, as a ref moved on the server by hand would)."""
    subprocess.run(
        ["git", "clone", "-q", str(repo), str(work)], env=ENV, check=True, capture_output=True
    )
    for path, data in files.items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    git(repo, "add", "-A", cwd=work)
    git(repo, "commit", "-q", "-m", "Add articles by hand", cwd=work)
    git(repo, "fetch", "-q", str(work), "+main:main")


def canonical_bytes(data: dict[str, Any]) -> bytes:
    return canonical.dumps(validate(data))


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A content repository made by `cms init --demo --no-token`."""
    path = tmp_path / "demo-repo"
    ok(cms("init", "--demo", "--no-token", repo=path))
    return path


# -- help ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["init"],
        ["serve"],
        ["token"],
        ["token", "create"],
        ["token", "list"],
        ["token", "revoke"],
        ["check"],
        ["import"],
        ["export"],
        ["publish-due"],
        ["publish"],
    ],
    ids=lambda c: " ".join(c) or "cms",
)
def test_help_shows_an_example(command: list[str], tmp_path: Path) -> None:
    # `cms --help` through the installed script too: the entry point itself works
    result = cms(*command, "--help", cwd=tmp_path, process=not command)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: cms")
    assert "Example" in result.stdout, result.stdout
    assert not (tmp_path / "content-repo").exists()


# -- init ----------------------------------------------------------------------------------


def test_init_creates_a_bare_repository_with_one_commit_and_is_idempotent(tmp_path: Path):
    path = tmp_path / "new" / "content"
    first = ok(cms("init", repo=path))
    assert git(path, "rev-parse", "--is-bare-repository").strip() == "true"
    assert git(path, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert count(path) == 1
    head = tip(path)
    assert git(path, "ls-tree", "--name-only", "main").split() == ["README.md"]
    assert [line for line in first.stderr.splitlines() if "CMS_TOKEN=cms_" in line]
    assert "CMS_TOKEN" not in first.stdout

    again = ok(cms("init", repo=path))
    assert tip(path) == head
    assert count(path) == 1
    assert "CMS_TOKEN" not in again.stdout + again.stderr
    assert git(path, "fsck", "--strict").strip() == ""


def test_first_init_prints_one_admin_token_that_token_list_shows(tmp_path: Path):
    path = tmp_path / "content"
    result = ok(cms("init", repo=path))
    secrets = re.findall(r"CMS_TOKEN=(\S+)", result.stderr)
    assert len(secrets) == 1
    secret = secrets[0]
    assert TOKEN_RE.match(secret)
    lines = token_lines(path)
    assert len(lines) == 1
    token_id = secret.split("_")[1]
    assert lines[0].split()[:3] == [token_id, "admin", "active"]
    assert "Admin <admin@example.org>" in lines[0]
    assert secret not in lines[0]

    client = create_app({"REPO": str(path), "TESTING": True}).test_client()
    response = client.get(MANAGE, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200

    again = ok(cms("init", repo=path))
    assert "CMS_TOKEN" not in again.stderr
    assert len(token_lines(path)) == 1


def test_init_no_token_prints_none(tmp_path: Path):
    path = tmp_path / "content"
    result = ok(cms("init", "--no-token", repo=path))
    assert "CMS_TOKEN" not in result.stdout + result.stderr
    assert token_lines(path) == []


def test_init_demo_adds_each_demo_article_as_one_commit(tmp_path: Path):
    path = tmp_path / "content"
    ok(cms("init", "--demo", repo=path))
    # the pictures it draws itself, one upload commit each, then one commit per article
    paths = {
        name: media_path(hashlib.sha256(data).hexdigest(), "jpg")
        for name, data in demo_pictures().items()
    }
    assert count(path) == len(DEMO_ARTICLES) + len(paths) + 1
    found = commits(path)
    assert [c["action"] for c in found[: len(paths)]] == ["upload"] * len(paths)
    found = found[len(paths) :]
    assert len(found) == len(DEMO_ARTICLES)
    for c in found:
        assert c["author"] == "Demo Editor <demo@example.org>"
        assert c["subject"] == f"Create {c['slug']}"
        assert c["action"] == "create"
    assert sorted(c["slug"] for c in found) == DEMO_SLUGS
    assert tree_slugs(path) == DEMO_SLUGS
    for a in with_pictures(paths):
        assert json.loads(blob(path, a["slug"])) == json.loads(canonical_bytes(a))
    assert git(path, "ls-tree", "-r", "--name-only", "published", "media").split() == sorted(
        paths.values()
    )
    grep = git(path, "log", "--grep", "Action: create", "--format=%s", "main").splitlines()
    assert len(grep) == len(DEMO_ARTICLES)

    head = tip(path)
    again = ok(cms("init", "--demo", repo=path))
    assert tip(path) == head
    assert count(path) == len(DEMO_ARTICLES) + len(paths) + 1
    assert "CMS_TOKEN" not in again.stderr
    assert len(token_lines(path)) == 1


# -- tokens --------------------------------------------------------------------------------


def test_token_create_list_revoke(repo: Path, client: FlaskClient) -> None:
    result = ok(
        cms(
            "token",
            "create",
            "--name",
            "Eve Editor",
            "--email",
            "eve@example.org",
            "--role",
            "editor",
            repo=repo,
        )
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    secret = lines[0]
    assert TOKEN_RE.match(secret), secret
    token_id = secret.split("_")[1]

    listing = token_lines(repo)
    assert len(listing) == 1
    assert listing[0].split()[:3] == [token_id, "editor", "active"]
    assert "Eve Editor" in listing[0] and "eve@example.org" in listing[0]
    assert secret not in listing[0]
    assert secret.split("_", 2)[2] not in listing[0]

    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get(MANAGE, headers=auth).status_code == 200
    created = client.post(MANAGE, json=article("Token test article"), headers=auth)
    assert created.status_code == 201
    assert git(repo, "log", "-1", "--format=%an <%ae>", "main").strip() == (
        "Eve Editor <eve@example.org>"
    )

    revoked = ok(cms("token", "revoke", token_id, repo=repo))
    assert token_id in revoked.stderr
    assert token_lines(repo)[0].split()[:3] == [token_id, "editor", "revoked"]
    assert client.get(MANAGE, headers=auth).status_code == 401

    unknown = cms("token", "revoke", "00000000", repo=repo)
    assert unknown.returncode == 1
    assert "00000000" in unknown.stderr


def test_tokens_are_private_and_never_in_history(tmp_path: Path) -> None:
    path = tmp_path / "content"
    first = ok(cms("init", "--demo", repo=path))
    admin = re.findall(r"CMS_TOKEN=(\S+)", first.stderr)[0]
    editor = ok(
        cms(
            "token",
            "create",
            "--name",
            "Eve Editor",
            "--email",
            "eve@example.org",
            "--role",
            "editor",
            repo=path,
        )
    ).stdout.strip()
    client = create_app({"REPO": str(path), "TESTING": True}).test_client()
    response = client.post(
        MANAGE, json=article("Secrets stay out"), headers={"Authorization": f"Bearer {editor}"}
    )
    assert response.status_code == 201

    tokens_file = path / "cms" / "tokens.json"
    assert tokens_file.is_file()
    assert tokens_file.stat().st_mode & 0o777 == 0o600
    assert "tokens.json" not in git(path, "log", "--all", "--name-only", "--format=")
    history = git_raw(path, "log", "--all", "-p")
    everything = git_raw(path, "cat-file", "--batch-all-objects", "--batch")
    for secret in (admin, editor):
        assert secret.encode() not in history
        assert secret.encode() not in everything
    assert b"tokens.json" not in everything
    # A clone carries no tokens.
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--mirror", str(path), str(clone)],
        env=ENV,
        check=True,
        capture_output=True,
    )
    assert not (clone / "cms").exists()


def test_token_create_rejects_a_bad_role(repo: Path) -> None:
    result = cms(
        "token",
        "create",
        "--name",
        "N",
        "--email",
        "n@example.org",
        "--role",
        "overlord",
        repo=repo,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Usage: cms token create" in result.stderr
    assert "--role" in result.stderr and "overlord" in result.stderr
    assert token_lines(repo) == []


def test_token_create_rejects_a_bad_email(repo: Path) -> None:
    result = cms(
        "token", "create", "--name", "N", "--email", "not-an-email", "--role", "editor", repo=repo
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "email" in result.stderr
    assert "Traceback" not in result.stderr
    assert token_lines(repo) == []


# -- check ---------------------------------------------------------------------------------


def test_check_passes_on_a_healthy_demo_repository(demo: Path) -> None:
    result = cms("check", repo=demo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert str(len(DEMO_ARTICLES)) in result.stderr


def _missing_body() -> tuple[str, bytes, str]:
    slug = "missing-body"
    data = {"slug": slug, "title": "An article without a body"}
    return layout.article_path(slug), (json.dumps(data, indent=2) + "\n").encode(), "body"


def _wrong_shard() -> tuple[str, bytes, str]:
    slug = "filed-in-the-wrong-place"
    wrong = "00" if layout.shard(slug) != "00" else "01"
    return (
        f"{layout.ROOT}/{wrong}/{slug}.json",
        canonical_bytes(article("Filed in the wrong place", slug=slug)),
        "",
    )


def _not_canonical() -> tuple[str, bytes, str]:
    slug = "compact-but-valid"
    data = validate(article("Compact but valid", slug=slug))
    return layout.article_path(slug), json.dumps(data).encode(), ""


@pytest.mark.parametrize(
    "make",
    [_missing_body, _wrong_shard, _not_canonical],
    ids=["missing-body", "wrong-shard", "not-canonical"],
)
def test_check_reports_a_bad_file_pushed_with_plain_git(
    demo: Path, tmp_path: Path, make: Any
) -> None:
    path, data, field = make()
    # A valid, canonical neighbour in the same push must not be reported.
    good = article("A perfectly fine article", slug="perfectly-fine")
    push_files(
        demo,
        tmp_path / "work",
        {
            path: data,
            layout.article_path("perfectly-fine"): canonical_bytes(good),
        },
    )
    assert git(demo, "cat-file", "-e", f"main:{path}") == ""

    result = cms("check", repo=demo)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines, result.stderr
    assert all(path in line for line in lines), lines
    if field:
        assert any(field in line.removeprefix(path) for line in lines), lines
    assert "perfectly-fine" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


# -- export and import ---------------------------------------------------------------------


def test_export_jsonl_writes_every_article(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    ok(cms("export", str(out), repo=demo))
    lines = out.read_bytes().decode("utf-8").splitlines()
    assert len(lines) == len(DEMO_ARTICLES)
    exported = [json.loads(line) for line in lines]
    assert sorted(a["slug"] for a in exported) == DEMO_SLUGS
    for a in exported:
        meta = a.pop("meta")
        assert a == json.loads(blob(demo, a["slug"]))
        assert meta["state"] == "published" and meta["published_at"].endswith("Z")


def test_export_directory_files_match_the_repository(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "outdir"
    ok(cms("export", f"{out}/", repo=demo))
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"{s}.json" for s in DEMO_SLUGS)
    for slug in DEMO_SLUGS:
        data = json.loads((out / f"{slug}.json").read_bytes())
        assert data.pop("meta")["state"] == "published"
        assert canonical.dumps(data) == blob(demo, slug)


@pytest.mark.parametrize("kind", ["jsonl", "dir"])
def test_import_of_an_export_recreates_the_articles(demo: Path, tmp_path: Path, kind: str) -> None:
    source = tmp_path / ("export.jsonl" if kind == "jsonl" else "export")
    ok(cms("export", str(source), repo=demo))

    fresh = tmp_path / "fresh"
    ok(cms("init", "--no-token", repo=fresh))
    result = ok(
        cms(
            "import",
            str(source),
            "--name",
            "Ivy Importer",
            "--email",
            "ivy@example.org",
            repo=fresh,
        )
    )
    assert f"{len(DEMO_ARTICLES)} created" in result.stderr
    assert count(fresh) == len(DEMO_ARTICLES) + 1
    found = commits(fresh)
    assert len(found) == len(DEMO_ARTICLES)
    for c in found:
        assert c["author"] == "Ivy Importer <ivy@example.org>"
        assert c["action"] == "create"
        assert c["subject"] == f"Create {c['slug']}"
    assert tree_slugs(fresh) == DEMO_SLUGS
    for slug in DEMO_SLUGS:
        assert blob(fresh, slug) == blob(demo, slug)

    head = tip(fresh)
    again = ok(
        cms(
            "import",
            str(source),
            "--name",
            "Ivy Importer",
            "--email",
            "ivy@example.org",
            repo=fresh,
        )
    )
    assert f"0 created, 0 updated, {len(DEMO_ARTICLES)} unchanged" in again.stderr
    assert tip(fresh) == head
    assert ok(cms("check", repo=fresh)).stdout == ""


def test_import_updates_an_existing_article(repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "one.json"
    source.write_text(json.dumps(article("First version", slug="evolving")), encoding="utf-8")
    ok(cms("import", str(source), "--name", "Ivy", "--email", "ivy@example.org", repo=repo))
    source.write_text(json.dumps(article("Second version", slug="evolving")), encoding="utf-8")
    result = ok(
        cms("import", str(source), "--name", "Ivy", "--email", "ivy@example.org", repo=repo)
    )
    assert "0 created, 1 updated, 0 unchanged" in result.stderr
    assert count(repo) == 3
    assert git(repo, "log", "-1", "--format=%s", "main").strip() == "Update evolving: title"
    assert json.loads(blob(repo, "evolving"))["title"] == "Second version"


def test_import_with_an_invalid_line_imports_nothing(repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "batch.jsonl"
    bad = {"slug": "no-body-here", "title": "No body"}
    source.write_text(
        "\n".join(
            [
                json.dumps(article("Valid one", slug="valid-one")),
                json.dumps(bad),
                json.dumps(article("Valid two", slug="valid-two")),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    head = tip(repo)

    result = cms("import", str(source), "--name", "Ivy", "--email", "ivy@example.org", repo=repo)
    assert result.returncode == 1
    problem = [line for line in result.stderr.splitlines() if f"{source}:2" in line]
    assert problem, result.stderr
    assert "body" in problem[0]
    assert f"{source}:1" not in result.stderr
    assert f"{source}:3" not in result.stderr
    assert "nothing imported" in result.stderr
    assert tip(repo) == head
    assert count(repo) == 1
    assert tree_slugs(repo) == []


def test_import_of_unparsable_json_names_the_line(repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "broken.jsonl"
    source.write_text(json.dumps(article(slug="fine")) + "\n{not json\n", encoding="utf-8")
    result = cms("import", str(source), "--name", "Ivy", "--email", "ivy@example.org", repo=repo)
    assert result.returncode == 1
    assert f"{source}:2" in result.stderr
    assert "Traceback" not in result.stderr
    assert count(repo) == 1


def test_import_of_a_json_list(repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "list.json"
    source.write_text(
        json.dumps(
            [
                article("Listed first", slug="listed-first"),
                article("Listed second", slug="listed-second"),
            ]
        ),
        encoding="utf-8",
    )
    result = ok(
        cms(
            "import", str(source), "--name", "Ivy Importer", "--email", "ivy@example.org", repo=repo
        )
    )
    assert "2 created" in result.stderr
    assert count(repo) == 3
    assert tree_slugs(repo) == ["listed-first", "listed-second"]
    assert [c["author"] for c in commits(repo)] == ["Ivy Importer <ivy@example.org>"] * 2
    assert json.loads(blob(repo, "listed-second"))["title"] == "Listed second"


def test_non_ascii_text_survives_the_round_trip_as_utf8(repo: Path, tmp_path: Path) -> None:
    title = "Café in Zürich öffnet — 東京 ☕"
    text = "Ünïcödé straße: „Grüße“ aus Kraków, Αθήνα и Москва."
    data = article(title, slug="cafe-zurich", body=[{"type": "paragraph", "text": text}])
    source = tmp_path / "one.json"
    source.write_text(json.dumps(data), encoding="utf-8")  # \u escapes in the input
    ok(
        cms(
            "import", str(source), "--name", "Zoë Ångström", "--email", "zoe@example.org", repo=repo
        )
    )

    stored = blob(repo, "cafe-zurich")
    for s in (title, text):
        assert s.encode("utf-8") in stored
    assert b"\\u" not in stored
    assert git(repo, "log", "-1", "--format=%an", "main").strip() == "Zoë Ångström"

    jsonl = tmp_path / "out.jsonl"
    folder = tmp_path / "outdir"
    ok(cms("export", str(jsonl), repo=repo))
    ok(cms("export", str(folder), repo=repo))
    for raw in (jsonl.read_bytes(), (folder / "cafe-zurich.json").read_bytes()):
        assert title.encode("utf-8") in raw and text.encode("utf-8") in raw
        assert b"\\u" not in raw

    fresh = tmp_path / "fresh"
    ok(cms("init", "--no-token", repo=fresh))
    ok(cms("import", str(jsonl), "--name", "Ivy", "--email", "ivy@example.org", repo=fresh))
    assert blob(fresh, "cafe-zurich") == stored


# -- serve ---------------------------------------------------------------------------------


def test_serve_runs_gunicorn_that_answers_healthz(demo: Path, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    admin = ok(
        cms(
            "token",
            "create",
            "--name",
            "Ada",
            "--email",
            "ada@example.org",
            "--role",
            "admin",
            repo=demo,
        )
    ).stdout.strip()
    log = tmp_path / "serve.log"
    with running(
        [CMS, "--repo", str(demo), "serve", "--port", str(port), "--workers", "2"], url, log, ENV
    ):
        with urllib.request.urlopen(url, timeout=10) as response:
            assert json.loads(response.read()) == {"status": "ok"}
        asked = urllib.request.Request(url, headers={"Authorization": f"Bearer {admin}"})
        with urllib.request.urlopen(asked, timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "ok"
        assert body["articles"] == len(DEMO_ARTICLES)
        assert body["revision"] == tip(demo)
    output = log.read_text(errors="replace")
    assert "gunicorn" in output.lower()
    assert output.count("Booting worker") >= 2, output


@pytest.mark.parametrize(
    "command",
    [
        ["serve"],
        ["check"],
        ["token", "list"],
        ["export", "out.jsonl"],
    ],
    ids=lambda c: " ".join(c),
)
def test_commands_without_a_repository_say_run_cms_init(command: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    result = cms(*command, repo=missing, cwd=tmp_path, timeout=30)
    assert result.returncode != 0
    assert "cms init" in result.stderr
    assert "Traceback" not in result.stderr
    assert not missing.exists()
