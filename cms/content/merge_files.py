"""Three-way merge of article files, for git's merge driver (`cms merge-driver %O %A %B`).

People who edit articles with plain git meet the same rule as the API: two people's edits of
different fields (or body blocks) of one article merge cleanly; a real conflict leaves a file
that says, in a top-level `"conflicts"` member, which fields conflict and what each side had.
That member is not an article field, so the file cannot be committed as it is by mistake: the
gate refuses it until it is resolved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cms.content import canonical
from cms.content.articles import validate
from cms.content.merge import merge
from cms.errors import ValidationFailed


@dataclass(frozen=True)
class FileMerge:
    """The merged file's bytes and the conflicting paths (none: a clean merge)."""

    data: bytes
    conflicts: list[str]


def _article(data: bytes) -> dict[str, Any] | None:
    try:
        return validate(json.loads(data.decode("utf-8")))
    except (ValueError, ValidationFailed):
        return None


def _problems(fields: dict[str, Any]) -> dict[str, list[str]]:
    try:
        validate(fields)
    except ValidationFailed as e:
        return e.errors or {"_schema": ["Not a valid article."]}
    return {}


def merge_files(base: bytes, ours: bytes, theirs: bytes) -> FileMerge | None:
    """Merge three versions of an article file; None when one of them is not a valid
    article (then a line merge is the best anyone can do)."""
    docs = [_article(d) for d in (base, ours, theirs)]
    if any(d is None for d in docs):
        return None
    b, o, t = (d or {} for d in docs)
    result = merge(b, o, t, _problems)
    if not result.conflicts:
        return FileMerge(canonical.dumps(result.fields), [])
    shown = {
        **result.fields,
        "conflicts": [
            {"path": c.path, "base": c.base, "ours": c.theirs, "theirs": c.yours}
            for c in result.conflicts
        ],
    }
    return FileMerge(canonical.dumps(shown), [c.path for c in result.conflicts])
