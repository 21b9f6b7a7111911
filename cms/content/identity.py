"""Who a commit names: a person's name and email, checked in full before either can reach a
commit header.

A commit header is a line of text: a newline in a name or email ends it early and lets the
rest pass for another header (a `parent`, say), and `<` or `>` move where git reads the email.
So every identity the CMS writes (token holders, `cms import --name/--email`, the committer)
passes `problems()` first, and `gitobjects.serialize_commit` refuses any that does not.
Each rule matches the whole string: `$` alone would let a trailing newline through.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

NAME_MAX = 200
EMAIL_MAX = 254
# the categories no header may hold: controls (newline, NUL, DEL...), lone surrogates, and
# the Unicode line and paragraph separators
_BANNED = {"Cc", "Cs", "Zl", "Zp"}
_EMAIL = re.compile(r"[^<>\s@]+@[^<>\s@]+")


@dataclass(frozen=True)
class Person:
    """A commit's author or committer."""

    name: str
    email: str


def _bad_character(value: str) -> str | None:
    for ch in value:
        if unicodedata.category(ch) in _BANNED:
            return f"Control character U+{ord(ch):04X} is not allowed."
    return None


def name_problems(name: object) -> list[str]:
    """What is wrong with `name` as a commit author's name (an empty list: nothing)."""
    if not isinstance(name, str) or not 1 <= len(name) <= NAME_MAX:
        return [f"1..{NAME_MAX} characters."]
    bad = _bad_character(name)
    if bad:
        return [bad]
    if "<" in name or ">" in name:
        return ["May not contain < or >."]
    if name != name.strip():
        return ["May not begin or end with a space."]
    return []


def email_problems(email: object) -> list[str]:
    """What is wrong with `email` as a commit author's email (an empty list: nothing)."""
    if not isinstance(email, str) or not 3 <= len(email) <= EMAIL_MAX:
        return [f"3..{EMAIL_MAX} characters."]
    bad = _bad_character(email)
    if bad:
        return [bad]
    if _EMAIL.fullmatch(email) is None:
        return ["Not a valid email address (name@domain, without spaces or < >)."]
    return []


def problems(name: object, email: object) -> dict[str, list[str]]:
    """{"name": [...], "email": [...]} for what is wrong with this identity; empty if valid."""
    found = {"name": name_problems(name), "email": email_problems(email)}
    return {field: messages for field, messages in found.items() if messages}
