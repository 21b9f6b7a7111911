"""Keeping delivery's index current and complete without making a reader wait on bulk work.

Two kinds of bulk work follow a large push, and both run in this process's background threads
instead of in a reader's request:

- Catching up. A reader's request catches the index up itself when the lines moved by at most
  SMALL commits (a save or an ordinary push: milliseconds), so it sees them at once. When they
  moved by more, it starts the catch-up in a background thread (`Batches`: a batch of commits
  per transaction) and is answered from the state the index has reached, a real and slightly
  older state of the published line. So an article the newest `published` no longer has is
  served only until the catch-up reaches the commit that removed it, never longer.
- Cards and documents. A live file's card (with a generated summary: tens of milliseconds)
  and its whole public JSON are made by the filler thread, a batch per transaction. Until
  then a reader gets a provisional card (`public.quick_card`) worked out on the spot.

`mark()` lets the response cache keep only answers that are final: it is None while this
process catches up in the background, and changes whenever a provisional card was served.

`close()` stops both threads (the filler between two batches) and waits for them: a thread
left running keeps its store, and reopens the `git cat-file` processes `ArticleStore.close`
ended. After it nothing runs in the background any more: a reader catches up itself however
far the lines moved, and provisional cards stay provisional.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from cms.delivery import cards as public
from cms.errors import ArticleNotFound
from cms.git.repository import Tips
from cms.integrity.rules import ARTICLE_MAX_BYTES
from cms.store import ArticleStore

# commits a reader's request catches up with itself; more are caught up in the background
SMALL = 200
# an article file larger than the gate's limit is never delivered nor read whole
MAX_BYTES = ARTICLE_MAX_BYTES
# files whose card and document the filler makes per transaction
FILL_BATCH = 20


class Readiness:
    """This process's background catch-up and filler for one store."""

    def __init__(
        self, store: ArticleStore, *, small: int = SMALL, max_bytes: int = MAX_BYTES
    ) -> None:
        """`max_bytes`: an article file larger than this is never read (not delivered)."""
        self.store = store
        self.index = store.index
        self.small = small
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._catching_up: threading.Thread | None = None
        self._filler: threading.Thread | None = None
        self._wake = threading.Event()
        self._closed = False
        self._provisional = 0

    # -- catching up -----------------------------------------------------------------------

    def current(self, refs: Tips | None = None) -> Tips:
        """Where the lines are as far as the index reflects them, after catching up when that
        is quick (see the module's docstring). `refs`: where the lines point, when the caller
        has just read them."""
        if self.catching_up():
            return self._indexed()
        indexed = self._indexed()
        if refs is None:
            refs = self.store.repo.tips()
        if refs == indexed:
            return indexed
        if self._closed or self.index.batches.lag() <= self.small:
            tips = self.store.catch_up()
            self.wake()
            return tips
        self._start_catching_up()
        return self._indexed()

    def catching_up(self) -> bool:
        """Whether this process is catching up with a large push in the background."""
        thread = self._catching_up
        return thread is not None and thread.is_alive()

    def _indexed(self) -> Tips:
        return self.index.tables.tips()

    def _start_catching_up(self) -> None:
        with self._lock:
            if self.catching_up() or self._closed:
                return
            self._catching_up = threading.Thread(
                target=self._catch_up, daemon=True, name="cms-catch-up"
            )
            self._catching_up.start()

    def _catch_up(self) -> None:
        try:
            self.index.batches.catch_up_in_batches()
        except Exception:  # noqa: BLE001 - a reader's next request catches up itself
            return
        self.wake()

    def mark(self) -> int | None:
        """None while catching up in the background, else a number that changes whenever a
        provisional card is served (an answer made while it stayed the same is final)."""
        return None if self.catching_up() else self._provisional

    # -- cards and documents ---------------------------------------------------------------

    def provisional(self) -> None:
        """Note that an answer carries a provisional card, and have the real one made."""
        self._provisional += 1
        self.wake()

    def wake(self) -> None:
        """Have the filler look for live files without their document."""
        with self._lock:
            if self._closed:
                return
            if self._filler is None or not self._filler.is_alive():
                self._filler = threading.Thread(target=self._fill, daemon=True, name="cms-filler")
                self._filler.start()
        self._wake.set()

    def _fill(self) -> None:
        # two workers of one server fill from opposite ends, so they rarely make the same
        newest_first = os.getpid() % 2 == 1
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            try:
                beyond = None
                while not self._closed:
                    if (beyond := self.fill_batch(newest_first, beyond)) is None:
                        break
            except Exception:  # noqa: BLE001 - a cache: readers work it out meanwhile
                continue

    def close(self) -> None:
        """Stop the filler (after the batch it is making) and wait for it and for a catch-up
        in the background to end; then start neither again (see the module's docstring)."""
        with self._lock:
            self._closed = True
            threads = [t for t in (self._filler, self._catching_up) if t is not None]
        self._wake.set()
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join()

    def fill_batch(
        self, newest_first: bool = True, beyond: int | None = None, size: int = FILL_BATCH
    ) -> int | None:
        """Make and keep the cards and documents of up to `size` live files that lack them,
        walking live articles by id from `beyond`; return the id to go on from, or None
        when there were none left."""
        rows = self.index.states.unfinished(size, newest_first, beyond)
        made: dict[str, tuple[dict[str, Any] | None, str]] = {}
        for _, blob, kept in rows:
            try:
                doc = self.read(blob)
            except ArticleNotFound:
                made[blob] = (None, "")  # kept as never to be delivered
                continue
            card = json.loads(kept) if kept is not None else public.card(doc)
            made[blob] = (card, public.document(doc, card))
        if made:
            self.index.states.keep_documents(made)
        return rows[-1][0] if rows else None

    def read(self, blob: str) -> dict[str, Any]:
        """The fields of an article file; raises ArticleNotFound for one over `max_bytes`
        (never read whole) or that holds no JSON object."""
        repo = self.store.repo
        if repo.size(blob) > self.max_bytes:
            raise ArticleNotFound("That article file is too large to deliver.")
        try:
            doc = json.loads(repo.read(blob))
        except ValueError as e:
            raise ArticleNotFound("That article file holds no article.") from e
        if not isinstance(doc, dict):
            raise ArticleNotFound("That article file holds no article.")
        return doc
