"""Which media files an article uses, checked against the lines of history.

An article names a stored file by its path in `image.src` or an image block's `src`. A draft
may name a file that is not there (yet): articles can be imported before their media, and a
file can be deleted while only drafts use it. Publishing is where it matters, and where it is
checked: the files an article uses go to `published` in the same commit, and a file on neither
line is a 422 naming the field. These read only the trees along each path, so they cost
nothing per article in the repository.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from cms.content.media_paths import digest_of, references
from cms.errors import ValidationFailed
from cms.git.repository import Repository

MISSING = "There is no such media file on main; upload it first."


def to_publish(
    repo: Repository, doc: Any, main: str | None, published: str | None, *, strict: bool = True
) -> dict[str, str | None]:
    """The media files to bring to `published` with `doc`: path -> blob on `main`, for each
    file the article uses that is not live as it is.

    Raises ValidationFailed naming the fields whose file is on neither line, unless `strict`
    is false (an import keeps what an archive says was live; its files may come later).
    """
    files: dict[str, str | None] = {}
    errors: dict[str, list[str]] = {}
    for field, path in references(doc):
        draft, live = repo.lookup(main, path), repo.lookup(published, path)
        if draft is None and live is None:
            errors[field] = [MISSING]
        elif draft is not None and draft != live:
            files[path] = draft
    if errors and strict:
        raise ValidationFailed(
            f"The article uses media files that do not exist: {', '.join(errors)}.", errors
        )
    return files


def live_users(repo: Repository, published: str | None, path: str) -> list[str]:
    """The article files on the commit `published` that use the media file `path`.

    `git grep` finds the candidates (files mentioning its SHA-256) without reading every
    article here; each is then parsed, so a mere mention in a text is not a use.
    """
    if published is None:
        return []
    result = subprocess.run(
        [
            "git",
            "--git-dir",
            repo.git_dir,
            "grep",
            "-l",
            "-F",
            "-e",
            digest_of(path),
            published,
            "--",
            "articles/",
        ],
        capture_output=True,
        text=True,
    )
    users = []
    for line in result.stdout.splitlines():
        file = line.split(":", 1)[1]
        blob = repo.lookup(published, file)
        if blob is None:
            continue
        try:
            doc = json.loads(repo.read(blob))
        except ValueError:
            continue
        if any(used == path for _, used in references(doc)):
            users.append(file)
    return users
