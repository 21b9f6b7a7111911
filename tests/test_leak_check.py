"""The suite's leak check (`harness.leaks`): with CMS_LEAK_CHECK=fail, a test module that
leaves a process running fails and names it (without it, the run's summary names it); one
whose repositories are closed, or no longer held, passes; and closing a store ends its
`git cat-file` processes while leaving it usable."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import article

from cms.store import ArticleStore
from harness.leaks import children

ROOT = Path(__file__).resolve().parent.parent


def pytest_env(leak_check: str) -> dict[str, str]:
    """The environment of a pytest run with the leak check alone as its plugin: no plugin
    autoloaded from the environment (xdist, coverage, hypothesis: seconds of start-up each
    run), and 1 s of grace for a module's processes to end (the leaks here are meant)."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CMS_LEAK_CHECK": leak_check,
        "CMS_LEAK_GRACE": "1",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }


def pytest_on(tmp_path: Path, test: str) -> subprocess.CompletedProcess[str]:
    """pytest, with the leak check alone as its plugin, on a module made of `test`."""
    (tmp_path / "test_module.py").write_text(textwrap.dedent(test))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "harness.leaks",
            "-p",
            "no:cacheprovider",
            "-q",
            str(tmp_path / "test_module.py"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=pytest_env("fail"),
        timeout=120,
    )


KEPT = """
    from cms.store import ArticleStore

    KEPT = []

    def test_reads_and_keeps_the_store(tmp_path):
        store = ArticleStore.init(str(tmp_path / "repo"))
        store.repo.read(store.repo.ref("main"))  # starts `git cat-file`
        KEPT.append(store)

    def test_another(tmp_path):
        assert True
"""


def test_a_module_that_leaves_git_running_fails_naming_the_process(tmp_path: Path) -> None:
    result = pytest_on(tmp_path, KEPT)
    assert result.returncode == 1, result.stdout
    assert "2 passed, 1 error" in result.stdout
    assert "ERROR at teardown of test_another" in result.stdout
    assert "left 1 process(es) running" in result.stdout
    assert "cat-file --batch" in result.stdout


def test_a_module_that_closes_its_store_passes(tmp_path: Path) -> None:
    closed = KEPT.replace("KEPT.append(store)", "KEPT.append(store)\n        store.close()")
    result = pytest_on(tmp_path, closed)
    assert result.returncode == 0, result.stdout
    assert "2 passed" in result.stdout


def test_a_store_nothing_holds_any_more_does_not_count(tmp_path: Path) -> None:
    dropped = KEPT.replace("KEPT.append(store)", "")
    result = pytest_on(tmp_path, dropped)
    assert result.returncode == 0, result.stdout


def test_closing_a_store_ends_its_git_processes_and_it_still_reads(repo: Path) -> None:
    before = set(children())
    store = ArticleStore(str(repo))
    created = store.create(article(), store.committer)
    assert store.get(created.slug).fields["title"] == "Council approves budget"
    started = {p: c for p, c in children().items() if p not in before}
    assert any("cat-file" in c for c in started.values()), started
    store.close()
    assert not set(children()) - before
    assert store.get(created.slug).fields["title"] == "Council approves budget"  # starts them again
    store.close()
    assert not set(children()) - before


def test_without_fail_a_leak_is_named_in_the_summary_and_the_run_passes(tmp_path: Path) -> None:
    (tmp_path / "test_module.py").write_text(textwrap.dedent(KEPT))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "harness.leaks", "-p", "no:cacheprovider", "-q"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=pytest_env(""),
        timeout=120,
    )
    assert result.returncode == 0, result.stdout
    assert "processes left running" in result.stdout
    assert "test_module.py left 1 process(es) running" in result.stdout
