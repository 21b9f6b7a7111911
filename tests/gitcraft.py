"""Commits made with git's plumbing, byte by byte: the bad pushes the gate must refuse, and the
same commits planted on a server past the gate to prove the read side copes with them."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cms.content import layout

PLAIN = b"Plain Git <plain@example.org> 1767225600 +0000"  # 2026-01-01
SLUG = "pushed-by-hand"
PATH = layout.article_path(SLUG)


def run(
    git_dir: Path, *args: str, data: bytes | None = None, env: dict[str, str] | None = None
) -> str:
    return (
        subprocess.run(
            ["git", "--git-dir", str(git_dir), *args],
            input=data,
            check=True,
            capture_output=True,
            env={**os.environ, **(env or {})},
        )
        .stdout.decode()
        .strip()
    )


def blob(git_dir: Path, data: bytes) -> str:
    return run(git_dir, "hash-object", "-w", "--stdin", data=data)


def tree_with(git_dir: Path, parent: str, files: dict[str, tuple[str, str]]) -> str:
    """The root tree of `parent` with each path set to (mode, object id)."""
    index = git_dir / f"craft-index-{os.getpid()}"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        run(git_dir, "read-tree", parent, env=env)
        for path, (mode, sha) in files.items():
            run(git_dir, "update-index", "--add", "--cacheinfo", f"{mode},{sha},{path}", env=env)
        return run(git_dir, "write-tree", env=env)
    finally:
        index.unlink(missing_ok=True)


def commit(
    git_dir: Path,
    tree: str,
    parents: list[str],
    message: bytes = b"Edit by hand\n",
    author: bytes = PLAIN,
    committer: bytes = PLAIN,
) -> str:
    raw = b"tree %s\n" % tree.encode()
    raw += b"".join(b"parent %s\n" % p.encode() for p in parents)
    raw += b"author " + author + b"\ncommitter " + committer + b"\n\n" + message
    return run(git_dir, "hash-object", "-w", "-t", "commit", "--stdin", data=raw)


def article_doc(slug: str = SLUG, **fields: Any) -> dict[str, Any]:
    return {
        "slug": slug,
        "title": "Pushed by hand",
        "body": [{"type": "paragraph", "text": "Written with a text editor."}],
        **fields,
    }


def with_files(
    git_dir: Path, parent: str, files: dict[str, bytes], mode: str = "100644", **meta: bytes
) -> str:
    """A commit on `parent` that writes `files` (path -> bytes) with `mode`."""
    tree = tree_with(git_dir, parent, {p: (mode, blob(git_dir, d)) for p, d in files.items()})
    return commit(git_dir, tree, [parent], **meta)


def good(git_dir: Path, parent: str, slug: str = SLUG) -> str:
    """A commit on `parent` adding a valid article `slug`."""
    return with_files(
        git_dir,
        parent,
        {layout.article_path(slug): json.dumps(article_doc(slug), indent=2).encode()},
    )


Build = Callable[[Path, str, str], str]  # (git dir, parent, slug) -> the new commit


def _article(**fields: Any) -> Build:
    def build(git_dir: Path, parent: str, slug: str) -> str:
        doc = {**article_doc(slug), **fields}
        return with_files(git_dir, parent, {layout.article_path(slug): json.dumps(doc).encode()})

    return build


def _metadata(**meta: bytes) -> Build:
    def build(git_dir: Path, parent: str, slug: str) -> str:
        tree = run(git_dir, "rev-parse", f"{good(git_dir, parent, slug)}^{{tree}}")
        return commit(git_dir, tree, [parent], **meta)

    return build


def _raw_file(
    data: bytes | Callable[[str], bytes],
    mode: str = "100644",
    path: Callable[[str], str] = layout.article_path,
) -> Build:
    def build(git_dir: Path, parent: str, slug: str) -> str:
        content = data(slug) if callable(data) else data
        return with_files(git_dir, parent, {path(slug): content}, mode)

    return build


def _gitlink(git_dir: Path, parent: str, slug: str) -> str:
    return commit(
        git_dir,
        tree_with(git_dir, parent, {layout.article_path(slug): ("160000", parent)}),
        [parent],
    )


def _valid_json(slug: str) -> bytes:
    return json.dumps(article_doc(slug)).encode()


def _dot_entries(git_dir: Path, parent: str, slug: str) -> str:
    """A root tree with a `..` file and a `.git` folder: every later clone would fail."""
    hook = blob(git_dir, b"#!/bin/sh\necho owned\n")
    dotgit = run(git_dir, "mktree", data=f"100644 blob {hook}\tconfig\n".encode())
    listing = run(git_dir, "ls-tree", parent) + "\n"
    listing += f"040000 tree {dotgit}\t.git\n100644 blob {hook}\t..\n"
    return commit(git_dir, run(git_dir, "mktree", data=listing.encode()), [parent])


def _cms_identity(git_dir: Path, parent: str, slug: str) -> str:
    tree = run(git_dir, "rev-parse", f"{good(git_dir, parent, slug)}^{{tree}}")
    return commit(
        git_dir,
        tree,
        [parent],
        message=f"Restore {slug} to 1234567\n\nArticle: {slug}\nAction: restore\n".encode(),
        committer=b"Git CMS <cms@localhost> 1767225600 +0000",
    )


@dataclass(frozen=True)
class Bad:
    """A bad commit on top of `parent`, and what the gate says about it (`{sha7}` is its id,
    `{path}` and `{slug}` its article's; `declined` is git's reason: receive.fsckObjects
    refuses some before the hook runs). `file` is False when the commit's files are fine and
    only its metadata is bad."""

    name: str
    build: Build
    says: str
    file: bool = True
    also: str = ""
    declined: str = "pre-receive hook declined"

    def said(self, sha: str, slug: str = SLUG) -> str:
        return self.says.format(sha7=sha[:7], path=layout.article_path(slug), slug=slug)


BAD = [
    Bad(
        "record-separator-in-message",
        _metadata(message=b"Fix\x1etypo\n"),
        "commit {sha7}: message: Control character U+001E is not allowed.",
        False,
    ),
    Bad(
        "unit-separator-in-author",
        _metadata(author=b"Plain\x1fGit <plain@example.org> 1767225600 +0000"),
        "commit {sha7}: author: Control character U+001F is not allowed.",
        False,
    ),
    Bad(
        "year-10000",
        _metadata(author=b"Plain Git <plain@example.org> 253402300800 +0000"),
        "commit {sha7}: author: The date (253402300800 seconds since 1970) is outside the "
        "years 1900 to 9998.",
        False,
    ),
    Bad(
        "undecodable-message",
        _metadata(message=b"Caf\xe9\n"),
        "commit {sha7}: message: Not valid UTF-8 (byte 3).",
        False,
    ),
    Bad(
        "cms-identity-with-restore-trailers",
        _cms_identity,
        "commit {sha7}: committer: <cms@localhost> is the CMS's own identity",
        False,
    ),
    Bad(
        "unknown-block-type",
        _article(body=[{"type": "marquee", "text": "x"}]),
        "{path}: body.0.type: Must be one of: paragraph, heading, quote, list, image, embed.",
    ),
    Bad("string-body", _article(body="Just a string"), "{path}: body: Not a valid list."),
    Bad(
        "heading-level-two",
        _article(body=[{"type": "heading", "text": "Sub", "level": "two"}]),
        "{path}: body.0.level: Not a valid integer.",
    ),
    Bad(
        "javascript-url",
        _article(body=[{"type": "embed", "url": "javascript:alert(1)"}]),
        "{path}: body.0.url: Not a valid URL.",
    ),
    Bad(
        "slug-mismatch",
        _article(slug="another-slug"),
        "{path}: slug: Must be '{slug}', the file's name.",
    ),
    Bad(
        "invalid-json",
        _raw_file(b'{"slug": "pushed-by-hand", "title": '),
        "{path}: _schema: Not valid JSON: Expecting value: line 1 column 37 (char 36).",
    ),
    Bad(
        "json-array", _raw_file(b"[1, 2]\n"), "{path}: _schema: The article must be a JSON object."
    ),
    Bad(
        "symlink",
        _raw_file(b"../../README.md", "120000"),
        "{path}: mode: This is a symbolic link; only plain files are allowed.",
    ),
    Bad(
        "gitlink",
        _gitlink,
        "{path}: mode: This is a submodule (gitlink); only plain files are allowed.",
    ),
    Bad(
        "executable",
        _raw_file(_valid_json, "100755"),
        "{path}: mode: This is an executable file; store it as a plain file (mode 100644).",
    ),
    Bad(
        "oversize",
        _raw_file(
            lambda slug: json.dumps(
                article_doc(slug, body=[{"type": "paragraph", "text": "word " * 3999}] * 120)
            ).encode()
        ),
        "{path}: size: ",
    ),
    Bad(
        "wrong-folder",
        _raw_file(_valid_json, path=lambda slug: f"articles/00/{slug}.json"),
        "articles/00/{slug}.json: path: The article '{slug}' belongs at {path}.",
    ),
    Bad(
        "undecodable-file-name",
        _raw_file(_valid_json, path=lambda slug: f"articles/00/{slug}-\udcff.json"),
        "articles/00/{slug}-\\xff.json: path: The file name is not valid UTF-8.",
    ),
    Bad(
        "outside-the-layout",
        _raw_file(b"notes\n", path=lambda slug: f"notes/{slug}.txt"),
        "notes/{slug}.txt: path: Not part of the content layout (README.md, "
        "articles/<xx>/<slug>.json, media/<xx>/<sha256>.<jpg|png|webp|gif>).",
    ),
    Bad(
        "dot-entries",
        _dot_entries,
        "hasDotdot: contains '..'",
        also="hasDotgit: contains '.git'",
        declined="unpacker error",
    ),
]
