"""Talking to other git repositories: which URLs are accepted, how they are shown without
their credentials, how git is run so that it never waits for a password and never has one on
its command line, and the small JSON files in `<git dir>/cms/` where mirrors and replicas keep
their state.

A command line is world-readable (`ps`, `/proc/PID/cmdline`) for as long as the process runs,
so a URL's user and password never go on git's: git gets the URL without them and asks for them
through `GIT_ASKPASS`, a small script (`<git dir>/cms/git-askpass`) that answers from the
environment git was started with, which only the same user (and root) can read.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit, urlunsplit

from cms.git import private

# what git accepts as a remote: a URL with a scheme, scp-like `user@host:path`, or a path
URL_SCHEMES = ("git", "http", "https", "ssh", "git+ssh", "ssh+git", "file")
# git must never stop to ask for a password in a server
GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "true",
    "SSH_ASKPASS": "true",
    "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
}


# git asks "Username for '<url>': " or "Password for '<url>': " (its first argument)
ASKPASS = """#!/bin/sh
# written by the CMS (cms.git.remotes): answers git's questions from the environment
case "$1" in
  Username*) printf '%s\\n' "$CMS_GIT_USERNAME" ;;
  *) printf '%s\\n' "$CMS_GIT_PASSWORD" ;;
esac
"""


def git_call(url: str, git_dir: str) -> tuple[str, dict[str, str]]:
    """The URL to give git on its command line and the environment to run it in (this
    process's, plus GIT_ENV): a user and password in an http(s) `url` go to git through
    GIT_ASKPASS instead, and no credential helper is asked (it could answer for another
    account). Elsewhere only the password is left out (ssh asks none: BatchMode)."""
    env = {**os.environ, **GIT_ENV}
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, env
    if not parts.scheme or "@" not in parts.netloc:
        return url, env
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    if not parts.scheme.lower().startswith("http"):
        shown = f"{user}@{host}" if user else host
        return urlunsplit(parts._replace(netloc=shown)), env
    env.update(
        {
            "GIT_ASKPASS": _askpass(git_dir),
            "CMS_GIT_USERNAME": unquote(user),
            "CMS_GIT_PASSWORD": unquote(password),
            # config given by the environment, so that nothing more goes on the command
            # line: an empty helper empties the list of credential helpers
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "credential.helper",
            "GIT_CONFIG_VALUE_0": "",
        }
    )
    return urlunsplit(parts._replace(netloc=host)), env


def _askpass(git_dir: str) -> str:
    """The askpass script's path, written (mode 0700) when it is missing or out of date."""
    path = private.path(git_dir, "git-askpass")
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == ASKPASS and os.access(path, os.X_OK):
                return path
    except FileNotFoundError:
        pass
    private.write_bytes(path, ASKPASS.encode(), durable=False, mode=0o700)
    return path


def redact(url: str) -> str:
    """`url` with any password or token in it replaced by `***`, for showing it to people."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme and "@" in parts.netloc:
        userinfo, _, host = parts.netloc.rpartition("@")
        user, has_secret, _ = userinfo.partition(":")
        shown = f"{user}:***" if has_secret else "***" if parts.scheme.startswith("http") else user
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
        return [
            "Use a URL (git://, https://, ssh://, file://), user@host:path, or an absolute path."
        ]
    return []


def first_error(text: str) -> str:
    """The line of git's stderr that says what went wrong ("" when it said nothing)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return (fatal or lines or [""])[0]


def scrub(message: str, url: str) -> str:
    """`message` without the credential in `url`, should git have quoted it."""
    return message.replace(url, redact(url)) if url != redact(url) else message
