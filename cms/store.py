"""The article store: articles as canonical JSON files in a git repository, one commit per save.

Nothing here knows about HTTP. Writes never touch a working tree or an index file: the new
objects are written first, then `main` moves by compare-and-swap. When `main` moved underneath
a write, the write is planned again on the new tip: it goes through if its article did not
change, and is refused (PreconditionFailed) if it did.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

from slugify import slugify

from . import canonical, layout, publishing
from .articles import Article, from_row, merge_patch, seconds, utc, validate, with_slug
from .commits import Step, Tips, write
from .diff import changes as field_changes
from .errors import (
    ArticleExists,
    ArticleNotFound,
    BadRequest,
    PreconditionFailed,
    PreconditionRequired,
    RevisionNotFound,
    ValidationFailed,
)
from .gitobjects import Person
from .gitrefs import RefMoved
from .index import MAIN, PUBLISHED, Index
from .repository import Repository, blob_id
from .schemas import REVISION_RE, SLUG_MAX

DEFAULT_COMMITTER = Person("Git CMS", "cms@localhost")
CONTENT_README = """# Content repository

This repository is written by the CMS and readable with plain git.

- `main` holds every saved draft revision; every save is one commit authored by the editor.
- `published` holds exactly what frontends see: `git log published` is the publication history
  and `git diff published main` shows every change not yet live.
- Each article is one JSON file: `articles/<xx>/<slug>.json`, where `xx` is the first two hex
  digits of the SHA-1 of the slug. Find one with `git log -p -- 'articles/*/<slug>.json'`.
- Commit trailers `Article: <slug>` and `Action: <action>` say what each commit did:
  `git log --grep 'Action: publish' published`.
"""


class ArticleStore:
    """Articles in the git repository at `path`. Safe to share between threads and processes."""

    def __init__(
        self, path: str, *, committer: Person = DEFAULT_COMMITTER, durable: bool = False
    ) -> None:
        self.repo = Repository(path, durable=durable)
        self.committer = committer
        self.index = Index(self.repo, committer.email)

    @classmethod
    def init(cls, path: str, **options: Any) -> ArticleStore:
        """Create the content repository at `path` if there is none, and return its store."""
        Repository.init(path)
        store = cls(path, **options)
        repo = store.repo
        if repo.ref(MAIN) is None:
            blob = repo.write("blob", CONTENT_README.encode())
            tree = repo.with_file(None, "README.md", blob)
            when = int(time.time())
            sha = repo.commit(tree, None, store.committer, store.committer, when,
                              "Initialize content repository\n")
            try:
                repo.move((MAIN, None, sha), (PUBLISHED, None, sha))
            except RefMoved:
                pass  # another process initialised it first
        return store

    # -- reading ---------------------------------------------------------------------

    def tips(self) -> Tips:
        """Where `main` and `published` point, with the index brought up to both."""
        return self.index.sync()

    def get(self, slug: str) -> Article:
        """Return the current draft of `slug`; raises ArticleNotFound."""
        self.tips()
        row = self.index.article(slug, int(time.time()))
        if row is None:
            raise ArticleNotFound(f"There is no article '{slug}'.")
        return from_row(row, json.loads(self.repo.read(row["blob"])))

    def list(
        self, *, page: int = 1, per_page: int = 20, state: str | None = None,
        section: str | None = None, tag: str | None = None, q: str | None = None,
    ) -> tuple[builtins.list[Article], int]:
        """Return one page of articles (most recently updated first) and the total count."""
        self.tips()
        rows, total = self.index.articles(
            now=int(time.time()), state=state, section=section, tag=tag, q=q, limit=per_page,
            offset=(page - 1) * per_page,
        )
        return [from_row(r, json.loads(self.repo.read(r["blob"]))) for r in rows], total

    def count(self) -> int:
        self.tips()
        return self.index.count()

    def slugs(self) -> builtins.list[str]:
        """Every article on the draft line, in slug order."""
        self.tips()
        return self.index.slugs()

    def revisions(self, slug: str, *, page: int = 1, per_page: int = 20
                  ) -> tuple[builtins.list[dict[str, Any]], int]:
        """Return one page of the revisions of `slug`, newest first, and the total.

        Raises ArticleNotFound if the article never existed.
        """
        self.tips()
        rows, total = self.index.revisions(slug, limit=per_page, offset=(page - 1) * per_page)
        if total == 0:
            raise ArticleNotFound(f"There never was an article '{slug}'.")
        items = [
            {**{k: v for k, v in r.items() if k not in ("blob", "line")},
             "date": utc(r["date"]), "published": r["line"] == PUBLISHED}
            for r in rows
        ]
        return items, total

    def resolve(self, revision: str, field: str = "revision", line: str | None = None
                ) -> tuple[str, datetime]:
        """Return the full commit id (and date) named by a 7..40 hex prefix, on either line
        of history or on `line`.

        Raises RevisionNotFound, or BadRequest when the prefix is ambiguous.
        """
        if not isinstance(revision, str) or not REVISION_RE.fullmatch(revision):
            raise RevisionNotFound(f"There is no revision '{revision}'.")
        self.tips()
        found = self.index.resolve(revision, line)
        if not found:
            raise RevisionNotFound(f"There is no revision '{revision}'.")
        if len(found) > 1:
            raise BadRequest(
                f"The revision prefix '{revision}' is ambiguous.",
                {field: ["Ambiguous revision prefix; give more characters."]},
            )
        sha, date = found[0]
        return sha, datetime.fromtimestamp(date, UTC)

    def at_revision(self, slug: str, revision: str, field: str = "revision",
                    line: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return the article as it was at `revision` and {"revision", "date"}.

        Raises RevisionNotFound when the revision is unknown or the article did not exist then.
        """
        sha, date = self.resolve(revision, field, line)
        blob = self.repo.lookup(sha, layout.article_path(slug))
        if blob is None:
            raise RevisionNotFound(f"The article '{slug}' did not exist at revision {sha[:12]}.")
        return json.loads(self.repo.read(blob)), {"revision": sha, "date": date}

    def diff(self, slug: str, old: str, new: str | None = None) -> dict[str, Any]:
        """Return the field-level changes of `slug` from revision `old` to `new` (default: now)."""
        before, before_meta = self.at_revision(slug, old, "from")
        if new is None:
            current = self.get(slug)
            after, after_rev = current.fields, current.meta["revision"]
        else:
            after, after_meta = self.at_revision(slug, new, "to")
            after_rev = after_meta["revision"]
        return {
            "from": before_meta["revision"], "to": after_rev,
            "changes": field_changes(before, after),
        }

    # -- writing ---------------------------------------------------------------------

    def create(self, data: Any, editor: Person) -> Article:
        """Create a draft; the slug is derived from the title when not given.

        Raises ValidationFailed, ArticleExists.
        """
        doc = validate(data)

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

        return self._saved(plan, editor)

    def _free_slug(self, tip: str | None, title: str) -> str:
        base = slugify(title, max_length=SLUG_MAX, word_boundary=True) or "article"
        candidate, n = base, 1
        while self.repo.lookup(tip, layout.article_path(candidate)) is not None:
            n += 1
            suffix = f"-{n}"
            candidate = base[: SLUG_MAX - len(suffix)].rstrip("-") + suffix
        return candidate

    def replace(self, slug: str, data: Any, editor: Person,
                expected: Collection[str] | None) -> Article:
        """Replace the draft of `slug`. Raises ArticleNotFound, PreconditionRequired,
        PreconditionFailed, ValidationFailed."""
        doc = validate(data)
        if doc.get("slug", slug) != slug:
            raise ValidationFailed(
                "The slug of an article cannot be changed.",
                {"slug": ["The slug cannot be changed after create."]},
            )
        doc = with_slug(doc, slug)
        return self._edit(slug, editor, expected, lambda current: doc)

    def patch(self, slug: str, patch: Any, editor: Person,
              expected: Collection[str] | None) -> Article:
        """Apply a JSON Merge Patch to the draft of `slug`; raises as `replace`."""
        if not isinstance(patch, dict):
            raise ValidationFailed(
                "A merge patch must be a JSON object.", {"_schema": ["Must be a JSON object."]}
            )
        if "slug" in patch and patch["slug"] != slug:
            raise ValidationFailed(
                "The slug of an article cannot be changed.",
                {"slug": ["The slug cannot be changed after create."]},
            )
        return self._edit(
            slug, editor, expected,
            lambda current: with_slug(validate(merge_patch(current, patch)), slug),
        )

    def _edit(self, slug: str, editor: Person, expected: Collection[str] | None,
              make: Callable[[dict[str, Any]], dict[str, Any]], *, verb: str | None = None,
              detail: str | None = None) -> Article:
        def plan(tips: Tips) -> builtins.list[Step] | None:
            current_blob = self._current(tips[MAIN], slug, expected)
            current = json.loads(self.repo.read(current_blob))
            doc = make(current)
            if blob_id(canonical.dumps(doc)) == current_blob:
                return None
            changed = [k for k in {**current, **doc} if current.get(k) != doc.get(k)]
            return [Step(MAIN, slug, "update", doc=doc, verb=verb,
                         detail=", ".join(changed) if detail is None else detail)]

        return self._saved(plan, editor, slug)

    def delete(self, slug: str, editor: Person, expected: Collection[str] | None) -> None:
        """Remove `slug` from the draft line and, if it is live, from the published line, in
        one atomic move of both branches (its history stays).

        Raises ArticleNotFound, PreconditionRequired, PreconditionFailed.
        """

        def plan(tips: Tips) -> builtins.list[Step]:
            self._current(tips[MAIN], slug, expected)
            steps = [Step(MAIN, slug, "delete", remove=True)]
            if self.repo.lookup(tips[PUBLISHED], layout.article_path(slug)) is not None:
                # withdrawn first: a crash between the two moves leaves an unpublished draft
                steps.insert(0, Step(PUBLISHED, slug, "delete", remove=True))
            return steps

        write(self.repo, self.index, self.committer, editor, plan)

    def restore(self, slug: str, revision: str, editor: Person,
                expected: Collection[str] | None) -> Article:
        """Make the content of `slug` at `revision` its new draft, as a new commit.

        If-Match is needed while the article exists; a deleted article is restored without.
        Raises RevisionNotFound, PreconditionRequired, PreconditionFailed.
        """
        old, at = self.at_revision(slug, revision)
        sha = at["revision"]

        def plan(tips: Tips) -> builtins.list[Step] | None:
            current = self.repo.lookup(tips[MAIN], layout.article_path(slug))
            if current is not None:
                self._current(tips[MAIN], slug, expected)
                if current == blob_id(canonical.dumps(old)):
                    return None
            return [Step(MAIN, slug, "restore", doc=old, detail=f"to {sha[:12]}",
                         trailers={"Restored-From": sha})]

        return self._saved(plan, editor, slug)

    def publish(self, slug: str, editor: Person, *, revision: str | None = None,
                publish_at: datetime | None = None) -> Article:
        """See `publishing.publish`."""
        return publishing.publish(self, slug, editor, revision=revision, publish_at=publish_at)

    def unpublish(self, slug: str, editor: Person) -> Article:
        """See `publishing.unpublish`."""
        return publishing.unpublish(self, slug, editor)

    def publish_due(self) -> builtins.list[str]:
        """See `publishing.publish_due`."""
        return publishing.publish_due(self)

    def _current(self, tip: str | None, slug: str, expected: Collection[str] | None) -> str:
        """Return the blob of `slug` at `tip` after checking the caller's If-Match."""
        blob = self.repo.lookup(tip, layout.article_path(slug))
        if blob is None:
            raise ArticleNotFound(f"There is no article '{slug}'.")
        if expected is None:
            raise PreconditionRequired(
                "Send If-Match with the ETag of the article you are changing.",
                {"If-Match": ["Missing header."]},
            )
        if "*" not in expected and blob not in expected:
            raise PreconditionFailed(
                f"The article '{slug}' was changed since you read it; reload it and retry.",
                {"If-Match": ["Does not match the current ETag."]},
            )
        return blob

    def _saved(self, plan: Callable[[Tips], builtins.list[Step] | None], editor: Person,
               slug: str | None = None) -> Article:
        """Run a plan that writes the draft; return the article as that write left it (as it
        is, when there was nothing to change), even if others have changed it since."""
        made = write(self.repo, self.index, self.committer, editor, plan)
        if not made:
            assert slug is not None
            return self.get(slug)
        step, record, blob = made[0].step, made[0].record, made[0].blob
        assert step.doc is not None and blob is not None
        try:
            row = self.index.article(step.slug, int(time.time()))
        except sqlite3.Error:
            row = None  # the write stands; describe it from the commit alone
        by = {"name": record.author.name, "email": record.author.email}
        if row is None or row["revision"] != record.sha:
            # others wrote after us: describe our commit, keeping what still holds
            created = (row["created_at"], row["created_by"]) if row and (
                row["created_at"] <= record.date) else (record.date, by)
            row = {**(row or {"live_blob": None, "published_revision": None,
                              "published_at": None}),
                   "slug": step.slug, "blob": blob, "revision": record.sha,
                   "publish_at": seconds(step.doc.get("publish_at")),
                   "created_at": created[0], "created_by": created[1],
                   "updated_at": record.date, "updated_by": by}
        return from_row(row, step.doc)
