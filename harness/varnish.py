"""A real Varnish (Debian's `varnish` and `varnish-modules`) in front of a CMS server, for the
tests and the benchmark: `deploy/varnish/default.vcl` as shipped, with an `origin.vcl` of its
own (the backend's port, and the address purges are taken from) in a working folder."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.launch import HOST, free_port, start, stop

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "varnish"
VARNISHD = "varnishd"


def available() -> bool:
    """Whether varnishd and the xkey vmod are installed (`make system-packages`)."""
    found = shutil.which(VARNISHD) or Path("/usr/sbin/varnishd").exists()
    return bool(found) and any(Path("/usr/lib").glob("*/varnish/vmods/libvmod_xkey.so"))


def origin_vcl(port: int, purgers: tuple[str, ...] = (HOST,)) -> str:
    """The `origin.vcl` of a CMS at 127.0.0.1:`port`, taking purges from `purgers`."""
    allowed = "".join(f'    "{a}";\n' for a in purgers)
    return (
        f'backend cms {{\n    .host = "{HOST}";\n    .port = "{port}";\n}}\n\n'
        f"acl origin {{\n{allowed}}}\n"
    )


@contextmanager
def varnish(
    origin_port: int,
    folder: Path,
    *,
    port: int | None = None,
    memory: str = "64m",
    threads: int | None = None,
    nice: int = 0,
) -> Iterator[str]:
    """varnishd on 127.0.0.1:`port` (default: a free one) in front of the CMS at
    `origin_port` while the block runs (its working directory and VCL in `folder`, at
    niceness `nice`); yields its base URL. The CMS must answer /healthz already."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "origin.vcl").write_text(origin_vcl(origin_port))
    port = port or free_port()
    command = [
        shutil.which(VARNISHD) or "/usr/sbin/varnishd",
        "-F",
        "-j",
        "none",
        "-n",
        str(folder / "work"),
        "-a",
        f"{HOST}:{port}",
        "-T",
        "none",
        "-f",
        str(DEPLOY / "default.vcl"),
        "-p",
        f"vcl_path={folder}:{DEPLOY}",
        "-s",
        f"malloc,{memory}",
    ]
    if threads:
        command += ["-p", f"thread_pool_min={threads}"]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    base = f"http://{HOST}:{port}"
    proc = start(
        command, f"{base}/healthz", folder / "varnishd.log", stdout_to_log=True, timeout=60
    )
    try:
        yield base
    finally:
        stop(proc)


def stats(folder: Path) -> dict[str, int]:
    """Varnish's counters (varnishstat) of the instance whose working folder is `folder`."""
    out = subprocess.run(
        ["varnishstat", "-n", str(folder / "work"), "-1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            found[parts[0]] = int(parts[1])
    return found


@contextmanager
def purges_seen(folder: Path, log: Path) -> Iterator[list[tuple[float, list[str]]]]:
    """Record every PURGE the Varnish of `folder` receives (varnishncsa, into `log`) while
    the block runs; yields a list that holds them once the block is over: when each arrived
    (as `time.time()` tells it) and the keys it named."""
    command = [
        "varnishncsa",
        "-n",
        str(folder / "work"),
        "-q",
        'ReqMethod eq "PURGE"',
        "-F",
        "%{VSL:Timestamp:Start[1]}x %{xkey}i",
        "-w",
        str(log),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    found: list[tuple[float, list[str]]] = []
    time.sleep(0.5)  # attached to the log before anything is purged
    try:
        yield found
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for line in (log.read_text() if log.exists() else "").splitlines():
            when, _, named = line.partition(" ")
            try:
                found.append((float(when), named.split()))
            except ValueError:
                continue
