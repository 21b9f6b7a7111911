"""Proof from the system calls (issue 27): a real `cms serve` (gunicorn, 2 workers, durable by
default) runs under `strace -f` while 6 clients create and edit articles, and the trace shows,
for every acknowledged save, that

- every object the save's commit brought (`git rev-list --objects`) was synced (a `syncfs` of
  the file system, or an fsync of the object file) after it was renamed into place and before
  the branch moved to a commit containing it;
- the branch's lock file held that commit before a sync, and was renamed over the ref after it;
- the ref's folder (or the whole file system) was synced after that rename;
- and only then did the worker send the answer's status line.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from conftest import _token, article, free_port

from harness.launch import answers, cms_command

URL = "/api/v1/manage/articles"
SYSCALLS = "write,sendto,sendmsg,writev,rename,renameat,renameat2,fsync,fdatasync,syncfs"
LINE = re.compile(r"^(\d+)\s+(\d\d):(\d\d):(\d\d\.\d+) (.*)$")
DURATION = re.compile(r" <(\d+\.\d+)>$")

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="needs Debian's strace")


@dataclass
class Call:
    tid: int
    name: str
    args: str
    start: float
    end: float


def parse(trace: str) -> list[Call]:
    """The trace's calls with their start and end times (a call another thread interrupted
    is split in two lines by strace: `<unfinished ...>` and `<... name resumed>`)."""
    calls: list[Call] = []
    pending: dict[tuple[int, str], tuple[float, str]] = {}
    for raw in trace.splitlines():
        m = LINE.match(raw)
        if not m:
            continue
        tid, at = int(m[1]), int(m[2]) * 3600 + int(m[3]) * 60 + float(m[4])
        rest = m[5]
        if rest.startswith(("---", "+++")):
            continue  # signals, exits
        if rest.startswith("<... "):
            name = rest[5:].split(" ", 1)[0]
            began, args = pending.pop((tid, name), (at, ""))
            calls.append(Call(tid, name, args + rest, began, at))
            continue
        name = rest.split("(", 1)[0]
        if rest.endswith("<unfinished ...>"):
            pending[(tid, name)] = (at, rest)
            continue
        d = DURATION.search(rest)
        calls.append(Call(tid, name, rest, at, at + (float(d[1]) if d else 0.0)))
    return sorted(calls, key=lambda c: c.start)


def renamed_to(call: Call) -> str | None:
    names = re.findall(r'"([^"]+)"', call.args)
    return names[-1] if call.name.startswith("rename") and len(names) >= 2 else None


def synced_path(call: Call) -> str | None:
    """The path an fsync/fdatasync synced, `*` for a syncfs (the whole file system)."""
    if call.name == "syncfs" and "= 0" in call.args:
        return "*"
    if call.name in ("fsync", "fdatasync") and "= 0" in call.args:
        m = re.search(r"\(\d+<([^>]+)>", call.args)
        return m[1] if m else None
    return None


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def test_every_acknowledged_save_was_answered_after_its_sync(repo, tmp_path):
    tokens = [_token(repo, f"Editor {n}", f"editor{n}@example.org", "editor") for n in range(6)]
    port = free_port()
    trace_path = tmp_path / "trace.txt"
    log = (tmp_path / "server.log").open("ab")
    proc = subprocess.Popen(
        [
            "strace",
            "-f",
            "-tt",
            "-T",
            "-y",
            "-s",
            "4096",
            "-e",
            f"trace={SYSCALLS}",
            "-o",
            str(trace_path),
            cms_command(),
            "--repo",
            str(repo),
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
        ],  # fmt: skip
        stdout=log,
        stderr=log,
        env={**os.environ, "CMS_DURABLE": "true"},
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    acknowledged: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()
    try:
        assert answers(f"{base}/healthz", proc, 120), (tmp_path / "server.log").read_text()

        def client(n: int) -> None:
            session = requests.Session()
            session.headers.update(tokens[n])
            for i in range(4):
                r = session.post(base + URL, json=article(f"Proof {n}-{i}"), timeout=60)
                if r.status_code != 201:
                    failures.append(f"{r.status_code} {r.text[:200]}")
                    continue
                slug, etag = r.json()["slug"], r.headers["ETag"]
                with lock:
                    acknowledged.append(r.json()["meta"]["revision"])
                p = session.patch(
                    f"{base}{URL}/{slug}",
                    json={"summary": f"edited {n}-{i}"},
                    headers={"If-Match": etag},
                    timeout=60,
                )
                if p.status_code != 200:
                    failures.append(f"{p.status_code} {p.text[:200]}")
                    continue
                with lock:
                    acknowledged.append(p.json()["meta"]["revision"])

        threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        # SIGTERM to gunicorn (strace's child) first, so strace sees every call end
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    assert failures == []
    assert len(acknowledged) == 48

    calls = parse(trace_path.read_text(errors="replace"))
    order = git(repo, "rev-list", "--first-parent", "main").split()
    position = {sha: n for n, sha in enumerate(order)}  # 0: the tip
    objects_dir = str(repo / "objects")
    heads = str(repo / "refs" / "heads")
    syncs = [c for c in calls if synced_path(c) is not None]

    def synced(path: str, after: float, before: float) -> bool:
        return any(
            synced_path(s) in ("*", path) and s.start >= after and s.end <= before for s in syncs
        )

    # every move of `main`: the id its lock file was given, when, and when it was renamed
    moves = []
    for n, c in enumerate(calls):
        if renamed_to(c) == f"{heads}/main":
            wrote = [
                w
                for w in calls[:n]
                if w.tid == c.tid and w.name == "write" and f"<{heads}/main.lock>" in w.args
            ][-1]
            sha = re.search(r'"([0-9a-f]{40})\\n"', wrote.args)[1]
            moves.append((sha, wrote, c))
    assert moves, "no move of main in the trace"

    for revision in acknowledged:
        # the answer: the status line sent just before the body that names the revision
        body = next(c for c in calls if c.name == "sendto" and revision in c.args)
        status = [
            c
            for c in calls
            if c.tid == body.tid and c.name == "sendto" and "HTTP/1.1 2" in c.args
            if c.start <= body.start
        ][-1]
        answered = status.start
        # the first move of main to a commit that contains this one
        sha, wrote, renamed = next(
            m for m in moves if position.get(m[0], len(order)) <= position[revision]
        )
        assert renamed.end <= answered, f"{revision} answered before main moved to it"
        assert synced(f"{heads}/main.lock", wrote.end, renamed.start), (
            f"main.lock (for {revision}) renamed before a sync covered its new id"
        )
        assert synced(heads, renamed.end, answered), (
            f"{revision} answered before the folder of the moved ref was synced"
        )
        new = git(repo, "rev-list", "--objects", "--no-object-names", revision, f"^{revision}~1")
        for obj in new.split():
            path = f"{objects_dir}/{obj[:2]}/{obj[2:]}"
            placed = [c for c in calls if renamed_to(c) == path and c.end <= renamed.start]
            assert placed, f"object {obj} of {revision} not written before main moved"
            assert synced(path, placed[-1].end, renamed.start), (
                f"main moved to {revision} before its object {obj} was synced"
            )

    fsyncs = sum(1 for c in calls if c.name in ("fsync", "fdatasync", "syncfs"))
    batches = len(moves)
    print(
        f"\n{len(acknowledged)} acknowledged saves, {batches} moves of main, "
        f"{fsyncs} fsync/fdatasync/syncfs calls in all ({fsyncs / len(acknowledged):.2f} per save)"
    )
    assert batches <= len(acknowledged)
