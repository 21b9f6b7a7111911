"""Decap CMS's proxy-backend protocol (`{"action", "params"}`) mapped onto the article store.

What Decap sees: one folder collection `articles`, each entry a file `articles/<slug>.json`
holding the article's fields but `slug` (the file name is the slug), whatever the real layout.
Decap's editorial workflow maps onto the two lines of history:

- an entry of the collection (`entriesByFolder`, `getEntry`) is a live article as published;
- an unpublished entry is an article whose draft on `main` differs from what is live (a new
  draft, or changes to a live article); its status is kept by `workflow.Workflow`;
- `persistEntry` saves the draft through the store (same validation, one commit authored by
  the signed-in person); `publishUnpublishedEntry` publishes it (editor, status "ready" only);
  `deleteUnpublishedEntry` discards the draft changes (editor): the live version is restored
  as the draft, or a never-published draft is deleted.

A save is checked against the version of the article this session last loaded or saved
(`Bases`): if someone else saved in between, it is refused (412), never merged or lost.
No Flask here; every refusal is a CMSError with a 4xx status.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema

from cms.content import canonical, layout
from cms.content.articles import Article
from cms.content.articles import validate as validate_article_fields
from cms.content.identity import Person
from cms.content.layout import MAIN, PUBLISHED
from cms.content.media_paths import digest_of, is_media_path, media_path
from cms.delivery import cards as public
from cms.errors import ArticleNotFound, BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from cms.git.repository import Tips
from cms.store import ArticleStore
from cms.store.media import MediaFile, MediaLibrary
from cms.store.workflow import STATUSES, Workflow
from cms.times import rfc3339
from cms.workbench.params import (
    DeleteFilesParams,
    EntryFileParams,
    EntryParams,
    FilesParams,
    FolderParams,
    MediaParams,
    Params,
    PathParams,
    PersistMediaParams,
    PersistParams,
    StatusParams,
    UnpublishedEntryParams,
    load,
)

COLLECTION = "articles"
_ENTRY_PATH = re.compile(r"^articles/([a-z0-9]+(?:-[a-z0-9]+)*)\.json$")
UNPUBLISHED_PAGE = 100
# Decap's proxy backend shows a library file only from base64 `content` (it ignores a `url`),
# so getMedia sends each file of a page as a small thumbnail, never its original's bytes:
THUMBNAIL_WIDTH = 320  # a WebP rendition as wide as this (one of cms.media.renditions.WIDTHS)
THUMBNAIL_MAX_BYTES = 96 * 1024  # a file this small is its own thumbnail; a bigger one is none
MEDIA_ANSWER_BYTES = 4 * 1024 * 1024  # base64 of thumbnails per answer; the rest come blank
MEDIA_RENDERS = 8  # thumbnails an answer makes (each decodes an original); the rest come blank
# stands in for an image not uploaded yet while an entry is checked before any upload
_PLACEHOLDER = media_path("0" * 64, "png")
_FLAT_MEDIA = re.compile(r"media/([0-9a-f]{64})\.(jpg|png|webp|gif)")


@dataclass
class User:
    """Who is calling: the commit author, whether they may publish, and their session's
    memory of what they loaded (None for a caller without a session)."""

    person: Person
    is_editor: bool
    bases: Bases | None


@dataclass
class Bases:
    """Per session: the draft blob of each article as the session last loaded or saved it."""

    remember: Callable[[str, str | None], None]
    base: Callable[[str], str | None]


# -- parameters -------------------------------------------------------------------------


# -- the protocol -----------------------------------------------------------------------


class DecapBackend:
    """Answers Decap's proxy-backend actions from the article store."""

    def __init__(
        self,
        store: ArticleStore,
        workflow: Workflow,
        preview_url: Callable[[str], dict[str, Any] | None] | None = None,
        media: MediaLibrary | None = None,
    ) -> None:
        self.store = store
        self.workflow = workflow
        self.preview_url = preview_url
        self.media = media
        self.actions: dict[str, tuple[type[Schema], Callable[..., Any]]] = {
            "info": (Params, self.info),
            "entriesByFolder": (FolderParams, self.entries_by_folder),
            "entriesByFiles": (FilesParams, self.entries_by_files),
            "getEntry": (PathParams, self.get_entry),
            "unpublishedEntries": (Params, self.unpublished_entries),
            "unpublishedEntry": (UnpublishedEntryParams, self.unpublished_entry),
            "unpublishedEntryDataFile": (EntryFileParams, self.unpublished_entry_data_file),
            "unpublishedEntryMediaFile": (EntryFileParams, self.unpublished_entry_media_file),
            "updateUnpublishedEntryStatus": (StatusParams, self.update_status),
            "publishUnpublishedEntry": (EntryParams, self.publish),
            "deleteUnpublishedEntry": (EntryParams, self.discard),
            "persistEntry": (PersistParams, self.persist_entry),
            "deleteFiles": (DeleteFilesParams, self.delete_files),
            "getMedia": (MediaParams, self.get_media),
            "getMediaFile": (PathParams, self.get_media_file),
            "persistMedia": (PersistMediaParams, self.persist_media),
            "getDeployPreview": (EntryParams, self.deploy_preview),
            # Decap asks for these in editorial mode and copes when there are none
            "getNotes": (EntryParams, lambda user, p: {"notes": []}),
            "getPRMetadata": (EntryParams, lambda user, p: {"metadata": None}),
        }

    def handle(self, body: Any, user: User) -> Any:
        """Run one `{action, params}` request; return what Decap expects back.

        Raises BadRequest (no action), ValidationFailed (unknown action, bad params),
        NotFound, Forbidden, Conflict, StaleRevision as the action requires.
        """
        if not isinstance(body, dict) or not isinstance(body.get("action"), str):
            raise BadRequest(
                'Send {"action": "...", "params": {...}}.', {"action": ["Missing or not a string."]}
            )
        action = body["action"]
        if action not in self.actions:
            raise ValidationFailed(
                f"Unknown action {action[:50]!r}.",
                {"action": [f"Must be one of: {', '.join(self.actions)}."]},
            )
        schema, run = self.actions[action]
        return run(user, load(schema, body.get("params", {})))

    # -- reading ----------------------------------------------------------------------

    def info(self, user: User, params: dict[str, Any]) -> Any:
        return {
            "repo": os.path.basename(self.store.repo.git_dir.rstrip("/")),
            "publish_modes": ["editorial_workflow"],
            "type": "git_cms",
        }

    def _tips(self) -> Tips:
        return self.store.catch_up()

    def _blob(self, line: str, slug: str, tips: Tips) -> str | None:
        return self.store.repo.lookup(tips[line], layout.article_path(slug))

    def _raw(self, blob: str) -> str:
        """The file as Decap sees it: the article's fields but `slug`, canonical JSON."""
        doc = json.loads(self.store.repo.read(blob))
        if isinstance(doc, dict):
            doc = {k: v for k, v in doc.items() if k != "slug"}
        return canonical.dumps(doc).decode("utf-8")

    def _entry(self, path: str, user: User, label: Any = None) -> dict[str, Any]:
        """Decap's `{data, file}` for a path: the live version, data null when not live."""
        slug = entry_slug(path)
        tips = self._tips()
        found = self.store.reading.file_at(tips[PUBLISHED], slug)
        live = found[0] if found and not found[2] else None  # an invalid file is not live
        self._remember(user, slug, self._blob(MAIN, slug, tips))
        return {
            "data": None if live is None else self._raw(live),
            "file": {"path": path, "label": label, "id": live},
        }

    def _remember(self, user: User, slug: str, blob: str | None) -> None:
        if user.bases is not None:
            user.bases.remember(slug, blob)

    def entries_by_folder(self, user: User, params: dict[str, Any]) -> Any:
        if params["folder"].strip("/") != COLLECTION:
            return []
        self._tips()
        live = self.store.index.live.blobs()
        return [
            {"data": self._raw(blob), "file": {"path": f"{COLLECTION}/{slug}.json", "id": blob}}
            for slug, blob in sorted(live.items())
        ]

    def entries_by_files(self, user: User, params: dict[str, Any]) -> Any:
        return [self._entry(f["path"], user, f.get("label")) for f in params["files"]]

    def get_entry(self, user: User, params: dict[str, Any]) -> Any:
        return self._entry(params["path"], user)

    def _unpublished(self, slug: str) -> tuple[Article, str | None] | None:
        """The draft of `slug` and its live blob, when they differ; else None."""
        try:
            draft = self.store.get(slug)
        except ArticleNotFound:
            return None
        live = self._blob(PUBLISHED, slug, self._tips())
        return None if live == draft.etag else (draft, live)

    def unpublished_entries(self, user: User, params: dict[str, Any]) -> Any:
        keys = []
        for state in ("draft", "changed", "scheduled"):
            page = 1
            while True:
                articles, total = self.store.list(page=page, per_page=UNPUBLISHED_PAGE, state=state)
                keys += [f"{COLLECTION}/{a.slug}" for a in articles]
                if page * UNPUBLISHED_PAGE >= total:
                    break
                page += 1
        return keys

    def _key(self, params: dict[str, Any], by_id: bool = False) -> str:
        """The slug an unpublished entry's parameters name (`id` is "articles/<slug>" where
        `by_id`, a file's id elsewhere); raises NotFound."""
        collection, slug = params.get("collection"), params.get("slug")
        if by_id and params.get("id"):
            collection, _, slug = params["id"].partition("/")
        if (
            collection != COLLECTION
            or not slug
            or not layout.slug_from_path(layout.article_path(slug))
        ):
            raise NotFound(f"There is no unpublished entry {collection}/{slug}.")
        return slug

    def unpublished_entry(self, user: User, params: dict[str, Any]) -> Any:
        slug = self._key(params, by_id=True)
        found = self._unpublished(slug)
        if found is None:
            raise NotFound(f"'{slug}' has no unpublished changes.")
        draft, live = found
        path = f"{COLLECTION}/{slug}.json"
        return {
            "collection": COLLECTION,
            "slug": slug,
            "status": self.workflow.status(slug, draft.meta["published_revision"]),
            "diffs": [
                {
                    "path": path,
                    "newFile": live is None,
                    "id": draft.etag,
                    "status": "added" if live is None else "modified",
                    "oldPath": path,
                    "newPath": path,
                    "binary": False,
                }
            ],
            "updatedAt": rfc3339(draft.meta["updated_at"]),
            "pullRequestAuthor": draft.meta["updated_by"]["name"],
        }

    def unpublished_entry_data_file(self, user: User, params: dict[str, Any]) -> Any:
        slug = self._key(params)
        if entry_slug(params["path"]) != slug:
            raise ValidationFailed(
                "The path is not this entry's file.",
                {"params.path": [f"Expected {COLLECTION}/{slug}.json."]},
            )
        draft = self.store.get(slug)
        if "problems" in draft.meta:
            raise ValidationFailed(
                f"The draft of '{slug}' is not a valid article; repair it (PUT through the "
                "API) or delete it.",
                draft.meta["problems"],
            )
        self._remember(user, slug, draft.etag)
        return {"data": self._raw(draft.etag)}

    def unpublished_entry_media_file(self, user: User, params: dict[str, Any]) -> Any:
        raise NotFound(f"No media file {params['path'][:100]} belongs to this entry.")

    def deploy_preview(self, user: User, params: dict[str, Any]) -> Any:
        slug = self._key(params)
        if self.preview_url is None or self._unpublished(slug) is None:
            return None
        return self.preview_url(slug)

    # -- writing ----------------------------------------------------------------------

    def persist_entry(self, user: User, params: dict[str, Any]) -> Any:
        files = params.get("dataFiles") or ([params["entry"]] if params.get("entry") else [])
        if not files:
            raise ValidationFailed(
                "Send the entry's data file.",
                {"params.dataFiles": ["Missing data for required field."]},
            )
        if not params["options"].get("useWorkflow", True):
            raise ValidationFailed(
                "This workbench uses the editorial workflow (publish_mode: editorial_workflow).",
                {"params.options.useWorkflow": ["Must be true."]},
            )
        data = files[0]
        slug = entry_slug(data["path"], "params.dataFiles.0.path")
        if data.get("newPath") not in (None, data["path"]):
            raise ValidationFailed(
                "An article's slug cannot be changed.",
                {"params.dataFiles.0.newPath": ["Cannot be changed."]},
            )
        doc = _document(data["raw"], slug)
        if params["assets"]:
            doc = self._with_uploads(user, doc, params["assets"])
        found = self._unpublished(slug)
        try:
            current: Article | None = self.store.get(slug)
        except ArticleNotFound:
            current = None
        self._check_schedule(user, doc, current)
        saved = self._save(user, slug, doc)
        self._remember(user, slug, saved.etag)
        draft_live = self._blob(PUBLISHED, slug, self._tips()) == saved.etag
        if found is None and not draft_live:
            # new unpublished changes: they start in the status Decap asks for (draft)
            status = params["options"].get("status") or "draft"
            self.workflow.set(
                slug,
                status if status in STATUSES else "draft",
                saved.meta["published_revision"],
                user.person,
            )
        return {"message": "entry persisted", "slug": slug, "revision": saved.meta["revision"]}

    def _with_uploads(
        self, user: User, doc: dict[str, Any], assets: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Upload the images Decap sends with an entry (in editorial mode it holds them until
        the entry is saved) and point the entry at their library paths. The entry is checked
        first, so an invalid one uploads nothing."""
        files = {}
        for i, asset in enumerate(assets):
            files[asset["path"].lstrip("/")] = _decoded(asset, f"params.assets.{i}")
        validate_article_fields(_repointed(doc, dict.fromkeys(files, _PLACEHOLDER)))
        library = self._library()
        stored = {
            path: library.upload(data, user.person, posixpath.basename(path)).path
            for path, data in files.items()
        }
        return _repointed(doc, stored)

    def _library(self) -> MediaLibrary:
        if self.media is None:
            raise ValidationFailed(
                "This server has no media library: give images as http(s) URLs.",
                {"params.assets": ["Not available."]},
            )
        return self.media

    def _check_schedule(self, user: User, doc: dict[str, Any], current: Article | None) -> None:
        before = current.fields.get("publish_at") if current else None
        if not user.is_editor and doc.get("publish_at") != before:
            raise Forbidden(
                "Setting or changing publish_at needs the editor role.",
                {"publish_at": ["Needs the editor role."]},
            )

    def _save(self, user: User, slug: str, doc: dict[str, Any]) -> Article:
        """Create or replace the draft, against the version this session loaded."""
        exists = self._blob(MAIN, slug, self._tips()) is not None
        base = user.bases.base(slug) if user.bases is not None else None
        if not exists:
            if base:
                raise Conflict(
                    f"'{slug}' was deleted since you loaded it.", {"slug": ["Deleted meanwhile."]}
                )
            return self.store.create(
                {**doc, "slug": slug}, user.person, may_schedule=user.is_editor
            )
        if not base:
            raise Conflict(
                f"An article '{slug}' exists already; open it to change it, or "
                "choose another title.",
                {"slug": ["An article with this slug exists."]},
            )
        # always merged: another editor's save since this session loaded the entry merges
        # with this one field by field (silently), and only a real conflict is refused
        return self.store.replace(
            slug, doc, user.person, {base}, may_schedule=user.is_editor, merge=True
        )

    def update_status(self, user: User, params: dict[str, Any]) -> Any:
        slug = self._key(params)
        found = self._unpublished(slug)
        if found is None:
            raise NotFound(f"'{slug}' has no unpublished changes.")
        self.workflow.set(
            slug, params["newStatus"], found[0].meta["published_revision"], user.person
        )
        return {"message": f"{slug} is now {params['newStatus']}"}

    def publish(self, user: User, params: dict[str, Any]) -> Any:
        slug = self._key(params)
        if not user.is_editor:
            raise Forbidden("Publishing needs the editor role.")
        found = self._unpublished(slug)
        if found is None:
            raise NotFound(f"'{slug}' has no unpublished changes.")
        draft = found[0]
        if self.workflow.status(slug, draft.meta["published_revision"]) != "pending_publish":
            raise Conflict(
                f"'{slug}' is not ready: move it to Ready before publishing.",
                {"status": ["Must be pending_publish."]},
            )
        self.store.publish(slug, user.person, revision=draft.meta["revision"])
        self.workflow.clear(slug, user.person, "published")
        return {"message": f"{slug} published"}

    def discard(self, user: User, params: dict[str, Any]) -> Any:
        slug = self._key(params)
        if not user.is_editor:
            raise Forbidden("Discarding changes needs the editor role.")
        found = self._unpublished(slug)
        if found is None:
            raise NotFound(f"'{slug}' has no unpublished changes.")
        draft = found[0]
        if draft.meta["published_revision"] is None:
            self.store.delete(slug, user.person, {draft.etag})
        else:
            self.store.drafts.restore(
                slug,
                draft.meta["published_revision"],
                user.person,
                {draft.etag},
                may_schedule=user.is_editor,
            )
        self.workflow.clear(slug, user.person, "changes discarded")
        return {"message": f"unpublished changes of {slug} discarded"}

    def delete_files(self, user: User, params: dict[str, Any]) -> Any:
        if not user.is_editor:
            raise Forbidden("Deleting needs the editor role.")
        slugs = [entry_slug(p, f"params.paths.{i}") for i, p in enumerate(params["paths"])]
        for slug in slugs:
            blob = self._blob(MAIN, slug, self._tips())
            if blob is None:
                raise ArticleNotFound(f"There is no article '{slug}'.")
            base = user.bases.base(slug) if user.bases is not None else None
            self.store.delete(slug, user.person, {base or blob})
        return {"message": f"deleted {', '.join(slugs)}"}

    def render(self, data: Any) -> dict[str, Any]:
        """An entry as Decap holds it while being edited, shaped as the delivery API would show
        it (summary, word count, reading time), for the preview pane; while it is not a valid
        article yet, `{"errors": {field: [messages]}}` instead (an entry being written is
        not a bad request). Raises ValidationFailed when `data` is not an object."""
        if not isinstance(data, dict):
            raise ValidationFailed(
                "Send the entry's fields as a JSON object.", {"_schema": ["Must be a JSON object."]}
            )
        # an image uploaded in this entry but not saved yet has no library path: it stands in
        doc = _repointed(_pruned(data), _Pending())
        try:
            doc = validate_article_fields(doc)
        except ValidationFailed as e:
            return {"errors": e.errors or {}}
        return {**public.card(doc), "body": doc.get("body", [])}

    # -- media: the media library (cms.media), files as Decap's proxy backend sends them ----

    def _sent(self, file: MediaFile, data: bytes) -> dict[str, Any]:
        """A file as Decap's proxy backend reads one, `data` (its bytes, or a thumbnail, or
        nothing) as its base64 `content`."""
        return {
            "id": digest_of(file.path),
            "name": posixpath.basename(file.path),
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


def entry_slug(path: str, field: str = "params.path") -> str:
    """The slug of an entry file `articles/<slug>.json`; raises ValidationFailed."""
    m = _ENTRY_PATH.fullmatch(path)
    if m is None or len(m.group(1)) > 120:
        raise ValidationFailed(
            f"{path[:100]!r} is not an article entry.",
            {field: [f"Must be {COLLECTION}/<slug>.json."]},
        )
    return m.group(1)


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


class _Pending(dict[str, str]):
    """Every `media/...` name that is not a library path maps to a placeholder path."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return _PLACEHOLDER if key.startswith("media/") and not is_media_path(key) else default


def _repointed(value: Any, paths: dict[str, str]) -> Any:
    """`value` with every string naming an uploaded asset (`media/photo.jpg`, with or without a
    leading slash) replaced by where the library stored it."""
    if isinstance(value, dict):
        return {k: _repointed(v, paths) for k, v in value.items()}
    if isinstance(value, list):
        return [_repointed(v, paths) for v in value]
    if isinstance(value, str):
        return paths.get(value.lstrip("/"), value)
    return value


def _pruned(value: Any) -> Any:
    """`value` without the empty strings, nulls, empty lists and objects Decap's widgets leave
    behind for fields nobody filled in (the article has no such values: they are absent)."""
    if isinstance(value, dict):
        pruned = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in ("", None, [], {})}
    if isinstance(value, list):
        return [_pruned(v) for v in value if v not in ("", None)]
    return value


def _document(raw: str, slug: str) -> dict[str, Any]:
    """The article an entry file holds; raises ValidationFailed (not an object, other slug)."""
    try:
        data = canonical.parse_body(raw.encode("utf-8"))
    except BadRequest as e:
        raise ValidationFailed(
            f"The entry is not valid JSON: {e.detail}",
            {"params.dataFiles.0.raw": ["Not valid JSON."]},
        ) from e
    if not isinstance(data, dict):
        raise ValidationFailed(
            "The entry must be a JSON object.",
            {"params.dataFiles.0.raw": ["Must be a JSON object."]},
        )
    doc = _pruned(data)
    if doc.get("slug", slug) != slug:
        raise ValidationFailed(
            "An article's slug is its file name.",
            {"slug": [f"Must be {slug} (the entry's file name)."]},
        )
    doc.pop("slug", None)
    return doc
