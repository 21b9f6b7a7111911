"""Decap's editorial workflow mapped onto the two lines of history.

An unpublished entry is an article whose draft on `main` differs from what is live (a new
draft, or changes to a live article); its status is kept by `cms.store.workflow.Workflow` on
the branch `cms/workflow`. `publishUnpublishedEntry` publishes it (editor, status "ready"
only); `deleteUnpublishedEntry` discards the draft changes (editor): the live version is
restored as the draft, or a never-published draft is deleted.

The workflow board lists the UNPUBLISHED_LISTED most recently updated articles with unpublished
changes (Decap then asks for every one of them, one request each, and it loads them when the
workbench opens): a bounded board, not every draft of an archive.
"""

from __future__ import annotations

from typing import Any

from cms.errors import Conflict, Forbidden, NotFound, ValidationFailed
from cms.times import rfc3339
from cms.workbench.base import Action, User, Workbench
from cms.workbench.files import COLLECTION, entry_slug
from cms.workbench.params import (
    EntryFileParams,
    EntryParams,
    Params,
    StatusParams,
    UnpublishedEntryParams,
)

UNPUBLISHED_LISTED = 200


class Unpublished:
    """The actions on unpublished entries."""

    def __init__(self, bench: Workbench) -> None:
        self.bench = bench
        self.store = bench.store

    def actions(self) -> dict[str, Action]:
        return {
            "unpublishedEntries": (Params, self.unpublished_entries),
            "unpublishedEntry": (UnpublishedEntryParams, self.unpublished_entry),
            "unpublishedEntryDataFile": (EntryFileParams, self.unpublished_entry_data_file),
            "unpublishedEntryMediaFile": (EntryFileParams, self.unpublished_entry_media_file),
            "updateUnpublishedEntryStatus": (StatusParams, self.update_status),
            "publishUnpublishedEntry": (EntryParams, self.publish),
            "deleteUnpublishedEntry": (EntryParams, self.discard),
            # Decap asks for these in editorial mode and copes when there are none
            "getNotes": (EntryParams, lambda user, p: {"notes": []}),
            "getPRMetadata": (EntryParams, lambda user, p: {"metadata": None}),
        }

    def unpublished_entries(self, user: User, params: dict[str, Any]) -> Any:
        slugs = self.store.reading.unpublished(UNPUBLISHED_LISTED)
        return [f"{COLLECTION}/{slug}" for slug in slugs]

    def unpublished_entry(self, user: User, params: dict[str, Any]) -> Any:
        slug = self.bench.key(params, by_id=True)
        found = self.bench.unpublished(slug)
        if found is None:
            raise NotFound(f"'{slug}' has no unpublished changes.")
        draft, live = found
        path = f"{COLLECTION}/{slug}.json"
        return {
            "collection": COLLECTION,
            "slug": slug,
            "status": self.bench.workflow.status(slug, draft.meta["published_revision"]),
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
        slug = self.bench.key(params)
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
        self.bench.remember(user, slug, draft.etag)
        # `version` is ours: the base of this form's save (Decap reads `data` only)
        return {"data": self.bench.raw(draft.etag), "version": draft.etag}

    def unpublished_entry_media_file(self, user: User, params: dict[str, Any]) -> Any:
        raise NotFound(f"No media file {params['path'][:100]} belongs to this entry.")

    def update_status(self, user: User, params: dict[str, Any]) -> Any:
        slug = self.bench.key(params)
        found = self.bench.unpublished(slug)
        if found is None:
            raise NotFound(f"'{slug}' has no unpublished changes.")
        self.bench.workflow.set(
            slug, params["newStatus"], found[0].meta["published_revision"], user.person
        )
        return {"message": f"{slug} is now {params['newStatus']}"}

    def publish(self, user: User, params: dict[str, Any]) -> Any:
        slug = self.bench.key(params)
        if not user.is_editor:
            raise Forbidden("Publishing needs the editor role.")
        found = self.bench.unpublished(slug)
        if found is None:
            raise NotFound(f"'{slug}' has no unpublished changes.")
        draft = found[0]
        status = self.bench.workflow.status(slug, draft.meta["published_revision"])
        if status != "pending_publish":
            raise Conflict(
                f"'{slug}' is not ready: move it to Ready before publishing.",
                {"status": ["Must be pending_publish."]},
            )
        self.store.publish(slug, user.person, revision=draft.meta["revision"])
        self.bench.workflow.clear(slug, user.person, "published")
        return {"message": f"{slug} published"}

    def discard(self, user: User, params: dict[str, Any]) -> Any:
        slug = self.bench.key(params)
        if not user.is_editor:
            raise Forbidden("Discarding changes needs the editor role.")
        found = self.bench.unpublished(slug)
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
        self.bench.workflow.clear(slug, user.person, "changes discarded")
        return {"message": f"unpublished changes of {slug} discarded"}
