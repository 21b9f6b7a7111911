"""What the server works out from a stored image once and keeps on disk, outside the repository.

`<git dir>/cms/renditions/<xx>/<blob id>/` holds `facts.json` (what `checks.facts` found, and
under which version of the rules) and one `<width>.webp` per rendition made. Everything there
is derived from the blob, whose id names the folder, so it is stale only when the rules change
(then the facts are worked out again), and deleting the folder is always safe: it is made
again on the next request. A rendition is made under an flock on `<width>.lock`, so however many
threads and workers ask at once, each image is rendered once per width.
"""

from __future__ import annotations

import fcntl
import io
import json
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict

from PIL import Image, ImageOps

from cms.media.checks import Facts, facts
from cms.media.images import ORIENTATION, ImageInfo, check_cost

# The widths a frontend may ask for: a short fixed list, so nobody can fill the disk with one
# rendition per pixel, and CDNs see few distinct URLs.
WIDTHS = (320, 640, 960, 1280, 1920)
CONTENT_TYPE = "image/webp"
WEBP_QUALITY = 80
# The version of the rules `facts.json` was worked out under: facts kept under older rules
# (before every metadata container was read, before scans were counted) are worked out again.
RULES = 2


def render(data: bytes, width: int) -> bytes:
    """`data` (a checked image) scaled to `width` pixels wide as it is shown (EXIF orientation
    applied), as WebP. The first frame of an animation.

    Raises ValidationFailed, before decoding, for a file whose decoding would cost far more
    than its size says (see `check_cost`)."""
    check_cost(data)
    with Image.open(io.BytesIO(data)) as image:
        quarter_turn = image.getexif().get(ORIENTATION, 1) in (5, 6, 7, 8)
        scale = width / (image.height if quarter_turn else image.width)
        if image.format == "JPEG":
            # let the JPEG decoder scale down by 1/2, 1/4 or 1/8 first: far less to decode
            image.draft("RGB", (math.ceil(image.width * scale), math.ceil(image.height * scale)))
        turned = ImageOps.exif_transpose(image)
        scale = width / turned.width
        if turned.mode not in ("RGB", "RGBA"):
            turned = turned.convert("RGBA" if turned.has_transparency_data else "RGB")
        height = max(1, round(turned.height * scale))
        resized = turned.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        out = io.BytesIO()
        resized.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
        return out.getvalue()


class MediaCache:
    """Facts and renditions by blob id, on disk under `folder` and, for facts, in memory."""

    def __init__(self, folder: str, size: int = 4096) -> None:
        self.folder = folder
        self._facts: OrderedDict[str, Facts] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def _dir(self, blob: str) -> str:
        return os.path.join(self.folder, blob[:2], blob)

    def facts(self, blob: str, source: Callable[[], bytes]) -> Facts:
        """What the stored file `blob` is (see `checks.facts`); `source` reads its bytes when
        they are needed, once per blob and machine (and again when the rules change)."""
        found = self.known(blob)
        if found is None:
            found = facts(source())
            self.remember(blob, found)
        return found

    def known(self, blob: str) -> Facts | None:
        """What was found of `blob` under today's rules, in memory or on disk; None when it
        was never checked, or checked under older rules."""
        with self._lock:
            if blob in self._facts:
                self._facts.move_to_end(blob)
                return self._facts[blob]
        try:
            with open(os.path.join(self._dir(blob), "facts.json"), encoding="utf-8") as f:
                kept = json.load(f)
            if kept.get("rules") != RULES:
                return None
            found = Facts(
                ImageInfo(**kept["info"]) if kept["info"] else None,
                kept["sha256"],
                kept["located"],
                kept.get("refused"),
            )
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None
        self._keep(blob, found)
        return found

    def remember(self, blob: str, found: Facts) -> None:
        """Keep what is known of `blob` (on upload, it was just checked)."""
        self._write(
            os.path.join(self._dir(blob), "facts.json"),
            json.dumps(
                {
                    "rules": RULES,
                    "info": asdict(found.info) if found.info else None,
                    "sha256": found.sha256,
                    "located": found.located,
                    "refused": found.refused,
                }
            ).encode(),
        )
        self._keep(blob, found)

    def _keep(self, blob: str, found: Facts) -> None:
        with self._lock:
            self._facts[blob] = found
            self._facts.move_to_end(blob)
            if len(self._facts) > self._size:
                self._facts.popitem(last=False)

    def rendition(self, blob: str, width: int, source: Callable[[], bytes]) -> bytes:
        """The WebP rendition of `blob` at `width`, rendered now if no process has yet (one
        at a time per image and width)."""
        folder = self._dir(blob)
        target = os.path.join(folder, f"{width}.webp")
        try:
            with open(target, "rb") as f:
                return f.read()
        except FileNotFoundError:
            pass
        try:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(target + ".lock", os.O_RDONLY | os.O_CREAT, 0o600)
        except OSError:
            return render(source(), width)  # nowhere to keep it (a read-only disk)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                with open(target, "rb") as f:
                    return f.read()  # another worker made it while this one waited
            except FileNotFoundError:
                pass
            data = render(source(), width)
            self._write(target, data)
            return data
        finally:
            os.close(fd)

    @staticmethod
    def _write(path: str, data: bytes) -> None:
        """Keep `data` at `path` whole or not at all; a cache, so a full or read-only disk
        only means working it out again next time."""
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
