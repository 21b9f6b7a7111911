"""Previews from the workbench: the preview pane's article, and Decap's "View Preview" link.

The preview pane (`/admin/preview.js`) sends the entry as Decap holds it while it is being
edited; `render` answers it as the delivery API would show it (summary, word count, reading
time). An image picked in this entry but not uploaded yet has no library path: it is checked
in a stand-in's place and answered under the name Decap gave it, which the pane resolves
through Decap (that is where its bytes are until the entry is saved).

`getDeployPreview` answers, for an entry with unpublished changes, a fresh preview link opened
in the preview frontend (Decap's "View Live" for a live entry comes from the configuration's
`site_url` and `preview_path`, see `config`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from cms.content.articles import validate as validate_article_fields
from cms.content.media_paths import EXTENSIONS, is_media_path, media_path
from cms.delivery import cards as public
from cms.errors import ValidationFailed
from cms.workbench.base import Action, User, Workbench
from cms.workbench.files import editing, repointed
from cms.workbench.params import EntryParams

# slug -> Decap's {"url", "status"} for a preview of its draft
PreviewUrl = Callable[[str], dict[str, Any]]


class Previews:
    """The preview pane's article and `getDeployPreview`."""

    def __init__(self, bench: Workbench, preview_url: PreviewUrl | None) -> None:
        self.bench = bench
        self.preview_url = preview_url

    def actions(self) -> dict[str, Action]:
        return {"getDeployPreview": (EntryParams, self.deploy_preview)}

    def deploy_preview(self, user: User, params: dict[str, Any]) -> Any:
        slug = self.bench.key(params)
        if self.preview_url is None or self.bench.unpublished(slug) is None:
            return None
        return self.preview_url(slug)

    def render(self, data: Any) -> dict[str, Any]:
        """An entry as Decap holds it while being edited, shaped as the delivery API would show
        it, for the preview pane; while it is not a valid article yet, `{"errors": {field:
        [messages]}}` instead (an entry being written is not a bad request). Raises
        ValidationFailed when `data` is not an object."""
        if not isinstance(data, dict):
            raise ValidationFailed(
                "Send the entry's fields as a JSON object.", {"_schema": ["Must be a JSON object."]}
            )
        doc = editing(data)
        pending = stand_ins(doc)
        try:
            valid = validate_article_fields(repointed(doc, pending))
        except ValidationFailed as e:
            return {"errors": e.errors or {}}
        shown = repointed(valid, {path: name for name, path in pending.items()})
        return {**public.card(shown), "body": shown.get("body", [])}


def stand_ins(value: Any) -> dict[str, str]:
    """A library path to stand in for each image of `value` named `media/...` that is not in
    the library yet (a new upload, by its name in Decap), one path each."""
    found: dict[str, str] = {}

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for v in item.values():
                walk(v)
        elif isinstance(item, list):
            for v in item:
                walk(v)
        elif (
            isinstance(item, str)
            and item.lstrip("/").startswith("media/")
            and (not is_media_path(item.lstrip("/")))
        ):
            found[item.lstrip("/")] = stand_in(item.lstrip("/"))

    walk(value)
    return found


def stand_in(name: str) -> str:
    """A library path for an image named `name` that is not uploaded yet (its own for each
    name, so the names can be put back)."""
    ext = name.rsplit(".", 1)[-1].lower()
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
    return media_path(digest, ext if ext in EXTENSIONS else "png")
