"""Tools for the tests, the soak runs and the benchmarks; the CMS itself never imports them.

- `launch`: free ports, starting a server process and waiting until it answers, stopping it;
- `crash`: the crash harness (a server killed with SIGKILL under write load, and the checks
  that nothing acknowledged was lost), used by tests/test_crash.py, tests/test_faults.py and
  soak/crash_soak.py; with `writers` (the write load and its ledger), `killable` (a server
  one SIGKILL stops whole) and `inspect` (what git and the API hold).
"""

from __future__ import annotations

from typing import Any

# plain git's identity in tests: commits made with it are "external" to the CMS
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Plain Git",
    "GIT_AUTHOR_EMAIL": "plain@example.org",
    "GIT_COMMITTER_NAME": "Plain Git",
    "GIT_COMMITTER_EMAIL": "plain@example.org",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def article(title: str = "Council approves budget", **fields: Any) -> dict[str, Any]:
    """A small valid article."""
    return {
        "title": title,
        "body": [
            {"type": "paragraph", "text": "The council met on Tuesday."},
            {"type": "paragraph", "text": "The budget passed by seven votes to two."},
        ],
        **fields,
    }
