"""Draft preview: the draft line shaped exactly like the delivery API, and signed preview links.

A previewed article is what `Delivery.article` would answer if the draft were live: its public
card (summary, word count, reading time), its body, `published_at` (when it last went live, or
null), `updated_at` and `revision` of the draft, and `previous`/`next` among drafts in the
management list's order (most recently updated first: `next` is the one updated after it).

A preview link is `[slug, expiry, life, epoch]` signed with a key kept in
`<git dir>/cms/preview.key` (made once, mode 0600, shared by every worker). It shows that one
draft as it is when opened, and nothing else:

- `life` is the commit on `main` that created the article in its current life (after its last
  delete). A slug outlives its article: once the article is deleted the link shows nothing
  (404), even when a different draft is created later under the same slug.
- `epoch` is the article's revocation mark when the link was made: revoking (an editor's
  `DELETE .../preview-links`) writes a fresh random mark to `<git dir>/cms/preview-revoked/
  <slug>`, so every link made before answers 410 and links made afterwards work. The mark is
  kept beside the key, outside the history, like every other secret of the server.
- after its expiry the link answers 410.

No Flask here.
"""

from __future__ import annotations

import builtins
import os
import secrets
import threading
import time
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from cms.content.articles import Article
from cms.delivery import cards as public
from cms.errors import ArticleNotFound, Gone, NotFound, StorageUnavailable
from cms.git import private
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
        return {
            "published_at": None if published is None else iso(int(published.timestamp())),
            "updated_at": iso(int(meta["updated_at"].timestamp())),
            "revision": meta["revision"],
        }

    def list(self, *, page: int, per_page: int) -> tuple[builtins.list[dict[str, Any]], int]:
        """One page of drafts, most recently updated first, each as a delivery list item."""
        articles, total = self.store.list(page=page, per_page=per_page, valid=True)
        live = self.store.index.live
        return [
            {**public.card(a.fields), **self._when(a), "translations": live.translations(a.slug)}
            for a in articles
        ], total

    def article(self, slug: str) -> dict[str, Any]:
        """The draft of `slug` as the delivery API would show it; raises ArticleNotFound."""
        draft = self.store.get(slug)
        if "problems" in draft.meta:  # like delivery, nothing of an invalid file is shown
            raise ArticleNotFound(f"The draft of '{slug}' is not a valid article.")
        previous, following = self._neighbours(draft)
        # the translations readers see: the live members of its group
        return {
            **public.card(draft.fields),
            "body": draft.fields.get("body", []),
            **self._when(draft),
            "previous": previous,
            "next": following,
            "translations": self.store.index.live.translations(slug),
        }

    def _neighbours(self, draft: Article) -> tuple[dict[str, str] | None, dict[str, str] | None]:
        """The drafts just before (updated earlier) and after `draft` in the list's order."""
        db = self.store.index.tables.db
        key = {"at": int(draft.meta["updated_at"].timestamp()), "slug": draft.slug}
        before = db.execute(
            "SELECT slug, title FROM articles WHERE problems IS NULL AND (updated_at < :at OR "
            "(updated_at = :at AND slug > :slug)) ORDER BY updated_at DESC, slug LIMIT 1",
            key,
        ).fetchone()
        after = db.execute(
            "SELECT slug, title FROM articles WHERE problems IS NULL AND (updated_at > :at OR "
            "(updated_at = :at AND slug < :slug)) ORDER BY updated_at, slug DESC LIMIT 1",
            key,
        ).fetchone()
        return (
            ({"slug": before[0], "title": before[1]} if before else None),
            ({"slug": after[0], "title": after[1]} if after else None),
        )


class PreviewLinks:
    """Signed, expiring links to one draft in one life of its article, revocable per article."""

    def __init__(self, store: ArticleStore) -> None:
        self.store = store
        git_dir = store.repo.git_dir
        self._signer = URLSafeSerializer(_key(git_dir), salt="cms-preview-link")
        self._marks = os.path.join(git_dir, private.FOLDER, "preview-revoked")

    def make(self, slug: str, lifetime: int) -> tuple[str, int]:
        """Return a link token for the current draft of `slug` and when it expires (seconds
        since the epoch); raises ArticleNotFound."""
        draft = self.store.get(slug)
        life = self._life(slug, draft.meta["revision"])
        if life is None:
            raise ArticleNotFound(f"There is no article '{slug}'.")
        expires = int(time.time()) + lifetime
        return self._signer.dumps([slug, expires, life, self._mark(slug)]), expires

    def article(self, preview: Preview, link: str) -> dict[str, Any]:
        """The draft `link` names, without neighbours (a link shows that one draft only).

        Raises NotFound (not a link of ours, or its article was deleted since) or Gone
        (expired, revoked, or signed before links named their article's life).
        """
        slug, life = self._open(link)
        try:
            shown = preview.article(slug)
        except ArticleNotFound as e:
            raise NotFound("The article of this preview link no longer exists.") from e
        # the life of the very revision read, so a delete and re-create racing this read
        # cannot show the new article through the old link
        if self._life(slug, shown["revision"]) != life:
            raise NotFound("The article of this preview link no longer exists.")
        return {**shown, "previous": None, "next": None}

    def draft(self, link: str) -> Article:
        """The current draft `link` names (for the images it uses); raises NotFound or Gone
        as `article` does."""
        slug, life = self._open(link)
        try:
            draft = self.store.get(slug)
        except ArticleNotFound as e:
            raise NotFound("The article of this preview link no longer exists.") from e
        if self._life(slug, draft.meta["revision"]) != life:
            raise NotFound("The article of this preview link no longer exists.")
        return draft

    def revoke(self, slug: str) -> None:
        """Make every link of `slug` made until now stop working (410); raises
        StorageUnavailable when the mark cannot be written."""
        path = os.path.join(self._marks, slug)
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            os.makedirs(self._marks, mode=0o700, exist_ok=True)
            with open(tmp, "w", encoding="ascii") as f:
                f.write(secrets.token_hex(16))
            os.replace(tmp, path)  # whole or not at all, whichever worker reads it
        except OSError as e:
            raise StorageUnavailable(
                f"The preview links cannot be revoked: {os.strerror(e.errno or 0)}."
            ) from e

    def _open(self, link: str) -> tuple[str, str]:
        """(slug, life) of a valid link; raises NotFound or Gone."""
        try:
            claims = self._signer.loads(link)
        except (BadSignature, ValueError, TypeError) as e:
            raise NotFound("There is no such preview link.") from e
        if not isinstance(claims, list) or not claims or not isinstance(claims[0], str):
            raise NotFound("There is no such preview link.")
        if len(claims) == 2:
            raise Gone(
                "This preview link was made before links were tied to their article "
                "and no longer opens; ask for a new one."
            )
        if (
            len(claims) != 4
            or not isinstance(claims[1], int)
            or not all(isinstance(c, str) for c in claims[2:])
        ):
            raise NotFound("There is no such preview link.")
        slug, expires, life, mark = claims
        if expires <= time.time():
            raise Gone(f"This preview link expired at {iso(expires)}; ask for a new one.")
        if mark != self._mark(slug):
            raise Gone("The preview links of this article were revoked; ask for a new one.")
        return slug, life

    def _mark(self, slug: str) -> str:
        """The article's revocation mark ("" until its links were first revoked)."""
        try:
            with open(os.path.join(self._marks, slug), encoding="ascii") as f:
                return f.read().strip()
        except FileNotFoundError:
            return ""

    def _life(self, slug: str, revision: str) -> str | None:
        """The commit on `main` that began the life of `slug` that `revision` belongs to."""
        return self.store.index.drafts.life_of(slug, revision)


def _key(git_dir: str) -> bytes:
    """The signing key, made on first use; every process reads the same file."""
    path = private.path(git_dir, "preview.key")
    # made whole and on disk before anyone reads it: a key file left empty by a power cut
    # would keep every worker from starting
    private.create_once(path, secrets.token_hex(32).encode())
    with open(path, encoding="ascii") as f:
        key = f.read().strip()
    if key:
        return key.encode()
    raise OSError(f"{path} is empty")
