"""Images as the media library accepts them: proved by decoding, limited, and without location.

`check_image(data)` decides from the bytes alone (never a file name or a Content-Type) whether
they are a JPEG, PNG, WebP or GIF this CMS stores, and returns what it found. SVG is refused
like any other format: it can carry script. Before a pixel is decoded, `check_cost` walks a
JPEG's segments and refuses one with more scans than an honest file has.
`without_location(data, info)` takes location out of every metadata container of the format
(EXIF, XMP, text chunks, comments, Photoshop resources, ImageMagick's raw profiles) by
rewriting or dropping only those, so pixels are never re-encoded and the orientation tag
stays where it was; a container it cannot read refuses the file.

The API, the git gate and the renditions all go through these, so a file is held to the same
rules however it arrives.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from cms.errors import UnsupportedMediaType, ValidationFailed
from cms.media import gif, jpeg, png, webp
from cms.media.jpeg import TooManyScans
from cms.media.metadata import Unreadable

MAX_PIXELS = 50_000_000
# format -> (file extension, content type); the extension is the one paths carry
FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
    "GIF": ("gif", "image/gif"),
}
EXTENSIONS = {ext: fmt for fmt, (ext, _) in FORMATS.items()}
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
        check_cost(data)  # before a pixel is decoded
        try:
            image.load()
            frames = getattr(image, "n_frames", 1)
            orientation = image.getexif().get(ORIENTATION, 1)
        except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as e:
            raise _damaged() from e
        ext, content_type = FORMATS[image.format or ""]
        if not isinstance(orientation, int) or not 1 <= orientation <= 8:
            orientation = 1
        return ImageInfo(image.format or "", ext, content_type, width, height, frames, orientation)


def _damaged() -> ValidationFailed:
    return ValidationFailed(
        "The image is damaged or truncated: it could not be decoded to the end.",
        {"file": ["Damaged or truncated image."]},
    )


def without_location(data: bytes, info: ImageInfo) -> bytes:
    """Return `data` without location metadata (the same bytes when there is none): every
    metadata container of its format read, inflated where compressed, and rewritten or
    dropped (see `jpeg`, `png`, `webp`, `gif`). Only metadata is touched: pixels, ICC profile
    and orientation stay.

    Raises ValidationFailed when a container cannot be read (or a JPEG has too many scans).
    """
    try:
        return _WALKERS[info.format](data)
    except TooManyScans as e:
        raise _too_many_scans() from e
    except Unreadable as e:
        raise ValidationFailed(
            f"The image's metadata or structure cannot be read ({e}), so its location "
            "cannot be removed.",
            {"file": [f"Unreadable metadata: {e}."]},
        ) from e


def check_cost(data: bytes) -> None:
    """Refuse, without decoding, an image whose decoding costs far more than its size says:
    a JPEG with more than `jpeg.MAX_SCANS` scans. Raises ValidationFailed."""
    if data[:2] != b"\xff\xd8":
        return
    try:
        jpeg.walk(data)
    except TooManyScans as e:
        raise _too_many_scans() from e
    except Unreadable as e:
        raise _damaged() from e


def _too_many_scans() -> ValidationFailed:
    return ValidationFailed(
        f"The JPEG has more than {jpeg.MAX_SCANS} scans; each makes decoding it cost a pass "
        "over the whole picture. Save it again as a baseline or ordinary progressive JPEG.",
        {"file": [f"More than {jpeg.MAX_SCANS} scans."]},
    )


_WALKERS = {
    "JPEG": jpeg.without_location,
    "PNG": png.without_location,
    "WEBP": webp.without_location,
    "GIF": gif.without_location,
}
