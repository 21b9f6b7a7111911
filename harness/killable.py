"""`cms serve` in its own session, so that one SIGKILL reaches every process of it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from harness.launch import cms_command, free_port, start


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
    """`cms serve --workers N`, on a fresh port each start unless given one; `kill()` is kill -9
    of the group."""

    def __init__(
        self,
        repo: Path,
        log: Path,
        *,
        workers: int = 2,
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        """`port`: listen there at every start (a cache in front names it), else on a
        fresh one each time."""
        self.repo, self.log_path, self.workers, self.port = repo, log, workers, port
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = ""
        self.killed_processes: list[int] = []

    def start(self, timeout: float = 60.0) -> float:
        """Start and wait for /healthz; return the seconds it took."""
        assert self.proc is None
        port = self.port or free_port()
        started = time.monotonic()
        base = f"http://127.0.0.1:{port}"
        self.proc = start(
            [
                cms_command(),
                "--repo",
                str(self.repo),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(self.workers),
            ],
            f"{base}/healthz",
            self.log_path,
            self.env,
            timeout,
            new_session=True,
        )
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
