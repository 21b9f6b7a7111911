"""Who last changed each field and body block of an article (`git blame`, for fields).

The commits on `main` that touched the article's file are read with git's history
simplification (parents rewritten to the nearest commits that touched it, merges kept), so
a merged save credits each side's fields to the editor whose own commit made them; then
`cms.content.blame.attribute` walks them.
"""

from __future__ import annotations

from typing import Any

from cms.content import layout
from cms.content.blame import Version, attribute
from cms.content.layout import MAIN
from cms.errors import ArticleNotFound
from cms.store.reading import Reading
from cms.times import utc


def blame(reading: Reading, slug: str) -> dict[str, Any]:
    """`{"revision", "fields": {name: origin}, "blocks": [origin]}`, each origin
    `{"revision", "author": {"name", "email"}, "date"}` (date: a UTC datetime). Raises
    ArticleNotFound when `slug` has no draft."""
    repo = reading.repo
    tip = repo.ref(MAIN)
    if tip is None or repo.lookup(tip, layout.article_path(slug)) is None:
        raise ArticleNotFound(f"There is no article '{slug}'.")
    out = repo.git.git.log(
        "--reverse",
        "--topo-order",
        "--full-history",
        "--simplify-merges",
        "--parents",
        "--format=%H%x00%P%x00%an%x00%ae%x00%at",
        tip,
        "--",
        layout.article_path(slug),
    )
    who: dict[str, dict[str, Any]] = {}
    versions = []
    for line in out.splitlines():
        sha, parents, name, email, date = line.split("\0")
        found = reading.file_at(sha, slug)
        doc = found[1] if found and not found[2] else None
        versions.append(Version(sha, tuple(parents.split()), doc))
        who[sha] = {
            "revision": sha,
            "author": {"name": name, "email": email},
            "date": utc(int(date)),
        }
    result = attribute(versions)
    if result is None:
        raise ArticleNotFound(f"The article '{slug}' cannot be read to blame.")
    return {
        "revision": versions[-1].id,
        "fields": {k: who[v] for k, v in result.fields.items()},
        "blocks": [who[v] for v in result.blocks],
    }
