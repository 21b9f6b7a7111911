"""Push mirrors: other git repositories that receive `main` and `published` after each write.

A mirror is a name and a git URL, kept in `<git dir>/cms/mirrors.json` (never in history, so a
URL carrying a credential never reaches a clone). What the pusher last did to each mirror is
kept beside it, in `<git dir>/cms/mirrors/<name>.json`: the tips it last pushed, when, how
many pushes it made and the last error, so `cms mirror list` and `/healthz` can show it from
any process.

A push sends both lines in one atomic push, without force, at the commits read just before it
started (so what is recorded as pushed is exactly what the mirror got). A mirror whose lines
moved on by themselves (someone pushed to it) refuses the fast-forward; that is recorded as
`diverged` and the mirror is left as it is. One push per mirror is in flight at a time across
every process: each push holds an flock on `<git dir>/cms/mirrors/<name>.lock`.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cms.errors import BadRequest, Conflict, NotFound
from cms.git import private
from cms.git.private import read_json, write_json
from cms.git.remotes import check_url, first_error, git_call, redact, scrub
from cms.git.repository import Repository
from cms.times import iso

LINES = ("main", "published")
NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
NAME_MAX = 40
PUSH_TIMEOUT = 120.0
# A push of small JSON commits spends its CPU mostly in pack-objects: a delta window of 2
# (git's is 10) still finds the tree deltas (the pack stays about as small) and zlib level 1
# compresses nearly as well, for about 12% less CPU per push (bench: 40 saves a push, 800
# articles).
PUSH_CONFIG = ("-c", "pack.window=2", "-c", "pack.compression=1")
# the server's own pushes run at a lower CPU priority than the workers serving requests: on a
# busy primary a push waits for idle CPU (the mirror lags a little longer) instead of taking
# it from writes; `cms mirror push` by hand runs at normal priority
BACKGROUND = ("nice", "-n", "10") if shutil.which("nice") else ()


@dataclass(frozen=True)
class Mirror:
    name: str
    url: str
    added_at: str
    # seconds a push waits after the one before (a host that asks for few pushes a minute)
    min_interval: float = 0.0


@dataclass
class PushResult:
    ok: bool
    diverged: bool
    error: str | None
    tips: dict[str, str | None]


def now_iso() -> str:
    return iso(int(time.time()))


class Mirrors:
    """The mirrors of the repository whose git directory is `git_dir`, and their push state."""

    def __init__(self, git_dir: str) -> None:
        self.git_dir = git_dir
        self.path = os.path.join(git_dir, private.FOLDER, "mirrors.json")
        self.state_dir = os.path.join(git_dir, private.FOLDER, "mirrors")
        self._stamp: tuple[int, int, int] | None = None
        self._mirrors: dict[str, Mirror] = {}

    # -- configuration ---------------------------------------------------------

    def all(self) -> list[Mirror]:
        """The configured mirrors, in the order they were added (re-read when the file
        changed, so every process sees `cms mirror add` and `remove` at once)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._stamp, self._mirrors = None, {}
            return []
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            records = read_json(self.path, [])
            self._mirrors = {r["name"]: Mirror(**r) for r in records}
            self._stamp = stamp
        return list(self._mirrors.values())

    def get(self, name: str) -> Mirror:
        """The mirror called `name`; raises NotFound."""
        for mirror in self.all():
            if mirror.name == name:
                return mirror
        raise NotFound(f"There is no mirror '{name}'.", {"name": ["No such mirror."]})

    @contextmanager
    def _changing(self) -> Iterator[dict[str, Mirror]]:
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        with open(self.path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._stamp = None
            mirrors = {m.name: m for m in self.all()}
            yield mirrors
            write_json(self.path, [m.__dict__ for m in mirrors.values()], durable=False)

    def add(self, name: str, url: str, min_interval: float = 0.0) -> Mirror:
        """Add a mirror; return it (adding the same one again changes nothing). Raises
        BadRequest for a bad name, URL or interval, Conflict when the name is taken."""
        errors: dict[str, list[str]] = {}
        if len(name) > NAME_MAX or not NAME_RE.match(name):
            errors["name"] = [
                f"Lower-case letters, digits and single hyphens, at most "
                f"{NAME_MAX} characters (e.g. github-backup)."
            ]
        url_problems = check_url(url)
        if url_problems:
            errors["url"] = url_problems
        if not 0 <= min_interval <= 86400:
            errors["min_interval"] = ["Between 0 and 86400 seconds."]
        if errors:
            raise BadRequest(f"Invalid mirror: {', '.join(errors)}.", errors)
        with self._changing() as mirrors:
            known = mirrors.get(name)
            if known is not None and (known.url, known.min_interval) == (url, min_interval):
                return known  # the same mirror again: nothing to do (scripts may repeat it)
            if known is not None:
                raise Conflict(
                    f"There is already a mirror '{name}' (at "
                    f"{redact(known.url)}); remove it first.",
                    {"name": ["Already in use."]},
                )
            mirrors[name] = Mirror(name, url, now_iso(), float(min_interval))
        return mirrors[name]

    def remove(self, name: str) -> Mirror:
        """Remove a mirror and its push state; return it. Raises NotFound."""
        with self._changing() as mirrors:
            if name not in mirrors:
                raise NotFound(f"There is no mirror '{name}'.", {"name": ["No such mirror."]})
            mirror = mirrors.pop(name)
        with self._turn(name):
            try:
                os.unlink(self._state_path(name))
            except FileNotFoundError:
                pass
        return mirror

    # -- push state ------------------------------------------------------------

    def _state_path(self, name: str) -> str:
        return os.path.join(self.state_dir, f"{name}.json")

    def state(self, name: str) -> dict[str, Any]:
        """What the pusher last did to mirror `name`: `pushed` ({line: commit}), `pushes`,
        `failures`, `last_push_at`, `last_attempt_at`, `last_attempt_seconds` (how long it
        took), `last_error`, `diverged`."""
        default = {
            "pushed": {line: None for line in LINES},
            "pushes": 0,
            "failures": 0,
            "last_push_at": None,
            "last_attempt_at": None,
            "last_attempt_seconds": None,
            "last_error": None,
            "diverged": False,
        }
        return default | read_json(self._state_path(name), {})

    def status(self, tips: dict[str, str | None]) -> list[dict[str, Any]]:
        """Every mirror with its state against the repository's `tips`: `status` is `in sync`,
        `behind` (a push is due), `failing` (the last push failed) or `diverged`."""
        shown = []
        for mirror in self.all():
            state = self.state(mirror.name)
            if state["diverged"]:
                status = "diverged"
            elif state["last_error"]:
                status = "failing"
            elif state["pushed"] != tips:
                status = "behind"
            else:
                status = "in sync"
            shown.append(
                {
                    "name": mirror.name,
                    "url": redact(mirror.url),
                    "status": status,
                    "min_interval": mirror.min_interval,
                    **state,
                }
            )
        return shown

    @contextmanager
    def _turn(self, name: str) -> Iterator[None]:
        """Hold mirror `name`'s push turn (an flock every process on this repository shares,
        dropped by the kernel if the holder dies)."""
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(self.state_dir, f"{name}.lock"), os.O_RDONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def push(
        self, name: str, timeout: float = PUSH_TIMEOUT, *, background: bool = False
    ) -> PushResult:
        """Push `main` and `published`, as they are now, to mirror `name`; record the outcome
        and return it. Never forces. `background`: at a lower CPU priority (see BACKGROUND).
        Raises NotFound for an unknown mirror."""
        with self._turn(name):
            mirror = self.get(name)  # under the turn: `remove` may have just taken it
            tips = self.tips()
            started = time.monotonic()
            result = self._push(mirror, tips, timeout, BACKGROUND if background else ())
            state = self.state(name)
            state["last_attempt_at"] = now_iso()
            state["last_attempt_seconds"] = round(time.monotonic() - started, 3)
            state["diverged"] = result.diverged
            state["last_error"] = result.error
            if result.ok:
                state["pushed"] = tips
                state["last_push_at"] = state["last_attempt_at"]
                state["pushes"] += 1
            else:
                state["failures"] += 1
            if self._mirror_exists(name):
                write_json(self._state_path(name), state, durable=False)
        return result

    def tips(self) -> dict[str, str | None]:
        """Where `main` and `published` point now."""
        return dict(Repository(self.git_dir).tips())

    def _mirror_exists(self, name: str) -> bool:
        self._stamp = None
        return any(m.name == name for m in self.all())

    def _push(
        self, mirror: Mirror, tips: dict[str, str | None], timeout: float, prefix: tuple[str, ...]
    ) -> PushResult:
        specs = [f"{sha}:refs/heads/{line}" for line, sha in tips.items() if sha]
        if not specs:
            return PushResult(True, False, None, tips)
        url, env = git_call(mirror.url, self.git_dir)
        command = [
            *prefix,
            "git",
            *PUSH_CONFIG,
            "--git-dir",
            self.git_dir,
            "push",
            "--porcelain",
            "--atomic",
            "--no-verify",
            "--",
            url,
            *specs,
        ]
        try:
            run = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return PushResult(False, False, f"no answer within {timeout:g} s", tips)
        if run.returncode == 0:
            return PushResult(True, False, None, tips)
        rejected = [
            line.split("\t")
            for line in run.stdout.splitlines()
            if line.startswith("!\t") and line.count("\t") >= 2
        ]
        diverged = [
            ref.split(":")[-1].removeprefix("refs/heads/")
            for _, ref, why, *_ in rejected
            if "non-fast-forward" in why or "fetch first" in why
        ]
        if diverged:
            verb = "have" if len(diverged) > 1 else "has"
            return PushResult(
                False,
                True,
                (
                    f"the mirror's {' and '.join(diverged)} {verb} commits this repository "
                    "does not have; not force-pushed (repair the mirror by hand)"
                ),
                tips,
            )
        reasons = [
            f"{ref.split(':')[-1].removeprefix('refs/heads/')}: {why}"
            for _, ref, why, *_ in rejected
            if "atomic push failed" not in why
        ]
        error = "; ".join(reasons) or first_error(run.stderr) or f"git push exit {run.returncode}"
        return PushResult(False, False, scrub(error, mirror.url), tips)


def wait_seconds(failures_in_a_row: int, most: float) -> float:
    """How long to wait before retrying a mirror after that many failed pushes in a row:
    0.5 s, doubling, at most `most`."""
    return float(min(most, 0.5 * 2 ** max(0, failures_in_a_row - 1)))
