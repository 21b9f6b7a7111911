"""Commit messages: a readable subject of at most 72 characters and machine-readable trailers."""

from __future__ import annotations

SUBJECT_MAX = 72
# what a commit did, by its `Action:` trailer; "external" is any commit the CMS did not make
ACTIONS = ("create", "update", "publish", "unpublish", "delete", "restore", "external")
VERBS = {
    "create": "Create",
    "update": "Update",
    "delete": "Delete",
    "restore": "Restore",
    "publish": "Publish",
    "unpublish": "Unpublish",
}


def action(message: str, committer_email: str, cms_email: str) -> str:
    """What a commit did: its `Action:` trailer when the CMS committed it (committer
    `cms_email`), else "external" (a trailer written by anyone else proves nothing)."""
    named = trailers(message).get("Action", "")
    return named if committer_email == cms_email and named in VERBS else "external"


def subject(action: str, slug: str, detail: str = "", verb: str | None = None) -> str:
    """`Update my-slug: title, body`, shortened to fit 72 characters."""
    head = f"{verb or VERBS[action]} {slug}"
    if len(head) > SUBJECT_MAX:
        return head[: SUBJECT_MAX - 3] + "..."
    if detail and len(head) + 2 + len(detail) <= SUBJECT_MAX:
        return f"{head}{': ' if action == 'update' and not verb else ' '}{detail}"
    return head


def compose(
    action: str,
    slug: str,
    detail: str = "",
    extra: dict[str, str] | None = None,
    verb: str | None = None,
) -> str:
    """The whole message: subject, blank line, `Article:` and `Action:` trailers, extras."""
    trailers = {"Article": slug, "Action": action, **(extra or {})}
    lines = [f"{k}: {v}" for k, v in trailers.items()]
    return subject(action, slug, detail, verb) + "\n\n" + "\n".join(lines) + "\n"


def trailers(message: str) -> dict[str, str]:
    """Return the `Key: value` trailers of the last paragraph of a commit message."""
    last = message.strip().split("\n\n")[-1]
    out: dict[str, str] = {}
    for line in last.splitlines():
        key, sep, value = line.partition(": ")
        if not sep or not key or " " in key:
            return {}
        out[key] = value.strip()
    return out
