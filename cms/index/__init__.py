"""A derived index of the content repository, in SQLite beside it (`<git dir>/cms/index.sqlite`).

It answers what git answers slowly at scale (an article's revisions on both lines of history,
who created it and when, what is live, lists with filters and full-text search) and is only
ever a function of git (see `catch_up`). Delete the file and it is rebuilt. Every process
opens it; SQLite's locking makes them agree.

- `tables`: the schema, connections and transactions;
- `catch_up`: reading commits into the tables;
- `drafts`: the draft line and history, for editors;
- `live`: the published line, for frontends;
- `cards`: the cache of public cards (worked out by a function the index is given);
- `states`: the published line as of one of its commits (sync), the sitemap, and the kept
  public documents;
- `batches`: catching up with a large push in short transactions.
"""

from __future__ import annotations

from cms.index.batches import Batches
from cms.index.cards import CardCache
from cms.index.drafts import DraftQueries
from cms.index.live import LiveQueries
from cms.index.states import StateQueries
from cms.index.tables import CardMaker

__all__ = ["CardMaker", "Index"]


class Index(Batches, DraftQueries, LiveQueries, StateQueries, CardCache):
    """The whole index: built with `Index(repo, committer_email, make_card)`."""
