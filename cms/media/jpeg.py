"""JPEG's segments, walked as a decoder walks them, and its metadata without location.

The walk follows the standard rather than the common case: any number of 0xFF fill bytes may
stand before a marker, a scan's entropy-coded data runs to the next marker that is not a
stuffed 0xFF00 or a restart marker, and what follows the end-of-image marker belongs to no
decoder (phones put more pictures there, MPF's, with their own EXIF). Counting the scans on
the way bounds what decoding the file can cost: each scan of a progressive JPEG makes the
decoder visit every block of the picture again, however few bytes the scan has.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from cms.media.metadata import (
    EXIF_HEADER,
    XMP_EXTENDED,
    XMP_HEADER,
    Unreadable,
    exif_without_location,
    has_location,
    irb_without_location,
)

# A progressive JPEG from libjpeg has 10 scans (6 in greys), mozjpeg's and Photoshop's a
# few more; far beyond that is a file made to be slow to decode.
MAX_SCANS = 50
SOS, EOI, COM = 0xDA, 0xD9, 0xFE
APP0, APP1, APP2, APP13, APP14 = 0xE0, 0xE1, 0xE2, 0xED, 0xEE
PHOTOSHOP = b"Photoshop 3.0\x00"
MAX_PAYLOAD = 0xFFFF - 2
# Inside entropy-coded data 0xFF is followed by 0x00 (stuffing) or a restart marker; any other
# byte after it starts the next segment: its marker, or more 0xFF fill bytes before that.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_STANDALONE = {0x01, *range(0xD0, 0xD8)}
# APPn segments kept, by the signature their payload starts with; other APPn segments are
# metadata no decoder needs (MPF, FlashPix, JUMBF/C2PA, vendors' blocks) and are dropped.
_KEPT_APPS = {APP0: (b"JFIF\x00", b"JFXX\x00"), APP2: (b"ICC_PROFILE\x00",), APP14: (b"Adobe",)}


class TooManyScans(ValueError):
    """A JPEG with more than MAX_SCANS scans."""


@dataclass(frozen=True)
class Segment:
    """A marker segment: where it starts (its 0xFF, fill bytes before it left out) and ends
    (after the entropy-coded data, for a scan), and the payload after its length field."""

    marker: int
    start: int
    end: int
    payload: bytes


def walk(data: bytes) -> tuple[list[Segment], int]:
    """The segments of `data` after SOI, up to and including EOI, and where EOI ends.

    Raises Unreadable when the segments do not follow each other up to an EOI, TooManyScans
    past MAX_SCANS scans (before reading further)."""
    if data[:2] != b"\xff\xd8":
        raise Unreadable("it does not start as a JPEG does")
    segments: list[Segment] = []
    at, scans = 2, 0
    while True:
        if at >= len(data) or data[at] != 0xFF:
            raise Unreadable("its segments do not follow each other to the end of the image")
        while at + 1 < len(data) and data[at + 1] == 0xFF:
            at += 1  # fill bytes
        if at + 1 >= len(data):
            raise Unreadable("it is cut short")
        marker = data[at + 1]
        if marker == EOI:
            segments.append(Segment(marker, at, at + 2, b""))
            return segments, at + 2
        if marker in _STANDALONE:
            segments.append(Segment(marker, at, at + 2, b""))
            at += 2
            continue
        if marker in (0x00, 0xD8) or at + 4 > len(data):
            raise Unreadable("its segments do not follow each other to the end of the image")
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        end = at + 2 + length
        if length < 2 or end > len(data):
            raise Unreadable("a segment runs past the end of the file")
        if marker == SOS:
            scans += 1
            if scans > MAX_SCANS:
                raise TooManyScans(f"It has more than {MAX_SCANS} scans")
            found = _NEXT_MARKER.search(data, end)
            if found is None:
                raise Unreadable("a scan is cut short")
            end = found.start()
        segments.append(Segment(marker, at, end, data[at + 4 : at + 2 + length]))
        at = end


def without_location(data: bytes) -> bytes:
    """`data` without location: EXIF without GPS, no XMP (nor extended XMP) naming a position,
    Photoshop resources without EXIF and located XMP, no comment naming one, no APPn segment
    a decoder does not need, and nothing after the end of the image. The same bytes when
    there is nothing to remove.

    Raises Unreadable (see `walk`, and `metadata`) or TooManyScans."""
    segments, end = walk(data)
    changed = end < len(data)
    extended = sorted(
        (
            s.payload[len(XMP_EXTENDED) :]
            for s in segments
            if s.marker == APP1 and s.payload.startswith(XMP_EXTENDED)
        ),
        key=lambda p: (p[:32], p[36:40]),
    )  # by GUID, then offset
    extended_located = has_location(b"".join(p[40:] for p in extended))
    photoshop = [s for s in segments if s.marker == APP13 and s.payload.startswith(PHOTOSHOP)]
    resources = irb_without_location(b"".join(s.payload[len(PHOTOSHOP) :] for s in photoshop))
    out = [data[:2]]
    for segment in segments:
        kept = _kept(segment, extended_located)
        if (
            resources is not None
            and segment.marker == APP13
            and segment.payload.startswith(PHOTOSHOP)
        ):
            # the cleaned resources take the place of the first of their segments
            kept = _photoshop_segments(resources) if segment is photoshop[0] else b""
        changed = changed or kept is not None
        out.append(data[segment.start : segment.end] if kept is None else kept)
    return b"".join(out) if changed else data


def _kept(segment: Segment, extended_located: bool) -> bytes | None:
    """What takes `segment`'s place: None for itself unchanged, b"" for nothing."""
    marker, payload = segment.marker, segment.payload
    if marker == APP1:
        if payload.startswith(EXIF_HEADER):
            tiff = exif_without_location(payload[len(EXIF_HEADER) :])
            return None if tiff is None else _segment(APP1, EXIF_HEADER + tiff)
        if payload.startswith(XMP_HEADER):
            return b"" if has_location(payload) else None
        if payload.startswith(XMP_EXTENDED):
            return b"" if extended_located else None
        return b""
    if marker == APP13:
        return None if payload.startswith(PHOTOSHOP) else b""
    if marker in _KEPT_APPS:
        return None if payload.startswith(_KEPT_APPS[marker]) else b""
    if 0xE0 <= marker <= 0xEF:
        return b""
    if marker == COM:
        return b"" if has_location(payload) else None
    return None


def _segment(marker: int, payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise Unreadable("its EXIF does not fit a segment once rewritten")
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _photoshop_segments(resources: bytes) -> bytes:
    """Photoshop resources as APP13 segments, split where they do not fit one (as Photoshop
    itself splits them)."""
    room = MAX_PAYLOAD - len(PHOTOSHOP)
    return b"".join(
        _segment(APP13, PHOTOSHOP + resources[i : i + room])
        for i in range(0, max(len(resources), 1), room)
    )
