"""An article's body as safe HTML and as plain text, for feeds (and anything else that shows
a body outside JSON): every text escaped, characters XML cannot carry dropped, only http(s)
URLs without a user part. Each block type has its renderer (`cms.content.blocks.renderers`).
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

from cms.content.blocks import kind_of, renderers

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(value: Any) -> str:
    """`value` as text XML can carry: line breaks as LF, characters XML forbids dropped."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return _NOT_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def safe_url(value: Any) -> str | None:
    """`value` if it is an absolute http(s) URL without credentials or whitespace, else None."""
    if not isinstance(value, str) or not value or _NOT_XML.search(value):
        return None
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if "@" in parts.netloc:
        return None
    return value


def _escape(value: Any) -> str:
    return html.escape(clean(value), quote=True)


def _lines(value: Any) -> str:
    """Escaped text with its line breaks kept as <br>."""
    return "<br>\n".join(_escape(line) for line in clean(value).split("\n"))


def _figure(block: dict[str, Any]) -> str:
    src = safe_url(block.get("src"))
    if src is None:
        return ""
    parts = [f'<figure><img src="{_escape(src)}" alt="{_escape(block.get("alt"))}">']
    caption = " — ".join(
        _escape(block[key]) for key in ("caption", "credit") if clean(block.get(key)).strip()
    )
    if caption:
        parts.append(f"<figcaption>{caption}</figcaption>")
    parts.append("</figure>")
    return "".join(parts)


def _paragraph_html(block: dict[str, Any]) -> str:
    return f"<p>{_lines(block.get('text'))}</p>"


def _heading_html(block: dict[str, Any]) -> str:
    level = block.get("level")
    level = min(max(level, 2), 4) if isinstance(level, int) else 2
    return f"<h{level}>{_escape(block.get('text'))}</h{level}>"


def _quote_html(block: dict[str, Any]) -> str:
    cite = clean(block.get("cite")).strip()
    footer = f"<footer>{_escape(cite)}</footer>" if cite else ""
    return f"<blockquote><p>{_lines(block.get('text'))}</p>{footer}</blockquote>"


def _list_html(block: dict[str, Any]) -> str:
    tag = "ol" if block.get("ordered") is True else "ul"
    items = "".join(f"<li>{_lines(item)}</li>" for item in block.get("items") or [])
    return f"<{tag}>{items}</{tag}>"


def _embed_html(block: dict[str, Any]) -> str:
    url = safe_url(block.get("url"))
    return f'<p><a href="{_escape(url)}">{_escape(url)}</a></p>' if url else ""


HTML = renderers(
    "body HTML",
    {
        "paragraph": _paragraph_html,
        "heading": _heading_html,
        "quote": _quote_html,
        "list": _list_html,
        "image": _figure,
        "embed": _embed_html,
    },
)


def _block_html(block: Any) -> str:
    kind = kind_of(block)
    # a block type this renderer does not know is left out, never passed through
    return HTML[kind.name](block) if kind is not None else ""


def body_html(body: list[dict[str, Any]]) -> str:
    """Safe HTML for an article body: every text escaped, only http(s) URLs, one line a block."""
    return "\n".join(part for part in map(_block_html, body or []) if part)


def _quote_text(block: dict[str, Any]) -> str:
    cite = clean(block.get("cite")).strip()
    return f"“{clean(block.get('text'))}”" + (f"\n— {cite}" if cite else "")


def _list_text(block: dict[str, Any]) -> str:
    items = [clean(item) for item in block.get("items") or []]
    if block.get("ordered") is True:
        return "\n".join(f"{n}. {item}" for n, item in enumerate(items, 1))
    return "\n".join(f"• {item}" for item in items)


TEXT = renderers(
    "body text",
    {
        "paragraph": lambda block: clean(block.get("text")),
        "heading": lambda block: clean(block.get("text")),
        "quote": _quote_text,
        "list": _list_text,
        "image": lambda block: " — ".join(
            clean(block[k]) for k in ("caption", "credit") if clean(block.get(k)).strip()
        ),
        "embed": lambda block: safe_url(block.get("url")) or "",
    },
)


def _block_text(block: Any) -> str:
    kind = kind_of(block)
    return TEXT[kind.name](block) if kind is not None else ""


def body_text(body: list[dict[str, Any]]) -> str:
    """The body as plain text, blocks separated by a blank line."""
    return "\n\n".join(text for text in map(_block_text, body or []) if text)
