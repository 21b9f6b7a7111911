"""Events read from git: one per article per commit on `main` or `published`.

The commits are the events, so nothing has to be recorded when a write happens: whatever moved
a line (the API, the scheduler, the CLI, a plain `git push`, a ref moved by hand) is read back
from git here. Each line is walked along its first parents, oldest first, from the last commit
already turned into events (the cursor) to the tip, as the revisions API walks it: a merge
pushed to `main` is one commit whose events are what it changed against its first parent, and
the commits it brought in from the side are not replayed one by one (they would repeat the
same changes).

    line        file at the commit, against its first parent      event
    main        added                                             article.created
    main        changed                                           article.updated
    main        removed                                           article.deleted
    published   added or changed                                  article.published
    published   removed (an unpublish, or the live half of a       article.unpublished
                delete, whose `action` then says `delete`)
    published   added or changed, and a translation on `main`      article.translation_stale
                names it, made from a revision whose content
                differs from what went live (one per translation)

`action` is the commit's `Action:` trailer when the CMS made the commit, `external` otherwise.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from git import GitCommandError

from cms.content import layout, messages
from cms.content.layout import LINES, MAIN, PUBLISHED
from cms.git.repository import Repository
from cms.store.groups import Groups
from cms.times import iso

log = logging.getLogger(__name__)
TYPES = (
    "article.created",
    "article.updated",
    "article.deleted",
    "article.published",
    "article.unpublished",
    "article.translation_stale",
)
_MAIN_TYPES = {"A": "article.created", "D": "article.deleted"}


@dataclass(frozen=True)
class Event:
    """One article changed by one commit on one line."""

    id: str
    type: str
    line: str
    commit: str
    body: str  # the JSON sent to receivers, fixed once so every retry sends the same bytes


@dataclass(frozen=True)
class _Commit:
    line: str
    sha: str
    date: int  # committer date: when the commit was made (an import keeps old author dates)
    author: str
    committer_email: str
    message: str
    changes: list[tuple[str, str]]  # (status letter A/M/D/T, path)


def pending(
    repo: Repository,
    cursors: dict[str, str | None],
    tips: dict[str, str | None],
    committer_email: str,
    first: str = MAIN,
    limit: int = 500,
    groups: Groups | None = None,
) -> tuple[list[Event], dict[str, str | None]]:
    """The events of the commits after `cursors` up to `tips` (at most `limit` commits per
    line), in commit order, and the cursors to keep once they are queued.

    The two lines are merged by commit time (see `_before` for a tie; `first` names the line
    whose ref moved first). When a line has more than `limit` new commits, the
    merge stops where that line's batch ends, so the next call goes on in order. `groups`:
    the translation links kept from the last call (see `Groups`), so a publication reads
    only what changed since.
    """
    batches: dict[str, list[_Commit]] = {}
    complete: dict[str, bool] = {}
    for line in LINES:
        batches[line], complete[line] = [], True
        tip, since = tips.get(line), cursors.get(line)
        if tip is None or tip == since:
            continue
        shas: list[str] = []
        try:
            shas = _first_parents(repo, since, tip)
            if shas:
                batches[line] = _read(repo, line, since, shas[min(limit, len(shas)) - 1])
        except GitCommandError:
            # the cursor's commit is gone (a force push, then gc): nothing to walk from
            log.warning("webhooks: cannot walk %s from %s; going on from %s", line, since, tip)
        complete[line] = len(batches[line]) == 0 or len(shas) <= limit
    main, live = batches[MAIN], batches[PUBLISHED]
    merged: list[_Commit] = []
    i = j = 0
    while i < len(main) or j < len(live):
        if i == len(main) and not complete[MAIN] or j == len(live) and not complete[PUBLISHED]:
            break  # the rest of the other line may come after that line's next batch
        # the ref files' times tell the order of the two lines' newest commits only
        newest = (
            i < len(main)
            and j < len(live)
            and main[i].sha == tips.get(MAIN)
            and live[j].sha == tips.get(PUBLISHED)
        )
        if (
            j == len(live)
            or i < len(main)
            and _before(main[i], live[j], main[i:], first if newest else MAIN)
        ):
            merged.append(main[i])
            i += 1
        else:
            merged.append(live[j])
            j += 1
    moved = dict(cursors)
    for line, batch, done in ((MAIN, main, i), (PUBLISHED, live, j)):
        if done:
            moved[line] = batch[done - 1].sha
        elif not batch:
            moved[line] = tips.get(line)  # nothing new, or the line moved back
    groups = groups or Groups(repo)
    events = [
        e
        for commit in merged
        for e in (*_events(commit, committer_email), *_stale(repo, groups, tips.get(MAIN), commit))
    ]
    return events, moved


def _stale(repo: Repository, groups: Groups, main: str | None, commit: _Commit) -> list[Event]:
    """The `article.translation_stale` events of a publication: each translation on `main`
    (as it is now) of an article `commit` put live, whose `translated_from` content is not
    what went live. Only publications of an article that some translation names read the
    tree's translations (see `Groups`)."""
    if commit.line != PUBLISHED or main is None:
        return []
    events = []
    for status, path in commit.changes:
        slug = layout.slug_from_path(path)
        if slug is None or status == "D":
            continue
        members = groups.members(main, slug)
        if not members:
            continue
        live = _fields(repo, commit.sha, path)
        for member in members:
            made_from = member.get("translated_from")
            then = _fields(repo, made_from, path) if isinstance(made_from, str) else None
            if then is not None and then == live:
                continue
            body = json.dumps(
                {
                    "type": "article.translation_stale",
                    "timestamp": iso(commit.date),
                    "data": {
                        "slug": member["slug"],
                        "language": member.get("language"),
                        "source": {"slug": slug, "revision": commit.sha},
                        "translated_from": made_from,
                    },
                },
                ensure_ascii=False,
                separators=(",", ":"),
            )
            key = hashlib.sha1(
                f"{commit.line}\0{commit.sha}\0{slug}\0stale\0{member['slug']}".encode()
            ).hexdigest()[:24]
            events.append(
                Event(f"evt_{key}", "article.translation_stale", commit.line, commit.sha, body)
            )
    return events


def _fields(repo: Repository, commit: str, path: str) -> dict[str, object] | None:
    """The JSON at `path` in `commit` (a commit id or prefix), None when there is none."""
    try:
        full = repo.git.git.rev_parse("--verify", "--quiet", f"{commit}^{{commit}}")
        blob = repo.lookup(full, path)
        found = json.loads(repo.read(blob)) if blob else None
    except (GitCommandError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _before(draft: _Commit, live: _Commit, drafts: list[_Commit], first: str) -> bool:
    """Whether the draft-line commit `draft` came before the live-line commit `live`. Commit
    times have whole seconds; within one second, a publication comes after the draft revision
    its `Revision:` trailer names; a draft commit that changes an article the publication
    took, when that revision is behind it, was made after the publication (the trailer names
    the article's last change when the CMS wrote it, and the CMS's writes take turns);
    otherwise `first` goes first: the line whose ref moved first when both are each line's
    newest commit, else the draft line (a publication as late as nothing contradicts)."""
    if draft.date != live.date:
        return draft.date < live.date
    revision = messages.trailers(live.message).get("Revision")
    if revision and any(c.sha == revision for c in drafts):
        return True
    if revision and _slugs(draft) & _slugs(live):
        return False
    return first == MAIN


def _slugs(commit: _Commit) -> set[str]:
    return {slug for _, path in commit.changes if (slug := layout.slug_from_path(path)) is not None}


def _first_parents(repo: Repository, since: str | None, tip: str) -> list[str]:
    span = [f"^{since}", tip] if since else [tip]
    out = repo.git.git.rev_list("--first-parent", "--reverse", *span, "--")
    return out.split()


def _read(repo: Repository, line: str, since: str | None, until: str) -> list[_Commit]:
    # `Repository.log` reads each commit's own bytes: any byte in a message or a name
    return [
        _Commit(
            line,
            r.sha,
            r.committed if r.committed is not None else r.date,
            r.author.name,
            r.committer_email,
            r.message,
            [(r.statuses.get(path, "M"), path) for path in r.changes],
        )
        for r in repo.log(since, until)
    ]


def _events(commit: _Commit, committer_email: str) -> list[Event]:
    action = messages.action(commit.message, commit.committer_email, committer_email)
    when = iso(commit.date)
    events = []
    for status, path in commit.changes:
        slug = layout.slug_from_path(path)
        if slug is None:
            continue
        if commit.line == MAIN:
            kind = _MAIN_TYPES.get(status, "article.updated")
        else:
            kind = "article.unpublished" if status == "D" else "article.published"
        body = json.dumps(
            {
                "type": kind,
                "timestamp": when,
                "data": {
                    "slug": slug,
                    "revision": commit.sha,
                    "action": action,
                    "author": {"name": commit.author},
                },
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        key = hashlib.sha1(f"{commit.line}\0{commit.sha}\0{slug}".encode()).hexdigest()[:24]
        events.append(Event(f"evt_{key}", kind, commit.line, commit.sha, body))
    return events
