"""Publishing: the `published` line of history holds exactly what frontends see.

Publishing brings an article's file onto `published` from the draft line (or from a named
draft revision); unpublishing removes it there. A `publish_at` in the future is saved on the
draft (a commit "Schedule <slug> for <time>"); when it comes, whichever process notices first
publishes the draft, and the compare-and-swap of `published` lets exactly one of them commit.
That publication is authored by the editor who set `publish_at` (only an editor may), so
`git log --author` shows who made it go live; its `Scheduled-For:` trailer says when.
"""

from __future__ import annotations

import builtins
import json
import time
from datetime import datetime
from typing import Any

from cms.content import canonical, identity, layout
from cms.content.articles import Article, validate, with_slug
from cms.content.identity import Person
from cms.content.layout import MAIN, PUBLISHED
from cms.errors import ArticleNotFound, Conflict, ValidationFailed
from cms.git.repository import Repository, Tips, blob_id
from cms.index import Index
from cms.media.usage import to_publish
from cms.store.base import Writes
from cms.store.commits import Step
from cms.store.reading import Reading
from cms.times import iso, seconds

# how many revisions of an article the scheduler looks back to find who scheduled it
SCHEDULER_SEARCH = 200


class Publishing:
    """Writes to the published line."""

    def __init__(
        self, repo: Repository, index: Index, committer: Person, reading: Reading, writes: Writes
    ) -> None:
        """`committer` is also who a scheduled publication is by when who scheduled it
        cannot be told."""
        self.repo = repo
        self.index = index
        self.committer = committer
        self.reading = reading
        self.writes = writes

    def publish(
        self,
        slug: str,
        editor: Person,
        *,
        revision: str | None = None,
        publish_at: datetime | None = None,
    ) -> Article:
        """Publish the draft of `slug` (or its content at draft `revision`) now, or schedule it
        when `publish_at` is in the future. Returns the article with its new state.

        Raises ArticleNotFound, RevisionNotFound, Conflict when the same content is already live,
        ValidationFailed when a revision is given with a future time.
        """
        now = int(time.time())
        if publish_at is not None and publish_at.timestamp() > now:
            if revision is not None:
                raise ValidationFailed(
                    "A schedule publishes the draft as it is then; restore the revision first.",
                    {"revision": ["Cannot be combined with a future publish_at."]},
                )
            return self._schedule(slug, editor, iso(int(publish_at.timestamp())))
        source: tuple[str, str] | None = None
        if revision is not None:
            doc, at = self.reading.valid_at(slug, revision, line=MAIN)
            source = (blob_id(canonical.dumps(doc)), at["revision"])
        else:
            self._unschedule(slug, editor, now)
        self._publish(slug, editor, source)
        return self.reading.get(slug)

    def _unschedule(self, slug: str, editor: Person, now: int) -> None:
        """Take a schedule still ahead off the draft before it is published now, so no stale
        `publish_at` stays behind (a commit "Unschedule <slug>"; none without a schedule)."""
        when = seconds(self.reading.get(slug).fields.get("publish_at"))
        if when is None or when <= now:
            return

        def drop(current: dict[str, Any]) -> dict[str, Any]:
            return with_slug(
                validate({k: v for k, v in current.items() if k != "publish_at"}), slug
            )

        self.writes.edit(slug, editor, {"*"}, drop, verb="Unschedule", detail="", may_schedule=True)

    def _publish(
        self,
        slug: str,
        editor: Person,
        source: tuple[str, str] | None,
        trailers: dict[str, str] | None = None,
        due: int | None = None,
    ) -> None:
        """Commit the article's content onto `published`; with `due`, only if the draft's
        `publish_at` is still at or before that time."""
        path = layout.article_path(slug)

        def plan(tips: Tips) -> builtins.list[Step]:
            found = self.reading.file_at(tips[MAIN], slug)
            if found is None:
                raise ArticleNotFound(f"There is no article '{slug}'.")
            draft, doc, problems = found
            if problems and source is None:
                raise ValidationFailed(
                    f"The draft of '{slug}' is not valid ({', '.join(problems)}); repair it "
                    "before publishing.",
                    problems,
                )
            if due is not None:
                when = seconds(doc.get("publish_at"))
                if when is None or when > due:
                    raise Conflict(f"'{slug}' is no longer due.")
            blob, revision = source or (draft, self.writes.last_change(slug, draft, tips))
            # the media it uses go live in the same commit (also for an article live as it
            # is whose files were missing then: an import's, before its media were uploaded)
            media = to_publish(
                self.repo, json.loads(self.repo.read(blob)), tips[MAIN], tips[PUBLISHED]
            )
            if self.repo.lookup(tips[PUBLISHED], path) == blob and not media:
                raise Conflict(f"Nothing to publish: '{slug}' is live as it is.")
            return [
                Step(
                    PUBLISHED,
                    slug,
                    "publish",
                    blob=blob,
                    files=media,
                    trailers={"Revision": revision, **(trailers or {})},
                )
            ]

        self.writes.write(editor, plan)

    def _schedule(self, slug: str, editor: Person, when: str) -> Article:
        return self.writes.edit(
            slug,
            editor,
            {"*"},
            lambda current: with_slug(validate({**current, "publish_at": when}), slug),
            verb="Schedule",
            detail=f"for {when}",
            may_schedule=True,
        )

    def cancel_schedules(
        self,
        of: Person,
        editor: Person,
        *,
        detail: str = "",
        trailers: dict[str, str] | None = None,
    ) -> builtins.list[tuple[str, str]]:
        """Take off the draft every schedule still to run (ahead, or due and not yet
        published) that `of` set, so it never goes live: the same commit "Unschedule <slug>"
        as publishing now makes, authored by `editor`, with `detail` and `trailers`.
        Returns (slug, the time it was scheduled for) of each one cancelled.

        Who set a schedule is who its publication would be authored by (`_scheduled_by`);
        a schedule changed or removed meanwhile is left alone."""
        self.index.catch_up()
        now = int(time.time())
        cancelled = []
        for slug in self.index.drafts.pending(now):
            row = self.index.drafts.article(slug, now)
            if row is None:
                continue
            when = self._field(row["blob"], "publish_at")
            if self._scheduled_by(slug, seconds(when)) != of:
                continue

            def drop(current: dict[str, Any], slug: str = slug, when: Any = when) -> dict[str, Any]:
                if seconds(current.get("publish_at")) != seconds(when):
                    raise Conflict(f"The schedule of '{slug}' changed meanwhile.")
                return with_slug(
                    validate({k: v for k, v in current.items() if k != "publish_at"}), slug
                )

            try:
                self.writes.edit(
                    slug,
                    editor,
                    {"*"},
                    drop,
                    verb="Unschedule",
                    detail=detail,
                    may_schedule=True,
                    trailers=trailers,
                )
            except (Conflict, ArticleNotFound, ValidationFailed):
                continue  # rescheduled, deleted or broken meanwhile: not this schedule now
            cancelled.append((slug, str(when)))
        return cancelled

    def _scheduled_by(self, slug: str, when: int | None) -> Person:
        """Who set the draft's current `publish_at`: the author of the oldest of the latest
        draft revisions that all carry it (later edits that kept it do not count), so that
        the publication it causes is authored by them. The committer when it cannot be told
        (history too long to walk, or an identity that cannot go into a commit)."""
        who: dict[str, str] | None = None
        for offset in range(0, SCHEDULER_SEARCH, 20):
            rows, total = self.index.drafts.revisions(slug, limit=20, offset=offset)
            for row in rows:
                if row["line"] != MAIN:
                    continue
                if row["blob"] is None or seconds(self._field(row["blob"], "publish_at")) != when:
                    return self._person(who)
                who = row["author"]
            if offset + 20 >= total:
                return self._person(who)
        return self.committer

    def _field(self, blob: str, name: str) -> Any:
        try:
            doc = json.loads(self.repo.read(blob))
        except ValueError:
            return None
        return doc.get(name) if isinstance(doc, dict) else None

    def _person(self, who: dict[str, str] | None) -> Person:
        if who is None or identity.problems(who["name"], who["email"]):
            return self.committer
        return Person(who["name"], who["email"])

    def unpublish(self, slug: str, editor: Person) -> Article:
        """Withdraw `slug` from delivery; its draft stays. Raises ArticleNotFound, or Conflict
        when it is not live."""
        path = layout.article_path(slug)

        def plan(tips: Tips) -> builtins.list[Step]:
            draft = self.repo.lookup(tips[MAIN], path)
            if draft is None:
                raise ArticleNotFound(f"There is no article '{slug}'.")
            if self.repo.lookup(tips[PUBLISHED], path) is None:
                raise Conflict(f"'{slug}' is not published.")
            return [
                Step(
                    PUBLISHED,
                    slug,
                    "unpublish",
                    remove=True,
                    trailers={"Revision": self.writes.last_change(slug, draft, tips)},
                )
            ]

        self.writes.write(editor, plan)
        return self.reading.get(slug)

    def publish_due(self) -> builtins.list[str]:
        """Publish every scheduled draft whose time has come; return the slugs this call published.

        Safe to run from any number of processes at once: each article gets one publish commit.
        """
        self.reading.catch_up()
        now = int(time.time())
        done = []
        for slug in self.index.drafts.due(now):
            row = self.index.drafts.article(slug, now)
            if row is None:
                continue
            draft: dict[str, Any] = json.loads(self.repo.read(row["blob"]))
            when = draft.get("publish_at")
            try:
                self._publish(
                    slug,
                    self._scheduled_by(slug, seconds(when)),
                    None,
                    {"Scheduled-For": str(when)},
                    due=now,
                )
            except (Conflict, ArticleNotFound):
                continue  # published by another process, rescheduled, or deleted meanwhile
            except ValidationFailed:
                continue  # a media file it uses was deleted: it stays due, `cms check` says so
            done.append(slug)
        return done
