"""The repository's layout: its two branches, and where an article lives on them.

`articles/<xx>/<slug>.json`, where `xx` is the first two hex digits of the SHA-1 of the slug.
The fan-out keeps every directory tree small (256 folders, a few hundred files each at 100,000
articles), so saving one article rewrites only three small trees. Find a file by hand with
`git log -p -- 'articles/*/<slug>.json'`.
"""

from __future__ import annotations

import hashlib
import re

# the two lines of history: every saved draft, and exactly what frontends see
MAIN, PUBLISHED = "main", "published"
LINES = (MAIN, PUBLISHED)
ROOT = "articles"
_PATH_RE = re.compile(r"^articles/([0-9a-f]{2})/([a-z0-9]+(?:-[a-z0-9]+)*)\.json$")


def shard(slug: str) -> str:
    return hashlib.sha1(slug.encode()).hexdigest()[:2]


def article_path(slug: str) -> str:
    return f"{ROOT}/{shard(slug)}/{slug}.json"


def slug_from_path(path: str) -> str | None:
    """Return the slug an article file holds, or None if the path is not an article's."""
    m = _PATH_RE.match(path)
    if m is None or shard(m.group(2)) != m.group(1):
        return None
    return m.group(2)
