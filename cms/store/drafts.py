"""Writing drafts: create, replace, patch, delete, restore; one commit on `main` each."""

from __future__ import annotations

import builtins
from collections.abc import Collection
from typing import Any

from slugify import slugify

from cms.content import canonical, layout
from cms.content.articles import Article, merge_patch, validate, with_slug
from cms.content.document import SLUG_MAX
from cms.content.identity import Person
from cms.content.layout import MAIN, PUBLISHED
from cms.errors import ArticleExists, ValidationFailed
from cms.git.repository import Repository, Tips, blob_id
from cms.store.base import Writes, check_schedule
from cms.store.commits import Step
from cms.store.merging import Resolution
from cms.store.reading import Reading


class Drafts:
    """The editor's writes to the draft line."""

    def __init__(self, repo: Repository, reading: Reading, writes: Writes) -> None:
        self.repo = repo
        self.reading = reading
        self.writes = writes

    def create(
        self, data: Any, editor: Person, *, may_schedule: bool = False, publish: bool = False
    ) -> Article:
        """Create a draft; the slug is derived from the title when not given. With `publish`,
        the same write publishes it: two commits (the draft on `main`, its publication on
        `published`), both lines moved in one compare-and-swap (`Writes.published_too`).

        Raises ValidationFailed, ArticleExists, Forbidden (a `publish_at` without
        `may_schedule`).
        """
        doc = validate(data)
        check_schedule(None, doc, may_schedule)

        def plan(tips: Tips) -> builtins.list[Step]:
            if "slug" in doc:
                if self.repo.lookup(tips[MAIN], layout.article_path(doc["slug"])):
                    raise ArticleExists(
                        f"An article with slug '{doc['slug']}' exists.",
                        {"slug": ["An article with this slug exists."]},
                    )
                return [Step(MAIN, doc["slug"], "create", doc=doc)]
            slug = self._free_slug(tips[MAIN], doc["title"])
            return [Step(MAIN, slug, "create", doc=with_slug(doc, slug))]

        return self.writes.saved(self.writes.published_too(plan) if publish else plan, editor)

    def _free_slug(self, tip: str | None, title: str) -> str:
        base = slugify(title, max_length=SLUG_MAX, word_boundary=True) or "article"
        candidate, n = base, 1
        while self.repo.lookup(tip, layout.article_path(candidate)) is not None:
            n += 1
            suffix = f"-{n}"
            candidate = base[: SLUG_MAX - len(suffix)].rstrip("-") + suffix
        return candidate

    def replace(
        self,
        slug: str,
        data: Any,
        editor: Person,
        expected: Collection[str] | None,
        *,
        may_schedule: bool = False,
        merge: bool = False,
        resolution: Resolution | None = None,
        publish: bool = False,
    ) -> Article:
        """Replace the draft of `slug`. Raises ArticleNotFound, RevisionRequired,
        StaleRevision, ValidationFailed, Forbidden (a change of `publish_at` without
        `may_schedule`); with `merge`, a stale `expected` is merged (see `Writes.edit`;
        `resolution` answers the conflicts shown before); with `publish`, the same write
        publishes the draft it leaves."""
        doc = validate(data)
        if doc.get("slug", slug) != slug:
            raise ValidationFailed(
                "The slug of an article cannot be changed.",
                {"slug": ["The slug cannot be changed after create."]},
            )
        doc = with_slug(doc, slug)
        return self.writes.edit(
            slug,
            editor,
            expected,
            lambda current: doc,
            may_schedule=may_schedule,
            merge=merge,
            resolution=resolution,
            publish=publish,
        )

    def patch(
        self,
        slug: str,
        patch: Any,
        editor: Person,
        expected: Collection[str] | None,
        *,
        may_schedule: bool = False,
        merge: bool = False,
    ) -> Article:
        """Apply a JSON Merge Patch to the draft of `slug` (with `merge` and a stale
        `expected`, to the revision `expected` names, merged); raises as `replace`."""
        if not isinstance(patch, dict):
            raise ValidationFailed(
                "A merge patch must be a JSON object.", {"_schema": ["Must be a JSON object."]}
            )
        if "slug" in patch and patch["slug"] != slug:
            raise ValidationFailed(
                "The slug of an article cannot be changed.",
                {"slug": ["The slug cannot be changed after create."]},
            )
        return self.writes.edit(
            slug,
            editor,
            expected,
            lambda current: with_slug(validate(merge_patch(current, patch)), slug),
            may_schedule=may_schedule,
            merge=merge,
        )

    def delete(self, slug: str, editor: Person, expected: Collection[str] | None) -> None:
        """Remove `slug` from the draft line and, if it is live, from the published line, in
        one atomic move of both branches (its history stays).

        Raises ArticleNotFound, RevisionRequired, StaleRevision.
        """

        def plan(tips: Tips) -> builtins.list[Step]:
            draft = self.writes.current(tips[MAIN], slug, expected)
            steps = [Step(MAIN, slug, "delete", remove=True)]
            if self.repo.lookup(tips[PUBLISHED], layout.article_path(slug)) is not None:
                # withdrawn first: a crash between the two moves leaves an unpublished draft
                steps.insert(
                    0,
                    Step(
                        PUBLISHED,
                        slug,
                        "delete",
                        remove=True,
                        trailers={"Revision": self.writes.last_change(slug, draft, tips)},
                    ),
                )
            return steps

        self.writes.write(editor, plan)

    def restore(
        self,
        slug: str,
        revision: str,
        editor: Person,
        expected: Collection[str] | None,
        *,
        may_schedule: bool = False,
    ) -> Article:
        """Make the content of `slug` at `revision` its new draft, as a new commit.

        The expected revision is needed while the article exists; a deleted article is
        restored without.
        Raises RevisionNotFound, RevisionRequired, StaleRevision, ValidationFailed when the
        content at `revision` is not a valid article, Forbidden (a change of `publish_at`
        without `may_schedule`).
        """
        old, at = self.reading.valid_at(slug, revision)
        sha = at["revision"]

        def plan(tips: Tips) -> builtins.list[Step] | None:
            current = self.repo.lookup(tips[MAIN], layout.article_path(slug))
            before = None
            if current is not None:
                self.writes.current(tips[MAIN], slug, expected)
                found = self.reading.file_at(tips[MAIN], slug)
                before = found[1] if found else {}
            check_schedule(before, old, may_schedule)
            if current is not None and current == blob_id(canonical.dumps(old)):
                return None
            return [
                Step(
                    MAIN,
                    slug,
                    "restore",
                    doc=old,
                    detail=f"to {sha[:12]}",
                    trailers={"Restored-From": sha},
                )
            ]

        return self.writes.saved(plan, editor, slug)
