"""The text inside an article file, read without any schema (files from plain git may be odd).

One home for the questions delivery, search and summaries ask of an article's text.
"""

from __future__ import annotations

from typing import Any


def plain_text(doc: dict[str, Any]) -> str:
    """All the words of the body, one block's texts a line, for full-text search."""
    parts: list[str] = []
    for block in doc.get("body") or []:
        if not isinstance(block, dict):
            continue
        for key in ("text", "caption", "alt", "cite"):
            if isinstance(block.get(key), str):
                parts.append(block[key])
        parts += [i for i in block.get("items") or [] if isinstance(i, str)]
    return "\n".join(parts)


def has_own_summary(article: dict[str, Any]) -> bool:
    """Whether the editor wrote a summary (one that is not blank)."""
    own = article.get("summary")
    return isinstance(own, str) and bool(own.strip())
