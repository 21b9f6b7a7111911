"""The write loop: turn a plan into commits on one or both lines of history, atomically.

A plan looks at where `main` and `published` point and says what to commit (or that nothing
needs to change). Objects are written first; then every branch the plan touches moves in one
compare-and-swap. If a branch moved meanwhile, the plan runs again on the new tips, so it can
go through when its article did not change, or refuse when it did.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cms.content import canonical, layout, messages
from cms.content.identity import Person
from cms.errors import RefMoved, StorageUnavailable
from cms.git.repository import CommitRecord, Repository, Tips
from cms.index import Index

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 200


@dataclass
class Step:
    """One commit on one line: set the article's file to `doc` or `blob`, or remove it.

    `files` are other paths set (blob id) or removed (None) in the same commit, e.g. the media
    a publication brings along or the other articles of a release (their content in `docs`,
    slug: document, for the index). `path` and `message` replace the article's file and the
    article's commit message, for commits about something else (a media upload). `authored`
    dates the commit's author line (an archive's publication); the committer date is now.
    """

    line: str
    slug: str
    action: str
    doc: dict[str, Any] | None = None
    blob: str | None = None
    remove: bool = False
    verb: str | None = None
    detail: str = ""
    trailers: dict[str, str] = field(default_factory=dict)
    files: dict[str, str | None] = field(default_factory=dict)
    path: str | None = None
    message: str | None = None
    authored: int | None = None
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # a merged save: the editor's own version `yours`, committed on the revision `base` they
    # started from, is joined to the line by this step's commit (a merge commit)
    base: str | None = None
    yours: dict[str, Any] | None = None
    yours_detail: str = ""
    # the `Revision:` trailer names this write's own commit on that line (a draft created and
    # published in one call: its publication names the draft commit made just before it)
    revision_of: str | None = None


@dataclass
class Made:
    step: Step
    record: CommitRecord
    blob: str | None


Plan = Callable[[Tips], "list[Step] | None"]


def write(
    repo: Repository, index: Index, committer: Person, author: Person, plan: Plan
) -> list[Made]:
    """Commit what `plan` says; an empty list when it says nothing needs to change.

    A durable write stages its commits and waits for the group commit that puts them on disk
    and moves the branches (`cms.git.groupcommit`); saves made meanwhile share that sync.
    Raises what `plan` raises, or StorageUnavailable.
    """
    group = repo.group
    for _ in range(MAX_ATTEMPTS):
        try:
            # CMS writers take turns (threads and processes alike), so they never redo each
            # other's work; git itself is met by the ref CAS
            with repo.exclusive(), repo.deferred():
                tips = repo.staged_tips()
                steps = plan(tips)
                if not steps:
                    ticket = group.current()
                    made = []
                else:
                    made = _commit(repo, committer, author, tips, steps)
                    ticket = repo.stage(
                        *[(m.step.line, tips[m.step.line], m.record.sha) for m in made]
                    )
            group.wait(ticket)
        except RefMoved:
            continue
        except OSError as e:
            raise StorageUnavailable(
                f"The content repository cannot be written: {os.strerror(e.errno or 0)}."
            ) from e
        for m in made:
            _record(index, m)
        return made
    raise StorageUnavailable("Too many concurrent writes; try again.")


def _record(index: Index, made: Made) -> None:
    docs = {made.step.slug: made.step.doc} if made.step.doc is not None else {}
    docs.update(made.step.docs)
    try:
        index.writer.record(made.step.line, made.record, docs)
    except sqlite3.Error:
        # the commit stands; the index is derived and catches up from git later
        log.warning(
            "index update failed after %s; it will catch up", made.record.sha, exc_info=True
        )


def _commit(
    repo: Repository, committer: Person, author: Person, tips: Tips, steps: list[Step]
) -> list[Made]:
    when = int(time.time())
    made: list[Made] = []
    for step in steps:
        blob = step.blob
        if step.doc is not None:
            blob = repo.write("blob", canonical.dumps(step.doc))
        if step.remove:
            blob = None
        path = step.path or layout.article_path(step.slug)
        parent = tips[step.line]
        changes = {path: blob, **step.files}
        tree = repo.with_files(parent, changes)
        trailers = step.trailers
        if step.revision_of is not None:
            made_on = {m.step.line: m.record.sha for m in made}
            trailers = {**trailers, "Revision": made_on[step.revision_of]}
        message = step.message or messages.compose(
            step.action, step.slug, step.detail, trailers, verb=step.verb
        )
        side = None
        if step.base is not None and step.yours is not None:
            side = _side(repo, committer, author, when, step, path)
        sha = repo.commit(
            tree, parent, author, committer, when, message, step.authored, merged=side
        )
        parents = ([parent] if parent else []) + ([side] if side else [])
        record = CommitRecord(
            sha,
            parents,
            author,
            committer.email,
            when if step.authored is None else step.authored,
            message,
            changes,
        )
        made.append(Made(step, record, blob))
    return made


def _side(
    repo: Repository, committer: Person, author: Person, when: int, step: Step, path: str
) -> str:
    """The editor's own commit of a merged save: their version on the revision they started
    from, so the history shows the concurrent edit as it was made."""
    assert step.base is not None and step.yours is not None
    blob = repo.write("blob", canonical.dumps(step.yours))
    tree = repo.with_files(step.base, {path: blob})
    message = messages.compose("update", step.slug, step.yours_detail, {})
    return repo.commit(tree, step.base, author, committer, when, message)
