"""Where a media file lives, and which media an article uses.

A file's path is `media/<xx>/<sha256>.<ext>`: the SHA-256 of its stored bytes, fanned out by
its first two hex digits like articles are, with the extension of its real format. The same
bytes always get the same path, so uploading them twice stores them once.
"""

from __future__ import annotations

import re
from typing import Any

ROOT = "media"
EXTENSIONS = ("jpg", "png", "webp", "gif")
PATH_RE = re.compile(r"^media/([0-9a-f]{2})/([0-9a-f]{64})\.(jpg|png|webp|gif)$")


def media_path(digest: str, ext: str) -> str:
    """The path of a file whose stored bytes have SHA-256 `digest` (hex)."""
    return f"{ROOT}/{digest[:2]}/{digest}.{ext}"


def is_media_path(value: Any) -> bool:
    """True when `value` is a well-formed media path (its folder agreeing with its name)."""
    if not isinstance(value, str):
        return False
    m = PATH_RE.fullmatch(value)
    return m is not None and m.group(2).startswith(m.group(1))


def from_url_path(rest: str) -> str | None:
    """The media path a URL names after its `/media/` prefix (`ab/<sha>.jpg`; the full
    `media/ab/<sha>.jpg` is accepted too), or None."""
    path = rest if rest.startswith(f"{ROOT}/") else f"{ROOT}/{rest}"
    return path if is_media_path(path) else None


def digest_of(path: str) -> str:
    """The SHA-256 a media path names."""
    return path.rsplit("/", 1)[1].split(".", 1)[0]


def references(doc: Any) -> list[tuple[str, str]]:
    """Every (field, media path) an article uses: its lead image and its image blocks."""
    found: list[tuple[str, str]] = []
    if not isinstance(doc, dict):
        return found
    image = doc.get("image")
    if isinstance(image, dict) and is_media_path(image.get("src")):
        found.append(("image.src", image["src"]))
    body = doc.get("body")
    for i, block in enumerate(body if isinstance(body, list) else []):
        if (
            isinstance(block, dict)
            and block.get("type") == "image"
            and is_media_path(block.get("src"))
        ):
            found.append((f"body.{i}.src", block["src"]))
    return found
