"""Translation groups as a tree of `main` or `published` holds them: who translates whom.

The group rules (`cms.integrity.translations`) need the articles that name a source; they
come from `cms.integrity.links.Links`, which keeps the links of the last commit asked about
and works out another commit's from them by a tree diff, so a save reads only the files it
changed, never every article.
"""

from __future__ import annotations

import json
from typing import Any

from cms.content import layout
from cms.errors import ValidationFailed
from cms.git.repository import Repository
from cms.integrity import translations
from cms.integrity.links import Links

Fields = dict[str, Any]


class Groups:
    """The translation links of the tree of one commit at a time."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self.links = Links(repo)

    def members(self, commit: str | None, source: str) -> list[Fields]:
        """The articles at `commit` whose `translation_of` is `source`, by slug (their
        `slug`, `language`, `translation_of` and `translated_from`)."""
        return self.links.members(commit, source)

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
