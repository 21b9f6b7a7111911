"""Who translates whom in the tree of a commit, kept from one commit to the next.

The group rules (`translations`) need the articles that name a source. Reading every
article of the tree for that is seconds at 100,000 articles, and each save makes a new
tree; so the links of the last commit asked about are kept, and another commit's are worked
out from them by comparing the two trees: the fan-out folders whose tree ids differ (a
save changes one), then their entries, and only the changed files are read.

A link keeps only what the rules, stale marks and webhooks read of an article
(`slug`, `language`, `translation_of`, `translated_from`), so the links of a whole
repository are small enough to keep in memory, and on disk for the gate (`load`, `save`).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from cms.content import layout
from cms.git import private
from cms.git.objects import MODE_TREE, Tree
from cms.git.repository import Repository

Fields = dict[str, Any]
KEPT = ("language", "translation_of", "translated_from")
FILE = "translation-links.json"


class Links:
    """The translation links of one commit at a time, moved commit to commit by tree diff.
    Thread-safe."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._lock = threading.Lock()
        self._commit: str | None = None
        self._known = False  # whether _commit's links are worked out (None: an empty tree)
        self._root: Tree = {}  # the fan-out folders of `articles/` at _commit
        self._of: dict[str, Fields] = {}  # a translation's slug -> its kept fields
        self._by_source: dict[str, set[str]] = {}  # a source's slug -> its translations
        self._saved: str | None = None  # the commit whose links the private file holds

    def members(self, commit: str | None, source: str) -> list[Fields]:
        """The articles at `commit` whose `translation_of` is `source`, by slug, each with
        its `slug` and kept fields."""
        with self._lock:
            self._move(commit)
            return [self._of[s] for s in sorted(self._by_source.get(source, ()))]

    def load(self, git_dir: str) -> None:
        """Start from the links saved in the private folder (see `save`), when the commit
        they are of is still in the repository; else from nothing."""
        saved = private.read_json(private.path(git_dir, FILE), None)
        if not isinstance(saved, dict) or not isinstance(saved.get("commit"), str):
            return
        try:
            root = self._folders(saved["commit"])
        except Exception:  # noqa: BLE001 - the commit is gone (a force push, then gc)
            return
        with self._lock:
            self._commit, self._known, self._root = saved["commit"], True, root
            self._saved = saved["commit"]
            self._of, self._by_source = {}, {}
            for fields in saved.get("links", []):
                if isinstance(fields, dict) and isinstance(fields.get("slug"), str):
                    self._add(fields["slug"], fields)

    def save(self, git_dir: str, commit: str | None) -> None:
        """Keep the links of `commit` (one already in the repository, not a pushed one in
        quarantine) in the private folder for the next `load` (a no-op when it holds them)."""
        with self._lock:
            self._move(commit)
            if commit is None or commit == self._saved:
                return
            links = sorted(self._of.values(), key=lambda f: f["slug"])
            self._saved = commit
        private.write_json(
            private.path(git_dir, FILE), {"commit": commit, "links": links}, durable=False
        )

    def _move(self, commit: str | None) -> None:
        if self._known and commit == self._commit:
            return
        root = self._folders(commit)
        for name in self._root.keys() | root.keys():
            before, after = self._root.get(name), root.get(name)
            if before == after:
                continue
            old = self._entries(before)
            new = self._entries(after)
            for file in old.keys() | new.keys():
                if old.get(file) != new.get(file):
                    self._refresh(file.removesuffix(".json"), new.get(file))
        self._commit, self._known, self._root = commit, True, root

    def _folders(self, commit: str | None) -> Tree:
        entry = self.repo.root_tree(commit).get(layout.ROOT)
        if entry is None or entry[0] != MODE_TREE:
            return {}
        return self.repo.tree(entry[1])

    def _entries(self, entry: tuple[int, bytes] | None) -> dict[str, bytes]:
        if entry is None or entry[0] != MODE_TREE:
            return {}
        return {name: sha for name, (mode, sha) in self.repo.tree(entry[1]).items()}

    def _refresh(self, slug: str, blob: bytes | None) -> None:
        """Forget what `slug` linked to and read what its new file (if any) links to."""
        gone = self._of.pop(slug, None)
        if gone is not None:
            members = self._by_source.get(gone["translation_of"], set())
            members.discard(slug)
            if not members:
                self._by_source.pop(gone["translation_of"], None)
        if blob is None:
            return
        data = self.repo.read(blob.hex())
        if b'"translation_of"' not in data:
            return  # most articles translate nothing: no JSON parse for them
        try:
            doc = json.loads(data)
        except ValueError:
            return
        if isinstance(doc, dict) and isinstance(doc.get("translation_of"), str):
            self._add(slug, {k: doc[k] for k in KEPT if k in doc})

    def _add(self, slug: str, fields: Fields) -> None:
        source = fields.get("translation_of")
        if not isinstance(source, str):
            return
        self._of[slug] = {**{k: fields[k] for k in KEPT if k in fields}, "slug": slug}
        self._by_source.setdefault(source, set()).add(slug)
