"""Who last changed each field and each body block of an article: `git blame`, for fields.

`attribute(versions)` walks an article's versions, parents before children (the commits that
touched its file, with git's parents rewritten to the nearest ones that did), and gives each
field and each block of the last version the version that last changed it:

- a field whose value equals its value in a parent version comes from that parent (the first
  such parent, as git blame prefers a merge's first parent); otherwise from this version;
- the body's blocks are matched with each parent's blocks in order (a longest common
  subsequence, as git blame matches lines); a block matched in a parent comes from it, any
  other block from this version.

So a merged save (a merge commit joining an editor's commit made on the version they started
from) credits each field to the editor whose commit made it. It knows nothing of git: the
store reads the versions (see `cms.store`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any


@dataclass(frozen=True)
class Version:
    """One version of the article: `doc` is None where the file was removed."""

    id: str
    parents: tuple[str, ...]
    doc: Mapping[str, Any] | None


@dataclass(frozen=True)
class Blame:
    """For each field of the last version, the id of the version that last changed it; for
    each of its body blocks, in order, the same."""

    fields: dict[str, str]
    blocks: list[str]


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def attribute(versions: Iterable[Version]) -> Blame | None:
    """The blame of the last of `versions` (parents listed before their children); None when
    there are none or the last one has no file."""
    seen: dict[str, tuple[Mapping[str, Any], Blame]] = {}
    last: Blame | None = None
    for version in versions:
        if version.doc is None:
            last = None
            continue
        parents = [seen[p] for p in version.parents if p in seen]
        last = _one(version, parents)
        seen[version.id] = (version.doc, last)
    return last


def _one(version: Version, parents: Sequence[tuple[Mapping[str, Any], Blame]]) -> Blame:
    doc = version.doc
    assert doc is not None
    fields: dict[str, str] = {}
    for name, value in doc.items():
        origin = next(
            (
                blame.fields[name]
                for old, blame in parents
                if name in old and old[name] == value and name in blame.fields
            ),
            None,
        )
        fields[name] = origin or version.id
    body = doc.get("body") if isinstance(doc.get("body"), list) else []
    assert isinstance(body, list)
    blocks: list[str | None] = [None] * len(body)
    keys = [_key(b) for b in body]
    for old, blame in parents:
        old_body = old.get("body") if isinstance(old.get("body"), list) else []
        assert isinstance(old_body, list)
        matcher = SequenceMatcher(None, [_key(b) for b in old_body], keys, autojunk=False)
        for a, b, size in matcher.get_matching_blocks():
            for k in range(size):
                if blocks[b + k] is None and a + k < len(blame.blocks):
                    blocks[b + k] = blame.blocks[a + k]
    return Blame(fields, [origin or version.id for origin in blocks])
