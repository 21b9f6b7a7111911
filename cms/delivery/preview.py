"""Draft preview: the draft line shaped exactly like the delivery API, and signed preview links.

A previewed article is what `Delivery.article` would answer if the draft were live: its public
card (summary, word count, reading time), its body, `published_at` (when it last went live, or
null), `updated_at` and `revision` of the draft, and `previous`/`next` among drafts in the
management list's order (most recently updated first: `next` is the one updated after it).

A preview link is `<slug>.<expiry>` signed with a key kept in `<git dir>/cms/preview.key`
(made once, mode 0600, shared by every worker). It shows that one draft as it is when opened,
and nothing else; after its expiry it is refused. No Flask here.
"""

from __future__ import annotations

import builtins
import os
import secrets
import time
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from cms.content.articles import Article
from cms.delivery import cards as public
from cms.errors import ArticleNotFound, Gone, NotFound
from cms.store import ArticleStore
from cms.times import iso

DEFAULT_LINK_LIFETIME = 7 * 24 * 3600
MAX_LINK_LIFETIME = 366 * 24 * 3600


class Preview:
    """Read-only views of the draft line, shaped like the delivery API."""

    def __init__(self, store: ArticleStore) -> None:
        self.store = store

    @staticmethod
    def _when(article: Article) -> dict[str, Any]:
        meta = article.meta
        published = meta["published_at"]
        return {"published_at": None if published is None else iso(int(published.timestamp())),
                "updated_at": iso(int(meta["updated_at"].timestamp())),
                "revision": meta["revision"]}

    def list(self, *, page: int, per_page: int) -> tuple[builtins.list[dict[str, Any]], int]:
        """One page of drafts, most recently updated first, each as a delivery list item."""
        articles, total = self.store.list(page=page, per_page=per_page, valid=True)
        return [{**public.card(a.fields), **self._when(a)} for a in articles], total

    def article(self, slug: str) -> dict[str, Any]:
        """The draft of `slug` as the delivery API would show it; raises ArticleNotFound."""
        draft = self.store.get(slug)
        if "problems" in draft.meta:  # like delivery, nothing of an invalid file is shown
            raise ArticleNotFound(f"The draft of '{slug}' is not a valid article.")
        previous, following = self._neighbours(draft)
        return {**public.card(draft.fields), "body": draft.fields.get("body", []),
                **self._when(draft), "previous": previous, "next": following}

    def _neighbours(self, draft: Article) -> tuple[dict[str, str] | None, dict[str, str] | None]:
        """The drafts just before (updated earlier) and after `draft` in the list's order."""
        db = self.store.index.tables.db
        key = {"at": int(draft.meta["updated_at"].timestamp()), "slug": draft.slug}
        before = db.execute(
            "SELECT slug, title FROM articles WHERE problems IS NULL AND (updated_at < :at OR "
            "(updated_at = :at AND slug > :slug)) ORDER BY updated_at DESC, slug LIMIT 1",
            key).fetchone()
        after = db.execute(
            "SELECT slug, title FROM articles WHERE problems IS NULL AND (updated_at > :at OR "
            "(updated_at = :at AND slug < :slug)) ORDER BY updated_at, slug DESC LIMIT 1",
            key).fetchone()
        return (({"slug": before[0], "title": before[1]} if before else None),
                ({"slug": after[0], "title": after[1]} if after else None))


class PreviewLinks:
    """Signed, expiring links to one draft."""

    def __init__(self, git_dir: str) -> None:
        self._signer = URLSafeSerializer(_key(git_dir), salt="cms-preview-link")

    def make(self, slug: str, lifetime: int) -> tuple[str, int]:
        """Return a link token for `slug` and when it expires (seconds since the epoch)."""
        expires = int(time.time()) + lifetime
        return self._signer.dumps([slug, expires]), expires

    def open(self, link: str) -> str:
        """Return the slug a link names; raises NotFound (not a link of ours) or Gone
        (expired)."""
        try:
            slug, expires = self._signer.loads(link)
        except (BadSignature, ValueError, TypeError) as e:
            raise NotFound("There is no such preview link.") from e
        if not isinstance(slug, str) or not isinstance(expires, int):
            raise NotFound("There is no such preview link.")
        if expires <= time.time():
            raise Gone(f"This preview link expired at {iso(expires)}; ask for a new one.")
        return slug

    @staticmethod
    def article(preview: Preview, slug: str) -> dict[str, Any]:
        """The linked draft, without neighbours (a link shows that one draft only)."""
        try:
            shown = preview.article(slug)
        except ArticleNotFound as e:
            raise NotFound("The article of this preview link no longer exists.") from e
        return {**shown, "previous": None, "next": None}


def _key(git_dir: str) -> bytes:
    """The signing key, made on first use; every process reads the same file."""
    path = os.path.join(git_dir, "cms", "preview.key")
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    for _ in range(100):  # another process may be between creating and writing it
        with open(path, encoding="ascii") as f:
            key = f.read().strip()
        if key:
            return key.encode()
        time.sleep(0.01)
    raise OSError(f"{path} is empty")
