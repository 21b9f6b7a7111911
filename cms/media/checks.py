"""Whether a file under `media/` is one this CMS would have stored: the rules for files that
arrive by other ways than the upload API (a `git push`, a ref moved by hand).

An upload makes its file conform (location removed, content-addressed name); a pushed file
cannot be changed, so it must already conform. Each check returns problems as
`{field: [messages]}`, like the API's validation errors and the git gate's lines.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cms.content.media_paths import is_media_path, media_path
from cms.errors import CMSError, UnsupportedMediaType
from cms.media.images import ImageInfo, check_image, without_location

Problems = dict[str, list[str]]
# the API's default limit: a file the API would refuse for its size is refused here too
MAX_BYTES = 20_000_000
SUMMARY = "media/<xx>/<sha256>.<jpg|png|webp|gif>"


@dataclass(frozen=True)
class Facts:
    """What a stored file is (None: not an acceptable image, `refused` saying why when the
    checks of an upload said more than that), the SHA-256 of its bytes, and whether it
    carries location metadata."""

    info: ImageInfo | None
    sha256: str
    located: bool
    refused: str | None = None

    def problems(self, path: str) -> Problems:
        """The problems of this file at `path` (an empty dict: it may be served there)."""
        if self.info is None:
            return {
                "content": [
                    self.refused or "Not a JPEG, PNG, WebP or GIF image that decodes completely."
                ]
            }
        found: Problems = {}
        expected = media_path(self.sha256, self.info.ext)
        if path != expected:
            found["path"] = [
                f"A media file is named by the SHA-256 of its bytes and its "
                f"format: this one belongs at {expected}."
            ]
        if self.located:
            found["location"] = [
                "It carries location metadata, or metadata an upload drops "
                "because it can hold some (a GPS position in EXIF, XMP or "
                "text; vendors' blocks; data after the image); upload it "
                "through the API, which removes it, or remove it first."
            ]
        return found


def facts(data: bytes) -> Facts:
    """Check `data` as an upload is checked (see `check_image` and `without_location`) and say
    what it is."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        info = check_image(data)
        located = without_location(data, info) != data
    except UnsupportedMediaType:
        return Facts(None, digest, False)
    except CMSError as e:
        return Facts(None, digest, False, e.detail)
    return Facts(info, digest, located)


def path_problems(path: str) -> Problems:
    """Problems with a media file's name, whatever it holds."""
    if is_media_path(path):
        return {}
    return {
        "path": [
            f"Not a media file name: {SUMMARY}, xx the first two hex digits of the "
            "SHA-256 of the file's bytes."
        ]
    }


def content_problems(path: str, data: bytes) -> Problems:
    """The problems of the file at `path` holding `data`: the checks of an upload (see
    `check_image`), a name that matches its bytes, and no location."""
    return facts(data).problems(path)
