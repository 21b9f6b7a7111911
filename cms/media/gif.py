"""GIF's blocks, and its metadata without location.

GIF keeps metadata in extension blocks: XMP in an application extension (`XMP DataXMP`,
written raw with a "magic trailer" so it also parses as sub-blocks), comments, and other
applications' blocks (ImageMagick's Photoshop resources and IPTC, C2PA). XMP and comments
that name a position go, application blocks other than looping and ICC go, and so does
anything after the trailer.
"""

from __future__ import annotations

from cms.media.metadata import Unreadable, has_location

EXTENSION, IMAGE, TRAILER = 0x21, 0x2C, 0x3B
GRAPHIC_CONTROL, COMMENT, PLAIN_TEXT, APPLICATION = 0xF9, 0xFE, 0x01, 0xFF
XMP_APPLICATION = b"XMP DataXMP"
_KEPT_APPLICATIONS = {b"NETSCAPE2.0", b"ANIMEXTS1.0", b"ICCRGBG1012"}


def _sub_blocks(data: bytes, at: int) -> tuple[int, bytes]:
    """Where the sub-blocks starting at `at` end (after their terminator), and their data."""
    parts: list[bytes] = []
    while True:
        if at >= len(data):
            raise Unreadable("its blocks do not reach the trailer")
        size = data[at]
        if size == 0:
            return at + 1, b"".join(parts)
        if at + 1 + size > len(data):
            raise Unreadable("a block runs past the end")
        parts.append(data[at + 1 : at + 1 + size])
        at += 1 + size


def _table(flags: int) -> int:
    """The size of the colour table that `flags` (of a screen or image descriptor) announce."""
    return 3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0


def without_location(data: bytes) -> bytes:
    """`data` without location (see the module docstring); the same bytes when there is
    nothing to remove. Raises Unreadable when the blocks do not parse."""
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        raise Unreadable("it does not start as a GIF does")
    at = 13 + _table(data[10])
    out, changed = [data[:at]], False
    while True:
        if at >= len(data):
            raise Unreadable("its blocks do not reach the trailer")
        start, kind = at, data[at]
        if kind == TRAILER:
            out.append(data[at : at + 1])
            changed = changed or at + 1 < len(data)
            break
        if kind == IMAGE:
            if at + 11 > len(data):
                raise Unreadable("an image descriptor is cut short")
            at, _ = _sub_blocks(data, at + 10 + _table(data[at + 9]) + 1)
            out.append(data[start:at])
            continue
        if kind != EXTENSION or at + 2 > len(data):
            raise Unreadable("its blocks do not follow each other to the trailer")
        label = data[at + 1]
        at, joined = _sub_blocks(data, at + 2)
        if _kept(label, data[start + 2 : at], joined):
            out.append(data[start:at])
        else:
            changed = True
    return b"".join(out) if changed else data


def _kept(label: int, raw: bytes, joined: bytes) -> bool:
    """Whether an extension stays: `raw` its bytes after the label, `joined` its data."""
    if label in (GRAPHIC_CONTROL, PLAIN_TEXT):
        return True
    # a position may be split by sub-block sizes in `joined`, or framed raw (XMP) in `raw`
    located = has_location(raw) or has_location(joined)
    if label == COMMENT:
        return not located
    if label == APPLICATION:
        name = raw[1:12] if raw[:1] == b"\x0b" else b""
        return name in _KEPT_APPLICATIONS or (name == XMP_APPLICATION and not located)
    return False
