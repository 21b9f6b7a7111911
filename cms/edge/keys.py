"""The names of what a delivery answer depends on: its surrogate keys.

Every delivery answer names in `Surrogate-Key` (and `Cache-Tag`) what it was made from, so a
cache in front can drop exactly the answers a commit changed:

    a:<slug>          the article, its history; also on the articles showing it as previous/next
                      or among their translations
    p:<slug>          the article's own answer only (purged when its previous/next changed)
    list              the list without filters or query (every page)
    s:, t:, au:, l:   the lists filtered by section, tag, author (both lower-cased, as the
                      filters are), language (and the `fallback` language)
    q                 every list with `q` (full-text search: any live change may change it)
    feed              /feed.xml and /feed.json
    sync              every /api/v1/sync answer
    sitemap           every sitemap answer; sitemap:<n> one file, sitemap:index the index
    m:<path>          a media file and its renditions
    all               every answer (purged when a batch changed too much to name)

A value is percent-encoded (RFC 3986 unreserved characters kept), so a key holds no space nor
comma, the separators of the two headers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

ALL = "all"
LIST = "list"
QUERY = "q"
FEED = "feed"
SYNC = "sync"
SITEMAP = "sitemap"
SITEMAP_INDEX = "sitemap:index"
# the list filters, by query parameter: the key's prefix, and whether the filter lower-cases
# (`fallback` is a second language: its articles fill in where the first has none)
FILTERS = {
    "section": ("s:", False),
    "tag": ("t:", True),
    "author": ("au:", True),
    "language": ("l:", False),
    "fallback": ("l:", False),
}


def _value(value: str) -> str:
    return quote(value, safe="")


def article(slug: str) -> str:
    return "a:" + _value(slug)


def page(slug: str) -> str:
    return "p:" + _value(slug)


def media(path: str) -> str:
    return "m:" + _value(path)


def sitemap_file(number: int) -> str:
    return f"{SITEMAP}:{number}"


def list_filter(name: str, value: str) -> str:
    """The key of the lists filtered by `name` (a key of FILTERS) = `value`."""
    prefix, lowered = FILTERS[name]
    return prefix + _value(value.lower() if lowered else value)


def list_keys(filters: dict[str, list[str]], query: bool) -> list[str]:
    """The keys of a list answer: one per filter value given (`filters`: parameter -> values),
    `q` when it searches, and `list` when it does neither."""
    found = [list_filter(name, v) for name in FILTERS for v in filters.get(name, [])]
    if query:
        found.append(QUERY)
    return found or [LIST]


def listed_in(doc: dict[str, Any]) -> set[str]:
    """The keys of every list an article with these fields is on while it is live (the index's
    rules: a field of the wrong type puts it on no list of that filter)."""
    found = {LIST, QUERY}
    for name in ("section", "language"):
        if isinstance(doc.get(name), str):
            found.add(list_filter(name, doc[name]))
    tags = doc.get("tags")
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, str):
            found.add(list_filter("tag", tag))
    authors = doc.get("authors")
    for author in authors if isinstance(authors, list) else []:
        if isinstance(author, dict) and isinstance(author.get("name"), str):
            found.add(list_filter("author", author["name"]))
    return found


def headers(keys: Iterable[str]) -> dict[str, str]:
    """`Surrogate-Key` (space-separated, Fastly and Varnish) and `Cache-Tag` (comma-separated,
    Cloudflare) naming `keys` and `all`, each key once, in the order given."""
    named = list(dict.fromkeys([*keys, ALL]))
    return {"Surrogate-Key": " ".join(named), "Cache-Tag": ",".join(named)}
