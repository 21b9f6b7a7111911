"""The text inside an article file, read without any schema (files from plain git may be odd).

One home for the questions delivery, search and summaries ask of an article's text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from cms.content.blocks import kind_of, texts

# a word: a run of letters or digits; apostrophes and hyphens inside one do not split it
WORD_RE = re.compile(r"[^\W_]+(?:['’\-‐][^\W_]+)*")


def search_text(doc: dict[str, Any]) -> str:
    """All the words of the body, one block's texts a line, for full-text search."""
    parts: list[str] = []
    for block in _blocks(doc.get("body")):
        kind = kind_of(block)
        if kind is not None:
            parts += texts(block, kind.searched)
    return "\n".join(parts)


def has_own_summary(article: dict[str, Any]) -> bool:
    """Whether the editor wrote a summary (one that is not blank)."""
    own = article.get("summary")
    return isinstance(own, str) and bool(own.strip())


def _blocks(article_or_body: Any) -> Iterator[dict[str, Any]]:
    blocks = article_or_body if isinstance(article_or_body, list) else []
    return (block for block in blocks if isinstance(block, dict))


def clean(text: Any) -> str:
    """`text` with runs of whitespace made single spaces; "" for anything but a string."""
    return " ".join(text.split()) if isinstance(text, str) else ""


def prose(body: list[dict[str, Any]]) -> list[str]:
    """The readable paragraphs of a body, in order: paragraphs, quotes and each list item.

    Headings, image captions and alt texts, embeds and quote attributions are not prose a
    summary could quote, so they are left out. Whitespace is normalised; blank text dropped.
    """
    paragraphs: list[str] = []
    for block in _blocks(body):
        kind = kind_of(block)
        if kind is not None:
            paragraphs += [t for t in map(clean, texts(block, kind.prose)) if t]
    return paragraphs


def _words(text: str) -> int:
    return len(WORD_RE.findall(text))


def word_count(article: dict[str, Any]) -> int:
    """Words in the title and the body's text: paragraphs, headings, quotes, list items and
    image captions. A word is a run of letters or digits; apostrophes and hyphens inside one
    ("don't", "state-of-the-art") do not split it."""
    found: list[Any] = [article.get("title")]
    for block in _blocks(article.get("body")):
        kind = kind_of(block)
        if kind is not None:
            found += texts(block, kind.counted)
    return sum(_words(t) for t in found if isinstance(t, str))
