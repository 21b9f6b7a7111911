"""The media library: upload, list, read and delete images in the content repository, serve
the published ones, and describe them in delivered articles. No Flask here.

Every upload is one commit on `main` (action `upload`) authored by the uploader, written like
every other write (objects first, then a compare-and-swap of the branch); the same bytes twice
are the same path and make no second commit. Files reach `published` with the first article
that uses them (see `usage.to_publish`), and only files there are served publicly. The names
files were uploaded under, and their alt text, are kept beside them (`media_names`).
"""

from __future__ import annotations

import builtins
import hashlib
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cms.content.identity import Person
from cms.content.layout import MAIN, PUBLISHED
from cms.content.media_paths import ROOT, digest_of, is_media_path, media_path
from cms.content.messages import SUBJECT_MAX
from cms.errors import BadRequest, Conflict, MediaNotFound, PayloadTooLarge, StorageUnavailable
from cms.git.objects import MODE_TREE
from cms.git.repository import Repository, Tips, blob_id
from cms.media.checks import Facts
from cms.media.images import ImageInfo, check_image, without_location
from cms.media.renditions import CONTENT_TYPE as RENDITION_TYPE
from cms.media.renditions import WIDTHS, MediaCache
from cms.media.usage import live_users
from cms.store.commits import Step
from cms.store.media_names import NOBODY, Described, MediaNames, checked_alt, clean_name

if TYPE_CHECKING:
    from cms.store import ArticleStore

DEFAULT_MAX_BYTES = 20 * 1000 * 1000


class GitStorage:
    """Where media bytes are kept: as blobs in the content repository itself.

    This is the seam for moving media out of git (see the README, "Media"): a backend that
    writes the bytes to object storage, or to a git LFS server, would return the id of a small
    pointer blob from `put`, and fetch the real bytes in `get` and their size in `size`; paths,
    commits, publishing and renditions stay as they are.
    """

    def __init__(self, repo: Repository) -> None:
        self.repo = repo

    def put(self, data: bytes) -> str:
        """Store `data`; return the id of the blob that goes into the tree."""
        return self.repo.write("blob", data)

    def id_of(self, data: bytes) -> str:
        """The id `put` returns for `data`, without storing it."""
        return blob_id(data)

    def get(self, blob: str) -> bytes:
        """The bytes of the file whose tree entry is `blob`."""
        return self.repo.read(blob)

    def size(self, blob: str) -> int:
        """How many bytes the file whose tree entry is `blob` has, without reading it."""
        return self.repo.git.odb.info(bytes.fromhex(blob)).size


@dataclass(frozen=True)
class MediaFile:
    """A stored file: its path, blob id, size in bytes, what it is, and whether it is live."""

    path: str
    blob: str
    size: int
    info: ImageInfo | None
    published: bool
    problems: dict[str, list[str]]
    described: Described = NOBODY

    def to_dict(self, base_url: str) -> dict[str, Any]:
        """The file as the management API shows it; `base_url` is the server's public root."""
        width, height = self.info.display_size if self.info else (None, None)
        names = self.described.names
        return {
            "path": self.path,
            "url": f"{base_url}/{self.path}",
            "name": names[0] if names else None,
            "names": list(names),
            "alt": self.described.alt,
            "content_type": self.info.content_type if self.info else None,
            "bytes": self.size,
            "width": width,
            "height": height,
            "sha256": digest_of(self.path),
            "published": self.published,
            **({"problems": self.problems} if self.problems else {}),
        }


class MediaLibrary:
    """The images of the repository behind `store`."""

    def __init__(
        self,
        store: ArticleStore,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        storage: GitStorage | None = None,
    ) -> None:
        self.store = store
        self.repo = store.repo
        self.max_bytes = max_bytes
        self.storage = storage or GitStorage(store.repo)
        self.cache = MediaCache(f"{store.repo.git_dir}/cms/renditions")
        self.names = MediaNames(store.repo, store.committer)

    # -- writing ---------------------------------------------------------------------

    def upload(
        self, data: bytes, uploader: Person, filename: str | None = None, alt: str | None = None
    ) -> MediaFile:
        """Check `data`, remove its location, and commit it on `main` unless the same file is
        there already (bytes already stored and checked are not decoded again); keep
        `filename` among its names and `alt` as its alt text. Returns the stored file.

        Raises PayloadTooLarge, UnsupportedMediaType, ValidationFailed (see `check_image`;
        `alt`), StorageUnavailable.
        """
        alt = checked_alt(alt)
        if len(data) > self.max_bytes:
            raise PayloadTooLarge(
                f"The file is {len(data):,} bytes; the limit is {self.max_bytes:,}.",
                {"file": [f"Larger than {self.max_bytes:,} bytes."]},
            )
        digest = hashlib.sha256(data).hexdigest()
        known = self.cache.known(self.storage.id_of(data))
        if (
            known is not None
            and known.info is not None
            and not known.located
            and (known.sha256 == digest)
        ):
            info, stored = known.info, data  # stored before: checked then, not decoded again
        else:
            info = check_image(data)
            stored = without_location(data, info)
            if stored is not data:
                info = check_image(stored)  # the rewritten file must still decode
                digest = hashlib.sha256(stored).hexdigest()
        path = media_path(digest, info.ext)
        try:
            blob = self.storage.put(stored)
        except OSError as e:
            raise StorageUnavailable(
                f"The media file cannot be stored: {os.strerror(e.errno or 0)}."
            ) from e
        self.cache.remember(blob, Facts(info, digest, False))
        message = _message("Upload", "upload", path, info, filename)

        def plan(tips: Tips) -> list[Step] | None:
            if self.repo.lookup(tips[MAIN], path) == blob:
                return None
            return [Step(MAIN, path, "upload", blob=blob, path=path, message=message)]

        self.store.writes.write(uploader, plan)
        self.names.add(path, clean_name(filename), alt, uploader)
        return MediaFile(
            path,
            blob,
            len(stored),
            info,
            self.repo.lookup(self.repo.ref(PUBLISHED), path) == blob,
            {},
            self.names.of(path),
        )

    def delete(self, path: str, editor: Person) -> None:
        """Remove `path` from `main`, and from `published` if it is there, in one atomic move.

        Raises MediaNotFound, or Conflict while a live article uses it.
        """

        def plan(tips: Tips) -> list[Step]:
            on_main = self.repo.lookup(tips[MAIN], path)
            live = self.repo.lookup(tips[PUBLISHED], path)
            if on_main is None and live is None:
                raise MediaNotFound(f"There is no media file '{path}'.")
            users = [
                u
                for u in live_users(self.repo, tips[PUBLISHED], path)
                if self.repo.lookup(tips[MAIN], u) is not None
            ]
            if users:
                names = ", ".join(u.rsplit("/", 1)[1].removesuffix(".json") for u in users)
                raise Conflict(
                    f"'{path}' is used by published articles: {names}. "
                    "Unpublish them or change their images first.",
                    {"path": [f"Used by published articles: {names}."]},
                )
            info = self.cache.facts(
                on_main or live or "", lambda: self.storage.get(on_main or live or "")
            ).info
            message = _message("Delete", "delete", path, info)
            steps = []
            if live is not None:
                # withdrawn first: a crash between the two moves leaves an unpublished file
                steps.append(
                    Step(PUBLISHED, path, "delete", remove=True, path=path, message=message)
                )
            if on_main is not None:
                steps.append(Step(MAIN, path, "delete", remove=True, path=path, message=message))
            return steps

        self.store.writes.write(editor, plan)

    # -- reading ---------------------------------------------------------------------

    def list(
        self, *, page: int = 1, per_page: int = 20, q: str | None = None
    ) -> tuple[builtins.list[MediaFile], int]:
        """One page of the files on `main`, in path order (with `q`, those whose names or alt
        text hold every word of it), and how many there are."""
        tips = self.repo.tips()
        main, published = tips.main, tips.published
        files = self._files(main)
        named = self.names.every()
        if q is not None and q.strip():
            files = [(p, b) for p, b in files if named.get(p, NOBODY).matches(q)]
        chosen = files[(page - 1) * per_page : page * per_page]
        return [
            self._file(path, blob, published, named.get(path, NOBODY)) for path, blob in chosen
        ], len(files)

    def get(self, path: str) -> MediaFile:
        """The file at `path` on `main` (or, deleted there, still live); raises MediaNotFound."""
        tips = self.repo.tips()
        published = tips.published
        blob = self.repo.lookup(tips.main, path) or self.repo.lookup(published, path)
        if blob is None:
            raise MediaNotFound(f"There is no media file '{path}'.")
        return self._file(path, blob, published, self.names.of(path))

    def live(self, path: str) -> tuple[str, ImageInfo]:
        """The blob and facts of a published file; raises MediaNotFound for anything else (a
        draft's file, a file that got into git without meeting the rules of an upload)."""
        blob = self.repo.lookup(self.repo.ref(PUBLISHED), path)
        info = self._info(blob, path) if blob else None
        if blob is None or info is None:
            raise MediaNotFound(f"There is no published media file '{path}'.")
        return blob, info

    def original(self, blob: str) -> bytes:
        return self.storage.get(blob)

    def rendition(self, blob: str, info: ImageInfo, width: Any) -> tuple[bytes, str, str] | None:
        """(bytes, content type, ETag) of the rendition `width` pixels wide, or None when the
        original is what to send (it is no wider, or it is an animation).

        Raises BadRequest for a width not in the fixed list.
        """
        if not isinstance(width, str) or not width.isdigit() or int(width) not in WIDTHS:
            raise BadRequest(
                f"Widths are {', '.join(map(str, WIDTHS))}.",
                {"w": [f"Must be one of {', '.join(map(str, WIDTHS))}."]},
            )
        chosen = int(width)
        if info.frames > 1 or chosen >= info.display_size[0]:
            return None
        data = self.cache.rendition(blob, chosen, lambda: self.storage.get(blob))
        return data, RENDITION_TYPE, f"{blob}-w{chosen}"

    def delivered(self, item: dict[str, Any], base_url: str) -> dict[str, Any]:
        """`item` (a delivered article or card) with each image that names a stored file
        pointing at its public URL, with `width`, `height` and `srcset`."""
        image, body = item.get("image"), item.get("body")
        blocks = body if isinstance(body, builtins.list) else []
        if not (isinstance(image, dict) and is_media_path(image.get("src"))) and not any(
            isinstance(b, dict) and is_media_path(b.get("src")) for b in blocks
        ):
            return item
        published = self.repo.ref(PUBLISHED)
        out = dict(item)
        if isinstance(image, dict):
            out["image"] = self._described(image, published, base_url)
        if blocks:
            out["body"] = [
                self._described(b, published, base_url)
                if isinstance(b, dict) and b.get("type") == "image"
                else b
                for b in blocks
            ]
        return out

    def _described(
        self, image: dict[str, Any], published: str | None, base_url: str
    ) -> dict[str, Any]:
        src = image.get("src")
        if not isinstance(src, str) or not is_media_path(src):
            return image
        url = f"{base_url}/{src}"
        described = {**image, "src": url}
        blob = self.repo.lookup(published, src)
        info = self._info(blob, src) if blob else None
        if info is not None:
            width, height = info.display_size
            smaller = [w for w in WIDTHS if w < width] if info.frames == 1 else []
            described.update(
                width=width,
                height=height,
                srcset=", ".join([f"{url}?w={w} {w}w" for w in smaller] + [f"{url} {width}w"]),
            )
        return described

    def _files(self, commit: str | None) -> builtins.list[tuple[str, str]]:
        """(path, blob) of every well-formed media path on `commit`, in path order."""
        root = self.repo.root_tree(commit).get(ROOT)
        if root is None or root[0] != MODE_TREE:
            return []
        found = []
        folders = self.repo.tree(root[1])
        for folder in sorted(folders):
            mode, sha = folders[folder]
            if mode != MODE_TREE:
                continue
            for name, (kind, blob) in sorted(self.repo.tree(sha).items()):
                path = f"{ROOT}/{folder}/{name}"
                if kind != MODE_TREE and is_media_path(path):
                    found.append((path, blob.hex()))
        return found

    def _file(
        self, path: str, blob: str, published: str | None, described: Described = NOBODY
    ) -> MediaFile:
        found = self._facts(blob)
        return MediaFile(
            path,
            blob,
            self.storage.size(blob),
            found.info,
            self.repo.lookup(published, path) == blob,
            found.problems(path),
            described,
        )

    def _facts(self, blob: str) -> Facts:
        return self.cache.facts(blob, lambda: self.storage.get(blob))

    def _info(self, blob: str, path: str) -> ImageInfo | None:
        """What the file at `path` is, or None when it must not be served (see `checks`)."""
        found = self._facts(blob)
        return None if found.problems(path) else found.info


_PRINTABLE = re.compile(r"[^\w.\- ]+")


def _message(
    verb: str, action: str, path: str, info: ImageInfo | None, filename: str | None = None
) -> str:
    """`Upload image 1f2e3d4c5b6a.jpg (1200x800), from harbour.jpg` and its trailers."""
    subject = f"{verb} image {digest_of(path)[:12]}.{path.rsplit('.', 1)[1]}"
    if info is not None:
        subject += " ({}x{})".format(*info.display_size)
    name = _PRINTABLE.sub("", (filename or "").rsplit("/", 1)[-1]).strip()
    if name and len(subject) + len(name) + 7 <= SUBJECT_MAX:
        subject += f", from {name}"
    return f"{subject}\n\nMedia: {path}\nAction: {action}\n"
