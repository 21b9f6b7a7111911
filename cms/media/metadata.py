"""What is inside the metadata containers the four formats share, and taking location out.

The format walkers (`jpeg`, `png`, `webp`, `gif`) find the containers; this module reads them:
EXIF (a TIFF structure), XMP and other text, Photoshop's image resource blocks, ImageMagick's
hex-coded "raw profiles", and zlib streams. A container that cannot be read raises
`Unreadable`: the caller refuses the file rather than store something it could not inspect.
"""

from __future__ import annotations

import re
import struct
import warnings
import zlib

from PIL import Image

EXIF_HEADER = b"Exif\x00\x00"
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_EXTENDED = b"http://ns.adobe.com/xmp/extension/\x00"
GPS_IFD = 0x8825
EXIF_IFD = 0x8769
IFD1 = 0x0001  # Pillow's key for the thumbnail's directory
XMP_TAG = 0x02BC  # XMP kept inside EXIF (TIFF's XMLPacket)
PHOTOSHOP_TAG = 0x8649  # Photoshop's resources kept inside EXIF
# Photoshop resources that hold EXIF or XMP, which can hold a position
IRB_EXIF, IRB_EXIF2, IRB_XMP = 0x0422, 0x0423, 0x0424
# more than a metadata chunk of a 20 MB file can honestly inflate to
MAX_INFLATED = 32 * 1024 * 1024

# The names a position goes by in XMP and in text: EXIF's GPS tags (also as XMP, and as
# ImageMagick's `exif:GPSLatitude` text), IPTC's LocationShown/LocationCreated, DJI's
# GpsLatitude and other vendors' Latitude/Longitude. Case-insensitive and after NULs are
# dropped, so UTF-16 text is read too; a false alarm drops a caption, never keeps a position.
_LOCATION = re.compile(rb"gps|location(?:shown|created)|latitude|longitude", re.IGNORECASE)


class Unreadable(ValueError):
    """A metadata container that cannot be parsed (the message says which)."""


def has_location(text: bytes) -> bool:
    """Whether `text` (XMP, a comment, a text chunk) names a position."""
    return _LOCATION.search(text.replace(b"\x00", b"")) is not None


def inflate(data: bytes, what: str) -> bytes:
    """`data` decompressed (zlib); raises Unreadable when it is not zlib or inflates to more
    than MAX_INFLATED bytes."""
    stream = zlib.decompressobj()
    try:
        out = stream.decompress(data, MAX_INFLATED)
    except zlib.error as e:
        raise Unreadable(f"its {what} is not readable zlib data") from e
    if stream.unconsumed_tail:
        raise Unreadable(f"its {what} inflates to more than {MAX_INFLATED:,} bytes")
    if not stream.eof:
        raise Unreadable(f"its {what} is cut short")
    return out


def exif_without_location(tiff: bytes) -> bytes | None:
    """The EXIF `tiff` (after any `Exif\\0\\0`) without its GPS directory, nor XMP or Photoshop
    resources inside it that carry a position; None when there is nothing to remove.

    Raises Unreadable when it is not a TIFF structure Pillow reads without complaint."""
    if tiff[:4] not in (b"II*\x00", b"MM\x00*"):
        raise Unreadable("its EXIF is not a TIFF structure")
    exif = Image.Exif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # Pillow warns of corrupt EXIF, then guesses
            exif.load(tiff)
            inner = exif.get_ifd(EXIF_IFD)
            thumbnail = exif.get_ifd(IFD1)
    except (Warning, ValueError, SyntaxError, OSError, struct.error, KeyError) as e:
        raise Unreadable("its EXIF cannot be read") from e
    xmp, photoshop = exif.get(XMP_TAG), exif.get(PHOTOSHOP_TAG)
    xmp_located = isinstance(xmp, bytes) and has_location(xmp)
    photoshop_located = isinstance(photoshop, bytes) and irb_without_location(photoshop) is not None
    if not (
        GPS_IFD in exif
        or GPS_IFD in inner
        or GPS_IFD in thumbnail
        or xmp_located
        or photoshop_located
    ):
        return None
    exif.pop(GPS_IFD, None)
    inner.pop(GPS_IFD, None)
    if xmp_located:
        del exif[XMP_TAG]
    if photoshop_located:
        del exif[PHOTOSHOP_TAG]
    # tobytes() writes IFD0 with its EXIF and interoperability directories, so the thumbnail's
    # directory (IFD1) and anything it pointed at are left behind
    return exif.tobytes()[len(EXIF_HEADER) :]


def irb_without_location(data: bytes) -> bytes | None:
    """Photoshop image resources `data` (what follows `Photoshop 3.0\\0`) without the EXIF
    resources and without XMP that names a position; None when there is nothing to remove.

    Raises Unreadable when the resources do not parse."""
    kept, at, changed = [], 0, False
    while at < len(data):
        if data[at : at + 4] not in (b"8BIM", b"PHUT", b"AgHg", b"DCSR", b"MeSa"):
            if not data[at:].strip(b"\x00"):
                break  # padding at the end
            raise Unreadable("its Photoshop resources cannot be read")
        if at + 7 > len(data):
            raise Unreadable("its Photoshop resources are cut short")
        ident = struct.unpack(">H", data[at + 4 : at + 6])[0]
        name = 1 + data[at + 6]
        name += name & 1
        head = at + 6 + name
        if head + 4 > len(data):
            raise Unreadable("its Photoshop resources are cut short")
        size = struct.unpack(">I", data[head : head + 4])[0]
        end = head + 4 + size + (size & 1)
        if head + 4 + size > len(data):
            raise Unreadable("its Photoshop resources are cut short")
        body = data[head + 4 : head + 4 + size]
        if ident in (IRB_EXIF, IRB_EXIF2) or (ident == IRB_XMP and has_location(body)):
            changed = True
        else:
            kept.append(data[at:end])
        at = end
    return b"".join(kept) if changed else None


def read_raw_profile(text: bytes) -> tuple[str, bytes]:
    """(kind, bytes) of ImageMagick's text form of a profile: `\\n<kind>\\n<length>\\n<hex>`.

    Raises Unreadable when it is not of that form."""
    parts = text.split(b"\n", 3)
    try:
        if len(parts) != 4 or parts[0] != b"":
            raise ValueError("no header")
        length = int(parts[2])
        payload = bytes.fromhex(parts[3].decode("ascii"))
    except (ValueError, UnicodeDecodeError) as e:
        raise Unreadable("its raw profile is not hex-coded as ImageMagick writes it") from e
    if len(payload) != length:
        raise Unreadable("its raw profile is not as long as it says")
    return parts[1].decode("ascii", "replace").strip(), payload


def raw_profile(kind: str, payload: bytes) -> bytes:
    """ImageMagick's text form of the profile `payload` (see `read_raw_profile`)."""
    hexed = payload.hex()
    lines = "\n".join(hexed[i : i + 72] for i in range(0, len(hexed), 72))
    return f"\n{kind}\n{len(payload):8d}\n{lines}\n".encode("ascii")


def raw_profile_without_location(text: bytes) -> bytes | None:
    """`text`, a "Raw profile type ..." value, without location (EXIF and Photoshop resources
    cleaned), b"" when the whole profile must go (XMP or text naming a position), None when
    there is nothing to remove.

    Raises Unreadable when the profile or what it holds does not parse."""
    kind, payload = read_raw_profile(text)
    if payload.startswith(EXIF_HEADER) or payload[:4] in (b"II*\x00", b"MM\x00*"):
        prefix = EXIF_HEADER if payload.startswith(EXIF_HEADER) else b""
        tiff = exif_without_location(payload[len(prefix) :])
        return None if tiff is None else raw_profile(kind, prefix + tiff)
    if payload.startswith(b"8BIM"):
        resources = irb_without_location(payload)
        return None if resources is None else raw_profile(kind, resources)
    return b"" if has_location(payload) else None
