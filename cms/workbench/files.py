"""An article as Decap's entry file `articles/<slug>.json` holds it, and back.

The file holds the article's fields but `slug` (the file name is the slug), with one change:
the body's blocks are under `blocks`, and `body` holds the article's card text (its summary,
or the start of its first paragraph). Decap's workflow board shows `data.body` on each card as
a string; given the blocks it showed them mashed together ("typeparagraphtextThe night...").
Coming back, `blocks` is the body again and the card text is dropped: the server works it out.
"""

from __future__ import annotations

import re
from typing import Any

from cms.content import canonical
from cms.errors import BadRequest, ValidationFailed

COLLECTION = "articles"
BLOCKS = "blocks"
# fields of the form that are no article field: the history link (see workbench's widgets.js)
FORM_ONLY = ("history",)
CARD_TEXT = 200  # characters of a card's text at most
_ENTRY_PATH = re.compile(r"^articles/([a-z0-9]+(?:-[a-z0-9]+)*)\.json$")


def entry_slug(path: str, field: str = "params.path") -> str:
    """The slug of an entry file `articles/<slug>.json`; raises ValidationFailed."""
    m = _ENTRY_PATH.fullmatch(path)
    if m is None or len(m.group(1)) > 120:
        raise ValidationFailed(
            f"{path[:100]!r} is not an article entry.",
            {field: [f"Must be {COLLECTION}/<slug>.json."]},
        )
    return m.group(1)


def to_decap(doc: Any) -> Any:
    """The entry file's fields for an article document (a stored file, parsed)."""
    if not isinstance(doc, dict):
        return doc
    out = {k: v for k, v in doc.items() if k not in ("slug", "body")}
    if "body" in doc:
        out[BLOCKS] = doc["body"]
        text = card_text(doc)
        if text:
            out["body"] = text
    return out


def card_text(doc: dict[str, Any]) -> str:
    """What a workflow card says of an article: its summary, else its first paragraph, at
    most CARD_TEXT characters (cut at a word)."""
    text = doc.get("summary")
    if not isinstance(text, str) or not text.strip():
        blocks = doc.get("body")
        body = blocks if isinstance(blocks, list) else []
        text = next(
            (
                b.get("text")
                for b in body
                if isinstance(b, dict)
                and b.get("type") == "paragraph"
                and isinstance(b.get("text"), str)
            ),
            "",
        )
    text = " ".join(str(text).split())
    if len(text) <= CARD_TEXT:
        return text
    return text[:CARD_TEXT].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


def editing(data: dict[str, Any]) -> dict[str, Any]:
    """The article fields an entry as Decap holds it gives: `blocks` as the body, without the
    card text, the form-only fields and what empty widgets leave behind."""
    doc = {k: v for k, v in data.items() if k not in FORM_ONLY}
    if BLOCKS in doc:
        doc["body"] = doc.pop(BLOCKS)
    elif isinstance(doc.get("body"), str):
        doc.pop("body")  # the card text of a file without blocks: nothing to save
    return pruned(doc)


def from_decap(raw: str, slug: str) -> dict[str, Any]:
    """The article an entry file holds; raises ValidationFailed (not JSON, not an object,
    another slug)."""
    try:
        data = canonical.parse_body(raw.encode("utf-8"))
    except BadRequest as e:
        raise ValidationFailed(
            f"The entry is not valid JSON: {e.detail}",
            {"params.dataFiles.0.raw": ["Not valid JSON."]},
        ) from e
    if not isinstance(data, dict):
        raise ValidationFailed(
            "The entry must be a JSON object.",
            {"params.dataFiles.0.raw": ["Must be a JSON object."]},
        )
    doc = editing(data)
    if doc.get("slug", slug) != slug:
        raise ValidationFailed(
            "An article's slug is its file name.",
            {"slug": [f"Must be {slug} (the entry's file name)."]},
        )
    doc.pop("slug", None)
    return doc


def pruned(value: Any) -> Any:
    """`value` without the empty strings, nulls, empty lists and objects Decap's widgets leave
    behind for fields nobody filled in (the article has no such values: they are absent)."""
    if isinstance(value, dict):
        kept = {k: pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ("", None, [], {})}
    if isinstance(value, list):
        return [pruned(v) for v in value if v not in ("", None)]
    return value


def repointed(value: Any, paths: dict[str, str]) -> Any:
    """`value` with every string naming an uploaded asset (`media/photo.jpg`, with or without a
    leading slash) replaced by where the library stored it."""
    if isinstance(value, dict):
        return {k: repointed(v, paths) for k, v in value.items()}
    if isinstance(value, list):
        return [repointed(v, paths) for v in value]
    if isinstance(value, str):
        return paths.get(value.lstrip("/"), value)
    return value
