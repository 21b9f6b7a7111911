"""How big and how long: the full run (`make bench`) and the quick smoke run (`--quick`)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Settings:
    quick: bool
    sizes: tuple[int, ...]  # repository sizes for the save-cost curve; the largest serves reads
    timed_saves: int  # store saves per size and operation (create, update)
    batch: int  # store saves per size and operation in one interleaved round
    warmup_saves: int  # untimed store saves per size and operation
    baseline_saves: int  # git CLI / GitPython saves per size and operation
    baseline_budget_s: float  # stop a size's baseline early once it has used this much time
    http_clients: int
    http_seconds: float
    http_max_saves: int
    wrk_seconds: int
    wrk_rounds: int
    wrk_connections: int
    rotate_slugs: int  # slugs the uncached wrk script rotates over
    list_requests: int  # measured list GETs per server
    list_clients: int
    history_commits: int  # single-file update commits added for the revisions row
    focus_commits: int  # of which on the one article whose revisions are timed
    revision_repeats: int
    startup_rounds: int
    startup_timeout_s: float

    @property
    def largest(self) -> int:
        return max(self.sizes)

    def with_sizes(self, sizes: list[int]) -> Settings:
        return replace(self, sizes=tuple(sorted(set(sizes))))


FULL = Settings(
    quick=False,
    sizes=(1000, 10000, 100000),
    timed_saves=300,
    batch=25,
    warmup_saves=10,
    baseline_saves=10,
    baseline_budget_s=75.0,
    http_clients=8,
    http_seconds=15.0,
    http_max_saves=20000,
    wrk_seconds=5,
    wrk_rounds=6,
    wrk_connections=16,
    rotate_slugs=2000,
    list_requests=3000,
    list_clients=4,
    history_commits=200000,
    focus_commits=300,
    revision_repeats=20,
    startup_rounds=3,
    startup_timeout_s=120.0,
)
QUICK = Settings(
    quick=True,
    sizes=(200, 2000),
    timed_saves=100,
    batch=25,
    warmup_saves=5,
    baseline_saves=4,
    baseline_budget_s=10.0,
    http_clients=8,
    http_seconds=4.0,
    http_max_saves=4000,
    wrk_seconds=3,
    wrk_rounds=1,
    wrk_connections=16,
    rotate_slugs=1000,
    list_requests=500,
    list_clients=4,
    history_commits=4000,
    focus_commits=50,
    revision_repeats=10,
    startup_rounds=1,
    startup_timeout_s=60.0,
)
