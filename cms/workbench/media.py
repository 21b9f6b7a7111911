"""The media library's actions (`getMedia`, `getMediaFile`, `persistMedia`), and the images
Decap sends along with an entry, which are uploaded when the entry is saved.

A file is sent to Decap as its proxy backend wants it: its bytes in base64, its path (the
content address, which is what an image field holds) and its name, the names it was uploaded
under (what Decap's media library shows and searches). `getMedia` sends a page of the library
with small thumbnails as their bytes (the protocol has no URLs), within a budget per answer.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
from dataclasses import dataclass
from typing import Any

from cms.content.articles import validate as validate_article_fields
from cms.content.media_paths import digest_of, media_path
from cms.errors import NotFound, ValidationFailed
from cms.store.media import MediaFile, MediaLibrary
from cms.workbench.base import Action, User
from cms.workbench.files import repointed
from cms.workbench.params import MediaParams, PathParams, PersistMediaParams
from cms.workbench.preview import stand_in

# Decap's proxy backend shows a library file only from base64 `content` (it ignores a `url`),
# so getMedia sends each file of a page as a small thumbnail, never its original's bytes:
THUMBNAIL_WIDTH = 320  # a WebP rendition as wide as this (one of cms.media.renditions.WIDTHS)
THUMBNAIL_MAX_BYTES = 96 * 1024  # a file this small is its own thumbnail; a bigger one is none
MEDIA_ANSWER_BYTES = 4 * 1024 * 1024  # base64 of thumbnails per answer; the rest come blank
MEDIA_RENDERS = 8  # thumbnails an answer makes (each decodes an original); the rest come blank
_FLAT_MEDIA = re.compile(r"media/([0-9a-f]{64})\.(jpg|png|webp|gif)")


class Media:
    """The media actions, on the library (None: a server without one)."""

    def __init__(self, media: MediaLibrary | None) -> None:
        self.media = media

    def actions(self) -> dict[str, Action]:
        return {
            "getMedia": (MediaParams, self.get_media),
            "getMediaFile": (PathParams, self.get_media_file),
            "persistMedia": (PersistMediaParams, self.persist_media),
        }

    def uploads(
        self, user: User, doc: dict[str, Any], assets: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Upload the images Decap sends with an entry (in editorial mode it holds them until
        the entry is saved) and point the entry at their library paths. The entry is checked
        first, so an invalid one uploads nothing."""
        files = {}
        for i, asset in enumerate(assets):
            files[asset["path"].lstrip("/")] = _decoded(asset, f"params.assets.{i}")
        validate_article_fields(repointed(doc, {path: stand_in(path) for path in files}))
        library = self._library()
        alts = _alt_texts(doc)
        stored = {
            path: library.upload(data, user.person, posixpath.basename(path), alts.get(path)).path
            for path, data in files.items()
        }
        return repointed(doc, stored)

    def _library(self) -> MediaLibrary:
        if self.media is None:
            raise ValidationFailed(
                "This server has no media library: give images as http(s) URLs.",
                {"params.assets": ["Not available."]},
            )
        return self.media

    def _sent(self, file: MediaFile, data: bytes) -> dict[str, Any]:
        """A file as Decap's proxy backend reads one, `data` (its bytes, or a thumbnail, or
        nothing) as its base64 `content`."""
        # the names it was uploaded under: what Decap's media library shows and searches
        name = ", ".join(file.described.names) or posixpath.basename(file.path)
        return {
            "id": digest_of(file.path),
            "name": name,
            "path": file.path,
            "content": base64.b64encode(data).decode("ascii"),
            "encoding": "base64",
        }

    def _thumbnail(self, file: MediaFile, budget: _Budget) -> bytes:
        """A small picture of `file` for Decap's library: the file itself when it is no bigger
        than THUMBNAIL_MAX_BYTES, else its THUMBNAIL_WIDTH-wide WebP rendition (made once and
        kept, see `cms.media.renditions`); b"" when there is none to send (too big, or not
        made within `budget`)."""
        library = self._library()
        if file.size <= THUMBNAIL_MAX_BYTES:
            return library.original(file.blob)

        def original() -> bytes:  # read only when the rendition is not made yet
            if budget.renders <= 0:
                raise _Deferred
            budget.renders -= 1
            return library.original(file.blob)

        try:
            data = library.cache.rendition(file.blob, THUMBNAIL_WIDTH, original)
        except _Deferred:
            return b""
        except (OSError, ValueError):
            return b""  # a shape WebP cannot hold (over 16,383 pixels tall at this width)
        return data if len(data) <= THUMBNAIL_MAX_BYTES else b""

    def _listed(self, file: MediaFile, budget: _Budget) -> dict[str, Any]:
        sent = self._sent(file, self._thumbnail(file, budget))
        if len(sent["content"]) > budget.chars:
            sent["content"] = ""
        budget.chars -= len(sent["content"])
        return sent

    def get_media(self, user: User, params: dict[str, Any]) -> Any:
        """One page of the library in path order, each file with a thumbnail while the
        answer's budget lasts (MEDIA_ANSWER_BYTES, MEDIA_RENDERS), blank after it; [] past
        the last page."""
        if self.media is None:
            return []
        files, _ = self.media.list(page=params["page"], per_page=params["perPage"])
        budget = _Budget(MEDIA_ANSWER_BYTES, MEDIA_RENDERS)
        return [self._listed(f, budget) for f in files if not f.problems]

    def get_media_file(self, user: User, params: dict[str, Any]) -> Any:
        path = params["path"].lstrip("/")
        flat = _FLAT_MEDIA.fullmatch(path)
        if flat:
            # Decap looks a file up as media_folder + its base name, without our `xx/` folder
            path = media_path(flat.group(1), flat.group(2))
        file = self._library().get(path) if self.media else None
        if file is None or file.problems:
            raise NotFound(f"There is no media file {path[:100]}.")
        return self._sent(file, self._library().original(file.blob))

    def persist_media(self, user: User, params: dict[str, Any]) -> Any:
        asset = params["asset"]
        data = _decoded(asset, "params.asset")
        stored = self._library().upload(data, user.person, posixpath.basename(asset["path"]))
        # what Decap shows in its library for the new file; made now, kept for getMedia
        return self._sent(stored, self._thumbnail(stored, _Budget(MEDIA_ANSWER_BYTES, 1)))


@dataclass
class _Budget:
    """What one answer may still spend: base64 characters of thumbnails, and renders."""

    chars: int
    renders: int


class _Deferred(Exception):
    """A thumbnail not made: the answer's renders are spent."""


def _decoded(asset: dict[str, Any], field: str) -> bytes:
    """The bytes of an asset Decap sends (base64); raises ValidationFailed."""
    if asset.get("encoding", "base64") != "base64":
        raise ValidationFailed(
            "Assets are sent as base64.", {f"{field}.encoding": ["Must be base64."]}
        )
    try:
        return base64.b64decode(asset["content"], validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValidationFailed(
            "An asset's content is not base64.", {f"{field}.content": ["Not valid base64."]}
        ) from e


def _alt_texts(doc: dict[str, Any]) -> dict[str, str]:
    """The alt text the entry gives each image it names (the lead image, image blocks)."""
    body = doc.get("body")
    images = [doc.get("image"), *(body if isinstance(body, list) else [])]
    return {
        i["src"].lstrip("/"): i["alt"]
        for i in images
        if isinstance(i, dict) and isinstance(i.get("src"), str) and isinstance(i.get("alt"), str)
    }
