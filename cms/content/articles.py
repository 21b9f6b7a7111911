"""Articles as values: validation into canonical form, merge patches, and the `meta` editors see."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError

from cms.content.document import flatten_errors, validate_article
from cms.errors import ValidationFailed
from cms.times import utc


@dataclass
class Article:
    """An article's fields (canonical form), its ETag (the file's blob id) and its `meta`."""

    slug: str
    fields: dict[str, Any]
    etag: str
    meta: dict[str, Any]
    highlight: str | None = None  # set on a search result sorted by relevance

    def to_dict(self) -> dict[str, Any]:
        found = {} if self.highlight is None else {"highlight": self.highlight}
        return {**self.fields, "meta": self.meta, **found}


def validate(data: Any) -> dict[str, Any]:
    """Return `data` as a canonical article; raises ValidationFailed naming every bad field."""
    try:
        return validate_article(data)
    except ValidationError as e:
        errors = flatten_errors(e.messages)
        raise ValidationFailed(f"The article is not valid: {', '.join(errors)}.", errors) from e


def with_slug(doc: dict[str, Any], slug: str) -> dict[str, Any]:
    return {"slug": slug, **{k: v for k, v in doc.items() if k != "slug"}}


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7396 JSON Merge Patch and return the result."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def state(
    blob: str,
    live_blob: str | None,
    publish_at: int | None,
    now: int,
    content: str | None = None,
    live_content: str | None = None,
) -> str:
    """draft, published, changed (live, with newer draft edits) or scheduled (not live, with a
    future `publish_at`). A live article stays `published` or `changed` whatever its schedule,
    and one whose draft differs from the live file only in `publish_at` is `published`
    (`content` and `live_content`: the files' ids without `publish_at`, None if they have none).

    The SQL twin of this rule is `index.drafts.STATE`, used to filter lists by state.
    """
    if live_blob is None:
        return "scheduled" if publish_at is not None and publish_at > now else "draft"
    if live_blob == blob or (live_content or live_blob) == (content or blob):
        return "published"
    return "changed"


def from_row(row: dict[str, Any], doc: dict[str, Any]) -> Article:
    """An Article from an index row (see `Index.article`) and the file's content. A file
    that is not a valid article (`problems` in the row) shows as state `invalid` with its
    problems, and no fields but its slug. `meta.publish_at` is the pending schedule: the
    draft's `publish_at` while it is ahead."""
    problems = row.get("problems")
    if problems:
        doc = {"slug": row["slug"]}
    now = int(time.time())
    meta = {
        "revision": row["revision"],
        "state": "invalid"
        if problems
        else state(
            row["blob"],
            row["live_blob"],
            row["publish_at"],
            now,
            row.get("content"),
            row.get("live_content"),
        ),
        "publish_at": utc(row["publish_at"])
        if row["publish_at"] and row["publish_at"] > now
        else None,
        "created_at": utc(row["created_at"]),
        "updated_at": utc(row["updated_at"]),
        "created_by": row["created_by"],
        "updated_by": row["updated_by"],
        "published_revision": row["published_revision"],
        "published_at": utc(row["published_at"]),
    }
    if problems:
        meta["problems"] = problems
    return Article(row["slug"], doc, row["blob"], meta)
