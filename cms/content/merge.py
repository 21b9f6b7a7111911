"""Three-way merge of two editors' versions of one article, field by field.

`merge(base, theirs, yours)` takes the revision an editor started from (`base`), the current
draft (`theirs`) and the editor's version (`yours`), all article field mappings without
`meta`, and returns the merged fields with what came from whom, or the conflicts:

- a field changed on one side only takes that side; the same change on both sides is no
  conflict; different changes of one field on both sides are a conflict at `/<field>`;
- `tags` merge as an ordered set: a tag either side added is in, a tag either side removed is
  out, in the order of `theirs` with `yours`' additions after them; never a conflict;
- `body` merges block by block: each side's changes are read as edits of runs of the base's
  blocks (an edit in place, an insertion between two blocks, a removal, or a run replaced),
  edits of different blocks all apply, and two edits of overlapping runs are a conflict at
  `/body/<i>` (`i` the index of the first such block in `base`) unless they are the same;
- every other field (`authors`, `image`, `source`...) is a whole value.

With `choices` (`{path: "theirs" | "yours"}`, the answers to conflicts shown before), a
conflict at a chosen path takes that side instead (a run of blocks: that side's edits of it).

The merge is symmetric: swapping `theirs` and `yours` gives the same fields and the same
conflicting paths (with the two sides swapped in each). It knows nothing of git or of who
wrote what: the store adds that (`theirs_by`, `theirs_revision`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

MISSING: Any = object()  # a field absent from a version
SET_FIELDS = ("tags",)
BLOCK_FIELDS = ("body",)


@dataclass(frozen=True)
class Conflict:
    """Both sides changed the thing at `path` differently. `base`, `theirs` and `yours` are its
    values (None where absent); for a run of blocks, lists of blocks."""

    path: str
    base: Any
    theirs: Any
    yours: Any


@dataclass
class Merged:
    """The merged fields (`fields`, valid when `conflicts` is empty), and the paths that took
    each side's change."""

    fields: dict[str, Any]
    conflicts: list[Conflict] = field(default_factory=list)
    theirs: list[str] = field(default_factory=list)
    yours: list[str] = field(default_factory=list)
    choices: dict[str, str] = field(default_factory=dict)  # conflicts answered (see `merge`)


Problems = Callable[[dict[str, Any]], dict[str, list[str]]]
SIDES = ("theirs", "yours")


def merge(
    base: Mapping[str, Any],
    theirs: Mapping[str, Any],
    yours: Mapping[str, Any],
    problems: Problems | None = None,
    choices: Mapping[str, str] | None = None,
) -> Merged:
    """Merge `theirs` and `yours`, both made from `base`. See the module's docstring.

    With `problems` (what is wrong with an article, as `{dotted.field: [messages]}`), a merge
    whose result would be invalid though neither side is (two sides' tags adding up past the
    limit, say) names each invalid field as a conflict instead.
    """
    out = Merged(fields={}, choices=dict(choices or {}))
    names = list(dict.fromkeys([*theirs, *yours, *base]))
    for name in names:
        b, t, y = base.get(name, MISSING), theirs.get(name, MISSING), yours.get(name, MISSING)
        if name in SET_FIELDS and all(_is_list(v) for v in (b, t, y)):
            value = _merge_set(b, t, y, out, f"/{name}")
        elif name in BLOCK_FIELDS and all(isinstance(v, list) for v in (b, t, y)):
            value = _merge_blocks(b, t, y, out, f"/{name}")
        else:
            value = _merge_value(b, t, y, out, f"/{name}")
        if value is not MISSING:
            out.fields[name] = value
    if problems is not None and not out.conflicts:
        for name in dict.fromkeys(key.split(".", 1)[0] for key in problems(out.fields)):
            out.conflicts.append(
                Conflict(
                    f"/{name}",
                    _shown(base.get(name, MISSING)),
                    _shown(theirs.get(name, MISSING)),
                    _shown(yours.get(name, MISSING)),
                )
            )
    return out


def _is_list(value: Any) -> bool:
    return value is MISSING or isinstance(value, list)


def _merge_value(b: Any, t: Any, y: Any, out: Merged, path: str) -> Any:
    if t == y:
        if t != b:
            out.theirs.append(path)
            out.yours.append(path)
        return t
    if t == b:
        out.yours.append(path)
        return y
    if y == b:
        out.theirs.append(path)
        return t
    chosen = out.choices.get(path)
    if chosen in SIDES:
        getattr(out, chosen).append(path)
        return y if chosen == "yours" else t
    out.conflicts.append(Conflict(path, _shown(b), _shown(t), _shown(y)))
    return t


def _shown(value: Any) -> Any:
    return None if value is MISSING else value


def _merge_set(b: Any, t: Any, y: Any, out: Merged, path: str) -> Any:
    base, theirs, yours = ([] if v is MISSING else v for v in (b, t, y))
    if theirs == yours or yours == base:
        return _merge_value(b, t, y, out, path)
    if theirs == base:
        return _merge_value(b, t, y, out, path)
    keys = {_key(v): v for v in [*base, *theirs, *yours]}
    in_base, in_theirs, in_yours = ({_key(v) for v in side} for side in (base, theirs, yours))
    removed = (in_base - in_theirs) | (in_base - in_yours)
    order = list(dict.fromkeys([*map(_key, theirs), *map(_key, yours)]))
    merged = [keys[k] for k in order if k not in removed]
    out.theirs.append(path)
    out.yours.append(path)
    return merged


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class _Edit:
    """One side's change to the base's blocks: `base[start:stop]` becomes `blocks`."""

    start: int
    stop: int
    blocks: tuple[str, ...]

    def overlaps(self, other: _Edit) -> bool:
        if self.start == self.stop and other.start == other.stop:
            return self.start == other.start  # two insertions at one place
        if self.start == self.stop:
            return other.start < self.start < other.stop
        if other.start == other.stop:
            return self.start < other.start < self.stop
        return self.start < other.stop and other.start < self.stop


def _edits(base: Sequence[str], side: Sequence[str]) -> list[_Edit]:
    """`side`'s changes to `base`, with each equal-length run replaced in place read as edits
    of single blocks (so two editors' edits of neighbouring blocks do not overlap)."""
    found: list[_Edit] = []
    matcher = SequenceMatcher(None, base, side, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        if op == "replace" and i2 - i1 == j2 - j1:
            found += [_Edit(i1 + k, i1 + k + 1, (side[j1 + k],)) for k in range(i2 - i1)]
        else:
            found.append(_Edit(i1, i2, tuple(side[j1:j2])))
    return found


def _merge_blocks(b: list[Any], t: list[Any], y: list[Any], out: Merged, path: str) -> Any:
    if t == y or t == b or y == b:
        return _merge_value(b, t, y, out, path)
    keys = {_key(v): v for v in [*b, *t, *y]}
    base, theirs, yours = ([_key(v) for v in side] for side in (b, t, y))
    edits = [(e, "theirs") for e in _edits(base, theirs)]
    edits += [(e, "yours") for e in _edits(base, yours)]
    # edits that overlap, directly or through others, form one group; a group with edits of
    # both sides is a conflict unless it is one edit made identically on both
    group = list(range(len(edits)))

    def find(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for i, (a, side_a) in enumerate(edits):
        for j in range(i + 1, len(edits)):
            c, side_c = edits[j]
            if side_a != side_c and a.overlaps(c):
                group[find(i)] = find(j)
    groups: dict[int, list[tuple[_Edit, str]]] = {}
    for i, item in enumerate(edits):
        groups.setdefault(find(i), []).append(item)
    taken: list[tuple[_Edit, str]] = []
    conflicted = False
    for members in groups.values():
        sides = {side for _, side in members}
        if len(sides) == 1:
            taken += members
        elif len(members) == 2 and members[0][0] == members[1][0]:
            taken.append((members[0][0], "both"))
        else:
            start = min(e.start for e, _ in members)
            stop = max(e.stop for e, _ in members)
            chosen = out.choices.get(f"{path}/{start}")
            if chosen in SIDES:
                taken += [m for m in members if m[1] == chosen]
                continue
            conflicted = True
            out.conflicts.append(
                Conflict(
                    f"{path}/{start}",
                    [keys[k] for k in base[start:stop]],
                    [keys[k] for k in _apply(base, start, stop, members, "theirs")],
                    [keys[k] for k in _apply(base, start, stop, members, "yours")],
                )
            )
    if conflicted:
        return t
    merged = _apply(base, 0, len(base), taken, None, out=out, path=path)
    if not merged:  # each side removed what the other kept: no body is left
        chosen = out.choices.get(path)
        if chosen in SIDES:
            return y if chosen == "yours" else t
        out.conflicts.append(Conflict(path, b, t, y))
        return t
    return [keys[k] for k in merged]


def _apply(
    base: Sequence[str],
    start: int,
    stop: int,
    edits: list[tuple[_Edit, str]],
    side: str | None,
    out: Merged | None = None,
    path: str = "",
) -> list[str]:
    """`base[start:stop]` with the edits of `side` (all of them when None) applied; with
    `out`, each applied edit's path in the result is added to the side it came from."""
    result: list[str] = []
    position = start
    chosen = [(e, who) for e, who in edits if side is None or who == side]
    # at one place, an insertion goes before the edit of the block that follows it
    chosen.sort(key=lambda item: (item[0].start, item[0].stop != item[0].start))
    for edit, who in chosen:
        result += base[position : edit.start]
        if out is not None:  # a removal is named by the place it left
            places = range(len(result), len(result) + max(len(edit.blocks), 1))
            for where in (f"{path}/{k}" for k in places):
                if who in ("theirs", "both"):
                    out.theirs.append(where)
                if who in ("yours", "both"):
                    out.yours.append(where)
        result += edit.blocks
        position = max(position, edit.stop)
    result += base[position:stop]
    return result
