"""What an acceptable media file is, below the store:

- `images`: what an acceptable image is (`check_image`, `check_cost`), and removing its
  location (`without_location`).
- `jpeg`, `png`, `webp`, `gif`: each format's containers walked, its metadata without location;
  `metadata`: what those containers hold (EXIF, XMP, text, Photoshop resources, raw profiles).
- `checks`: the rules for media files that arrive around the API (a push), for the gate.
- `usage`: which media files an article takes along when it is published.
- `renditions`: resized copies, made once and kept outside the repository.

Where a file lives is `cms.content.media_paths`; the library that uploads, lists and deletes
(commits on `main`) is `cms.store.media`. This package imports the foundations, `cms.content`
and `cms.git` only, so the schemas, the index and the git gate can use it.
"""

from __future__ import annotations

from cms.media.images import ImageInfo, check_image

__all__ = ["ImageInfo", "check_image"]
