"""Sync tokens: which delta a client is paging through, and where it is in it.

A token names a state of the published line (a commit on it). After a delta's last page it is
that commit alone (40 hex digits): keep it, and the next sync lists what changed since. While
a delta has more pages, it is `<state>.<since>.<slug>`: the state every page is answered as
of, the state the delta starts from (empty for everything), and the last slug sent. Anything
else names no delta the server knows (410).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cms.errors import Gone

STATE_RE = re.compile(r"[0-9a-f]{40}")
PAGE_RE = re.compile(r"([0-9a-f]{40})\.((?:[0-9a-f]{40})?)\.([a-z0-9]+(?:-[a-z0-9]+)*)")


@dataclass(frozen=True)
class Position:
    """Where a sync page starts: the delta from `since` (None: from nothing) to `state`,
    after the slug `after` ("" for the first page)."""

    state: str | None
    since: str | None
    after: str = ""

    def token(self, more: bool, last: str) -> str | None:
        """The token of the page after this one ended at the slug `last` (`more`: the delta
        has more pages), or of the next sync when it has none."""
        if not more:
            return self.state
        return f"{self.state}.{self.since or ''}.{last}"


def position(token: str | None, tip: str | None) -> Position:
    """Where the page a request asks for starts, `tip` being the state a new delta is
    answered as of; raises Gone for a token that is no sync token at all."""
    if token is None:
        return Position(tip, None)
    if STATE_RE.fullmatch(token):
        return Position(tip, token)
    match = PAGE_RE.fullmatch(token)
    if match is None or len(match.group(3)) > 120:
        raise Gone(
            "That sync token names no known state; sync again without a token.",
            {"token": ["Unknown or expired token."]},
        )
    return Position(match.group(1), match.group(2) or None, match.group(3))
