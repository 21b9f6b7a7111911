"""Decap CMS's proxy-backend protocol (`{"action", "params"}`) mapped onto the article store.

What Decap sees: one folder collection `articles`, each entry a file `articles/<slug>.json`
(see `files`), whatever the real layout. The actions are answered by parts, one job each:
`entries` (the collection: list, read, save, delete), `workflow` (unpublished entries, their
statuses, publishing and discarding), `preview` (the preview pane and "View Preview") and
`media` (the media library). No Flask here; every refusal is a CMSError with a 4xx status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema

from cms.errors import BadRequest, ValidationFailed
from cms.store import ArticleStore
from cms.store.media import MediaLibrary
from cms.store.workflow import Workflow
from cms.workbench.base import Bases, User, Workbench
from cms.workbench.entries import Entries
from cms.workbench.media import Media
from cms.workbench.params import load
from cms.workbench.preview import Previews, PreviewUrl
from cms.workbench.workflow import Unpublished

__all__ = ["Bases", "DecapBackend", "User"]


class DecapBackend:
    """Answers Decap's proxy-backend actions from the article store."""

    def __init__(
        self,
        store: ArticleStore,
        workflow: Workflow,
        preview_url: PreviewUrl | None = None,
        media: MediaLibrary | None = None,
    ) -> None:
        self.store = store
        bench = Workbench(store, workflow)
        self.previews = Previews(bench, preview_url)
        media_actions = Media(media)
        self.actions: dict[str, tuple[type[Schema], Callable[..., Any]]] = {
            **Entries(bench, media_actions.uploads).actions(),
            **Unpublished(bench).actions(),
            **self.previews.actions(),
            **media_actions.actions(),
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

    def render(self, data: Any) -> dict[str, Any]:
        """The preview pane's article (see `preview.Previews.render`)."""
        return self.previews.render(data)
