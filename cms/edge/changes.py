"""The keys whose answers a span of commits changed, read from git and the index.

For the commits on `published` after one state up to another (first parents, as the index
reads them), each article file they touched is read in every version the span holds (the one
before it, and each commit's), and:

- its own key, `sync` and `feed` go, and the keys of every list each version is on (the
  lists it entered, left, moved or changed in: `keys.listed_in`);
- when it came in (or back): the pages of the articles before and after it now, which show
  it as `previous`/`next` from now on (one that showed it before carries its key already, so
  an edit or a removal needs nothing more);
- the sitemap: an article that only changed is in one file, found by its place in the
  sitemap's order; articles that came in are at its end (the last files and the index); one
  that went away, even for a commit, moves every article after it, so every sitemap file goes.
- its translation group: when it came, went, or changed its title, language or the group
  it is in, the other live members show it differently (`translations` on their pages and
  list cards, hreflang links in the sitemap): their pages, every list each is on, and every
  sitemap file go.

Media files a commit added to or removed from `published` are purged by path. On `main`, a
commit that adds or removes an article still on `published` hides or shows it (see the index's
`withdrawn`), which counts as that article going away and coming back.

Every version counts, not only the first and the last: a cache may have fetched an answer made
at any commit in between. The neighbours and the sitemap's places are read in one state of the
index, the one the span ends at. A span the index's lines do not descend from (a force push),
or one changing more than `max_keys` keys, gives `all`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gitdb.util import hex_to_bin

from cms.content import layout, media_paths
from cms.content.layout import MAIN, PUBLISHED
from cms.edge import keys
from cms.git import rawcommit
from cms.git.objects import MODE_TREE, Tree
from cms.git.repository import Repository, Tips
from cms.index import Index
from cms.integrity.rules import ARTICLE_MAX_BYTES

# past this many changed articles in one span, their sitemap places are not looked up one by
# one (a count each): every sitemap file goes
SITEMAP_LOOKUPS = 50
# spans of up to this many commits are read in-process (see `_commits`)
IN_PROCESS = 200
# what one commit changed: path -> (whether the file was there before, its blob now or None)
Changes = dict[str, tuple[bool, str | None]]


@dataclass
class _Article:
    path: str
    blobs: list[str | None] = field(default_factory=list)  # each version, the first one's too
    withdrawn: bool = False  # hidden or shown again by a commit on main


@dataclass(frozen=True)
class Span:
    """What a span of commits changed: the keys to purge and how many commits it held."""

    keys: frozenset[str]
    commits: int


def changed(
    repo: Repository, index: Index, since: Tips, until: Tips, *, per_file: int, max_keys: int
) -> Span | None:
    """The keys whose answers changed from the state `since` to the state `until` (both
    `{line: commit}`; `until` is what the index reflects while this runs, inside
    `index.tables.reading()`), or None when `until` is an older state than `since` that the line
    has moved on from (another worker went further, in a later state of the index).
    `per_file`: the URLs of one sitemap file."""
    published = _commits(repo, since[PUBLISHED], until[PUBLISHED])
    drafts = _commits(repo, since[MAIN], until[MAIN])
    if published is None or drafts is None:
        if any(_behind(repo, line, since[line], until[line]) for line in (MAIN, PUBLISHED)):
            return None
        return Span(frozenset({keys.ALL}), 0)
    articles: dict[str, _Article] = {}
    found: set[str] = set()
    for commit in published:
        for path, (_, blob) in commit.items():
            slug = layout.slug_from_path(path)
            if slug is not None:
                articles.setdefault(slug, _Article(path)).blobs.append(blob)
            elif media_paths.is_media_path(path):
                found.add(keys.media(path))
    for commit in drafts:
        for path, (was, blob) in commit.items():
            slug = layout.slug_from_path(path)
            if slug is not None and (not was or blob is None):  # added or removed
                articles.setdefault(slug, _Article(path)).withdrawn = True
    if len(articles) + len(found) > max_keys:
        return Span(frozenset({keys.ALL}), len(published) + len(drafts))
    found |= _article_keys(repo, index, articles, since, until, per_file)
    if len(found) > max_keys:
        found = {keys.ALL}
    return Span(frozenset(found), len(published) + len(drafts))


def _behind(repo: Repository, line: str, since: str | None, until: str | None) -> bool:
    """Whether `until` is only an older state of the line than `since`: the line still holds
    `since` (a force push back to `until` would have taken it away)."""
    if not since or not until or since == until or not repo.is_ancestor(until, since):
        return False
    now = repo.tips()[line]
    return now is not None and (now == since or repo.is_ancestor(since, now))


def _commits(repo: Repository, since: str | None, until: str | None) -> list[Changes] | None:
    """What each first-parent commit after `since` (None: a line that did not exist) up to
    `until` changed, oldest first; None when `since` is not on the first-parent line of
    `until` (a force push, a line removed, or `until` behind it).

    A span of up to IN_PROCESS commits is read here through the repository's object reader
    and its cache of trees, comparing only the trees that differ: no process is started,
    which on a busy machine is most of the cost of a publication's purge. A longer span is
    asked of `git log`."""
    if since == until:
        return []
    if until is None:
        return None
    chain: list[tuple[str, str | None]] = []  # (tree, first parent), newest first
    sha: str | None = until
    while sha != since:
        if sha is None:
            return None if since is not None else [_changes(repo, p, t) for t, p in chain[::-1]]
        if len(chain) == IN_PROCESS:
            return _logged(repo, since, until)
        commit = rawcommit.parse(repo.read(sha))
        parent = commit.parents[0] if commit.parents else None
        chain.append((commit.tree, parent))
        sha = parent
    return [_changes(repo, parent, tree) for tree, parent in chain[::-1]]


def _changes(repo: Repository, parent: str | None, tree: str) -> Changes:
    """The article and media files a commit with `tree` changed against `parent`."""
    found: Changes = {}
    old, new = repo.root_tree(parent), repo.tree(hex_to_bin(tree))
    for folder in (layout.ROOT, media_paths.ROOT):
        _diff(
            repo,
            {folder: old[folder]} if folder in old else {},
            {folder: new[folder]} if folder in new else {},
            "",
            found,
        )
    return found


def _diff(repo: Repository, old: Tree, new: Tree, prefix: str, found: Changes) -> None:
    for name in old.keys() | new.keys():
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        path = prefix + name
        a_tree = a is not None and a[0] == MODE_TREE
        b_tree = b is not None and b[0] == MODE_TREE
        if a_tree or b_tree:
            _diff(
                repo,
                repo.tree(a[1]) if a is not None and a_tree else {},
                repo.tree(b[1]) if b is not None and b_tree else {},
                path + "/",
                found,
            )
        was = a is not None and not a_tree
        now = b[1].hex() if b is not None and not b_tree else None
        if was or now is not None:
            found[path] = (was, now)


def _logged(repo: Repository, since: str | None, until: str) -> list[Changes] | None:
    """`_commits` asked of `git log`: the oldest commit listed has `since` for first parent
    exactly when `since` is on the first-parent line of `until`."""
    records = list(repo.log(since, until))
    if since is not None and (not records or records[0].parents[:1] != [since]):
        return None
    return [
        {path: (r.statuses.get(path, "M") != "A", blob) for path, blob in r.changes.items()}
        for r in records
    ]


def _article_keys(
    repo: Repository,
    index: Index,
    articles: dict[str, _Article],
    since: Tips,
    until: Tips,
    per_file: int,
) -> set[str]:
    found: set[str] = set()
    moved = False  # an article went away, moving those after it in the sitemap
    entered = 0
    updated: list[str] = []
    for slug, article in articles.items():
        before = repo.lookup(since[PUBLISHED], article.path)
        if article.withdrawn:
            # a draft added or removed: it hides or shows an article that was on `published`
            # already, or that is there now without its draft (not the usual create, then
            # publish)
            after = article.blobs[-1] if article.blobs else before
            article.withdrawn = before is not None or (
                after is not None and repo.lookup(until[MAIN], article.path) is None
            )
            if not article.withdrawn and not article.blobs:
                continue
        versions = [before, *article.blobs]
        # a push of many commits on one article holds few distinct files: each read once
        docs = {blob: _doc(repo, index, slug, blob) for blob in dict.fromkeys(versions)}
        found |= {keys.article(slug), keys.SYNC, keys.FEED}
        for doc in docs.values():
            if doc is not None:
                found |= keys.listed_in(doc)
        present = [docs[blob] is not None for blob in versions]
        steps = list(zip(present, present[1:], strict=False))
        if article.withdrawn or any(a and not b for a, b in steps):
            moved = True
        elif not present[0] and present[-1]:
            entered += 1
        elif all(present):
            updated.append(slug)
        if article.withdrawn or any(b and not a for a, b in steps):
            for neighbour in index.live.neighbours(slug):
                if neighbour is not None:
                    found.add(keys.page(neighbour["slug"]))
        shown = [_shown(docs[blob]) for blob in versions]
        if article.withdrawn or any(a != b for a, b in zip(shown, shown[1:], strict=False)):
            group, relinked = _group(repo, index, slug, [d for d in docs.values() if d], until)
            found |= group
            moved = moved or relinked
    found |= _sitemap(index, moved, entered, updated, per_file)
    return found


def _shown(doc: dict[str, Any] | None) -> tuple[Any, ...] | None:
    """What the other members of an article's translation group show of it (`translations`
    on their pages and list cards, hreflang links in the sitemap), None while it is not
    delivered."""
    if doc is None:
        return None
    return (doc.get("title"), doc.get("language"), doc.get("translation_of"))


def _group(
    repo: Repository, index: Index, slug: str, docs: list[dict[str, Any]], until: Tips
) -> tuple[set[str], bool]:
    """The keys of the other live members of every translation group `slug` was in (its own,
    as a source, and each it was a translation of), whose answers show it: their pages and
    every list each is on; and whether there are any (the sitemap's hreflang links change)."""
    groups = {
        slug,
        *(d["translation_of"] for d in docs if isinstance(d.get("translation_of"), str)),
    }
    found: set[str] = set()
    members = {m for g in groups for m in index.live.group_members(g)} - {slug}
    for member in sorted(members):
        found.add(keys.page(member))
        doc = _doc(repo, index, member, repo.lookup(until[PUBLISHED], layout.article_path(member)))
        if doc is not None:
            found |= keys.listed_in(doc)
    return found, bool(members)


def _sitemap(
    index: Index, moved: bool, entered: int, updated: list[str], per_file: int
) -> set[str]:
    if moved or len(updated) > SITEMAP_LOOKUPS:
        return {keys.SITEMAP}
    found: set[str] = set()

    def file_of(rank: int) -> int:
        return rank // per_file + 1

    if entered:
        count = index.states.live_count()
        first = file_of(max(0, count - entered))
        found |= {keys.sitemap_file(n) for n in range(first, file_of(max(0, count - 1)) + 1)}
        found.add(keys.SITEMAP_INDEX)
    for slug in updated:
        rank = index.states.live_rank(slug)
        if rank is not None:
            found.add(keys.sitemap_file(file_of(rank)))
    return found


def _doc(repo: Repository, index: Index, slug: str, blob: str | None) -> dict[str, Any] | None:
    """The fields of a version that is delivered, or None (absent, invalid, too large)."""
    if blob is None or index.writer.verdict(blob, slug) is False:
        return None
    if repo.size(blob) > ARTICLE_MAX_BYTES:
        return None
    try:
        doc = json.loads(repo.read(blob))
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None
