"""The canonical bytes of an article file, and strict JSON parsing of what clients send.

Canonical form: UTF-8 without `\\u` escapes, 2-space indent, fields in the schema's order, a
trailing newline. Each body block's fields sit on their own lines, so editing one paragraph
changes only that paragraph's line in `git log -p`.
"""

from __future__ import annotations

import json
from typing import Any

from cms.errors import BadRequest


def dumps(article: dict[str, Any]) -> bytes:
    """Return the file bytes for an article already in canonical field order."""
    return (json.dumps(article, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def strict_loads(text: str) -> Any:
    """Parse `text` as strict JSON: no NaN or Infinity, no duplicate keys.

    Raises ValueError (RecursionError when nested too deeply) saying what is wrong.
    """
    return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def parse_body(raw: bytes) -> Any:
    """Parse a request body as strict JSON (UTF-8, no NaN or Infinity, no duplicate keys).

    Raises BadRequest naming what is wrong.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRequest(f"The request body is not valid UTF-8 (byte {e.start}).") from e
    try:
        return strict_loads(text)
    except RecursionError as e:
        raise BadRequest("The JSON body is nested too deeply.") from e
    except ValueError as e:
        raise BadRequest(f"The request body is not valid JSON: {e}.") from e
