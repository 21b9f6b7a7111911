"""Images as the media library accepts them: proved by decoding, limited, and without location.

`check_image(data)` decides from the bytes alone (never a file name or a Content-Type) whether
they are a JPEG, PNG, WebP or GIF this CMS stores, and returns what it found. SVG is refused
like any other format: it can carry script. `without_location(data, info)` removes EXIF GPS
(and XMP packets that carry GPS fields) by rewriting only the metadata segments, so pixels are
never re-encoded and the orientation tag stays where it was.

The API, the git gate and the renditions all go through `check_image`, so a file is held to
the same rules however it arrives.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from cms.errors import UnsupportedMediaType, ValidationFailed

MAX_PIXELS = 50_000_000
# format -> (file extension, content type); the extension is the one paths carry
FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
    "GIF": ("gif", "image/gif"),
}
EXTENSIONS = {ext: fmt for fmt, (ext, _) in FORMATS.items()}
GPS_IFD = 0x8825
ORIENTATION = 0x0112
# Our own pixel check runs on the header, before any pixel is decoded, and is stricter than
# Pillow's (89 megapixels, a warning, then an error at twice that), so Pillow's is turned off
# rather than left to raise warnings for sizes already refused.
Image.MAX_IMAGE_PIXELS = None


@dataclass(frozen=True)
class ImageInfo:
    """What decoding found: the format, its extension and content type, the size in pixels,
    and how many frames (more than one: an animation)."""

    format: str
    ext: str
    content_type: str
    width: int
    height: int
    frames: int = 1
    orientation: int = 1  # EXIF orientation; 5 to 8 turn the picture a quarter

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as a browser shows the image, its EXIF orientation applied."""
        if self.orientation in (5, 6, 7, 8):
            return self.height, self.width
        return self.width, self.height


def check_image(data: bytes, *, max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """Return what `data` is, after decoding its (first) frame completely.

    Raises UnsupportedMediaType when the bytes are not a JPEG, PNG, WebP or GIF (SVG included),
    ValidationFailed when the image has more than `max_pixels` pixels or is damaged (truncated).
    """
    try:
        image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except UnidentifiedImageError as e:
        raise UnsupportedMediaType(
            "The file is not an image this CMS accepts: send a JPEG, PNG, WebP or GIF "
            "(SVG is refused: it can carry script).",
            {"file": ["Not a JPEG, PNG, WebP or GIF image."]},
        ) from e
    except (OSError, SyntaxError, ValueError, struct.error) as e:
        raise _damaged() from e
    with image:
        width, height = image.size
        if width < 1 or height < 1:
            raise _damaged()
        if width * height > max_pixels:
            raise ValidationFailed(
                f"The image is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels); "
                f"the limit is {max_pixels / 1e6:g} megapixels.",
                {"file": [f"More than {max_pixels / 1e6:g} megapixels."]},
            )
        try:
            image.load()
            frames = getattr(image, "n_frames", 1)
            orientation = image.getexif().get(ORIENTATION, 1)
        except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as e:
            raise _damaged() from e
        ext, content_type = FORMATS[image.format or ""]
        if not isinstance(orientation, int) or not 1 <= orientation <= 8:
            orientation = 1
        return ImageInfo(image.format or "", ext, content_type, width, height, frames,
                         orientation)


def _damaged() -> ValidationFailed:
    return ValidationFailed(
        "The image is damaged or truncated: it could not be decoded to the end.",
        {"file": ["Damaged or truncated image."]},
    )


def without_location(data: bytes, info: ImageInfo) -> bytes:
    """Return `data` with EXIF GPS and GPS-bearing XMP removed (the same bytes when there is
    none). Only metadata segments are rewritten; pixels, ICC profile and orientation stay."""
    if info.format == "JPEG":
        return _jpeg(data)
    if info.format == "PNG":
        return _png(data)
    if info.format == "WEBP":
        return _webp(data)
    return data  # GIF has no EXIF


def _exif_without_gps(tiff: bytes) -> bytes | None:
    """The TIFF-structured EXIF `tiff` (after any `Exif\\0\\0`) without its GPS IFD, or None
    when it has none."""
    exif = Image.Exif()
    exif.load(tiff)
    if GPS_IFD not in exif:
        return None
    del exif[GPS_IFD]
    return exif.tobytes()[6:]  # tobytes() puts `Exif\0\0` in front


def _xmp_has_location(packet: bytes) -> bool:
    return b"GPS" in packet or b"LocationShown" in packet or b"LocationCreated" in packet


EXIF_HEADER = b"Exif\x00\x00"
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_EXTENDED = b"http://ns.adobe.com/xmp/extension/\x00"


def _jpeg(data: bytes) -> bytes:
    out, at, changed = [data[:2]], 2, False
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker in (0xDA, 0xD9):  # start of scan, end of image: no metadata after these
            break
        length = struct.unpack(">H", data[at + 2:at + 4])[0]
        segment, payload = data[at:at + 2 + length], data[at + 4:at + 2 + length]
        at += 2 + length
        if marker == 0xE1 and payload.startswith(EXIF_HEADER):
            tiff = _exif_without_gps(payload[len(EXIF_HEADER):])
            if tiff is not None:
                changed = True
                body = EXIF_HEADER + tiff
                segment = b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
        elif marker == 0xE1 and (payload.startswith(XMP_HEADER) or payload.startswith(
                XMP_EXTENDED)) and _xmp_has_location(payload):
            changed = True
            continue
        out.append(segment)
    if not changed:
        return data
    out.append(data[at:])
    return b"".join(out)


def _png(data: bytes) -> bytes:
    out, at, changed = [data[:8]], 8, False
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunk, payload = data[at:at + 12 + length], data[at + 8:at + 8 + length]
        at += 12 + length
        if kind == b"eXIf":
            tiff = _exif_without_gps(payload.removeprefix(EXIF_HEADER))
            if tiff is not None:
                changed = True
                chunk = (struct.pack(">I", len(tiff)) + kind + tiff
                         + struct.pack(">I", zlib.crc32(kind + tiff)))
        elif kind in (b"iTXt", b"tEXt", b"zTXt") and payload.startswith(
                b"XML:com.adobe.xmp\x00") and _xmp_has_location(payload):
            changed = True
            continue
        out.append(chunk)
        if kind == b"IEND":
            break
    return b"".join(out) if changed else data


def _webp(data: bytes) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return data
    chunks, at, changed = [], 12, False
    dropped_xmp = False
    while at + 8 <= len(data):
        kind, length = struct.unpack("<4sI", data[at:at + 8])
        payload = data[at + 8:at + 8 + length]
        at += 8 + length + (length & 1)
        if kind == b"EXIF":
            tiff = _exif_without_gps(payload.removeprefix(EXIF_HEADER))
            if tiff is not None:
                changed, payload = True, tiff
        elif kind == b"XMP " and _xmp_has_location(payload):
            changed = dropped_xmp = True
            continue
        chunks.append([kind, payload])
    if not changed:
        return data
    for chunk in chunks:
        if chunk[0] == b"VP8X" and dropped_xmp:
            flags = chunk[1][0] & ~0x04  # the XMP flag: no XMP chunk is left
            chunk[1] = bytes([flags]) + chunk[1][1:]
    body = b"WEBP" + b"".join(
        struct.pack("<4sI", kind, len(payload)) + payload + b"\x00" * (len(payload) & 1)
        for kind, payload in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body
