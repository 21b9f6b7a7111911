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
import signal
import statistics
import subprocess
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from cms import layout
from cms.gitrefs import LOCK_WAIT_SECONDS, STALE_LOCK_SECONDS
from cms.testing import GIT_ENV, article
from cms.testing.launch import cms_command, free_port, start
from cms.tokens import TokenStore

URL = "/api/v1/manage/articles"
ABSENT = "<absent>"  # the outcome "no file": never created, deleted, or not live
PROBE = "crash-probe"
# "The first write after a restart succeeds within a few seconds."
FIRST_WRITE_LIMIT = 5.0
TIMEOUT = (3.0, LOCK_WAIT_SECONDS + STALE_LOCK_SECONDS + 20.0)
SEED = int(os.environ.get("CMS_CRASH_SEED", "20250601"))


# -- git, read directly ----------------------------------------------------------------------


def git(repo: Path, *args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args], input=data, capture_output=True,
        env={**os.environ, **GIT_ENV}, timeout=120,
    )


def tip(repo: Path, line: str) -> str | None:
    result = git(repo, "rev-parse", "--verify", "-q", f"refs/heads/{line}")
    return result.stdout.decode().strip() or None


def rev_list(repo: Path, line: str) -> set[str]:
    return set(git(repo, "rev-list", f"refs/heads/{line}").stdout.decode().split())


def cat_files(repo: Path, specs: list[str]) -> dict[str, bytes | None]:
    """`git cat-file --batch` for many `rev:path` (or object) names at once."""
    if not specs:
        return {}
    out = git(repo, "cat-file", "--batch", data="".join(f"{s}\n" for s in specs).encode())
    found: dict[str, bytes | None] = {}
    data, at = out.stdout, 0
    for spec in specs:
        end = data.index(b"\n", at)
        header = data[at:end].split()
        at = end + 1
        if len(header) != 3:  # "<name> missing" / "ambiguous"
            found[spec] = None
            continue
        size = int(header[2])
        found[spec] = data[at:at + size]
        at += size + 1
    return found


def files_on(repo: Path, line: str) -> dict[str, str]:
    """Every file under articles/ on `line`: path -> blob id."""
    head = tip(repo, line)
    if head is None:
        return {}
    out = git(repo, "ls-tree", "-r", "-z", head, "--", layout.ROOT).stdout.decode()
    files = {}
    for entry in filter(None, out.split("\0")):
        meta, _, path = entry.partition("\t")
        files[path] = meta.split()[2]
    return files


def summaries_on(repo: Path, line: str) -> tuple[dict[str, str | None], list[str]]:
    """slug -> the `summary` of its file on `line`; and a problem for any file that is not
    a whole JSON article."""
    files = files_on(repo, line)
    blobs = cat_files(repo, list(files.values()))
    found: dict[str, str | None] = {}
    problems = []
    for path, blob in files.items():
        slug = layout.slug_from_path(path)
        try:
            doc = json.loads(blobs[blob] or b"")
        except ValueError as e:
            problems.append(f"{line}: {path} is not whole JSON ({e})")
            continue
        if slug is None or not isinstance(doc, dict) or doc.get("slug") != slug:
            problems.append(f"{line}: {path} is not an article file")
            continue
        found[slug] = doc.get("summary")
    return found, problems


def fsck_problems(repo: Path) -> list[str]:
    """`git fsck --strict`: non-zero exit, or any line that is not a dangling object."""
    result = git(repo, "fsck", "--strict", "--no-progress")
    output = (result.stdout + result.stderr).decode(errors="replace")
    bad = [line for line in output.splitlines()
           if line.strip() and not line.startswith(("dangling ", "notice: "))]
    if result.returncode != 0 or bad:
        return [f"git fsck --strict (exit {result.returncode}): {output.strip()[:2000]}"]
    return []


def cms_check_problems(repo: Path) -> list[str]:
    result = subprocess.run([cms_command(), "--repo", str(repo), "check"], capture_output=True,
                            text=True, timeout=120)
    if result.returncode != 0:
        return [f"cms check exit {result.returncode}: {(result.stdout + result.stderr)[:2000]}"]
    return []


def leftovers(repo: Path) -> tuple[list[str], list[str]]:
    """Ref lock files and unrenamed object temp files a killed writer left behind."""
    locks = [str(p.relative_to(repo)) for p in (repo / "refs").rglob("*.lock")]
    temps = [str(p.relative_to(repo)) for p in (repo / "objects").glob("*/tmp_obj_*")]
    return locks, temps


def api_items(session: requests.Session, url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for number in range(1, 1000):
        r = session.get(url, params={"page": number, "per_page": 100}, timeout=TIMEOUT)
        r.raise_for_status()
        body = r.json()
        items += body["items"]
        if number >= body["meta"]["pages"]:
            break
    return items


def index_problems(session: requests.Session, base: str, repo: Path) -> list[str]:
    """The API (the SQLite index) lists exactly what git holds, on both lines."""
    problems: list[str] = []
    main, bad_main = summaries_on(repo, "main")
    published, bad_published = summaries_on(repo, "published")
    problems += bad_main + bad_published
    listed = {a["slug"]: a.get("summary") for a in api_items(session, base + URL)}
    if listed != main:
        missing, extra = sorted(set(main) - set(listed)), sorted(set(listed) - set(main))
        differ = sorted(s for s in set(main) & set(listed) if main[s] != listed[s])
        problems.append(f"index != main: missing {missing[:5]}, extra {extra[:5]}, "
                        f"stale {differ[:5]}")
    live = {s: v for s, v in published.items() if s in main}
    delivered = {a["slug"]: a.get("summary") for a in api_items(session,
                                                                base + "/api/v1/articles")}
    if delivered != live:
        stale = sorted(s for s in set(live) & set(delivered) if live[s] != delivered[s])
        problems.append(f"delivery != published: {sorted(set(delivered) ^ set(live))[:5]} "
                        f"stale {stale[:5]}")
    return problems


# -- the server, in its own session so that SIGKILL reaches every process -------------------


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group `pgid`."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry))
    return members


class Server:
    """`cms serve --workers N` on a fresh port each start; `kill()` is kill -9 of the group."""

    def __init__(self, repo: Path, log: Path, *, workers: int = 2,
                 env: dict[str, str] | None = None) -> None:
        self.repo, self.log_path, self.workers = repo, log, workers
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = ""
        self.killed_processes: list[int] = []

    def start(self, timeout: float = 60.0) -> float:
        """Start and wait for /healthz; return the seconds it took."""
        assert self.proc is None
        port = free_port()
        started = time.monotonic()
        base = f"http://127.0.0.1:{port}"
        self.proc = start(
            [cms_command(), "--repo", str(self.repo), "serve", "--host", "127.0.0.1",
             "--port", str(port), "--workers", str(self.workers)],
            f"{base}/healthz", self.log_path, self.env, timeout, new_session=True)
        self.base = base
        return time.monotonic() - started

    def kill(self) -> int:
        """SIGKILL the master, its workers and their git helpers at once; return how many
        processes there were."""
        if self.proc is None:
            return 0
        pgid = self.proc.pid  # the session (and group) leader
        members = group_members(pgid)
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.02)
        left = group_members(pgid)
        self.proc, self.base = None, ""
        if left:
            raise RuntimeError(f"processes {left} survived kill -9 of group {pgid}")
        return len(members)

    def log_tail(self, size: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-size:].decode(errors="replace")
        except OSError:
            return ""


# -- the ledger -----------------------------------------------------------------------------


@dataclass
class Ack:
    """One acknowledged write. `revision` is on `line`, and the article's file there has
    `summary == marker`; a delete (line None) must have left the article on neither line."""

    kind: str
    slug: str
    line: str | None
    revision: str | None
    marker: str | None


@dataclass
class Tracked:
    """An article one client owns. `draft` and `live` hold the summaries its file may have on
    `main` and `published` (ABSENT: no file); more than one only while a write is in doubt."""

    slug: str
    draft: set[str]
    live: set[str]
    etag: str | None = None
    doubt: str | None = None  # the operation cut off by a kill, until read back
    retired: bool = False

    def current(self) -> str:
        assert len(self.draft) == 1
        return next(iter(self.draft))


class Gate:
    """Lets client threads run while the server is up; `drain` waits until none is inside."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._open = False
        self._busy = 0
        self._base = ""
        self.stopping = False

    def enter(self, timeout: float) -> str | None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._open or self.stopping, timeout):
                return None
            if self.stopping:
                return None
            self._busy += 1
            return self._base

    def leave(self) -> None:
        with self._cond:
            self._busy -= 1
            self._cond.notify_all()

    def open(self, base: str) -> None:
        with self._cond:
            self._open, self._base = True, base
            self._cond.notify_all()

    def close(self, timeout: float = 60.0) -> bool:
        """Stop letting clients in and wait until those inside are out."""
        with self._cond:
            self._open = False
            return self._cond.wait_for(lambda: self._busy == 0, timeout)

    def stop(self) -> None:
        with self._cond:
            self.stopping, self._open = True, False
            self._cond.notify_all()


class Client(threading.Thread):
    """Creates, edits (If-Match), publishes, unpublishes and deletes its own articles."""

    MAX_STEPS = 1_000_000

    def __init__(self, run: CrashRun, number: int) -> None:
        super().__init__(name=f"writer-{number}", daemon=True)
        self.crash_run = run
        self.number = number
        self.rng = random.Random(run.seed * 1000 + number)
        self.articles: list[Tracked] = []
        self.made = 0
        self.session: requests.Session | None = None

    def run(self) -> None:
        try:
            self.work_loop()
        except Exception:
            self.crash_run.problem(f"{self.name} stopped: {traceback.format_exc()}")
        finally:
            if self.session is not None:
                self.session.close()

    def work_loop(self) -> None:
        gate, base_seen = self.crash_run.gate, ""
        for _ in range(self.MAX_STEPS):
            base = gate.enter(timeout=0.5)
            if base is None:
                if gate.stopping:
                    return
                continue
            try:
                if base != base_seen or self.session is None:
                    if self.session is not None:
                        self.session.close()
                    self.session = requests.Session()
                    self.session.headers.update(self.crash_run.headers)
                    base_seen = base
                self.step(self.session, base)
            finally:
                gate.leave()

    # one step: read back a write in doubt, or make one write

    def step(self, s: requests.Session, base: str) -> None:
        doubtful = [a for a in self.articles if a.doubt]
        if doubtful:
            self.read_back(s, base, doubtful[0])
            return
        mine = [a for a in self.articles if not a.retired]
        if len(mine) < 3 or self.rng.random() < 0.15:
            self.op_create(s, base)
            return
        a = self.rng.choice(mine)
        choices = ["patch", "put", "delete"]
        weights = [50, 15, 7]
        if a.current() not in a.live:
            choices.append("publish")
            weights.append(22)
        if ABSENT not in a.live:
            choices.append("unpublish")
            weights.append(6)
        getattr(self, "op_" + self.rng.choices(choices, weights)[0])(s, base, a)

    def new_marker(self) -> str:
        self.made += 1
        return f"w{self.number}-{self.made}-g{self.crash_run.generation}"

    def send(self, s: requests.Session, method: str, url: str, **kw: Any
              ) -> requests.Response | None:
        """The response, or None when the outcome is unknown (cut off, or a 503)."""
        try:
            r = s.request(method, url, timeout=TIMEOUT, **kw)
        except requests.RequestException:
            return None
        if r.status_code == 503:
            self.crash_run.count("503 (not acknowledged)")
            return None
        if r.status_code >= 500:
            self.crash_run.problem(f"{method} {url} -> {r.status_code} {r.text[:300]}")
            return None
        return r

    def mark_doubt(self, a: Tracked, op: str) -> None:
        a.doubt, a.etag = op, None
        self.crash_run.count(f"in doubt: {op}")

    def op_create(self, s: requests.Session, base: str) -> None:
        marker = self.new_marker()
        slug = f"w{self.number}-{self.made}-s{self.crash_run.seed}"
        a = Tracked(slug, {ABSENT}, {ABSENT})
        self.articles.append(a)
        body = article(f"Story {marker}", slug=slug, summary=marker, tags=["crash", marker])
        r = self.send(s, "POST", base + URL, json=body)
        if r is None:
            a.draft.add(marker)
            self.mark_doubt(a, "create")
        elif r.status_code == 201 and r.json()["slug"] == slug:
            self.crash_run.ack(Ack("create", slug, "main", r.json()["meta"]["revision"], marker))
            a.draft, a.etag = {marker}, r.headers["ETag"]
        else:
            self.crash_run.problem(f"create {slug} -> {r.status_code} {r.text[:300]}")
            a.retired = True

    def edit(self, s: requests.Session, base: str, a: Tracked, method: str,
              body: dict[str, Any], marker: str) -> None:
        r = self.send(s, method, f"{base}{URL}/{a.slug}", json=body,
                       headers={"If-Match": a.etag or "*"})
        if r is None:
            a.draft.add(marker)
            self.mark_doubt(a, method.lower())
        elif r.status_code == 200:
            self.crash_run.ack(Ack(method.lower(), a.slug, "main", r.json()["meta"]["revision"],
                                   marker))
            a.draft, a.etag = {marker}, r.headers["ETag"]
        else:  # the article is this thread's alone: a 412 means a write was lost or misread
            self.crash_run.problem(f"{method} {a.slug} -> {r.status_code} {r.text[:300]}")
            a.doubt = "unexpected"

    def op_patch(self, s: requests.Session, base: str, a: Tracked) -> None:
        marker = self.new_marker()
        self.edit(s, base, a, "PATCH", {"summary": marker}, marker)

    def op_put(self, s: requests.Session, base: str, a: Tracked) -> None:
        marker = self.new_marker()
        body = article(f"Rewritten {marker}", slug=a.slug, summary=marker, section="world")
        self.edit(s, base, a, "PUT", body, marker)

    def op_publish(self, s: requests.Session, base: str, a: Tracked) -> None:
        draft = a.current()
        r = self.send(s, "POST", f"{base}{URL}/{a.slug}/publish")
        if r is None:
            a.live.add(draft)
            self.mark_doubt(a, "publish")
        elif r.status_code == 200 and r.json()["meta"]["state"] == "published":
            self.crash_run.ack(Ack("publish", a.slug, "published",
                                   r.json()["meta"]["published_revision"], draft))
            a.live = {draft}
        else:
            self.crash_run.problem(f"publish {a.slug} -> {r.status_code} {r.text[:300]}")
            a.doubt = "unexpected"

    def op_unpublish(self, s: requests.Session, base: str, a: Tracked) -> None:
        r = self.send(s, "POST", f"{base}{URL}/{a.slug}/unpublish")
        if r is None:
            a.live.add(ABSENT)
            self.mark_doubt(a, "unpublish")
        elif r.status_code == 200:
            self.crash_run.ack(Ack("unpublish", a.slug, None, None, None))
            a.live = {ABSENT}
        else:
            self.crash_run.problem(f"unpublish {a.slug} -> {r.status_code} {r.text[:300]}")
            a.doubt = "unexpected"

    def op_delete(self, s: requests.Session, base: str, a: Tracked) -> None:
        r = self.send(s, "DELETE", f"{base}{URL}/{a.slug}",
                       headers={"If-Match": a.etag or "*"})
        if r is None:
            a.draft.add(ABSENT)
            a.live.add(ABSENT)
            self.mark_doubt(a, "delete")
        elif r.status_code == 204:
            self.crash_run.ack(Ack("delete", a.slug, None, None, None))
            a.draft, a.live, a.retired = {ABSENT}, {ABSENT}, True
        else:
            self.crash_run.problem(f"delete {a.slug} -> {r.status_code} {r.text[:300]}")
            a.doubt = "unexpected"

    def read_back(self, s: requests.Session, base: str, a: Tracked) -> None:
        """Read back an article whose last write was cut off: its draft and live versions must
        be one of the outcomes that write could have had."""
        try:
            draft = s.get(f"{base}{URL}/{a.slug}", timeout=TIMEOUT)
            live = s.get(f"{base}/api/v1/articles/{a.slug}", timeout=TIMEOUT)
        except requests.RequestException:
            return
        if draft.status_code >= 500 or live.status_code >= 500:
            if 503 not in (draft.status_code, live.status_code):
                self.crash_run.problem(f"read back {a.slug} -> {draft.status_code} "
                                       f"{live.status_code} {draft.text[:200]}")
            return
        seen_draft = draft.json().get("summary") if draft.status_code == 200 else ABSENT
        seen_live = live.json().get("summary") if live.status_code == 200 else ABSENT
        if draft.status_code not in (200, 404) or live.status_code not in (200, 404):
            self.crash_run.problem(f"read back {a.slug} -> {draft.status_code} "
                                   f"{live.status_code}")
            return
        if seen_draft not in a.draft:
            self.crash_run.problem(f"{a.slug}: draft is {seen_draft!r}, expected one of "
                                   f"{sorted(a.draft)} after a {a.doubt} in doubt")
        if seen_live not in a.live and seen_draft != ABSENT:
            self.crash_run.problem(f"{a.slug}: live is {seen_live!r}, expected one of "
                                   f"{sorted(a.live)} after a {a.doubt} in doubt")
        if a.doubt != "unexpected":
            before = {"create": ABSENT, "delete": ABSENT}.get(a.doubt or "")
            self.crash_run.count(f"in doubt, then read back ({len(a.draft)}/{len(a.live)} "
                                 "outcomes possible)")
            if before is not None and seen_draft != before:
                self.crash_run.count(f"in doubt: {a.doubt} had not happened")
        a.draft = {seen_draft}
        if seen_draft == ABSENT:
            a.live, a.retired = {ABSENT}, True  # the live file of a deleted article: see git
        else:
            a.live = {seen_live}
        a.etag = draft.headers.get("ETag") if draft.status_code == 200 else None
        a.doubt = None


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
        server = Server(self.repo, self.workdir / "server.log")
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
                self._boot(server, Restart(self.generation, 0, 0, 0, locks, temps, killed,
                                           load))
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
                r = s.post(server.base + URL, json=article("Probe", slug=PROBE, summary=marker),
                           timeout=TIMEOUT)
                ok = r.status_code == 201
            else:  # the first write after the restart: does a lock left by the kill block it?
                began = time.monotonic()
                r = s.patch(f"{server.base}{URL}/{PROBE}", json={"summary": marker},
                            headers={"If-Match": "*"}, timeout=TIMEOUT)
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
                self.ack(Ack("publish", PROBE, "published",
                             r.json()["meta"]["published_revision"], marker))
            slow = max(restart.first_write, restart.first_publish)
            if slow > FIRST_WRITE_LIMIT and not restart.locks:
                self.problem(f"first write after restart took {slow:.1f} s with no lock left "
                             "by the kill")
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
                    lost.append(f"LOST: acknowledged {a.kind} of {a.slug} ({a.revision[:12]}) "
                                f"is not on {a.line}")
                    continue
                raw = contents.get(f"{a.revision}:{layout.article_path(a.slug)}")
                try:
                    summary = json.loads(raw or b"").get("summary")
                except ValueError:
                    summary = "<not JSON>"
                if summary != a.marker:
                    lost.append(f"LOST: {a.kind} of {a.slug} at {a.revision[:12]} holds "
                                f"{summary!r}, not {a.marker!r}")
            elif a.kind == "delete":
                if a.slug in main or a.slug in published:
                    lost.append(f"LOST: acknowledged delete of {a.slug}, but it is on "
                                f"{'main' if a.slug in main else 'published'}")
                if actions[("main", a.slug, "delete")] < 1:
                    lost.append(f"LOST: no delete commit for {a.slug} on main")
            elif a.kind == "unpublish" and actions[("published", a.slug, "unpublish")] < 1:
                lost.append(f"LOST: no unpublish commit for {a.slug} on published")
        revisions = [a.revision for a in ledger if a.line == "main"]
        if len(set(revisions)) != len(revisions):
            lost.append("two acknowledged writes share one commit")
        commits = len(lines["main"]) - 1  # less the initial commit
        acked = len(revisions) + sum(a.kind == "delete" for a in ledger)
        doubts = sum(n for k, n in self.counts.items() if k.startswith("in doubt: ")
                     and k[10:] in ("create", "patch", "put", "delete")) + sum(
            n for k, n in self.counts.items() if k.startswith("503"))
        if not acked <= commits <= acked + doubts:
            lost.append(f"main has {commits} commits for {acked} acknowledged writes and "
                        f"{doubts} in doubt")
        return lost, len(ledger)

    def _actions(self) -> Counter[tuple[str, str, str]]:
        """(line, slug, action) -> number of commits, from the trailers."""
        found: Counter[tuple[str, str, str]] = Counter()
        for line in ("main", "published"):
            out = git(self.repo, "log", "--first-parent", "--format=%B%x1e",
                      f"refs/heads/{line}").stdout.decode()
            for message in out.split("\x1e"):
                trailers = dict(t.split(": ", 1) for t in message.strip().splitlines()
                                if t.startswith(("Article: ", "Action: ")))
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
                    found.append(f"{a.slug}: published holds {live!r}, expected "
                                 f"{sorted(a.live)}")
        return found

    def report(self, seconds: float) -> None:
        kinds = Counter(a.kind for a in self.ledger)
        firsts = [r.first_write for r in self.restarts if r.generation]
        pubs = [r.first_publish for r in self.restarts if r.generation]
        ups = [r.startup for r in self.restarts]
        say = self.say
        say(f"\ncrash run: seed {self.seed}, {self.generation} kill -9 survived in {seconds:.0f} s"
            f", {self.threads} client threads, cms serve --workers 2")
        say(f"  writes acknowledged: {len(self.ledger)} ({dict(kinds)}); checked at the end: "
            f"{self.checked}; lost: {self.lost}")
        say(f"  outcomes: {dict(sorted(self.counts.items()))}")
        if firsts:
            say(f"  first write after restart: median {statistics.median(firsts):.3f} s, max "
                f"{max(firsts):.3f} s; first publish: median {statistics.median(pubs):.3f} s, "
                f"max {max(pubs):.3f} s; startup median {statistics.median(ups):.2f} s")
        for r in self.restarts:
            if r.locks or max(r.first_write, r.first_publish) > 1:
                say(f"  generation {r.generation}: locks left {r.locks}, object temp files "
                    f"{len(r.temps)}, first write {r.first_write:.2f} s, first publish "
                    f"{r.first_publish:.2f} s")
        temps = len(leftovers(self.repo)[1])
        say(f"  object temp files left by kills (never removed): {temps}; ref lock files left "
            f"by kills: {sum(len(r.locks) for r in self.restarts)} in "
            f"{sum(bool(r.locks) for r in self.restarts)} of {self.generation} kills")
        say(f"  problems: {len(self.problems)}")
        for p in self.problems[:40]:
            say(f"    {p}")
