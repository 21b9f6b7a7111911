"""A pytest plugin (loaded by tests/conftest.py): a test module that leaves a child process
running is named at the end of the run, and fails with CMS_LEAK_CHECK=fail.

Each `Repository` keeps `git cat-file` processes open for reading until it is closed (or
collected); a suite that leaves them to the garbage collector piles up hundreds of processes
and their pipes, and every later test runs slower beside them. So when the last test of a
module has been torn down (its module-scoped fixtures with it), every child process this
pytest process started since the module's first test must have ended. What is still running
after one garbage collection (which ends the processes of repositories nothing holds any
more, and up to GRACE seconds for threads and processes asked to stop) is listed in the
run's summary or, with CMS_LEAK_CHECK=fail, fails that test's teardown, naming each
process. Zombies (ended, not yet waited for) do not count.

Child processes are read from /proc (`/proc/<pid>/task/<tid>/children`); where that is
missing the check does nothing.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Generator
from typing import Any

import pytest

# seconds a module's processes are given to end after its last test (threads asked to stop end
# at their next wake-up; a server's workers after SIGTERM), before the module fails;
# CMS_LEAK_GRACE sets another (tests/test_leak_check.py's runs, whose leak is meant, wait 1 s)
GRACE = float(os.environ.get("CMS_LEAK_GRACE", "5"))


def children() -> dict[int, str]:
    """This process's child processes that are running: pid -> command line."""
    tasks = f"/proc/{os.getpid()}/task"
    found: dict[int, str] = {}
    try:
        threads = os.listdir(tasks)
    except OSError:
        return found
    for tid in threads:
        try:
            with open(f"{tasks}/{tid}/children") as f:
                pids = f.read().split()
        except OSError:
            continue
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    state = f.read().rpartition(")")[2].split()[0]
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    command = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except (OSError, IndexError):
                continue  # ended meanwhile
            if state != "Z":
                found[int(pid)] = command
    return found


class LeakCheck:
    """The children running when the current module's first test started, to compare with
    those running after its last one."""

    def __init__(self) -> None:
        self.module: str | None = None
        self.before: set[int] = set()
        self.found: list[str] = []

    def left(self) -> dict[int, str]:
        return {p: c for p, c in children().items() if p not in self.before}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, Any, Any]:
        module = item.nodeid.split("::")[0]
        if module != self.module:
            self.module = module
            self.before = set(children())
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, Any, Any]:
        result = yield
        if nextitem is not None and nextitem.nodeid.split("::")[0] == self.module:
            return result  # the module's fixtures are still there
        self.module = None
        left = self.left()
        deadline = time.monotonic() + GRACE
        while left and time.monotonic() < deadline:
            # repositories nothing refers to any more close their processes once collected;
            # a background thread asked to stop lets go of its store at its next wake-up
            gc.collect()
            left = self.left()
            if left:
                time.sleep(0.1)
        if left:
            listed = "\n".join(f"  {pid}: {command}" for pid, command in sorted(left.items()))
            message = (
                f"{item.nodeid.split('::')[0]} left {len(left)} process(es) running after "
                f"its tests (close what a test opens: ArticleStore/Repository/Services "
                f".close(), stop servers):\n{listed}"
            )
            if os.environ.get("CMS_LEAK_CHECK") == "fail":
                pytest.fail(message, pytrace=False)
            self.found.append(message)
        return result

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.found:
            terminalreporter.section("processes left running (CMS_LEAK_CHECK=fail fails them)")
            for message in self.found:
                terminalreporter.write_line(message)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(LeakCheck(), "cms-leak-check")
