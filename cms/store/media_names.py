"""What people called the media library's files: the names they were uploaded under, and their
alternative text, kept in git on their own branch beside the content-addressed files.

Branch `cms/media` holds, for each named file `media/<xx>/<sha256>.<ext>`, a file at that path
plus `.json`: `{"names": ["night-market.jpg", ...], "alt": "..."}` (`alt` only when someone
gave one). The same bytes uploaded under a second name are still one file, with both names.
Each change is one commit authored by the uploader, subject `Name image <sha>.<ext>: <name>`,
trailers `Media: <path>` and `Action: name`, so `git log -p cms/media` is the names' history.
The file paths on `main` never change. The names are written after the file: if that fails
(503), the file is stored nameless, and uploading it again adds the name.
"""

from __future__ import annotations

import json
import os
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

from cms.content.identity import Person
from cms.content.media_paths import ROOT, digest_of
from cms.content.messages import SUBJECT_MAX
from cms.errors import StorageUnavailable, ValidationFailed
from cms.git.objects import MODE_TREE
from cms.git.refs import RefMoved
from cms.git.repository import Repository

BRANCH = "cms/media"
NAME_MAX = 200
ALT_MAX = 1000
MAX_ATTEMPTS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Described:
    """A file's names (first given first) and its alternative text."""

    names: tuple[str, ...] = ()
    alt: str | None = None

    def matches(self, words: str) -> bool:
        """Whether every word of `words` is in a name or in the alt text (any case)."""
        text = " ".join([*self.names, self.alt or ""]).casefold()
        return all(w in text for w in words.casefold().split())


NOBODY = Described()


def clean_name(filename: str | None) -> str | None:
    """The name to keep for an upload's file name: its last part, without control
    characters, at most NAME_MAX characters; None when nothing is left."""
    name = _CONTROL.sub("", unicodedata.normalize("NFC", filename or "")).replace("\\", "/")
    name = name.rsplit("/", 1)[-1].strip()[:NAME_MAX]
    return name or None


def checked_alt(alt: str | None) -> str | None:
    """`alt` stripped (None when empty); raises ValidationFailed naming `alt`."""
    if alt is None or not alt.strip():
        return None
    if len(alt) > ALT_MAX:
        raise ValidationFailed(
            "The alternative text is too long.", {"alt": [f"Longer than {ALT_MAX} characters."]}
        )
    if _CONTROL.search(alt):
        raise ValidationFailed(
            "The alternative text holds control characters.",
            {"alt": ["Control characters are not allowed."]},
        )
    return alt.strip()


class MediaNames:
    """The names and alt texts of media files, read from and committed to `cms/media`."""

    def __init__(self, repo: Repository, committer: Person) -> None:
        self.repo = repo
        self.committer = committer
        self._folders: dict[bytes, dict[str, Described]] = {}  # by folder tree id

    def of(self, path: str) -> Described:
        """What the file at `path` is called."""
        blob = self.repo.lookup(self.repo.ref(BRANCH), f"{path}.json")
        return NOBODY if blob is None else _parsed(self.repo.read(blob))

    def every(self) -> dict[str, Described]:
        """Every named file's names, by path (each folder read once per version of it)."""
        root = self.repo.root_tree(self.repo.ref(BRANCH)).get(ROOT)
        if root is None or root[0] != MODE_TREE:
            return {}
        found: dict[str, Described] = {}
        for folder, (mode, sha) in self.repo.tree(root[1]).items():
            if mode != MODE_TREE:
                continue
            if sha not in self._folders:
                if len(self._folders) > 4096:
                    self._folders.clear()
                self._folders[sha] = {
                    f"{ROOT}/{folder}/{name.removesuffix('.json')}": _parsed(
                        self.repo.read(blob.hex())
                    )
                    for name, (kind, blob) in self.repo.tree(sha).items()
                    if kind != MODE_TREE and name.endswith(".json")
                }
            found.update(self._folders[sha])
        return found

    def add(self, path: str, name: str | None, alt: str | None, author: Person) -> None:
        """Add `name` to the file's names and make `alt` its alt text (when given); no
        commit when both are already so."""
        if name is None and alt is None:
            return
        for _ in range(MAX_ATTEMPTS):
            with self.repo.exclusive():
                tip = self.repo.ref(BRANCH)
                before = self.of(path)
                added = name if name and name not in before.names else None
                after = Described(
                    before.names + ((added,) if added else ()),
                    alt if alt is not None else before.alt,
                )
                if after == before:
                    return
                try:
                    blob = self.repo.write("blob", _dumped(after))
                    tree = self.repo.with_file(tip, f"{path}.json", blob)
                    sha = self.repo.commit(
                        tree, tip, author, self.committer, int(time.time()), _message(path, added)
                    )
                    self.repo.move((BRANCH, tip, sha))
                except RefMoved:
                    continue  # a plain-git writer moved it: read again and redo
                except OSError as e:
                    raise StorageUnavailable(
                        f"The media names cannot be written: {os.strerror(e.errno or 0)}."
                    ) from e
                return
        raise StorageUnavailable("Too many concurrent writes; try again.")


def _parsed(data: bytes) -> Described:
    """A names file as it is; whatever it holds that is not names and an alt is ignored (a
    hand edit into nonsense names nothing)."""
    try:
        doc: Any = json.loads(data)
    except ValueError:
        return NOBODY
    if not isinstance(doc, dict):
        return NOBODY
    names = doc.get("names")
    alt = doc.get("alt")
    return Described(
        tuple(n for n in names if isinstance(n, str)) if isinstance(names, list) else (),
        alt if isinstance(alt, str) else None,
    )


def _dumped(described: Described) -> bytes:
    doc: dict[str, Any] = {"names": list(described.names)}
    if described.alt is not None:
        doc["alt"] = described.alt
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _message(path: str, name: str | None) -> str:
    """`Name image 1f2e3d4c5b6a.jpg: night-market.jpg` (or `Describe image ...` for a new alt
    text alone) and its trailers."""
    short = f"{digest_of(path)[:12]}.{path.rsplit('.', 1)[1]}"
    subject = f"Name image {short}: {name}" if name else f"Describe image {short}"
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 1] + "…"
    return f"{subject}\n\nMedia: {path}\nAction: name\n"
