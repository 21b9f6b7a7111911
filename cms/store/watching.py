"""What changed in an article since the version an editor has open: for the workbench's watch
(`GET /api/v1/manage/articles/{slug}/changes`), which asks every few seconds per open editor.

`current` is the cheap question asked on every poll: the draft's ETag (the blob id of its
file on `main`), read from the ref and the repository's cached trees, with no index and no
parsing, so a poll that finds nothing new costs two small file reads. `since` is asked only
when the ETag moved: who saved since the editor's version (the draft revisions after it, as the
revision list names them) and the field changes from that version to now (as `diff` gives
them).
"""

from __future__ import annotations

import time
from typing import Any

from cms.content import layout
from cms.content.diff import changes as field_changes
from cms.content.layout import MAIN
from cms.errors import ArticleNotFound, BadRequest
from cms.store.reading import Reading
from cms.times import utc

SAVES_LISTED = 20  # the newest saves named; `saved_count` says how many there were


def current(reading: Reading, slug: str) -> str | None:
    """The ETag of the current draft of `slug` (its file's blob id on `main`), None when there
    is no such draft."""
    repo = reading.repo
    return repo.lookup(repo.ref(MAIN), layout.article_path(slug))


def since(reading: Reading, slug: str, etag: str) -> dict[str, Any]:
    """What changed in `slug` since its version `etag`: `{"etag", "revision", "since":
    {"etag", "revision"}, "saves": [{"revision", "author": {"name", "email"}, "date",
    "message"}], "saved_count", "changes": [{"op", "path", "old"?, "new"?}]}`; saves newest
    first (at most SAVES_LISTED), dates as UTC datetimes. Nothing changed: no saves, no
    changes, and `since` is the current version.

    Raises ArticleNotFound when there is no draft, BadRequest naming `since` when `etag` was
    never a version of the article's current life."""
    reading.catch_up()
    row = reading.index.drafts.article(slug, int(time.time()))
    if row is None:
        raise ArticleNotFound(f"There is no article '{slug}'.")
    draft = reading.article(row)
    if etag == draft.etag:
        revision: str | None = draft.meta["revision"]
    else:
        revision = reading.index.drafts.revision_with(slug, [etag])
    if revision is None:
        raise BadRequest(
            f"'{etag[:40]}' was never a version of the article '{slug}' (since it was last "
            "created): send the ETag you read.",
            {"since": ["Not an ETag of this article."]},
        )
    saves: list[dict[str, Any]] = []
    count = 0
    changes: list[dict[str, Any]] = []
    if etag != draft.etag:
        after = reading.index.drafts.position(revision, MAIN) or 0
        rows, count = reading.index.drafts.revisions(
            slug, line=MAIN, limit=SAVES_LISTED, offset=0, since=after
        )
        saves = [
            {
                "revision": r["revision"],
                "author": r["author"],
                "date": utc(r["date"]),
                "message": r["message"],
            }
            for r in rows
        ]
        found = reading.file_at(revision, slug)
        before = found[1] if found else {}
        changes = field_changes(before, draft.fields)
    return {
        "etag": draft.etag,
        "revision": draft.meta["revision"],
        "since": {"etag": etag, "revision": revision},
        "saves": saves,
        "saved_count": count,
        "changes": changes,
    }
