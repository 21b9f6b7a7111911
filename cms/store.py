"""The article store: articles as canonical JSON files in a git repository, one commit per save.

Nothing here knows about HTTP. Writes never touch a working tree or an index file: the new
objects are written first, then `main` moves by compare-and-swap. When `main` moved underneath
a write, the write is planned again on the new tip: it goes through if its article did not
change, and is refused (PreconditionFailed) if it did.
"""

from __future__ import annotations

import builtins
import json
import os
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError
from slugify import slugify

from . import canonical, layout, messages
from .diff import changes as field_changes
from .errors import (
    ArticleExists,
    ArticleNotFound,
    BadRequest,
    PreconditionFailed,
    PreconditionRequired,
    RevisionNotFound,
    StorageUnavailable,
    ValidationFailed,
)
from .gitobjects import Person
from .gitrefs import RefMoved
from .index import Index
from .repository import CommitRecord, Repository, blob_id
from .schemas import REVISION_RE, SLUG_MAX, flatten_errors, validate_article

MAIN = "main"
DEFAULT_COMMITTER = Person("Git CMS", "cms@localhost")
MAX_ATTEMPTS = 200
CONTENT_README = """# Content repository

This repository is written by the CMS and readable with plain git.

- `main` holds every saved draft revision; every save is one commit authored by the editor.
- Each article is one JSON file: `articles/<xx>/<slug>.json`, where `xx` is the first two hex
  digits of the SHA-1 of the slug. Find one with `git log -p -- 'articles/*/<slug>.json'`.
- Commit trailers `Article: <slug>` and `Action: <action>` say what each commit did:
  `git log --grep 'Action: create'`.
"""


@dataclass
class Article:
    """An article's fields (canonical form), its ETag (the file's blob id) and its `meta`."""

    slug: str
    fields: dict[str, Any]
    etag: str
    meta: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {**self.fields, "meta": self.meta}


@dataclass
class _Change:
    slug: str
    doc: dict[str, Any] | None  # None removes the article
    detail: str = ""
    trailers: dict[str, str] = field(default_factory=dict)


_NOOP = object()
Plan = Callable[[str | None], "_Change | str"]


def _time(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def validate(data: Any) -> dict[str, Any]:
    try:
        return validate_article(data)
    except ValidationError as e:
        errors = flatten_errors(e.messages)
        raise ValidationFailed(
            f"The article is not valid: {', '.join(errors)}.", errors
        ) from e


def _with_slug(doc: dict[str, Any], slug: str) -> dict[str, Any]:
    return {"slug": slug, **{k: v for k, v in doc.items() if k != "slug"}}


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7396 JSON Merge Patch and return the result."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


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
        if store.repo.ref(MAIN) is None:
            repo = store.repo
            blob = repo.write("blob", CONTENT_README.encode())
            tree = repo.with_file(None, "README.md", blob)
            when = int(time.time())
            sha = repo.commit(tree, None, store.committer, store.committer, when,
                              "Initialize content repository\n")
            try:
                repo.move(MAIN, None, sha)
            except RefMoved:
                pass  # another process initialised it first
        return store

    # -- reading ---------------------------------------------------------------------

    def tip(self) -> str | None:
        """Return the commit `main` points at, with the index brought up to it."""
        tip = self.repo.ref(MAIN)
        self.index.sync(tip)
        return tip

    def get(self, slug: str) -> Article:
        """Return the current draft of `slug`; raises ArticleNotFound."""
        self.tip()
        row = self.index.article(slug)
        if row is None:
            raise ArticleNotFound(f"There is no article '{slug}'.")
        return self._article(row)

    def _article(self, row: dict[str, Any], doc: dict[str, Any] | None = None) -> Article:
        if doc is None:
            doc = json.loads(self.repo.read(row["blob"]))
        meta = {
            "revision": row["revision"],
            "state": "draft",
            "created_at": _time(row["created_at"]),
            "updated_at": _time(row["updated_at"]),
            "created_by": row["created_by"],
            "updated_by": row["updated_by"],
            "published_revision": None,
            "published_at": None,
        }
        return Article(row["slug"], doc, row["blob"], meta)

    def list(
        self, *, page: int = 1, per_page: int = 20, state: str | None = None,
        section: str | None = None, tag: str | None = None, q: str | None = None,
    ) -> tuple[builtins.list[Article], int]:
        """Return one page of articles (most recently updated first) and the total count."""
        self.tip()
        if state not in (None, "draft"):
            return [], 0  # nothing is published until publishing exists
        rows, total = self.index.articles(
            section=section, tag=tag, q=q, limit=per_page, offset=(page - 1) * per_page
        )
        return [self._article(r) for r in rows], total

    def count(self) -> int:
        self.tip()
        return self.index.count()

    def slugs(self) -> builtins.list[str]:
        """Every article on the draft line, in slug order."""
        self.tip()
        return self.index.slugs()

    def revisions(self, slug: str, *, page: int = 1, per_page: int = 20
                  ) -> tuple[builtins.list[dict[str, Any]], int]:
        """Return one page of the revisions of `slug`, newest first, and the total.

        Raises ArticleNotFound if the article never existed.
        """
        self.tip()
        rows, total = self.index.revisions(slug, limit=per_page, offset=(page - 1) * per_page)
        if total == 0:
            raise ArticleNotFound(f"There never was an article '{slug}'.")
        items = [
            {**{k: v for k, v in r.items() if k != "blob"}, "date": _time(r["date"]),
             "published": False}
            for r in rows
        ]
        return items, total

    def resolve(self, revision: str, field: str = "revision") -> tuple[str, datetime]:
        """Return the full commit id (and date) on `main` named by a 7..40 hex prefix.

        Raises RevisionNotFound, or BadRequest when the prefix is ambiguous.
        """
        if not isinstance(revision, str) or not REVISION_RE.match(revision):
            raise RevisionNotFound(f"There is no revision '{revision}'.")
        self.tip()
        found = self.index.resolve(revision)
        if not found:
            raise RevisionNotFound(f"There is no revision '{revision}'.")
        if len(found) > 1:
            raise BadRequest(
                f"The revision prefix '{revision}' is ambiguous.",
                {field: ["Ambiguous revision prefix; give more characters."]},
            )
        sha, date = found[0]
        return sha, _time(date)

    def at_revision(self, slug: str, revision: str, field: str = "revision"
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return the article as it was at `revision` and {"revision", "date"}.

        Raises RevisionNotFound when the revision is unknown or the article did not exist then.
        """
        sha, date = self.resolve(revision, field)
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
        path = layout.article_path

        def plan(tip: str | None) -> _Change:
            if "slug" in doc:
                if self.repo.lookup(tip, path(doc["slug"])) is not None:
                    raise ArticleExists(
                        f"An article with slug '{doc['slug']}' exists.",
                        {"slug": ["An article with this slug exists."]},
                    )
                return _Change(doc["slug"], doc)
            slug = self._free_slug(tip, doc["title"])
            return _Change(slug, _with_slug(doc, slug))

        return self._written_or_fail(self._write(editor, "create", plan))

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
        doc = _with_slug(doc, slug)
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
            lambda current: _with_slug(validate(merge_patch(current, patch)), slug),
        )

    def _edit(self, slug: str, editor: Person, expected: Collection[str] | None,
              make: Callable[[dict[str, Any]], dict[str, Any]]) -> Article:
        def plan(tip: str | None) -> _Change | str:
            current_blob = self._current(tip, slug, expected)
            current = json.loads(self.repo.read(current_blob))
            doc = make(current)
            if blob_id(canonical.dumps(doc)) == current_blob:
                return slug
            changed = [k for k in {**current, **doc} if current.get(k) != doc.get(k)]
            return _Change(slug, doc, ", ".join(changed))

        return self._written_or_fail(self._write(editor, "update", plan))

    def delete(self, slug: str, editor: Person, expected: Collection[str] | None) -> None:
        """Remove `slug` from the draft line (its history stays).

        Raises ArticleNotFound, PreconditionRequired, PreconditionFailed.
        """

        def plan(tip: str | None) -> _Change:
            self._current(tip, slug, expected)
            return _Change(slug, None)

        self._write(editor, "delete", plan)

    def restore(self, slug: str, revision: str, editor: Person,
                expected: Collection[str] | None) -> Article:
        """Make the content of `slug` at `revision` its new draft, as a new commit.

        If-Match is needed while the article exists; a deleted article is restored without.
        Raises RevisionNotFound, PreconditionRequired, PreconditionFailed.
        """
        old, at = self.at_revision(slug, revision)
        sha = at["revision"]

        def plan(tip: str | None) -> _Change | str:
            current = self.repo.lookup(tip, layout.article_path(slug))
            if current is not None:
                self._current(tip, slug, expected)
                if current == blob_id(canonical.dumps(old)):
                    return slug
            return _Change(slug, old, f"to {sha[:12]}", {"Restored-From": sha})

        return self._written_or_fail(self._write(editor, "restore", plan))

    @staticmethod
    def _written_or_fail(article: Article | None) -> Article:
        assert article is not None, "only a delete removes an article"
        return article

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

    def _write(self, editor: Person, action: str, plan: Plan) -> Article | None:
        """Commit what `plan` says on top of `main`, planning again whenever `main` moved.

        Returns the article as this write left it (None when it removed it), or as it is when
        there was nothing to change. Raises what `plan` raises, or StorageUnavailable.
        """
        for _ in range(MAX_ATTEMPTS):
            tip = self.repo.ref(MAIN)
            change = plan(tip)
            if isinstance(change, str):
                return self.get(change)
            path = layout.article_path(change.slug)
            try:
                blob = None
                if change.doc is not None:
                    blob = self.repo.write("blob", canonical.dumps(change.doc))
                tree = self.repo.with_file(tip, path, blob)
                message = messages.compose(action, change.slug, change.detail, change.trailers)
                when = int(time.time())
                sha = self.repo.commit(tree, tip, editor, self.committer, when, message)
                self.repo.move(MAIN, tip, sha)
            except RefMoved:
                continue
            except OSError as e:
                raise StorageUnavailable(
                    f"The content repository cannot be written: {os.strerror(e.errno or 0)}."
                ) from e
            record = CommitRecord(
                sha, [tip] if tip else [], editor, self.committer.email, when, message,
                {path: blob},
            )
            if change.doc is None or blob is None:
                self.index.record(record, {})
                return None
            self.index.record(record, {change.slug: change.doc})
            return self._written(change.slug, change.doc, blob, record)
        raise StorageUnavailable("Too many concurrent writes; try again.")

    def _written(self, slug: str, doc: dict[str, Any], blob: str, record: CommitRecord
                 ) -> Article:
        """The article as a write just made it, even if others have changed it since."""
        by = {"name": record.author.name, "email": record.author.email}
        row = self.index.article(slug)
        created_at, created_by = record.date, by
        if row is not None and row["created_at"] <= record.date:
            created_at, created_by = row["created_at"], row["created_by"]
        return self._article({
            "slug": slug, "blob": blob, "revision": record.sha,
            "created_at": created_at, "created_by": created_by,
            "updated_at": record.date, "updated_by": by,
        }, doc)
