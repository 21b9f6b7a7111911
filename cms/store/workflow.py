"""The editorial workflow's statuses (draft, in review, ready), kept in git on their own branch.

Branch `cms/workflow` holds one file, `workflow.json`: `{slug: {"status", "live"}}` for each
article with unpublished changes whose status someone set. Each change of status is one commit
authored by the editor who made it, subject `Move <slug> to <status>` (or `Clear workflow of
<slug>` once it is published or its changes are discarded), with trailers `Article: <slug>` and
`Workflow-Status: <status>`, so `git log -p cms/workflow` is the workflow's history.

`live` is the article's published revision when the status was set: a status set before the
article was last published (by any route) belongs to changes that are live now, so it no
longer counts, and the article's new changes start again as `draft`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from cms.content.identity import Person
from cms.errors import StorageUnavailable
from cms.git.refs import RefMoved
from cms.git.repository import Repository

BRANCH = "cms/workflow"
PATH = "workflow.json"
STATUSES = ("draft", "pending_review", "pending_publish")
MAX_ATTEMPTS = 200


class Workflow:
    """Workflow statuses of articles, read from and committed to `cms/workflow`."""

    def __init__(self, repo: Repository, committer: Person) -> None:
        self.repo = repo
        self.committer = committer

    def _read(self, tip: str | None) -> dict[str, dict[str, Any]]:
        blob = self.repo.lookup(tip, PATH) if tip else None
        if blob is None:
            return {}
        try:
            data = json.loads(self.repo.read(blob))
        except ValueError:
            return {}  # hand-edited into nonsense: every article starts again as a draft
        return data if isinstance(data, dict) else {}

    def status(self, slug: str, live: str | None) -> str:
        """The status of the unpublished changes of `slug`, whose published revision is
        `live` (None: never published); `draft` when none was set for these changes."""
        record = self._read(self.repo.ref(BRANCH)).get(slug)
        if (
            isinstance(record, dict)
            and record.get("live") == live
            and (record.get("status") in STATUSES)
        ):
            return str(record["status"])
        return "draft"

    def set(self, slug: str, status: str, live: str | None, author: Person) -> None:
        """Record `status` for the current changes of `slug` (no commit if it is already)."""
        assert status in STATUSES
        self._change(
            slug, {"status": status, "live": live}, author, f"Move {slug} to {status}", status
        )

    def clear(self, slug: str, author: Person, why: str) -> None:
        """Forget the status of `slug` (its changes were published or discarded)."""
        self._change(slug, None, author, f"Clear workflow of {slug}: {why}", "none")

    def _change(
        self, slug: str, record: dict[str, Any] | None, author: Person, subject: str, status: str
    ) -> None:
        for _ in range(MAX_ATTEMPTS):
            with self.repo.exclusive():
                tip = self.repo.ref(BRANCH)
                data = self._read(tip)
                if data.get(slug) == record:
                    return
                if record is None:
                    data.pop(slug, None)
                else:
                    data[slug] = record
                body = (
                    json.dumps(dict(sorted(data.items())), indent=2, ensure_ascii=False) + "\n"
                ).encode()
                tree = self.repo.with_file(tip, PATH, self.repo.write("blob", body))
                message = f"{subject[:72]}\n\nArticle: {slug}\nWorkflow-Status: {status}\n"
                sha = self.repo.commit(tree, tip, author, self.committer, int(time.time()), message)
                try:
                    self.repo.move((BRANCH, tip, sha))
                except RefMoved:
                    continue  # a plain-git writer moved it: read again and redo
                return
        raise StorageUnavailable("Too many concurrent writes; try again.")
