"""A commit object's bytes read whatever they hold: what history shows of a commit.

Git lets any byte into a commit's author, committer and message, and any number into its
dates. What the CMS shows of a commit (revisions, dates, `external` or not) comes from here:
text is decoded as UTF-8 with replacement characters, and a date outside the years 1900 to 9998
(which RFC 3339 cannot write) is replaced by the commit's other date, or the nearest one in
range. `cms check` and the git gate (`cms.rules`) name such commits; this only keeps them
readable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cms.content.identity import Person

EARLIEST = -2208988800  # 1900-01-01T00:00:00Z
LATEST = 253370764799  # 9998-12-31T23:59:59Z
IDENT = re.compile(rb"^(.*) <(.*)> (-?\d+)(?: ([+-]\d{4}))?$")


@dataclass(frozen=True)
class RawCommit:
    tree: str
    parents: list[str]
    author: Person
    committer: Person
    date: int  # when it was authored, or the nearest date in range (see the module)
    message: str
    committed: int  # when it was committed, or the nearest date in range


def in_range(seconds: int | None) -> bool:
    return seconds is not None and EARLIEST <= seconds <= LATEST


def parse(raw: bytes) -> RawCommit:
    """Return what a commit object's bytes say, never raising for odd content."""
    head, _, body = raw.partition(b"\n\n")
    tree, parents = "", []
    people: dict[bytes, tuple[Person, int | None]] = {}
    for line in head.split(b"\n"):
        key, _, value = line.partition(b" ")
        if key == b"tree":
            tree = value.decode("ascii", "replace")
        elif key == b"parent":
            parents.append(value.decode("ascii", "replace"))
        elif key in (b"author", b"committer"):
            people[key] = _ident(value)
    author, authored = people.get(b"author", (Person("", ""), None))
    committer, committed = people.get(b"committer", (Person("", ""), None))
    return RawCommit(
        tree,
        parents,
        author,
        committer,
        _shown(authored, committed),
        _text(body),
        _shown(committed, authored),
    )


def _shown(first: int | None, second: int | None) -> int:
    """The first date in range, else the nearest date in range to the first given."""
    date = next((d for d in (first, second) if in_range(d)), None)
    return date if date is not None else min(max(first or second or 0, EARLIEST), LATEST)


def _ident(value: bytes) -> tuple[Person, int | None]:
    match = IDENT.match(value)
    if match is None:
        return Person(_text(value), ""), None
    name, email, seconds, _ = match.groups()
    return Person(_text(name), _text(email)), int(seconds)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")
