"""API tokens, stored hashed in `<git dir>/cms/tokens.json` (mode 0600), never in history.

A token reads `cms_<id>_<secret>`. Only the SHA-256 of the whole token is kept; tokens are long
random strings, so a fast hash is enough and the comparison is constant-time. Every process
re-reads the file when it changes, so a revoked token fails at once everywhere.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from cms.content import identity
from cms.errors import BadRequest, NotFound
from cms.git import private
from cms.times import rfc3339

ROLES = ("author", "editor", "admin")
_TOKEN_RE = re.compile(r"cms_([0-9a-f]{8})_[A-Za-z0-9_-]{20,100}")  # always with fullmatch


@dataclass(frozen=True)
class Token:
    id: str
    name: str
    email: str
    role: str
    created_at: str
    hash: str
    revoked: bool = False

    def can(self, role: str) -> bool:
        """Whether this token's role includes `role` (author < editor < admin)."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    def __init__(self, git_dir: str) -> None:
        self.path = private.path(git_dir, "tokens.json")
        self._stamp: tuple[int, int, int] | None = None
        self._tokens: dict[str, Token] = {}

    def _load(self) -> dict[str, Token]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._stamp, self._tokens = None, {}
            return self._tokens
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            with open(self.path, encoding="utf-8") as f:
                records = json.load(f)
            self._tokens = {r["id"]: Token(**r) for r in records}
            self._stamp = stamp
        return self._tokens

    @contextmanager
    def _changing(self) -> Iterator[dict[str, Token]]:
        with open(self.path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._stamp = None
            tokens = dict(self._load())
            yield tokens
            private.write_json(self.path, [asdict(t) for t in tokens.values()])

    def create(self, name: str, email: str, role: str) -> tuple[Token, str]:
        """Make a token; return its record and the secret (shown once, never stored).

        Raises BadRequest for a bad name, email or role.
        """
        errors = identity.problems(name, email)
        if role not in ROLES:
            errors["role"] = [f"Must be one of: {', '.join(ROLES)}."]
        if errors:
            raise BadRequest("Invalid token details.", errors)
        with self._changing() as tokens:
            token_id = secrets.token_hex(4)
            while token_id in tokens:
                token_id = secrets.token_hex(4)
            secret = f"cms_{token_id}_{secrets.token_urlsafe(32)}"
            created = rfc3339(datetime.now(UTC))
            record = Token(token_id, name, email, role, created, _digest(secret))
            tokens[token_id] = record
        return record, secret

    def list(self) -> list[Token]:
        return list(self._load().values())

    def revoke(self, token_id: str) -> Token:
        """Revoke a token by id; raises NotFound."""
        with self._changing() as tokens:
            if token_id not in tokens:
                raise NotFound(f"There is no token '{token_id}'.")
            tokens[token_id] = Token(**{**asdict(tokens[token_id]), "revoked": True})
            return tokens[token_id]

    def verify(self, secret: str) -> Token | None:
        """Return the live token matching `secret`, or None."""
        m = _TOKEN_RE.fullmatch(secret)
        if m is None:
            return None
        record = self._load().get(m.group(1))
        if record is None or record.revoked:
            return None
        if not hmac.compare_digest(record.hash, _digest(secret)):
            return None
        return record

    def any(self) -> bool:
        return bool(self._load())
