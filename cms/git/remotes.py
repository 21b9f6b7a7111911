"""Talking to other git repositories: which URLs are accepted, how they are shown without
their credentials, how git is run so that it never waits for a password, and the small JSON
files in `<git dir>/cms/` where mirrors and replicas keep their state."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit, urlunsplit

# what git accepts as a remote: a URL with a scheme, scp-like `user@host:path`, or a path
URL_SCHEMES = ("git", "http", "https", "ssh", "git+ssh", "ssh+git", "file")
# git must never stop to ask for a password in a server
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "SSH_ASKPASS": "true",
           "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")}


def redact(url: str) -> str:
    """`url` with any password or token in it replaced by `***`, for showing it to people."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme and "@" in parts.netloc:
        userinfo, _, host = parts.netloc.rpartition("@")
        user, has_secret, _ = userinfo.partition(":")
        shown = f"{user}:***" if has_secret else "***" if parts.scheme.startswith("http") \
            else user
        return urlunsplit(parts._replace(netloc=f"{shown}@{host}"))
    return url


def check_url(url: str) -> list[str]:
    """Problems with `url` as a git remote ([] when it is usable)."""
    if not url or len(url) > 2000:
        return ["1..2000 characters."]
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return ["No spaces or control characters."]
    if url.startswith("-"):
        return ["A URL cannot start with '-'."]
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
    if scheme:
        if scheme.group(1).lower() not in URL_SCHEMES:
            return [f"The scheme must be one of: {', '.join(URL_SCHEMES)}."]
        try:
            parts = urlsplit(url)
        except ValueError:
            return ["Not a valid URL."]
        if scheme.group(1).lower() != "file" and not parts.hostname:
            return ["The URL names no host."]
        return []
    if "::" in url:
        return ["Remote helpers (transport::address) are not accepted."]
    if re.match(r"^[^/]*:", url) is None and not os.path.isabs(url):
        return ["Use a URL (git://, https://, ssh://, file://), user@host:path, "
                "or an absolute path."]
    return []


def first_error(text: str) -> str:
    """The line of git's stderr that says what went wrong ("" when it said nothing)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return (fatal or lines or [""])[0]


def scrub(message: str, url: str) -> str:
    """`message` without the credential in `url`, should git have quoted it."""
    return message.replace(url, redact(url)) if url != redact(url) else message
