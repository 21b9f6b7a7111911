"""WebP's RIFF chunks, and its metadata without location.

EXIF loses its GPS directory, XMP that names a position goes, and so do chunks no decoder
needs that this module does not know, and bytes after the RIFF's declared end. The VP8X
header's flags are kept true to the chunks left.
"""

from __future__ import annotations

import struct

from cms.media.metadata import EXIF_HEADER, Unreadable, exif_without_location, has_location

_KEPT = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP", b"EXIF", b"XMP "}
XMP_FLAG, EXIF_FLAG = 0x04, 0x08


def without_location(data: bytes) -> bytes:
    """`data` without location (see the module docstring); the same bytes when there is
    nothing to remove. Raises Unreadable when the chunks do not parse."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise Unreadable("it does not start as a WebP does")
    end = 8 + struct.unpack("<I", data[4:8])[0]
    if end > len(data):
        raise Unreadable("it is shorter than its RIFF header says")
    chunks: list[list[bytes]] = []
    at, changed = 12, end < len(data)
    while at < end:
        if at + 8 > end:
            raise Unreadable("its chunks do not reach the end of the RIFF")
        kind, length = struct.unpack("<4sI", data[at : at + 8])
        if at + 8 + length > end:
            raise Unreadable(f"its {kind.decode('latin-1')!r} chunk runs past the end")
        payload = data[at + 8 : at + 8 + length]
        at += 8 + length + (length & 1)
        if kind == b"EXIF":
            prefix = EXIF_HEADER if payload.startswith(EXIF_HEADER) else b""
            tiff = exif_without_location(payload[len(prefix) :])
            if tiff is not None:
                changed, payload = True, prefix + tiff
        elif kind not in _KEPT or (kind == b"XMP " and has_location(payload)):
            changed = True
            continue
        chunks.append([kind, payload])
    if not changed:
        return data
    kinds = {kind for kind, _ in chunks}
    for chunk in chunks:
        if chunk[0] == b"VP8X" and chunk[1]:
            flags = chunk[1][0] & ~(XMP_FLAG | EXIF_FLAG)
            flags |= (XMP_FLAG if b"XMP " in kinds else 0) | (EXIF_FLAG if b"EXIF" in kinds else 0)
            chunk[1] = bytes([flags]) + chunk[1][1:]
    body = b"WEBP" + b"".join(
        struct.pack("<4sI", kind, len(payload)) + payload + b"\x00" * (len(payload) & 1)
        for kind, payload in chunks
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body
