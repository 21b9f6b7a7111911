"""The git gate: the `pre-receive` hook that `cms init` installs in the content repository.

git runs the hook once per push, before it moves any ref, with one `old new ref` line per ref
on stdin and the pushed objects readable (in quarantine). The hook refuses the whole push
(exit 1) and prints one `path: field: message` line per problem when:

- a ref other than `main` or `published` would move, or either would be deleted;
- a new commit (one no ref reaches yet) is unreadable or claims the CMS's committer identity
  (`rules.commit_problems`);
- a file that a new commit adds or changes, or that the push changes between a ref's old and
  new tip, breaks `rules.file_problems` (layout, mode, size, JSON, article schema, slug).

Only what the push changes is read: one `git rev-list`, one `git diff-tree --stdin` and two
`git cat-file` processes, however many commits and files it brings.

The CMS's committer identity is recorded in the repository's git config (`cms.committerEmail`)
by `cms init`, because a hook run for an ssh or http push does not see the server's
environment; the identity the settings give in the hook's own environment (`CMS_COMMITTER_EMAIL`,
else the default `cms@localhost`) is refused as well.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from cms.content import layout
from cms.errors import CMSError
from cms.git import rawcommit
from cms.git.objects import ObjectStream
from cms.git.repository import Repository
from cms.integrity import rules, translations
from cms.integrity.links import Links
from cms.settings import Settings

ZERO = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
LINES = ("refs/heads/main", "refs/heads/published")
CONFIG_EMAIL = "cms.committerEmail"
MAX_LINES = 1000  # problems printed; a push of 10,000 bad files says how many were left out
MARKER = "# cms-gate: installed by `cms init`"

HOOK = """#!/bin/sh
{marker} (which rewrites this file). Every push to main or published
# is checked like an API write; see the README, "Reading the history with git".
# -P: the repository's own folders (cms/) must never shadow the cms package.
exec {python} -P -m cms.integrity.gate
"""


def install(git_dir: str, committer_email: str) -> str:
    """Install the gate in the repository at `git_dir`: the `pre-receive` hook, then
    `receive.fsckObjects` and the CMS's committer identity in its config. Safe to repeat.

    Returns the hook's path. Raises CMSError if a pre-receive hook not made by `cms init`
    is in the way (it is left as it was).
    """
    hook = _git(git_dir, "rev-parse", "--git-path", "hooks/pre-receive").decode().strip()
    hook = os.path.join(git_dir, hook) if not os.path.isabs(hook) else hook
    if os.path.exists(hook):
        with open(hook, encoding="utf-8", errors="replace") as f:
            if MARKER not in f.read():
                raise CMSError(
                    f"{hook} exists and was not installed by `cms init`; move it "
                    "away (or merge it into the gate by hand) and run `cms init` "
                    "again."
                )
    os.makedirs(os.path.dirname(hook), exist_ok=True)
    python = shlex.quote(sys.executable or "python3")
    tmp = f"{hook}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(HOOK.format(marker=MARKER, python=python))
    os.chmod(tmp, 0o755)
    os.replace(tmp, hook)
    _git(git_dir, "config", "receive.fsckObjects", "true")
    _git(git_dir, "config", CONFIG_EMAIL, committer_email)
    return hook


def refresh(git_dir: str, committer_email: str) -> bool:
    """Rewrite a gate that `cms init` installed with an earlier version of the CMS (whose hook
    ran a module path that has since moved), so pushes stay checked after an upgrade. A
    repository with no gate, or with a hook of someone else's, is left alone. Returns True
    when the hook was rewritten."""
    hook = _git(git_dir, "rev-parse", "--git-path", "hooks/pre-receive").decode().strip()
    hook = os.path.join(git_dir, hook) if not os.path.isabs(hook) else hook
    try:
        with open(hook, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return False
    if MARKER not in text or "-m cms.integrity.gate\n" in text:
        return False
    install(git_dir, committer_email)
    return True


@dataclass(frozen=True)
class Update:
    """One ref a push would move: `old` or `new` is ZERO for a creation or a deletion."""

    old: str
    new: str
    ref: str


def review(git_dir: str, updates: list[Update], cms_emails: Iterable[str]) -> list[str]:
    """Return one `path: field: message` line per problem with the push; empty: accept it."""
    found: list[str] = []
    wanted = []
    for u in updates:
        if u.ref not in LINES:
            found.append(f"{u.ref}: ref: Only main and published can be pushed to.")
        elif u.new == ZERO:
            found.append(f"{u.ref}: ref: {u.ref.rsplit('/', 1)[-1]} cannot be deleted.")
        else:
            wanted.append(u)
    if not wanted:
        return found
    commits = _new_commits(git_dir, [u.new for u in wanted])
    with ObjectStream(git_dir) as objects:
        claimed = list(cms_emails)
        known: dict[str, rawcommit.RawCommit] = {}
        for sha, raw in objects.many(commits):
            known[sha] = rawcommit.parse(raw)
            for field, messages in rules.commit_problems(raw, claimed).items():
                found += [f"commit {sha[:7]}: {field}: {m}" for m in messages]

        def tree(sha: str) -> str:
            if sha not in known:
                known[sha] = rawcommit.parse(objects.read(sha))
            return known[sha].tree

        files = _changed_files(git_dir, tree, known, commits, wanted)
        found += _file_lines(objects, files)
        if not found:
            found += _group_lines(git_dir, objects, files, wanted)
    return found


def _group_lines(
    git_dir: str,
    objects: ObjectStream,
    files: dict[tuple[str, int, str], None],
    updates: list[Update],
) -> list[str]:
    """The translation-group problems (`translations.group_problems`) of the pushed articles
    that name a source, in the tree each ref moves to. Only when one does are the links of
    that tree worked out: from those the last push kept for the tip of `main` (see
    `links.Links`), by a tree diff, so a push reads the files it and the CMS's writes since
    changed, not every article."""
    pushed = [(path, blob) for path, _, blob in files if layout.slug_from_path(path)]
    named = {
        blob: data
        for blob, data in objects.many(list(dict.fromkeys(b for _, b in pushed)))
        if b'"translation_of"' in data
    }
    if not named:
        return []
    repo = Repository(git_dir)
    links = Links(repo)
    links.load(git_dir)
    found: list[str] = []
    for u in updates:
        if u.ref != LINES[0]:
            continue  # a group is whole on main; `published` may lack a draft-only source
        if u.old != ZERO:
            links.save(git_dir, u.old)  # a commit in the repository, not one in quarantine
        for path, blob in pushed:
            if blob not in named or repo.lookup(u.new, path) != blob:
                continue
            slug = layout.slug_from_path(path)
            problems = translations.group_problems(
                {**rules.loose(named[blob]), "slug": slug},
                partial(_read, repo, u.new),
                partial(links.members, u.new),
                partial(_read, repo, None if u.old == ZERO else u.old, slug),
            )
            found += lines(path, problems)
    return list(dict.fromkeys(found))


def _read(repo: Repository, commit: str | None, slug: str | None) -> dict[str, Any] | None:
    """The fields of the article `slug` at `commit` (None: there is none)."""
    if commit is None or slug is None:
        return None
    blob = repo.lookup(commit, layout.article_path(slug))
    return None if blob is None else rules.loose(repo.read(blob))


def _new_commits(git_dir: str, tips: list[str]) -> list[str]:
    """The commits reachable from `tips` and from no ref yet, oldest first."""
    out = _git(git_dir, "rev-list", "--reverse", "--topo-order", *tips, "--not", "--all")
    return out.decode().split()


def _changed_files(
    git_dir: str,
    tree: Callable[[str], str],
    known: dict[str, rawcommit.RawCommit],
    commits: list[str],
    updates: list[Update],
) -> dict[tuple[str, int, str], None]:
    """The files (path, mode, blob) the new commits bring, and those each ref's move changes.

    A merge brings only what differs from every one of its parents; the rest came with the
    parent, checked then (or, if it was there before the gate, not this push's doing).
    """
    pairs: list[tuple[str, str]] = []
    spans: list[int] = []
    for sha in commits:
        parents = known[sha].parents
        pairs += [(tree(p), tree(sha)) for p in parents] or [(EMPTY_TREE, tree(sha))]
        spans.append(max(len(parents), 1))
    # each ref's move as a whole: catches a ref moved back to old commits no one checked
    pairs += [(tree(u.old) if u.old != ZERO else EMPTY_TREE, tree(u.new)) for u in updates]
    diffs = _diff_trees(git_dir, pairs)
    files: dict[tuple[str, int, str], None] = {}
    at = 0
    for span in spans:
        own = diffs[at : at + span]
        at += span
        common = set(own[0]).intersection(*own[1:])
        files.update((entry, None) for entry in own[0] if entry in common)
    for diff in diffs[at:]:
        files.update((entry, None) for entry in diff)
    return files


def _diff_trees(git_dir: str, pairs: list[tuple[str, str]]) -> list[list[tuple[str, int, str]]]:
    """For each (old tree, new tree), the files in the new tree that are not in the old one
    as they are: (path, mode, blob). One `git diff-tree --stdin` for all of them."""
    if not pairs:
        return []
    out = _git(
        git_dir,
        "diff-tree",
        "--stdin",
        "--always",
        "-r",
        "-z",
        "--no-renames",
        "--no-abbrev",
        input=b"".join(f"{a} {b}\n".encode() for a, b in pairs),
    )
    # each pair's output starts with a header line `old new` ended by a newline; each changed
    # file is `:modes ids status` and its path, each ended by a NUL
    diffs: list[list[tuple[str, int, str]]] = []
    fields = out.split(b"\0")
    i = 0
    while i < len(fields):
        parts = fields[i].split(b"\n")
        i += 1
        for part in parts:
            if part.startswith(b":"):
                _, new_mode, _, new_blob, status = part[1:].decode().split()
                path = fields[i].decode("utf-8", "surrogateescape")
                i += 1
                if status != "D":
                    diffs[-1].append((path, int(new_mode, 8), new_blob))
            elif part:
                diffs.append([])
    if len(diffs) != len(pairs):
        raise RuntimeError(f"git diff-tree answered {len(diffs)} of {len(pairs)} comparisons")
    return diffs


def _file_lines(objects: ObjectStream, files: dict[tuple[str, int, str], None]) -> list[str]:
    return [line for path, found, _ in checked_files(objects, files) for line in lines(path, found)]


def checked_files(
    objects: ObjectStream, files: Iterable[tuple[str, int, str]]
) -> list[tuple[str, rules.Problems, bytes | None]]:
    """Each file's (path, mode, id) problems in order, with its bytes when they were read: a
    blob is read only when its path, mode and size allow it."""
    placed = {f: rules.file_problems(f[0], f[1], None, 0) for f in files}
    sizes = objects.sizes([blob for (_, _, blob), found in placed.items() if not found])
    readable = [
        blob
        for (path, _, blob), found in placed.items()
        if not found and sizes[blob] <= (rules.size_limit(path) or 0)
    ]
    contents = dict(objects.many(list(dict.fromkeys(readable))))
    out = []
    for (path, mode, blob), found in placed.items():
        if not found:
            found = rules.file_problems(path, mode, contents.get(blob), sizes[blob])
        out.append((path, found, contents.get(blob)))
    return out


def lines(path: str, problems: rules.Problems) -> list[str]:
    """`path: field: message` lines, the path and messages safe for a terminal."""
    shown = printable(path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"))
    return [f"{shown}: {field}: {m}" for field, ms in problems.items() for m in ms]


def printable(text: str) -> str:
    """`text` with control characters written as escapes (they would reach the terminal)."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _git(git_dir: str, *args: str, input: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", "--git-dir", git_dir, *args], input=input, capture_output=True, check=True
    ).stdout


def identities(git_dir: str) -> list[str]:
    """The committer emails the CMS commits with: the one `cms init` recorded, and the one
    the settings name in this process's environment (`CMS_COMMITTER_EMAIL`, or the default)."""
    recorded = subprocess.run(
        ["git", "--git-dir", git_dir, "config", "--get-all", CONFIG_EMAIL],
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    return [e for e in [*recorded, Settings.load().committer_email] if e.strip()]


def updates_from(lines: Iterable[str]) -> Iterator[Update]:
    for line in lines:
        parts = line.split()
        if len(parts) == 3:
            yield Update(*parts)


def main() -> int:
    """Run as git's pre-receive hook: 0 accepts the push, 1 refuses it (with its reasons on
    stderr, which git shows the pusher)."""
    git_dir = os.environ.get("GIT_DIR", ".")
    try:
        found = review(git_dir, list(updates_from(sys.stdin)), identities(git_dir))
    except Exception as e:  # a gate that cannot look stays shut
        print(
            f"The CMS could not check this push ({type(e).__name__}: {e}); nothing was changed.",
            file=sys.stderr,
        )
        return 1
    if not found:
        return 0
    print(
        f"The CMS refused this push ({len(found)} problem(s)); nothing was changed:",
        file=sys.stderr,
    )
    for line in found[:MAX_LINES]:
        print(line, file=sys.stderr)
    if len(found) > MAX_LINES:
        print(f"... and {len(found) - MAX_LINES} more.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
