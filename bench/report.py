"""Rows of results: the printed table and `bench/results.json`, with the machine they ran on."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HEADER = ("what", "target", "measured", "baseline (same run)", "ratio", "ok")


@dataclass
class Row:
    """One line of the table. `passed` is None for informational rows (no target)."""

    name: str
    what: str
    target: str
    value: float
    unit: str
    measured: str
    baseline: float | None = None
    baseline_text: str = "-"
    ratio: float | None = None
    ratio_text: str = "-"
    passed: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def cells(self, judged: bool) -> tuple[str, ...]:
        if self.passed is None:
            ok = "info"
        elif judged:
            ok = "PASS" if self.passed else "MISS"
        else:
            ok = "(pass)" if self.passed else "(miss)"
        return (self.what, self.target, self.measured, self.baseline_text, self.ratio_text, ok)

    def to_json(self, judged: bool) -> dict[str, Any]:
        return {
            "name": self.name,
            "what": self.what,
            "target": self.target,
            "value": self.value,
            "unit": self.unit,
            "measured": self.measured,
            "baseline": self.baseline,
            "baseline_text": self.baseline_text,
            "ratio": self.ratio,
            "passed": self.passed if judged else None,
            "would_pass": self.passed,
            "detail": self.detail,
        }


def table(rows: list[Row], judged: bool, title: str) -> str:
    cells = [HEADER, *(row.cells(judged) for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]

    def line(values: tuple[str, ...]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([title, line(HEADER), rule, *(line(c) for c in cells[1:])])


def _command(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "not installed"


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "git": _command("git", "--version"),
        "wrk": _command("wrk", "--version").splitlines()[0]
        if _command("wrk", "--version")
        else "not installed",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_average_at_start": os.getloadavg(),
        "cms_commit": _command("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"),
        "cms_uncommitted": _command(
            "git", "-C", str(ROOT), "status", "--porcelain", "--", "cms"
        ).splitlines(),
    }


def write(
    path: Path,
    mode: str,
    info: dict[str, Any],
    rows: list[Row],
    judged: bool,
    details: dict[str, Any],
) -> None:
    info = {**info, "load_average_at_end": os.getloadavg()}
    report = {
        "benchmark": "git-cms",
        "mode": mode,
        "machine": info,
        "rows": [row.to_json(judged) for row in rows],
        "details": details,
    }
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
