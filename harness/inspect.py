"""What a content repository holds, read with plain git and through the API, for the checks
the crash harness and the fault tests make."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import requests

from cms.content import layout
from cms.git.refs import LOCK_WAIT_SECONDS, STALE_LOCK_SECONDS
from harness import GIT_ENV
from harness.launch import cms_command

URL = "/api/v1/manage/articles"
# connect, then read: a write may wait for a lock a killed writer left until it goes stale
TIMEOUT = (3.0, LOCK_WAIT_SECONDS + STALE_LOCK_SECONDS + 20.0)


def git(repo: Path, *args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args],
        input=data,
        capture_output=True,
        env={**os.environ, **GIT_ENV},
        timeout=120,
    )


def tip(repo: Path, line: str) -> str | None:
    result = git(repo, "rev-parse", "--verify", "-q", f"refs/heads/{line}")
    return result.stdout.decode().strip() or None


def rev_list(repo: Path, line: str) -> set[str]:
    return set(git(repo, "rev-list", f"refs/heads/{line}").stdout.decode().split())


def cat_files(repo: Path, specs: list[str]) -> dict[str, bytes | None]:
    """`git cat-file --batch` for many `rev:path` (or object) names at once."""
    if not specs:
        return {}
    out = git(repo, "cat-file", "--batch", data="".join(f"{s}\n" for s in specs).encode())
    found: dict[str, bytes | None] = {}
    data, at = out.stdout, 0
    for spec in specs:
        end = data.index(b"\n", at)
        header = data[at:end].split()
        at = end + 1
        if len(header) != 3:  # "<name> missing" / "ambiguous"
            found[spec] = None
            continue
        size = int(header[2])
        found[spec] = data[at : at + size]
        at += size + 1
    return found


def files_on(repo: Path, line: str) -> dict[str, str]:
    """Every file under articles/ on `line`: path -> blob id."""
    head = tip(repo, line)
    if head is None:
        return {}
    out = git(repo, "ls-tree", "-r", "-z", head, "--", layout.ROOT).stdout.decode()
    files = {}
    for entry in filter(None, out.split("\0")):
        meta, _, path = entry.partition("\t")
        files[path] = meta.split()[2]
    return files


def summaries_on(repo: Path, line: str) -> tuple[dict[str, str | None], list[str]]:
    """slug -> the `summary` of its file on `line`; and a problem for any file that is not
    a whole JSON article."""
    files = files_on(repo, line)
    blobs = cat_files(repo, list(files.values()))
    found: dict[str, str | None] = {}
    problems = []
    for path, blob in files.items():
        slug = layout.slug_from_path(path)
        try:
            doc = json.loads(blobs[blob] or b"")
        except ValueError as e:
            problems.append(f"{line}: {path} is not whole JSON ({e})")
            continue
        if slug is None or not isinstance(doc, dict) or doc.get("slug") != slug:
            problems.append(f"{line}: {path} is not an article file")
            continue
        found[slug] = doc.get("summary")
    return found, problems


def fsck_problems(repo: Path) -> list[str]:
    """`git fsck --strict`: non-zero exit, or any line that is not a dangling object."""
    result = git(repo, "fsck", "--strict", "--no-progress")
    output = (result.stdout + result.stderr).decode(errors="replace")
    bad = [
        line
        for line in output.splitlines()
        if line.strip() and not line.startswith(("dangling ", "notice: "))
    ]
    if result.returncode != 0 or bad:
        return [f"git fsck --strict (exit {result.returncode}): {output.strip()[:2000]}"]
    return []


def cms_check_problems(repo: Path) -> list[str]:
    result = subprocess.run(
        [cms_command(), "--repo", str(repo), "check"], capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        return [f"cms check exit {result.returncode}: {(result.stdout + result.stderr)[:2000]}"]
    return []


def leftovers(repo: Path) -> tuple[list[str], list[str]]:
    """Ref lock files and unrenamed object temp files a killed writer left behind."""
    locks = [str(p.relative_to(repo)) for p in (repo / "refs").rglob("*.lock")]
    temps = [str(p.relative_to(repo)) for p in (repo / "objects").glob("*/tmp_obj_*")]
    return locks, temps


def api_items(session: requests.Session, url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for number in range(1, 1000):
        r = session.get(url, params={"page": number, "per_page": 100}, timeout=TIMEOUT)
        r.raise_for_status()
        body = r.json()
        items += body["items"]
        if number >= body["meta"]["pages"]:
            break
    return items


def index_problems(session: requests.Session, base: str, repo: Path) -> list[str]:
    """The API (the SQLite index) lists exactly what git holds, on both lines."""
    problems: list[str] = []
    main, bad_main = summaries_on(repo, "main")
    published, bad_published = summaries_on(repo, "published")
    problems += bad_main + bad_published
    listed = {a["slug"]: a.get("summary") for a in api_items(session, base + URL)}
    if listed != main:
        missing, extra = sorted(set(main) - set(listed)), sorted(set(listed) - set(main))
        differ = sorted(s for s in set(main) & set(listed) if main[s] != listed[s])
        problems.append(
            f"index != main: missing {missing[:5]}, extra {extra[:5]}, stale {differ[:5]}"
        )
    live = {s: v for s, v in published.items() if s in main}
    delivered = {a["slug"]: a.get("summary") for a in api_items(session, base + "/api/v1/articles")}
    if delivered != live:
        stale = sorted(s for s in set(live) & set(delivered) if live[s] != delivered[s])
        problems.append(
            f"delivery != published: {sorted(set(delivered) ^ set(live))[:5]} stale {stale[:5]}"
        )
    return problems
