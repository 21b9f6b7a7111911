"""The crash harness: `cms serve` killed with SIGKILL, whole process group, at random moments
under write load, and the checks that follow every restart.

The random run keeps a ledger of every acknowledged write (a 2xx with its `meta.revision`, or
for a delete/unpublish the state it left) and after every kill and restart checks that:

- every acknowledged revision is on its line (`main` or `published`) and the file there holds
  what was written; acknowledged deletes are gone from both lines; nothing rolled back;
- every file on both lines parses and `cms check` exits 0; `git fsck --strict` is clean;
- the first write after a restart goes through promptly (no stale lock blocks it);
- the index agrees with git (the API lists exactly the files on `main`, delivery exactly the
  live ones, with the content git holds).

A write cut off by the kill is "in doubt": it may or may not have happened. Each client thread
owns its articles, so after the restart it reads them back and requires one of the outcomes it
could have caused. Used by tests/test_crash.py, tests/test_faults.py and soak/crash_soak.py.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from cms.auth.tokens import TokenStore
from cms.content import layout
from harness import article
from harness.inspect import (
    TIMEOUT,
    URL,
    cat_files,
    cms_check_problems,
    fsck_problems,
    git,
    index_problems,
    leftovers,
    rev_list,
    summaries_on,
    tip,
)
from harness.killable import Server
from harness.writers import ABSENT, Ack, Client, Gate

__all__ = [
    "FIRST_WRITE_LIMIT",
    "URL",
    "CrashRun",
    "Server",
    "cms_check_problems",
    "fsck_problems",
    "leftovers",
    "summaries_on",
    "tip",
]
PROBE = "crash-probe"
# "The first write after a restart succeeds within a few seconds."
FIRST_WRITE_LIMIT = 5.0
SEED = int(os.environ.get("CMS_CRASH_SEED", "20250601"))


# -- the run ----------------------------------------------------------------------------


@dataclass
class Restart:
    generation: int
    startup: float
    first_write: float
    first_publish: float
    locks: list[str]
    temps: list[str]
    killed: int
    load: float


@dataclass
class CrashRun:
    """The loop: load, kill -9 at a random moment, check the repository as the kill left it,
    restart, time the first write, check everything against the ledger, repeat."""

    repo: Path
    workdir: Path
    seed: int = SEED
    crashes: int = 12
    minutes: float | None = None  # stop crashing after this long (the soak's budget)
    budget: float = 80.0  # seconds (when minutes is None); crashing stops when it is spent
    threads: int = 4
    load: tuple[float, float] = (0.4, 2.0)  # seconds of load before each kill
    say: Callable[[str], None] = print
    ledger: list[Ack] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    restarts: list[Restart] = field(default_factory=list)
    generation: int = 0
    checked: int = 0
    lost: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.gate = Gate()
        self._lock = threading.Lock()
        _, secret = TokenStore(str(self.repo)).create("Eve Editor", "eve@example.org", "editor")
        self.headers = {"Authorization": f"Bearer {secret}"}
        self.clients = [Client(self, n) for n in range(self.threads)]

    def ack(self, entry: Ack) -> None:
        with self._lock:
            self.ledger.append(entry)

    def problem(self, text: str) -> None:
        with self._lock:
            self.problems.append(f"[generation {self.generation}] {text}")

    def count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    def execute(self) -> None:
        # durable, as the product is by default (`make soak` too): kill -9 of a group
        # commit's leader or of saves waiting for it is part of what is crashed
        server = Server(self.repo, self.workdir / "server.log", env={"CMS_DURABLE": "true"})
        started = time.monotonic()
        budget = self.minutes * 60 if self.minutes is not None else self.budget
        for c in self.clients:
            c.start()
        try:
            self._boot(server, Restart(0, 0, 0, 0, [], [], 0, 0))
            for _ in range(self.crashes):
                # time spent behind a lock left by a kill does not count against the budget
                blocked = sum(max(0.0, r.first_write - 1) for r in self.restarts)
                if time.monotonic() - started - blocked > budget:
                    break
                load = self.rng.uniform(*self.load)
                time.sleep(load)
                killed = server.kill()
                self.generation += 1
                if not self.gate.close(timeout=60):
                    self.problem("client threads did not notice the kill within 60 s")
                locks, temps = leftovers(self.repo)
                # the repository exactly as the kill left it
                for p in fsck_problems(self.repo) + cms_check_problems(self.repo):
                    self.problem(f"after kill: {p}")
                self._boot(server, Restart(self.generation, 0, 0, 0, locks, temps, killed, load))
            time.sleep(self.rng.uniform(*self.load))  # let in-doubt writes be read back
            self.gate.close(timeout=60)
            self.checkpoint(server, final=True)
        finally:
            self.gate.stop()
            server.kill()
            for c in self.clients:
                c.join(timeout=30)
                if c.is_alive():
                    self.problem(f"{c.name} did not stop")
        self.report(time.monotonic() - started)

    def _boot(self, server: Server, restart: Restart) -> None:
        restart.startup = server.start()
        with requests.Session() as s:
            s.headers.update(self.headers)
            marker = f"probe-g{self.generation}"
            if restart.generation == 0:
                r = s.post(
                    server.base + URL,
                    json=article("Probe", slug=PROBE, summary=marker),
                    timeout=TIMEOUT,
                )
                ok = r.status_code == 201
            else:  # the first write after the restart: does a lock left by the kill block it?
                began = time.monotonic()
                r = s.patch(
                    f"{server.base}{URL}/{PROBE}",
                    json={"summary": marker},
                    headers={"If-Match": "*"},
                    timeout=TIMEOUT,
                )
                restart.first_write = time.monotonic() - began
                ok = r.status_code == 200
            if not ok:
                self.problem(f"first write after restart -> {r.status_code} {r.text[:300]}")
            else:
                self.ack(Ack("probe", PROBE, "main", r.json()["meta"]["revision"], marker))
            began = time.monotonic()
            r = s.post(f"{server.base}{URL}/{PROBE}/publish", timeout=TIMEOUT)
            restart.first_publish = time.monotonic() - began
            if r.status_code != 200:
                self.problem(f"first publish after restart -> {r.status_code} {r.text[:300]}")
            else:
                self.ack(
                    Ack(
                        "publish",
                        PROBE,
                        "published",
                        r.json()["meta"]["published_revision"],
                        marker,
                    )
                )
            slow = max(restart.first_write, restart.first_publish)
            if slow > FIRST_WRITE_LIMIT and not restart.locks:
                self.problem(
                    f"first write after restart took {slow:.1f} s with no lock left by the kill"
                )
            self.restarts.append(restart)
            self.checkpoint(server)
        self.gate.open(server.base)

    def checkpoint(self, server: Server, *, final: bool = False) -> None:
        """With every client parked: the ledger, the clients' articles and the index against
        git; adds what is wrong to `problems`."""
        found: list[str] = []
        if final:  # after each kill they ran on the repository as the kill left it
            found += fsck_problems(self.repo)
            found += cms_check_problems(self.repo)
        with requests.Session() as s:
            s.headers.update(self.headers)
            found += index_problems(s, server.base, self.repo) if server.base else []
        lost, checked = self._ledger_problems()
        found += lost
        found += self._tracked_problems()
        if final:
            self.checked, self.lost = checked, len(lost)
        for p in found:
            self.problem(f"{'final' if final else 'after restart'}: {p}")

    def _ledger_problems(self) -> tuple[list[str], int]:
        with self._lock:
            ledger = list(self.ledger)
        lines = {line: rev_list(self.repo, line) for line in ("main", "published")}
        specs = [f"{a.revision}:{layout.article_path(a.slug)}" for a in ledger if a.revision]
        contents = cat_files(self.repo, specs)
        main, _ = summaries_on(self.repo, "main")
        published, _ = summaries_on(self.repo, "published")
        actions = self._actions()
        lost: list[str] = []
        for a in ledger:
            if a.revision is not None:
                assert a.line is not None
                if a.revision not in lines[a.line]:
                    lost.append(
                        f"LOST: acknowledged {a.kind} of {a.slug} ({a.revision[:12]}) "
                        f"is not on {a.line}"
                    )
                    continue
                raw = contents.get(f"{a.revision}:{layout.article_path(a.slug)}")
                try:
                    summary = json.loads(raw or b"").get("summary")
                except ValueError:
                    summary = "<not JSON>"
                if summary != a.marker:
                    lost.append(
                        f"LOST: {a.kind} of {a.slug} at {a.revision[:12]} holds "
                        f"{summary!r}, not {a.marker!r}"
                    )
            elif a.kind == "delete":
                if a.slug in main or a.slug in published:
                    lost.append(
                        f"LOST: acknowledged delete of {a.slug}, but it is on "
                        f"{'main' if a.slug in main else 'published'}"
                    )
                if actions[("main", a.slug, "delete")] < 1:
                    lost.append(f"LOST: no delete commit for {a.slug} on main")
            elif a.kind == "unpublish" and actions[("published", a.slug, "unpublish")] < 1:
                lost.append(f"LOST: no unpublish commit for {a.slug} on published")
        revisions = [a.revision for a in ledger if a.line == "main"]
        if len(set(revisions)) != len(revisions):
            lost.append("two acknowledged writes share one commit")
        commits = len(lines["main"]) - 1  # less the initial commit
        acked = len(revisions) + sum(a.kind == "delete" for a in ledger)
        doubts = sum(
            n
            for k, n in self.counts.items()
            if k.startswith("in doubt: ") and k[10:] in ("create", "patch", "put", "delete")
        ) + sum(n for k, n in self.counts.items() if k.startswith("503"))
        if not acked <= commits <= acked + doubts:
            lost.append(
                f"main has {commits} commits for {acked} acknowledged writes and {doubts} in doubt"
            )
        return lost, len(ledger)

    def _actions(self) -> Counter[tuple[str, str, str]]:
        """(line, slug, action) -> number of commits, from the trailers."""
        found: Counter[tuple[str, str, str]] = Counter()
        for line in ("main", "published"):
            out = git(
                self.repo, "log", "--first-parent", "--format=%B%x1e", f"refs/heads/{line}"
            ).stdout.decode()
            for message in out.split("\x1e"):
                trailers = dict(
                    t.split(": ", 1)
                    for t in message.strip().splitlines()
                    if t.startswith(("Article: ", "Action: "))
                )
                if "Article" in trailers and "Action" in trailers:
                    found[(line, trailers["Article"], trailers["Action"])] += 1
        return found

    def _tracked_problems(self) -> list[str]:
        """Each client's articles are, on both lines, one of the outcomes it can explain."""
        main, _ = summaries_on(self.repo, "main")
        published, _ = summaries_on(self.repo, "published")
        found = []
        for c in self.clients:
            for a in c.articles:
                on_main = main.get(a.slug, ABSENT)
                live = published.get(a.slug, ABSENT)
                if on_main not in a.draft:
                    found.append(f"{a.slug}: main holds {on_main!r}, expected {sorted(a.draft)}")
                if live not in a.live:
                    found.append(f"{a.slug}: published holds {live!r}, expected {sorted(a.live)}")
        return found

    def report(self, seconds: float) -> None:
        kinds = Counter(a.kind for a in self.ledger)
        firsts = [r.first_write for r in self.restarts if r.generation]
        pubs = [r.first_publish for r in self.restarts if r.generation]
        ups = [r.startup for r in self.restarts]
        say = self.say
        say(
            f"\ncrash run: seed {self.seed}, {self.generation} kill -9 survived in {seconds:.0f} s"
            f", {self.threads} client threads, cms serve --workers 2"
        )
        say(
            f"  writes acknowledged: {len(self.ledger)} ({dict(kinds)}); checked at the end: "
            f"{self.checked}; lost: {self.lost}"
        )
        say(f"  outcomes: {dict(sorted(self.counts.items()))}")
        if firsts:
            say(
                f"  first write after restart: median {statistics.median(firsts):.3f} s, max "
                f"{max(firsts):.3f} s; first publish: median {statistics.median(pubs):.3f} s, "
                f"max {max(pubs):.3f} s; startup median {statistics.median(ups):.2f} s"
            )
        for r in self.restarts:
            if r.locks or max(r.first_write, r.first_publish) > 1:
                say(
                    f"  generation {r.generation}: locks left {r.locks}, object temp files "
                    f"{len(r.temps)}, first write {r.first_write:.2f} s, first publish "
                    f"{r.first_publish:.2f} s"
                )
        temps = len(leftovers(self.repo)[1])
        say(
            f"  object temp files left by kills (never removed): {temps}; ref lock files left "
            f"by kills: {sum(len(r.locks) for r in self.restarts)} in "
            f"{sum(bool(r.locks) for r in self.restarts)} of {self.generation} kills"
        )
        say(f"  problems: {len(self.problems)}")
        for p in self.problems[:40]:
            say(f"    {p}")
