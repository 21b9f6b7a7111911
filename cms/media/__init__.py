"""The media library: images stored in the content repository under `media/`.

- `images`: what an acceptable image is (`check_image`), and removing its location.
- `paths`: where a file lives (`media/<sha256[:2]>/<sha256>.<ext>`) and which files an
  article uses.
- `library`: upload, list, read and delete (commits on `main`), what publishing brings along,
  and what delivery adds to an image field.
- `renditions`: resized copies, made once and kept outside the repository.

This package imports nothing from the store, so the schemas and the git gate can use `paths`
and `images` without pulling in the rest.
"""

from __future__ import annotations

from .images import ImageInfo, check_image

__all__ = ["ImageInfo", "check_image"]
