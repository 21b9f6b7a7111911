"""The article store: articles as canonical JSON files in a git repository, one commit per save.

Nothing here knows about HTTP. The store is layered one way:

- `base`: the repository, the index, reading one article, the shared write helpers;
- `reading`: lists, revisions, an article at a revision, diffs;
- `drafts`: the editor's writes to `main`;
- `publishing`: writes to `published` (publish, unpublish, scheduled publication).
"""

from __future__ import annotations

from cms.store.base import CONTENT_README, DEFAULT_COMMITTER
from cms.store.drafts import Drafts
from cms.store.publishing import Publishing

__all__ = ["CONTENT_README", "DEFAULT_COMMITTER", "ArticleStore"]


class ArticleStore(Drafts, Publishing):
    """Articles in the git repository at `path`. Safe to share between threads and processes."""
