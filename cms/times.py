"""Times as the CMS writes them: RFC 3339 in UTC with whole seconds (`2026-11-28T10:00:00Z`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any


def rfc3339(value: datetime) -> str:
    """`2026-11-28T10:00:00Z` (the year always four digits)."""
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def utc(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def seconds(value: Any) -> int | None:
    """Seconds since the epoch of an RFC 3339 time (None if it is not one)."""
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def iso(seconds: int) -> str:
    """`seconds` since the epoch as `rfc3339` writes it (the years 1900 to 9998 it allows)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
