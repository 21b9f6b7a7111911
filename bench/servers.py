"""Starting, timing and stopping the servers under test: `cms serve` and the bare Flask app.

Both run as gunicorn masters started with Popen on a free 127.0.0.1 port, 2 gthread workers
(4 threads each unless told otherwise), stdout and stderr to a log file in the work directory.
`start` returns once the first request for a given path answers 200 and records how long that
took from Popen: the start-up time.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness.launch import HOST, free_port, start

ROOT = Path(__file__).resolve().parent.parent
CMS = str(Path(sys.executable).parent / "cms")


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    startup_s: float = 0.0

    def url(self, path: str = "") -> str:
        return f"http://{HOST}:{self.port}{path}"

    def workers(self) -> list[int]:
        """Pids of the gunicorn workers (children of the master)."""
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except FileNotFoundError:
            return []
        return [int(c) for c in children]

    def worker_rss_mb(self) -> list[float]:
        return [rss_mb(pid) for pid in self.workers()]

    def worker_peak_rss_mb(self) -> list[float]:
        """Each worker's peak RSS (VmHWM) since it started or since `reset_peak_rss`."""
        return [rss_mb(pid, "VmHWM") for pid in self.workers()]

    def reset_peak_rss(self) -> None:
        """Start each worker's VmHWM again from its current RSS (Linux `clear_refs` 5)."""
        for pid in self.workers():
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                pass  # not allowed here: the peak then counts from the worker's start

    def worker_cpu_s(self) -> float:
        """CPU seconds (user + system) the workers have used so far, summed."""
        return sum(cpu_s(pid) for pid in self.workers())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """VmRSS (or another field of /proc/<pid>/status, such as VmHWM) of a process in MB
    (10^6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


def cpu_s(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _start(
    name: str,
    command: list[str],
    workdir: str,
    ready_path: str,
    timeout: float,
    env: dict[str, str] | None = None,
) -> Server:
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in command]
    log = Path(workdir) / f"{name}-{port}.log"
    t0 = time.perf_counter()
    process = start(
        command,
        f"http://{HOST}:{port}{ready_path}",
        log,
        env,
        timeout,
        stdout_to_log=True,
        every=0.01,
        cwd=ROOT,
    )
    return Server(name, process, port, log, time.perf_counter() - t0)


def start_cms(
    repo: str,
    workdir: str,
    ready_path: str,
    *,
    workers: int = 2,
    threads: int | None = None,
    timeout: float = 120.0,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Server:
    """`cms serve` on a free port (default threads unless `threads` is given), with `args`
    added to its command line."""
    command = [
        CMS,
        "--repo",
        repo,
        "serve",
        "--host",
        HOST,
        "--port",
        "{port}",
        "--workers",
        str(workers),
        *args,
    ]
    if threads is not None:
        command += ["--threads", str(threads)]
    return _start("cms", command, workdir, ready_path, timeout, env)


def start_bare(
    data: str,
    workdir: str,
    ready_path: str,
    *,
    workers: int = 2,
    threads: int = 4,
    timeout: float = 120.0,
) -> Server:
    command = [
        sys.executable,
        "-m",
        "bench.bare_app",
        "--host",
        HOST,
        "--port",
        "{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--data",
        data,
    ]
    return _start("bare", command, workdir, ready_path, timeout)
