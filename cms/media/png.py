"""PNG's chunks, and its metadata without location.

Text chunks are read as a reader of metadata reads them: zTXt and compressed iTXt inflated,
XMP (`XML:com.adobe.xmp`) and ImageMagick's "Raw profile type ..." (hex-coded EXIF, XMP or
Photoshop resources) parsed, and any other keyword or text that names a position dropped
(ImageMagick writes each EXIF tag again as text, `exif:GPSLatitude`). Ancillary chunks no
decoder needs and this module does not know (C2PA's caBX, the never adopted zxIf, the
obsolete tXMP, vendors' chunks) are dropped; what follows IEND too.
"""

from __future__ import annotations

import struct
import zlib

from cms.media.metadata import (
    EXIF_HEADER,
    Unreadable,
    exif_without_location,
    has_location,
    inflate,
    raw_profile_without_location,
)

SIGNATURE = b"\x89PNG\r\n\x1a\n"
RAW_PROFILE = b"Raw profile type "
TEXT = (b"tEXt", b"zTXt", b"iTXt")
# ancillary chunks of the PNG specification (and APNG's) that hold no free-form metadata
_KEPT = {
    b"tRNS",
    b"cHRM",
    b"gAMA",
    b"iCCP",
    b"sBIT",
    b"sRGB",
    b"cICP",
    b"mDCv",
    b"cLLi",
    b"bKGD",
    b"hIST",
    b"pHYs",
    b"sPLT",
    b"tIME",
    b"acTL",
    b"fcTL",
    b"fdAT",
}


def without_location(data: bytes) -> bytes:
    """`data` without location (see the module docstring); the same bytes when there is
    nothing to remove. Raises Unreadable when a chunk or a text in one cannot be read."""
    if not data.startswith(SIGNATURE):
        raise Unreadable("it does not start as a PNG does")
    out, at, changed = [SIGNATURE], len(SIGNATURE), False
    while True:
        if at + 12 > len(data):
            raise Unreadable("its chunks do not reach IEND")
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        end = at + 12 + length
        if end > len(data):
            raise Unreadable(f"its {kind.decode('latin-1')!r} chunk runs past the end")
        payload = data[at + 8 : at + 8 + length]
        kept = _kept(kind, payload)
        changed = changed or kept is not None
        out.append(data[at:end] if kept is None else kept)
        at = end
        if kind == b"IEND":
            break
    changed = changed or at < len(data)
    return b"".join(out) if changed else data


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def _kept(kind: bytes, payload: bytes) -> bytes | None:
    """What takes the chunk's place: None for itself unchanged, b"" for nothing."""
    if kind == b"eXIf":
        prefix = EXIF_HEADER if payload.startswith(EXIF_HEADER) else b""
        tiff = exif_without_location(payload[len(prefix) :])
        return None if tiff is None else _chunk(kind, tiff)
    if kind in TEXT:
        return _text(kind, payload)
    if kind[0] & 0x20 == 0 or kind in _KEPT:  # critical chunks, and the known ancillary ones
        return None
    return b""


def _text(kind: bytes, payload: bytes) -> bytes | None:
    keyword, separator, rest = payload.partition(b"\x00")
    if not separator:
        raise Unreadable(f"a {kind.decode()} chunk has no keyword")
    if kind == b"tEXt":
        head, text = b"", rest
        compressed = False
    elif kind == b"zTXt":
        head, text, compressed = rest[:1], rest[1:], True
    else:  # iTXt: compression flag and method, language, translated keyword, text
        if len(rest) < 2:
            raise Unreadable("an iTXt chunk is cut short")
        language, _, after = rest[2:].partition(b"\x00")
        translated, _, text = after.partition(b"\x00")
        head = rest[:2] + language + b"\x00" + translated + b"\x00"
        compressed = rest[0] == 1
    what = f"{kind.decode()} chunk {keyword.decode('latin-1')!r}"
    plain = inflate(text, what) if compressed else text
    if keyword.startswith(RAW_PROFILE):
        cleaned = raw_profile_without_location(plain)
        if cleaned is None or cleaned == b"":
            return cleaned
        body = zlib.compress(cleaned) if compressed else cleaned
        return _chunk(kind, keyword + b"\x00" + head + body)
    # XMP, and any other text: dropped whole when it names a position
    return b"" if has_location(keyword + b"\x00" + head + plain) else None
