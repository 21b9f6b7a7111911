"""Many plain-git commits at once: one `git fast-import` instead of a git process per commit
(a push of 150 commits took 150 `git commit`s, seconds of the suite's time)."""

from __future__ import annotations

import io
import os
import subprocess
import time
from pathlib import Path

from harness import GIT_ENV


def commit_each(work: Path, path: str, changes: list[tuple[str, str]]) -> None:
    """One plain-git commit per (message, new text of `path`), each on the one before, on top
    of the branch checked out in the clone `work`, by `GIT_ENV`'s committer; the branch moves
    to the last (the work tree is left as it was: push the branch)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=work,
            env={**os.environ, **GIT_ENV},
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    branch, head = git("symbolic-ref", "HEAD"), git("rev-parse", "HEAD")
    name, email = GIT_ENV["GIT_COMMITTER_NAME"], GIT_ENV["GIT_COMMITTER_EMAIL"]
    who = f"{name} <{email}> {int(time.time())} +0000"
    stream = io.BytesIO()
    for n, (message, text) in enumerate(changes):
        said, data = message.encode(), text.encode()
        stream.write(f"commit {branch}\ncommitter {who}\ndata {len(said)}\n".encode() + said)
        stream.write(f"\nfrom {head}\n".encode() if n == 0 else b"\n")
        stream.write(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=work,
        input=stream.getvalue(),
        env={**os.environ, **GIT_ENV},
        check=True,
        capture_output=True,
    )
