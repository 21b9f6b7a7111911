"""The article store: articles as canonical JSON files in a git repository, one commit per save.

Nothing here knows about HTTP. An `ArticleStore` holds the repository (`repo`), the index
(`index`) and its parts, each a small class that owns its state, and a call names the part it
goes to:

- `reading` (`reading.Reading`): an article, lists, revisions, an article at a revision, diffs;
- `writes` (`base.Writes`): the write helpers every kind of write shares (the write loop, an
  edit of a draft, the check of the revision a writer changes);
- `drafts` (`drafts.Drafts`): the editor's writes to `main`;
- `publishing` (`publishing.Publishing`): writes to `published` (publish, unpublish,
  scheduled publication);
- `translating` (`translating.Translating`): translation groups, stale translations, a
  translation started from its source.

The calls most callers make (`get`, `list`, `count`, `revisions`, `create`, `replace`,
`patch`, `delete`, `publish`, `unpublish`, `publish_due`) are also one-line delegations on the
store itself; the others are called on their part (`store.reading.diff(...)`,
`store.drafts.restore(...)`).
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Self

from cms.content.articles import Article
from cms.content.identity import Person
from cms.content.layout import MAIN, PUBLISHED
from cms.errors import RefMoved
from cms.git.repository import Repository, Tips
from cms.index import CardMaker, Index
from cms.settings import Settings
from cms.store.base import CONTENT_README, DEFAULT_COMMITTER, Writes
from cms.store.drafts import Drafts
from cms.store.merging import Resolution
from cms.store.publishing import Publishing
from cms.store.reading import Reading
from cms.store.translating import Translating

__all__ = ["CONTENT_README", "DEFAULT_COMMITTER", "ArticleStore"]


class ArticleStore:
    """Articles in the git repository at `path`. Safe to share between threads and processes."""

    def __init__(
        self,
        path: str,
        *,
        committer: Person = DEFAULT_COMMITTER,
        durable: bool = False,
        make_card: CardMaker | None = None,
        signing_key: str | None = None,
    ) -> None:
        """`make_card` (see `cms.delivery.cards.card`) lets the index keep the public card of
        what is published as it is indexed; without it, delivery works cards out on first
        read. `signing_key` signs every commit the store makes (see `cms.git.signing`)."""
        self.repo = Repository(path, durable=durable, signing_key=signing_key)
        self.committer = committer
        self.index = Index(self.repo, committer.email, make_card)
        self.reading = Reading(self.repo, self.index)
        self.writes = Writes(self.repo, self.index, committer, self.reading)
        self.drafts = Drafts(self.repo, self.reading, self.writes)
        self.publishing = Publishing(self.repo, self.index, committer, self.reading, self.writes)
        self.translating = Translating(self.reading, self.writes, self.drafts)

    @classmethod
    def open(cls, settings: Settings, *, make_card: CardMaker | None = None) -> Self:
        """The store the settings describe (repository, committer, durability, signing)."""
        return cls(
            settings.repo,
            committer=settings.committer,
            durable=settings.durable,
            make_card=make_card,
            signing_key=settings.signing_key,
        )

    @classmethod
    def init(cls, path: str, **options: Any) -> Self:
        """Create the content repository at `path` if there is none, and return its store."""
        Repository.init(path)
        store = cls(path, **options)
        repo = store.repo
        if repo.ref(MAIN) is None:
            blob = repo.write("blob", CONTENT_README.encode())
            tree = repo.with_file(None, "README.md", blob)
            when = int(time.time())
            sha = repo.commit(
                tree,
                None,
                store.committer,
                store.committer,
                when,
                "Initialize content repository\n",
            )
            try:
                repo.move((MAIN, None, sha), (PUBLISHED, None, sha))
            except RefMoved:
                pass  # another process initialised it first
        return store

    def close(self) -> None:
        """End the git processes the store reads through (`Repository.close`); the store
        stays usable."""
        self.repo.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the write turn and make every write of this thread until the end one batch:
        the same commits, but their objects go into one pack, the branches move once, and
        the index commits once, after git (see `Repository.batch`). Nothing is written if
        the batch raises.

        Raises RefMoved at the end if a branch moved meanwhile outside the CMS."""
        with self.repo.exclusive(), self.index.tables.batch():
            # the index follows the branches from here: a commit of the batch is indexed as
            # it is made, never looked for in git (where it is not yet)
            self.index.catch_up()
            with self.repo.batch():
                yield

    def catch_up(self) -> Tips:
        """Bring the index up to both lines of history; return where they point."""
        return self.index.catch_up()

    # -- the calls most callers make, each handed to its part -----------------------------

    def get(self, slug: str) -> Article:
        """`Reading.get`: the current draft of `slug`."""
        return self.reading.get(slug)

    def list(
        self,
        *,
        page: int = 1,
        per_page: int = 20,
        state: str | None = None,
        section: str | None = None,
        tag: str | None = None,
        q: str | None = None,
        sort: str | None = None,
        valid: bool = False,
    ) -> tuple[builtins.list[Article], int]:
        """`Reading.list`: one page of articles and the total."""
        return self.reading.list(
            page=page,
            per_page=per_page,
            state=state,
            section=section,
            tag=tag,
            q=q,
            sort=sort,
            valid=valid,
        )

    def count(self) -> int:
        """`Reading.count`: how many articles the draft line holds."""
        return self.reading.count()

    def revisions(
        self, slug: str, *, page: int = 1, per_page: int = 20
    ) -> tuple[builtins.list[dict[str, Any]], int]:
        """`Reading.revisions`: one page of the revisions of `slug` and the total."""
        return self.reading.revisions(slug, page=page, per_page=per_page)

    def create(
        self, data: Any, editor: Person, *, may_schedule: bool = False, publish: bool = False
    ) -> Article:
        """`Drafts.create`: a new draft (with `publish`, published in the same write)."""
        return self.drafts.create(data, editor, may_schedule=may_schedule, publish=publish)

    def replace(
        self,
        slug: str,
        data: Any,
        editor: Person,
        expected: Collection[str] | None,
        *,
        may_schedule: bool = False,
        merge: bool = False,
        resolution: Resolution | None = None,
        publish: bool = False,
    ) -> Article:
        """`Drafts.replace`: a new draft of `slug` (with `publish`, published in the same
        write)."""
        return self.drafts.replace(
            slug,
            data,
            editor,
            expected,
            may_schedule=may_schedule,
            merge=merge,
            resolution=resolution,
            publish=publish,
        )

    def patch(
        self,
        slug: str,
        patch: Any,
        editor: Person,
        expected: Collection[str] | None,
        *,
        may_schedule: bool = False,
        merge: bool = False,
    ) -> Article:
        """`Drafts.patch`: a JSON Merge Patch applied to the draft of `slug`."""
        return self.drafts.patch(
            slug, patch, editor, expected, may_schedule=may_schedule, merge=merge
        )

    def delete(self, slug: str, editor: Person, expected: Collection[str] | None) -> None:
        """`Drafts.delete`: `slug` off both lines."""
        self.drafts.delete(slug, editor, expected)

    def publish(
        self,
        slug: str,
        editor: Person,
        *,
        revision: str | None = None,
        publish_at: datetime | None = None,
    ) -> Article:
        """`Publishing.publish`: the draft of `slug` live now, or scheduled."""
        return self.publishing.publish(slug, editor, revision=revision, publish_at=publish_at)

    def unpublish(self, slug: str, editor: Person) -> Article:
        """`Publishing.unpublish`: `slug` withdrawn from delivery."""
        return self.publishing.unpublish(slug, editor)

    def publish_due(self) -> builtins.list[str]:
        """`Publishing.publish_due`: every scheduled draft whose time has come."""
        return self.publishing.publish_due()
