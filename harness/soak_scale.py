"""How hard the suite's soak-like tests search: a short form in `make test`, the full counts
with `CMS_SOAK=1` (what `make soak` sets).

Property tests (hypothesis) and the schemathesis fuzz find rare faults by trying many cases;
every run of `make test` tries a fixed, seeded share of them (their explicit examples always),
and a soak run tries them all."""

from __future__ import annotations

import os

SOAK = os.environ.get("CMS_SOAK", "").strip().lower() in ("1", "true", "yes", "on")


def examples(full: int, short: int) -> int:
    """`full` cases under `CMS_SOAK=1`, else `short` (at least one, at most `full`)."""
    return full if SOAK else max(1, min(short, full))
