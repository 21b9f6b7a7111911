"""The images of a previewed draft as addresses a frontend can load, as delivery gives them.

A draft's image field names a library file by its path (`media/<xx>/<sha256>.<ext>`). In a
preview link's answer each such field becomes a URL with `width`, `height` and `srcset`, like a
delivered article's: a published file at its public address (`/media/...`), a file only the
draft uses yet at the link's own address (`<link>/media/...`), which serves it only while the
link is valid and only while the draft uses it (`linked_file`).
"""

from __future__ import annotations

from typing import Any

from cms.content.media_paths import is_media_path, references
from cms.errors import MediaNotFound
from cms.media.renditions import WIDTHS
from cms.store.media import MediaFile, MediaLibrary


def described(
    item: dict[str, Any], library: MediaLibrary, public_root: str, link_root: str
) -> dict[str, Any]:
    """`item` (a draft shaped like delivery) with its library images as URLs: published files
    under `public_root`, the others under `link_root`."""
    out = dict(item)
    if isinstance(item.get("image"), dict):
        out["image"] = _image(item["image"], library, public_root, link_root)
    if isinstance(item.get("body"), list):
        out["body"] = [
            _image(b, library, public_root, link_root)
            if isinstance(b, dict) and b.get("type") == "image"
            else b
            for b in item["body"]
        ]
    return out


def _image(
    image: dict[str, Any], library: MediaLibrary, public_root: str, link_root: str
) -> dict[str, Any]:
    src = image.get("src")
    if not isinstance(src, str) or not is_media_path(src):
        return image
    try:
        file = library.get(src)
    except MediaNotFound:
        return image  # named but not in the library: nothing to point at
    url = f"{public_root if file.published else link_root}/{src}"
    described = {**image, "src": url}
    if file.info is not None and not file.problems:
        width, height = file.info.display_size
        smaller = [w for w in WIDTHS if w < width] if file.info.frames == 1 else []
        described.update(
            width=width,
            height=height,
            srcset=", ".join([f"{url}?w={w} {w}w" for w in smaller] + [f"{url} {width}w"]),
        )
    return described


def linked_file(fields: dict[str, Any], path: str, library: MediaLibrary) -> MediaFile:
    """The library file at `path` when the draft whose `fields` are given uses it; raises
    MediaNotFound for any other file (a link shows its draft, and nothing else)."""
    if path not in {p for _, p in references(fields)}:
        raise MediaNotFound(f"The draft of this preview link uses no media file '{path}'.")
    file = library.get(path)
    if file.info is None or file.problems:
        raise MediaNotFound(f"There is no servable media file '{path}'.")
    return file
