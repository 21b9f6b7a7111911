"""A merged save: an edit made on an older revision, merged three ways into the draft.

The editor read revision `base` (the If-Match they send), someone else has saved since
(`theirs`, the current draft), and the editor's change (`yours`) is `make(base)`. The fields
merge with `cms.content.merge`; without a conflict the save is two commits: the editor's
version on `base`, and a merge commit on `main` joining it, both authored by the editor, so
`git log --graph` shows the concurrent edit and `git blame` credits each side's lines to its
own editor. The index reads `main` by first parents, so the merge commit is one revision.

A `Resolution` answers the conflicts a MergeConflict showed: each conflicting path takes the
side chosen for it, provided the draft is still the one the conflict was shown against (its
ETag); otherwise the save merges afresh, and conflicts again if they still overlap.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cms.content.articles import validate
from cms.content.layout import MAIN, article_path
from cms.content.merge import merge
from cms.errors import MergeConflict, StaleRevision, ValidationFailed
from cms.git.repository import Tips
from cms.store import blaming
from cms.store.commits import Step

if TYPE_CHECKING:
    from cms.store.base import Writes


@dataclass(frozen=True)
class Resolution:
    """The side chosen for each conflicting path (`{"/title": "yours", "/body/2": "theirs"}`)
    of the conflicts shown against the draft whose ETag is `etag`."""

    etag: str
    choices: Mapping[str, str] = field(default_factory=dict)


class Checked:
    """What is wrong with a merged article, by dotted field (nothing: valid), as
    `cms.content.merge.merge` asks; the canonical form of the last valid one is kept, so the
    merged article is validated and put in canonical order once."""

    def __init__(self) -> None:
        self.canonical: dict[str, Any] | None = None

    def __call__(self, fields: dict[str, Any]) -> dict[str, builtins.list[str]]:
        try:
            self.canonical = validate(fields)
        except ValidationFailed as e:
            self.canonical = None
            return e.errors or {"_schema": ["Not a valid article."]}
        return {}


def plan(
    writes: Writes,
    tips: Tips,
    slug: str,
    expected: Collection[str],
    make: Callable[[dict[str, Any]], dict[str, Any]],
    note: dict[str, Any],
    may_schedule: bool,
    resolution: Resolution | None = None,
) -> builtins.list[Step] | None:
    """The steps of a merged save of `slug` (None: the draft already holds the change);
    `resolution` answers conflicts shown before (see the module).

    Raises StaleRevision when `expected` names no revision of the article's current life,
    MergeConflict, and what `make` raises."""
    from cms.store.base import check_schedule

    reading = writes.reading
    base_sha = writes.index.drafts.revision_with(slug, sorted(expected))
    if base_sha is None:
        raise StaleRevision(
            f"The article '{slug}' was changed since you read it, and the revision you read "
            "is not one of its revisions to merge with; reload it and retry.",
            {"expected": ["Not a revision of this article."]},
        )
    found_base = reading.file_at(base_sha, slug)
    found_theirs = reading.file_at(tips[MAIN], slug)
    base = found_base[1] if found_base else {}
    theirs = found_theirs[1] if found_theirs else {}
    yours = make(base)
    check_schedule(base, yours, may_schedule)
    current = writes.repo.lookup(tips[MAIN], article_path(slug)) or ""
    choices = resolution.choices if resolution and resolution.etag == current else None
    checked = Checked()
    result = merge(base, theirs, yours, checked, choices)
    if result.conflicts:
        # who made theirs: the revision that last changed the field in the draft
        origins = blaming.blame(reading, slug)["fields"]

        def origin(path: str) -> dict[str, Any]:
            return origins.get(path.split("/")[1]) or {
                "revision": tips[MAIN],
                "author": {"name": None},
            }

        raise MergeConflict(
            f"'{slug}' was changed since you read it, and both sides changed "
            f"{', '.join(c.path for c in result.conflicts)}: nothing was saved. Resolve each "
            "conflict and save again with the current ETag.",
            [
                {
                    "path": c.path,
                    "base": c.base,
                    "theirs": c.theirs,
                    "yours": c.yours,
                    "theirs_by": {"name": origin(c.path)["author"]["name"]},
                    "theirs_revision": origin(c.path)["revision"],
                }
                for c in result.conflicts
            ],
            current,
        )
    # both in canonical order (theirs as read, the merge as validated): equal fields are
    # equal bytes, so nothing is serialised to find out that nothing changed
    merged = checked.canonical if checked.canonical is not None else result.fields
    if merged == theirs:
        return None
    note.update({"theirs": result.theirs, "yours": result.yours})
    changed = [k for k in {**theirs, **merged} if theirs.get(k) != merged.get(k)]
    mine = [k for k in {**base, **yours} if base.get(k) != yours.get(k)]
    return [
        Step(
            MAIN,
            slug,
            "update",
            doc=merged,
            verb="Merge",
            detail=", ".join(changed),
            base=base_sha,
            yours=yours,
            yours_detail=", ".join(mine),
        )
    ]
