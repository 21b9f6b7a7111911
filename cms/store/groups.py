"""Translation groups as a tree of `main` or `published` holds them: who translates whom.

The group rules (`cms.integrity.translations`) need the articles that name a source; this
reads them from a commit's tree, remembered per commit (a tree never changes), so only a
write or a read about a translation pays for the walk.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from cms.content import layout
from cms.errors import ValidationFailed
from cms.git.repository import Repository
from cms.integrity import translations

Fields = dict[str, Any]


class Groups:
    """The translation links of the tree of one commit at a time."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._lock = threading.Lock()
        self._at: tuple[str | None, dict[str, list[Fields]]] | None = None

    def members(self, commit: str | None, source: str) -> list[Fields]:
        """The articles at `commit` whose `translation_of` is `source`, by slug."""
        return sorted(self._links(commit).get(source, []), key=lambda m: m["slug"])

    def read(self, commit: str | None, slug: str) -> Fields | None:
        blob = self.repo.lookup(commit, layout.article_path(slug))
        if blob is None:
            return None
        try:
            found = json.loads(self.repo.read(blob))
        except ValueError:
            return None
        return found if isinstance(found, dict) else None

    def check(self, commit: str | None, doc: Fields) -> None:
        """Raise ValidationFailed when `doc` would break a group's rules at `commit`."""
        if "translation_of" not in doc:
            return  # only a translation can break a group: a source has nothing to name
        slug = doc.get("slug")
        problems = translations.group_problems(
            doc,
            lambda s: self.read(commit, s),
            lambda s: self.members(commit, s),
            lambda: self.read(commit, slug) if isinstance(slug, str) else None,
        )
        if problems:
            field, messages = next(iter(problems.items()))
            raise ValidationFailed(f"{field}: {messages[0]}", problems)

    def _links(self, commit: str | None) -> dict[str, list[Fields]]:
        with self._lock:
            if self._at is not None and self._at[0] == commit:
                return self._at[1]
        links = self._walk(commit)
        with self._lock:
            self._at = (commit, links)
        return links

    def _walk(self, commit: str | None) -> dict[str, list[Fields]]:
        links: dict[str, list[Fields]] = {}
        root = self.repo.root_tree(commit).get(layout.ROOT)
        if root is None:
            return links
        for _, (_, shard) in self.repo.tree(root[1]).items():
            for name, (_, blob) in self.repo.tree(shard).items():
                data = self.repo.read(blob.hex())
                if b'"translation_of"' not in data:
                    continue
                try:
                    doc = json.loads(data)
                except ValueError:
                    continue
                if isinstance(doc, dict) and isinstance(doc.get("translation_of"), str):
                    links.setdefault(doc["translation_of"], []).append(
                        {**doc, "slug": name.removesuffix(".json")}
                    )
        return links
