"""Sign-in sessions of the editors' workbench, kept server-side in `<git dir>/cms/sessions/`.

A session is a random id handed to the browser in a cookie; the server keeps, under the
SHA-256 of that id (so a file name is no cookie), the id and hash of the token it was opened
with and when it ends. The session never holds the token itself, and it is only as good as
its token: the web layer checks the token again on every request, so revoking the token ends
the session at once. Sessions are files, so every worker process sees the same ones.

A session also remembers, per article, the version its editor last loaded or saved in the
workbench (its "base"): a save from the workbench is checked against it, so an editor's save
never silently overwrites what another saved meanwhile.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass

from cms.auth.tokens import Token
from cms.git import private
from cms.git.objects import fsync_path

DEFAULT_LIFETIME = 12 * 3600
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Session:
    token_id: str
    token_hash: str
    expires_at: int


class SessionStore:
    """Sessions in `<git_dir>/cms/sessions/`, one folder each."""

    def __init__(self, git_dir: str, lifetime: int = DEFAULT_LIFETIME) -> None:
        self.root = private.path(git_dir, "sessions")
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        self.lifetime = lifetime

    def _folder(self, session_id: str) -> str | None:
        if not isinstance(session_id, str) or not _ID_RE.fullmatch(session_id):
            return None
        return os.path.join(self.root, hashlib.sha256(session_id.encode()).hexdigest())

    def open(self, token: Token) -> str:
        """Start a session for a verified token; return its id (the cookie's value)."""
        self._sweep()
        session_id = secrets.token_urlsafe(32)
        folder = self._folder(session_id)
        assert folder is not None
        os.makedirs(os.path.join(folder, "bases"), mode=0o700)
        record = {
            "token_id": token.id,
            "token_hash": token.hash,
            "expires_at": int(time.time()) + self.lifetime,
        }
        # on disk before the cookie is given: a session the workbench was handed survives a
        # power cut (the session file, its folder, and the entry naming that folder)
        private.write_bytes(os.path.join(folder, "session.json"), json.dumps(record).encode())
        fsync_path(self.root)
        fsync_path(os.path.dirname(self.root))
        return session_id

    def get(self, session_id: str) -> Session | None:
        """The live session with this id, or None (unknown, malformed or expired)."""
        folder = self._folder(session_id)
        if folder is None:
            return None
        try:
            with open(os.path.join(folder, "session.json"), encoding="utf-8") as f:
                session = Session(**json.load(f))
        except (OSError, ValueError, TypeError):
            return None
        if session.expires_at <= time.time():
            self.close(session_id)
            return None
        return session

    def close(self, session_id: str) -> None:
        """End a session (nothing happens if there is none)."""
        folder = self._folder(session_id)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def remember(self, session_id: str, slug: str, blob: str | None) -> None:
        """Keep `blob` as the version of `slug` this session last loaded or saved (None:
        the article did not exist when it was loaded)."""
        folder = self._folder(session_id)
        if folder is None or not _SLUG_RE.fullmatch(slug):
            return
        path = os.path.join(folder, "bases", slug)
        try:
            private.write_bytes(path, (blob or "").encode(), durable=False)
        except FileNotFoundError:
            pass  # the session was closed meanwhile

    def base(self, session_id: str, slug: str) -> str | None:
        """The version of `slug` this session last loaded or saved: a blob id, "" when it
        loaded the article as absent, None when it never loaded it."""
        folder = self._folder(session_id)
        if folder is None or not _SLUG_RE.fullmatch(slug):
            return None
        try:
            with open(os.path.join(folder, "bases", slug), encoding="ascii") as f:
                return f.read()
        except OSError:
            return None

    def _sweep(self) -> None:
        """Remove expired sessions, so signed-in-once browsers do not pile up."""
        now = time.time()
        for name in os.listdir(self.root):
            path = os.path.join(self.root, name, "session.json")
            try:
                with open(path, encoding="utf-8") as f:
                    expired = json.load(f)["expires_at"] <= now
            except (OSError, ValueError, KeyError, TypeError):
                expired = False  # being created right now, or not ours to judge
            if expired:
                shutil.rmtree(os.path.join(self.root, name), ignore_errors=True)
