"""The content repository must be bare.

The CMS moves `main` and `published` by writing refs, never touching a working tree or its
index file. In a checkout of one of them, each save would show in `git status` as files
deleted, and a `git commit -a` there would delete them. So a repository with a working tree,
or whose linked worktree (`git worktree add`) has `main` or `published` checked out, is
refused whenever one is opened, naming the way out; `clone_bare` is that way out for
`cms init --bare-from`.
"""

from __future__ import annotations

import os
import shlex
import subprocess

import git

from cms.content.layout import MAIN, PUBLISHED
from cms.errors import CMSError, NotBareRepository


def refuse_working_trees(repo: git.Repo) -> None:
    """Raise NotBareRepository if `repo` has a working tree, or a linked worktree with `main`
    or `published` checked out (one on a branch of its own never sees the CMS move them)."""
    if not repo.bare:
        top = str(repo.working_tree_dir)
        new = shlex.quote(f"{top.rstrip(os.sep)}.git")
        raise NotBareRepository(
            f"{top} is a git checkout with a working tree. The CMS moves its branches without "
            "updating a working tree, so after a save `git status` there would show the new "
            "article as deleted, and `git commit -a` would delete it. Give the CMS a bare "
            f"repository: `git clone --bare {shlex.quote(top)} {new}` and then "
            f"`cms --repo {new} init`, or both in one step: "
            f"`cms --repo {new} init --bare-from {shlex.quote(top)}`."
        )
    checked_out = [
        f"{path} has {branch} checked out"
        for path, branch in _linked_worktrees(os.fspath(repo.common_dir))
        if branch in (MAIN, PUBLISHED)
    ]
    if checked_out:
        raise NotBareRepository(
            f"{'; '.join(checked_out)} (a linked worktree of {repo.common_dir}). The CMS moves "
            "that branch without updating the worktree, so its saves would show there as "
            "deleted files. Remove the worktree (`git worktree remove PATH`) or switch it to "
            "a branch of its own (`git switch -c NAME` in it)."
        )


def _linked_worktrees(common_dir: str) -> list[tuple[str, str | None]]:
    """Each linked worktree that still exists: its path and the branch it has checked out
    (None: a detached HEAD). One whose folder is gone is git's to prune, no risk."""
    admin = os.path.join(common_dir, "worktrees")
    try:
        names = sorted(os.listdir(admin))
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        try:
            with open(os.path.join(admin, name, "gitdir"), encoding="utf-8") as f:
                dot_git = f.read().strip()
            with open(os.path.join(admin, name, "HEAD"), encoding="utf-8") as f:
                head = f.read().strip()
        except OSError:
            continue  # half made or half removed: not a worktree git would use
        if os.path.exists(dot_git):
            ref = head.removeprefix("ref: ")
            branch = ref.removeprefix("refs/heads/") if ref != head else None
            found.append((os.path.dirname(dot_git), branch))
    return found


def clone_bare(source: str, path: str) -> list[str]:
    """Make `path` a new bare repository holding the branches and tags of the repository at
    `source` (a checkout, usually), its HEAD `main`; return the branches copied.

    Raises CMSError, leaving nothing at `path`, when something is there already or `source`
    cannot be cloned."""
    if os.path.lexists(path) and not (os.path.isdir(path) and not os.listdir(path)):
        raise CMSError(
            f"{path} already exists; --bare-from makes a new repository there. "
            "Give --repo a new path (or, to use the repository already there, run "
            "`cms init` without --bare-from)."
        )
    cloned = subprocess.run(
        ["git", "clone", "--bare", "--quiet", "--", source, path], capture_output=True, text=True
    )
    if cloned.returncode != 0:
        said = cloned.stderr.strip().splitlines()
        raise CMSError(f"Cannot copy {source}: {said[-1] if said else 'git clone failed'}")
    # the copy never fetches from the checkout: from now on it is the checkout's remote
    _git(path, "remote", "remove", "origin")
    # what a clone of the content repository checks out: the CMS's drafts, not the
    # checkout's current branch
    _git(path, "symbolic-ref", "HEAD", f"refs/heads/{MAIN}")
    return _git(path, "for-each-ref", "--format=%(refname:short)", "refs/heads/").split()


def _git(git_dir: str, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", git_dir, *args], check=True, capture_output=True, text=True
    ).stdout
