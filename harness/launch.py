"""The one way tests, soak runs and benchmarks start a server: a process on a free 127.0.0.1
port, waited for until a URL answers 200, stopped with SIGTERM (then SIGKILL)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def cms_command() -> str:
    """The `cms` command of this Python environment."""
    return shutil.which("cms") or str(Path(sys.executable).parent / "cms")


def answers(url: str, proc: subprocess.Popen[bytes], timeout: float, every: float = 0.05) -> bool:
    """Wait until `url` answers 200: True, or False once `proc` exits or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(every)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not gone within 15 seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start(
    command: list[str],
    ready: str,
    log: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30,
    *,
    stdout_to_log: bool = False,
    new_session: bool = False,
    every: float = 0.05,
    cwd: str | Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start `command` (stderr, and stdout if asked, appended to `log`) and return it once
    `ready` answers 200. Raises RuntimeError with the log's tail if it never does."""
    with log.open("ab") if log else open(os.devnull, "ab") as err:
        proc = subprocess.Popen(
            command,
            stdout=err if stdout_to_log else subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, **(env or {})},
            start_new_session=new_session,
            cwd=cwd,
        )
    if not answers(ready, proc, timeout, every):
        stop(proc)
        tail = log.read_bytes()[-4000:].decode(errors="replace") if log else ""
        raise RuntimeError(f"{command[0]} did not answer 200 on {ready}:\n{tail}")
    return proc


@contextmanager
def running(
    command: list[str],
    ready: str,
    log: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30,
) -> Iterator[None]:
    """Run `command` (stderr to `log`) while the block runs, once `ready` answers 200."""
    proc = start(command, ready, log, env, timeout)
    try:
        yield
    finally:
        stop(proc)


@contextmanager
def cms_server(
    repo: Path, log: Path, env: dict[str, str] | None = None, workers: int = 2
) -> Iterator[str]:
    """`cms serve` on a free port; yields its base URL."""
    port = free_port()
    base = f"http://{HOST}:{port}"
    with running(
        [
            cms_command(),
            "--repo",
            str(repo),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        f"{base}/healthz",
        log,
        env,
    ):
        yield base
