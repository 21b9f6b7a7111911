"""The collection's entries: listing them a page at a time, reading one, saving one, deleting.

`entriesByFolder` answers one page of live articles, newest first (`page`, `per_page`, at most
100), or with `search` the live articles matching it (the delivery API's full-text search, at
most one page): never the whole collection, which at 100,000 articles was 195 MB in one answer.
The workbench's own backend (`/admin/backend.js`) turns the pages into Decap's cursor and its
search into `search`; Decap's stock proxy backend, which sends neither, gets the newest page.

A save is based on the version the form being saved was loaded from: every answer that loads an
entry says its `version` (the draft's blob), the workbench's backend.js keeps it per entry in
that tab and sends it back as the save's `base`. Only a save that sends none (Decap's stock
proxy backend) is based on the version this session last loaded or saved (`Bases`), which any
other tab of the session moves. If someone else saved since the base, the two are merged field
by field (`Prefer: merge`, see docs/editing-together.md), and only a real conflict is refused
(409), never lost.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from cms.content.articles import Article
from cms.content.layout import MAIN, PUBLISHED, article_path
from cms.errors import ArticleNotFound, Conflict, Forbidden, MergeConflict, ValidationFailed
from cms.store.merging import Resolution
from cms.store.workflow import STATUSES
from cms.workbench.base import Action, User, Workbench
from cms.workbench.files import COLLECTION, entry_slug, from_decap
from cms.workbench.params import (
    DeleteFilesParams,
    FilesParams,
    FolderParams,
    Params,
    PathParams,
    PersistParams,
)

Uploads = Callable[[User, dict[str, Any], list[dict[str, Any]]], dict[str, Any]]


class Entries:
    """The actions on entries of the collection."""

    def __init__(self, bench: Workbench, uploads: Uploads) -> None:
        self.bench = bench
        self.store = bench.store
        self.uploads = uploads

    def actions(self) -> dict[str, Action]:
        return {
            "info": (Params, self.info),
            "entriesByFolder": (FolderParams, self.entries_by_folder),
            "entriesByFiles": (FilesParams, self.entries_by_files),
            "getEntry": (PathParams, self.get_entry),
            "persistEntry": (PersistParams, self.persist_entry),
            "deleteFiles": (DeleteFilesParams, self.delete_files),
        }

    def info(self, user: User, params: dict[str, Any]) -> Any:
        return {
            "repo": os.path.basename(self.store.repo.git_dir.rstrip("/")),
            "publish_modes": ["editorial_workflow"],
            "type": "git_cms",
        }

    # -- reading ----------------------------------------------------------------------

    def entries_by_folder(self, user: User, params: dict[str, Any]) -> Any:
        if params["folder"].strip("/") != COLLECTION:
            return []
        self.bench.tips()
        per_page = params["per_page"]
        rows, _ = self.store.index.live.articles(
            q=params.get("search"),
            sort="relevance" if params.get("search") else None,
            limit=per_page,
            offset=0 if params.get("search") else (params["page"] - 1) * per_page,
        )
        return [
            {
                "data": self.bench.raw(row["blob"]),
                "file": {"path": f"{COLLECTION}/{row['slug']}.json", "id": row["blob"]},
            }
            for row in rows
        ]

    def _entry(self, path: str, user: User, label: Any = None) -> dict[str, Any]:
        """Decap's `{data, file}` for a path: the live version, data null when not live."""
        slug = entry_slug(path)
        tips = self.bench.tips()
        found = self.store.reading.file_at(tips[PUBLISHED], slug)
        live = found[0] if found and not found[2] else None  # an invalid file is not live
        draft = self.bench.blob(MAIN, slug, tips)
        self.bench.remember(user, slug, draft)
        return {
            "data": None if live is None else self.bench.raw(live),
            "file": {"path": path, "label": label, "id": live},
            "version": draft,  # ours: the base of this form's save (Decap ignores it)
        }

    def entries_by_files(self, user: User, params: dict[str, Any]) -> Any:
        return [self._entry(f["path"], user, f.get("label")) for f in params["files"]]

    def get_entry(self, user: User, params: dict[str, Any]) -> Any:
        return self._entry(params["path"], user)

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
        doc = from_decap(data["raw"], slug)
        if params["assets"]:
            doc = self.uploads(user, doc, params["assets"])
        found = self.bench.unpublished(slug)
        try:
            current: Article | None = self.store.get(slug)
        except ArticleNotFound:
            current = None
        _check_schedule(user, doc, current)
        resolve = params["options"].get("resolve")
        resolution = Resolution(resolve["etag"].strip('"'), resolve["choices"]) if resolve else None
        # the form's own version wins over the session's memory, which other tabs move
        base = params.get("base") or self.bench.base(user, slug)
        try:
            saved = self._save(user, slug, doc, base, resolution)
        except MergeConflict as e:
            # when each conflicting field was saved, for the notice ("Ann, 7 Dec, 13:09")
            raise MergeConflict(
                e.detail,
                [{**c, "theirs_at": self._date(c.get("theirs_revision"))} for c in e.conflicts],
                e.etag,
            ) from e
        self.bench.remember(user, slug, saved.etag)
        draft_live = self.bench.blob(PUBLISHED, slug, self.bench.tips()) == saved.etag
        if found is None and not draft_live:
            # new unpublished changes: they start in the status Decap asks for (draft)
            status = params["options"].get("status") or "draft"
            self.bench.workflow.set(
                slug,
                status if status in STATUSES else "draft",
                saved.meta["published_revision"],
                user.person,
            )
        answer = {
            "message": "entry persisted",
            "slug": slug,
            "revision": saved.meta["revision"],
            "version": saved.etag,  # the base of this form's next save
        }
        if "merged" in saved.meta:
            # what the workbench says ("merged with Ann's changes") before it reloads the form,
            # which holds this editor's values only
            answer["merged"] = {
                **saved.meta["merged"],
                "theirs_by": self._others(slug, base, saved.meta["revision"]),
            }
        return answer

    def _date(self, revision: Any) -> str | None:
        if not isinstance(revision, str):
            return None
        return self.store.repo.git.git.log("-1", "--format=%aI", revision).strip() or None

    def _others(self, slug: str, base: str | None, merged: str) -> list[str]:
        """Who saved `slug` between the version the form had (`base`, a blob) and the
        merge commit `merged`, latest first: the other side of a merged save."""
        since = self.store.index.drafts.revision_with(slug, [base] if base else [])
        if since is None:
            return []
        out = self.store.repo.git.git.log(
            "--first-parent", "--format=%an", f"{since}..{merged}^1", "--", article_path(slug)
        )
        return list(dict.fromkeys(out.splitlines()))

    def _save(
        self,
        user: User,
        slug: str,
        doc: dict[str, Any],
        base: str | None,
        resolution: Resolution | None = None,
    ) -> Article:
        """Create or replace the draft, against `base`, the version the form was loaded from;
        a conflict shown before is answered by `resolution`."""
        exists = self.bench.blob(MAIN, slug, self.bench.tips()) is not None
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
            slug,
            doc,
            user.person,
            {base},
            may_schedule=user.is_editor,
            merge=True,
            resolution=resolution,
        )

    def delete_files(self, user: User, params: dict[str, Any]) -> Any:
        if not user.is_editor:
            raise Forbidden("Deleting needs the editor role.")
        slugs = [entry_slug(p, f"params.paths.{i}") for i, p in enumerate(params["paths"])]
        for slug in slugs:
            blob = self.bench.blob(MAIN, slug, self.bench.tips())
            if blob is None:
                raise ArticleNotFound(f"There is no article '{slug}'.")
            base = self.bench.base(user, slug)
            self.store.delete(slug, user.person, {base or blob})
        return {"message": f"deleted {', '.join(slugs)}"}


def _check_schedule(user: User, doc: dict[str, Any], current: Article | None) -> None:
    before = current.fields.get("publish_at") if current else None
    if not user.is_editor and doc.get("publish_at") != before:
        raise Forbidden(
            "Setting or changing publish_at needs the editor role.",
            {"publish_at": ["Needs the editor role."]},
        )
