"""`cms check`: what the git gate would refuse, found in what git already holds.

Every file on both lines (`rules.file_problems`: layout, paths git will not check out, mode,
size, JSON, article schema, slug) and whether an article file is in canonical form; every
commit reachable from them (`rules.commit_problems`: readable author, committer and message,
dates in range); nothing live that was deleted from the draft line; and git's own fsck.
"""

from __future__ import annotations

import subprocess

from cms.content import canonical, layout
from cms.content.layout import MAIN, PUBLISHED
from cms.git.objects import ObjectStream
from cms.git.repository import Repository
from cms.integrity import gate, rules


def problems(repo: Repository) -> list[str]:
    """Return one line per problem found; an empty list means all is well."""
    found: list[str] = []
    files: dict[str, set[str]] = {}
    git_dir = repo.git_dir
    tips = repo.tips()
    with ObjectStream(git_dir) as objects:
        for line, tip in tips.items():
            entries = _files(git_dir, tip) if tip else []
            files[line] = {path for path, _, _ in entries}
            for path, problems_, data in gate.checked_files(objects, entries):
                found += [f"{line}: {text}" for text in gate.lines(path, problems_)]
                if not problems_ and data is not None and layout.slug_from_path(path):
                    found += [f"{line}: {text}" for text in _canonical(path, data)]
        commits = _commits(git_dir, [tip for tip in tips.values() if tip])
        for sha, raw in objects.many(commits):
            # the CMS's own commits carry its identity: that is checked at the gate only
            for field, messages in rules.commit_problems(raw, ()).items():
                found += [f"commit {sha[:7]}: {field}: {m}" for m in messages]
    for path in sorted(files[PUBLISHED] - files[MAIN]):
        if layout.slug_from_path(path):
            found.append(f"{PUBLISHED}: {path}: live but deleted from {MAIN} (not delivered)")
    ok, output = repo.fsck()
    if not ok:
        found.append(f"git fsck failed: {output}")
    return found


def _files(git_dir: str, tip: str) -> list[tuple[str, int, str]]:
    """Every file in the tree of `tip`: (path, mode, id)."""
    out = subprocess.run(
        ["git", "--git-dir", git_dir, "ls-tree", "-r", "-z", "--full-tree", tip],
        capture_output=True,
        check=True,
    ).stdout
    entries = []
    for entry in filter(None, out.split(b"\0")):
        meta, _, path = entry.partition(b"\t")
        mode, _, sha = meta.decode().split()
        entries.append((path.decode("utf-8", "surrogateescape"), int(mode, 8), sha))
    return entries


def _commits(git_dir: str, tips: list[str]) -> list[str]:
    if not tips:
        return []
    out = subprocess.run(
        ["git", "--git-dir", git_dir, "rev-list", "--reverse", *tips],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return out.split()


def _canonical(path: str, data: bytes) -> list[str]:
    doc, _ = rules.read_article(path, data)
    if doc is not None and canonical.dumps(doc) != data:
        return [f"{path}: not in canonical form; saving it (API or `cms import`) rewrites it"]
    return []
