"""The write helpers every kind of write shares (`Writes`, the store's `writes` part).

Nothing here knows about HTTP. Writes never touch a working tree or an index file: the new
objects are written first, then `main` moves by compare-and-swap. When `main` moved underneath
a write, the write is planned again on the new tip: it goes through if its article did not
change, and is refused (StaleRevision) if it did.
"""

from __future__ import annotations

import builtins
import sqlite3
import time
from collections.abc import Callable, Collection
from typing import Any

from cms.content import canonical, layout
from cms.content.articles import Article, from_row
from cms.content.identity import Person
from cms.content.layout import MAIN, PUBLISHED
from cms.errors import (
    ArticleNotFound,
    Forbidden,
    RevisionRequired,
    StaleRevision,
    ValidationFailed,
)
from cms.git.repository import Repository, Tips, blob_id
from cms.index import Index
from cms.index.catch_up import content_id
from cms.media.usage import to_publish
from cms.settings import Settings
from cms.store import commits, merging
from cms.store.commits import Made, Plan, Step
from cms.store.groups import Groups
from cms.store.reading import Reading
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


def check_schedule(
    before: dict[str, Any] | None, after: dict[str, Any], may_schedule: bool
) -> None:
    """Raise Forbidden when `after` sets, changes or removes the `publish_at` of `before` (None:
    a new article) and the writer may not schedule: what makes content go live by itself
    is an editor's decision, like publishing."""
    old = seconds((before or {}).get("publish_at"))
    if not may_schedule and (
        old != seconds(after.get("publish_at")) or (before is None and "publish_at" in after)
    ):
        raise Forbidden(
            "Setting, changing or removing publish_at needs the editor role.",
            {"publish_at": ["Only an editor may set, change or remove the schedule."]},
        )


class Writes:
    """The write helpers: the write loop with this store's committer, an edit of a draft,
    the check of the revision a writer changes, and the article a write leaves."""

    def __init__(self, repo: Repository, index: Index, committer: Person, reading: Reading) -> None:
        self.repo = repo
        self.index = index
        self.committer = committer
        self.reading = reading
        self.groups = Groups(repo)

    def write(self, author: Person, plan: Plan) -> builtins.list[Made]:
        """Commit what `plan` says, authored by `author` (see `commits.write`); every draft it
        writes must keep the translation groups whole (see `groups.Groups.check`)."""

        def checked(tips: Tips) -> builtins.list[Step] | None:
            steps = plan(tips)
            for step in steps or []:
                if step.line == MAIN and step.doc is not None:
                    self.groups.check(tips[MAIN], {**step.doc, "slug": step.slug})
                for slug, doc in step.docs.items():
                    if step.line == MAIN:
                        self.groups.check(tips[MAIN], {**doc, "slug": slug})
            return steps

        return commits.write(self.repo, self.index, self.committer, author, checked)

    def published_too(self, plan: Plan, slug: str | None = None) -> Plan:
        """`plan`, and the same write publishes the draft it leaves: one more commit, on
        `published`, whose `Revision:` is the draft commit `plan` makes just before it; both
        lines move in one compare-and-swap, main first, so the publication is never seen
        without its draft. When `plan` changes nothing (`slug`'s draft is already as asked),
        the draft as it is goes live; nothing is written when it is live as it is.

        Raises what `plan` raises, ValidationFailed when the draft has a `publish_at` still
        ahead (a schedule, not a publication) or uses media files on neither line."""

        def both(tips: Tips) -> builtins.list[Step] | None:
            steps = plan(tips) or []
            draft = next((s for s in steps if s.line == MAIN and s.doc is not None), None)
            if draft is not None:
                assert draft.doc is not None
                name, doc = draft.slug, draft.doc
                blob, trailers, revision_of = blob_id(canonical.dumps(doc)), {}, MAIN
            else:
                assert slug is not None
                found = self.reading.file_at(tips[MAIN], slug)
                if found is None:
                    raise ArticleNotFound(f"There is no article '{slug}'.")
                blob, doc, _ = found
                name, revision_of = slug, None
                trailers = {"Revision": self.last_change(slug, blob, tips)}
            when = seconds(doc.get("publish_at"))
            if when is not None and when > time.time():
                raise ValidationFailed(
                    "A publish_at still ahead schedules the article; save it without "
                    "publish=true, or remove publish_at to publish it now.",
                    {"publish_at": ["Must not be in the future with publish=true."]},
                )
            media = to_publish(self.repo, doc, tips[MAIN], tips[PUBLISHED])
            if self.repo.lookup(tips[PUBLISHED], layout.article_path(name)) == blob and not media:
                return steps or None
            publication = Step(
                PUBLISHED,
                name,
                "publish",
                blob=blob,
                files=media,
                trailers=trailers,
                revision_of=revision_of,
            )
            return [*steps, publication]

        return both

    def last_change(self, slug: str, blob: str, tips: Tips) -> str:
        """The draft revision that last changed `slug` (whose file is `blob` at `tips`), for the
        `Revision:` trailer of a commit on `published`: the draft it publishes or withdraws,
        which is also where that commit belongs among the drafts (see `DraftQueries.revisions`)."""
        row = self.index.drafts.article(slug, 0)
        return row["revision"] if row and row["blob"] == blob else tips[MAIN] or ""

    def edit(
        self,
        slug: str,
        editor: Person,
        expected: Collection[str] | None,
        make: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        verb: str | None = None,
        detail: str | None = None,
        may_schedule: bool = False,
        trailers: dict[str, str] | None = None,
        merge: bool = False,
        resolution: merging.Resolution | None = None,
        publish: bool = False,
    ) -> Article:
        """Change the draft of `slug` to what `make` makes of it (no commit if nothing
        changes, else one with `trailers` besides the usual ones); return the article.
        Raises ArticleNotFound, RevisionRequired, StaleRevision, Forbidden (a change of
        `publish_at` without `may_schedule`), and what `make` raises.

        With `merge`, a stale `expected` is merged instead (see `cms.store.merging`): `make`
        is applied to the revision `expected` names, and the result joined to the draft as
        a merge commit; the article's `meta.merged` says which paths came from whom.
        Raises MergeConflict when both sides changed one field or block differently, but
        at the paths `resolution` chose a side for. With `publish`, the same write publishes
        the draft it leaves (see `published_too`)."""
        note: dict[str, Any] = {}

        def plan(tips: Tips) -> builtins.list[Step] | None:
            note.clear()
            if merge and expected is not None and "*" not in expected:
                blob = self.repo.lookup(tips[MAIN], layout.article_path(slug))
                if blob is not None and blob not in expected:
                    return merging.plan(
                        self, tips, slug, expected, make, note, may_schedule, resolution
                    )
            current_blob = self.current(tips[MAIN], slug, expected)
            found = self.reading.file_at(tips[MAIN], slug)
            current = found[1] if found else {}
            doc = make(current)
            check_schedule(current, doc, may_schedule)
            if blob_id(canonical.dumps(doc)) == current_blob:
                return None
            changed = [k for k in {**current, **doc} if current.get(k) != doc.get(k)]
            return [
                Step(
                    MAIN,
                    slug,
                    "update",
                    doc=doc,
                    verb=verb,
                    detail=", ".join(changed) if detail is None else detail,
                    trailers=trailers or {},
                )
            ]

        article = self.saved(self.published_too(plan, slug) if publish else plan, editor, slug)
        if note:
            article.meta["merged"] = note
        return article

    def current(self, tip: str | None, slug: str, expected: Collection[str] | None) -> str:
        """Return the blob of `slug` at `tip` after checking the revision the caller expects
        to change (`expected`: the etags, i.e. blob ids, it may have, or {"*"} for any).

        Raises ArticleNotFound, RevisionRequired (`expected` is None), StaleRevision."""
        blob = self.repo.lookup(tip, layout.article_path(slug))
        if blob is None:
            raise ArticleNotFound(f"There is no article '{slug}'.")
        if expected is None:
            raise RevisionRequired(
                f"Say which revision of '{slug}' you are changing: the etag it had when you "
                "read it.",
                {"expected": ["Missing."]},
            )
        if "*" not in expected and blob not in expected:
            raise StaleRevision(
                f"The article '{slug}' was changed since you read it; reload it and retry.",
                {"expected": ["Not the current revision."]},
            )
        return blob

    def saved(self, plan: Plan, editor: Person, slug: str | None = None) -> Article:
        """Run a plan that writes the draft; return the article as that write left it (as it
        is, when there was nothing to change), even if others have changed it since."""
        made = [m for m in self.write(editor, plan) if m.step.line == MAIN]
        if not made:
            # nothing written, or only a publication of the draft as it was
            assert slug is not None
            return self.reading.get(slug)
        step, record, blob = made[0].step, made[0].record, made[0].blob
        assert step.doc is not None and blob is not None
        try:
            row = self.index.drafts.article(step.slug, int(time.time()))
        except sqlite3.Error:
            row = None  # the write stands; describe it from the commit alone
        by = {"name": record.author.name, "email": record.author.email}
        if row is None or row["revision"] != record.sha:
            # others wrote after us: describe our commit, keeping what still holds
            created = (
                (row["created_at"], row["created_by"])
                if row and (row["created_at"] <= record.date)
                else (record.date, by)
            )
            row = {
                **(row or {"live_blob": None, "published_revision": None, "published_at": None}),
                "slug": step.slug,
                "blob": blob,
                "content": content_id(blob, step.doc),
                "revision": record.sha,
                "publish_at": seconds(step.doc.get("publish_at")),
                "created_at": created[0],
                "created_by": created[1],
                "updated_at": record.date,
                "updated_by": by,
            }
        return from_row(row, step.doc)
