"""What every part of the store shares: the repository, the index, and the write helpers.

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
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any, Self

from cms.content import canonical, layout
from cms.content.articles import Article, from_row, validate
from cms.content.identity import Person
from cms.content.layout import MAIN, PUBLISHED
from cms.errors import (
    ArticleNotFound,
    Forbidden,
    PreconditionFailed,
    PreconditionRequired,
    RefMoved,
)
from cms.git.objects import MODE_FILE
from cms.git.repository import Repository, blob_id
from cms.index import CardMaker, Index
from cms.index.catch_up import content_id
from cms.integrity import rules
from cms.settings import Settings
from cms.store.commits import Step, Tips, write
from cms.times import seconds

DEFAULT_COMMITTER = Settings().committer
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


def check_schedule(before: dict[str, Any] | None, after: dict[str, Any],
                   may_schedule: bool) -> None:
    """Raise Forbidden when `after` sets, changes or removes the `publish_at` of `before` (None:
    a new article) and the writer may not schedule: what makes content go live by itself
    is an editor's decision, like publishing."""
    old = seconds((before or {}).get("publish_at"))
    if not may_schedule and (old != seconds(after.get("publish_at"))
                             or (before is None and "publish_at" in after)):
        raise Forbidden(
            "Setting, changing or removing publish_at needs the editor role.",
            {"publish_at": ["Only an editor may set, change or remove the schedule."]},
        )


class StoreBase:
    """Articles in the git repository at `path`. Safe to share between threads and processes."""

    def __init__(
        self, path: str, *, committer: Person = DEFAULT_COMMITTER, durable: bool = False,
        make_card: CardMaker | None = None, signing_key: str | None = None,
    ) -> None:
        """`make_card` (see `cms.public.card`) lets the index keep the public card of what is
        published as it is indexed; without it, delivery works cards out on first read.
        `signing_key` signs every commit the store makes (see `cms.signing`)."""
        self.repo = Repository(path, durable=durable, signing_key=signing_key)
        self.committer = committer
        self.index = Index(self.repo, committer.email, make_card)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the write turn and make every write of this thread until the end one batch:
        the same commits, but their objects go into one pack, the branches move once, and
        the index commits once, after git (see `Repository.batch`). Nothing is written if
        the batch raises.

        Raises RefMoved at the end if a branch moved meanwhile outside the CMS."""
        with self.repo.exclusive(), self.index.batch():
            # the index follows the branches from here: a commit of the batch is indexed as
            # it is made, never looked for in git (where it is not yet)
            self.index.catch_up()
            with self.repo.batch():
                yield

    @classmethod
    def open(cls, settings: Settings, *, make_card: CardMaker | None = None) -> Self:
        """The store the settings describe (repository, committer, durability, signing)."""
        return cls(settings.repo, committer=settings.committer, durable=settings.durable,
                   make_card=make_card, signing_key=settings.signing_key)

    @classmethod
    def init(cls, path: str, **options: Any) -> Self:
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

    def catch_up(self) -> Tips:
        """Bring the index up to both lines of history; return where they point."""
        return self.index.catch_up()

    def get(self, slug: str) -> Article:
        """Return the current draft of `slug`; raises ArticleNotFound."""
        self.catch_up()
        row = self.index.article(slug, int(time.time()))
        if row is None:
            raise ArticleNotFound(f"There is no article '{slug}'.")
        return self._article(row)

    def _article(self, row: dict[str, Any]) -> Article:
        """The Article of an index row; an invalid file's content is not read."""
        return from_row(row, {} if row["problems"] else json.loads(self.repo.read(row["blob"])))

    def file_at(self, commit: str | None, slug: str
                ) -> tuple[str, dict[str, Any], rules.Problems] | None:
        """The file of `slug` at `commit`, None if there is none, else its id, its fields
        (canonical when valid, else as far as they can be read) and its problems (none for
        a valid article, see `rules.check_article`)."""
        path = layout.article_path(slug)
        entry = self.repo.entry(commit, path)
        if entry is None:
            return None
        mode, sha = entry
        if mode != MODE_FILE:
            return sha, {}, rules.check_article(path, mode, bytes)
        data = self.repo.read(sha)
        problems = rules.check_article(path, mode, lambda: data)
        return sha, rules.loose(data) if problems else validate(rules.parse(data)), problems

    # -- the write helpers every kind of write shares -------------------------------------

    def _last_change(self, slug: str, blob: str, tips: Tips) -> str:
        """The draft revision that last changed `slug` (whose file is `blob` at `tips`), for the
        `Revision:` trailer of a commit on `published`: the draft it publishes or withdraws,
        which is also where that commit belongs among the drafts (see `Index.revisions`)."""
        row = self.index.article(slug, 0)
        return row["revision"] if row and row["blob"] == blob else tips[MAIN] or ""

    def _edit(self, slug: str, editor: Person, expected: Collection[str] | None,
              make: Callable[[dict[str, Any]], dict[str, Any]], *, verb: str | None = None,
              detail: str | None = None, may_schedule: bool = False,
              trailers: dict[str, str] | None = None) -> Article:
        """Change the draft of `slug` to what `make` makes of it (no commit if nothing
        changes, else one with `trailers` besides the usual ones); return the article.
        Raises ArticleNotFound, PreconditionRequired, PreconditionFailed, Forbidden (a change
        of `publish_at` without `may_schedule`), and what `make` raises."""
        def plan(tips: Tips) -> builtins.list[Step] | None:
            current_blob = self._current(tips[MAIN], slug, expected)
            found = self.file_at(tips[MAIN], slug)
            current = found[1] if found else {}
            doc = make(current)
            check_schedule(current, doc, may_schedule)
            if blob_id(canonical.dumps(doc)) == current_blob:
                return None
            changed = [k for k in {**current, **doc} if current.get(k) != doc.get(k)]
            return [Step(MAIN, slug, "update", doc=doc, verb=verb,
                         detail=", ".join(changed) if detail is None else detail,
                         trailers=trailers or {})]

        return self._saved(plan, editor, slug)

    def _current(self, tip: str | None, slug: str, expected: Collection[str] | None) -> str:
        """Return the blob of `slug` at `tip` after checking the version the caller expects
        (`expected`: blob ids, or {"*"} for any)."""
        blob = self.repo.lookup(tip, layout.article_path(slug))
        if blob is None:
            raise ArticleNotFound(f"There is no article '{slug}'.")
        if expected is None:
            raise PreconditionRequired(
                "Say which version of the article you are changing (its ETag).",
                {"expected": ["Missing."]},
            )
        if "*" not in expected and blob not in expected:
            raise PreconditionFailed(
                f"The article '{slug}' was changed since you read it; reload it and retry.",
                {"expected": ["Not the current version."]},
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
                   "slug": step.slug, "blob": blob, "content": content_id(blob, step.doc),
                   "revision": record.sha,
                   "publish_at": seconds(step.doc.get("publish_at")),
                   "created_at": created[0], "created_by": created[1],
                   "updated_at": record.date, "updated_by": by}
        return from_row(row, step.doc)
