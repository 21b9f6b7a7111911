"""`cms check`: every article file on both lines is valid and canonical, nothing is live that
was deleted from the draft line, and git's own check passes."""

from __future__ import annotations

import json

from . import canonical, layout
from .articles import validate
from .errors import ValidationFailed
from .layout import LINES, MAIN, PUBLISHED
from .store import ArticleStore


def problems(store: ArticleStore) -> list[str]:
    """Return one line per problem found; an empty list means all is well."""
    found: list[str] = []
    files: dict[str, set[str]] = {}
    for line in LINES:
        tip = store.repo.ref(line)
        files[line] = set()
        if tip is None:
            continue
        listing = store.repo.git.git.ls_tree("-r", "-z", tip, "--", layout.ROOT)
        for entry in filter(None, listing.split("\0")):
            meta, _, path = entry.partition("\t")
            files[line].add(path)
            found += [f"{line}: {p}" for p in _check_file(store, path, meta.split()[2])]
    for path in sorted(files[PUBLISHED] - files[MAIN]):
        found.append(f"{PUBLISHED}: {path}: live but deleted from {MAIN} (not delivered)")
    ok, output = store.repo.fsck()
    if not ok:
        found.append(f"git fsck failed: {output}")
    return found


def _check_file(store: ArticleStore, path: str, blob: str) -> list[str]:
    slug = layout.slug_from_path(path)
    if slug is None:
        return [f"{path}: not where an article belongs (articles/<xx>/<slug>.json, "
                "xx = first two hex digits of sha1(slug))"]
    raw = store.repo.read(blob)
    try:
        data = json.loads(raw)
    except ValueError as e:
        return [f"{path}: not valid JSON ({e})"]
    try:
        doc = validate(data)
    except ValidationFailed as e:
        return [f"{path}: {field}: {' '.join(msgs)}" for field, msgs in (e.errors or {}).items()]
    out = []
    if doc.get("slug") != slug:
        out.append(f"{path}: slug field {doc.get('slug')!r} does not match the file name")
    if canonical.dumps(doc) != raw:
        out.append(f"{path}: not in canonical form; saving it (API or `cms import`) rewrites it")
    return out
