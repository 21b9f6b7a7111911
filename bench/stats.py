"""Small statistics helpers: medians and percentiles of timing samples."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100), interpolated between the closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summary(values: Sequence[float]) -> dict[str, float]:
    """count, median, p95, p99, min, max and mean of a list of samples."""
    return {
        "count": len(values),
        "median": median(values),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "min": min(values, default=float("nan")),
        "max": max(values, default=float("nan")),
        "mean": statistics.fmean(values) if values else float("nan"),
    }
