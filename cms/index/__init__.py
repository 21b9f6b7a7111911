"""A derived index of the content repository, in SQLite beside it (`<git dir>/cms/index.sqlite`).

It answers what git answers slowly at scale (an article's revisions on both lines of history,
who created it and when, what is live, lists with filters and full-text search) and is only
ever a function of git (see `catch_up`). Delete the file and it is rebuilt. Every process
opens it; SQLite's locking makes them agree.

An `Index` is made of parts, each a small class over the same `Tables`, and a call names the
part it goes to (`index.live.articles(...)`, `index.tables.batch()`):

- `tables` (`tables.Tables`): the schema, connections and transactions, and the tips the
  index reflects;
- `writer` (`catch_up.CatchUp`): reading commits into the tables (`index.catch_up()` is its
  `catch_up`);
- `batches` (`batches.Batches`): catching up with a large push in short transactions;
- `drafts` (`drafts.DraftQueries`): the draft line and history, for editors;
- `live` (`live.LiveQueries`): the published line, for frontends;
- `states` (`states.StateQueries`): the published line as of one of its commits (sync), the
  sitemap, and the kept public documents;
- `cards` (`cards.CardCache`): the cache of public cards (worked out by a function the index
  is given).
"""

from __future__ import annotations

from cms.git.repository import Repository, Tips
from cms.index.batches import Batches
from cms.index.cards import CardCache
from cms.index.catch_up import CatchUp
from cms.index.drafts import DraftQueries
from cms.index.live import LiveQueries
from cms.index.states import StateQueries
from cms.index.tables import CardMaker, Tables

__all__ = ["CardMaker", "Index"]


class Index:
    """The whole index of the repository `repo`, made of its parts."""

    def __init__(
        self, repo: Repository, committer_email: str, make_card: CardMaker | None = None
    ) -> None:
        """`committer_email` is the CMS's own (its commits are told from others' by it);
        `make_card`, when given, works out the cards of what is published as it is indexed
        (without it, delivery works them out on first read)."""
        self.tables = Tables(repo.git_dir)
        self.writer = CatchUp(self.tables, repo, committer_email, make_card)
        self.batches = Batches(self.tables, repo, self.writer)
        self.drafts = DraftQueries(self.tables)
        self.live = LiveQueries(self.tables)
        self.states = StateQueries(self.tables)
        self.cards = CardCache(self.tables)

    def catch_up(self) -> Tips:
        """Bring the index up to both lines of history; return where they point."""
        return self.writer.catch_up()
