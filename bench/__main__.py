"""`python -m bench [--quick] [--tmpdir DIR] [--keep] [--out DIR]`: run the suite, print the
table, write `results.json` and `write-cost.png` into DIR (default: a folder in the temp dir,
never the source tree unless asked, as `make bench` asks with `--out bench`)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import chart, report, rows
from .settings import FULL, QUICK
from .suite import PHASES, Suite


def filesystem(path: str) -> str:
    """The type of the filesystem `path` is on, from /proc/mounts (longest mount point)."""
    best, kind = "", "unknown"
    real = os.path.realpath(path)
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    for line in mounts:
        fields = line.split()
        point = fields[1]
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, fields[2]
    return kind


def default_tmpdir() -> str:
    """The system temp dir, unless it is in memory: then /var/tmp (the disk is measured)."""
    system = tempfile.gettempdir()
    return "/var/tmp" if filesystem(system) in ("tmpfs", "ramfs") else system


def replot(results: Path, target: Path) -> None:
    """Redraw the chart from a results file."""
    report_ = json.loads(results.read_text())
    sizes = report_["details"]["saves"]
    medians = {k: [s["median_ms"][k]["all"] for s in sizes] for k in ("store", "git", "gitpython")}
    info = report_["machine"]
    chart.draw(
        target,
        [s["n"] for s in sizes],
        medians,
        f"{report_['mode']} run, {info['date']}, {info['cpu_count']} CPUs",
        1.5,
    )
    print(f"chart: {target}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes and short loads (CI smoke, under two minutes)",
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        metavar="N",
        help="repository sizes for the save curve (the largest serves reads)",
    )
    parser.add_argument(
        "--tmpdir", default=None, help="where to build repositories (default: a temp dir on disk)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(tempfile.gettempdir()) / "cms-bench",
        help="folder for results.json and write-cost.png (default: %(default)s)",
    )
    parser.add_argument(
        "--phases",
        nargs="+",
        metavar="PHASE",
        choices=list(PHASES)[2:],
        help="run only these phases (and what they need) after building and "
        "publishing the repository; the table has their rows only. "
        "Phases: %(choices)s",
    )
    parser.add_argument(
        "--replot",
        action="store_true",
        help="only redraw the chart from the results file, measuring nothing",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    args.output, args.chart = args.out / "results.json", args.out / "write-cost.png"
    if args.replot:
        replot(args.output, args.chart)
        return 0
    settings = QUICK if args.quick else FULL
    if args.sizes:
        if min(args.sizes) < 1 or len(set(args.sizes)) < 2:
            parser.error("--sizes needs at least two positive sizes")
        settings = settings.with_sizes(args.sizes)
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install wrk, or run `make bench`)")
    tmpdir = args.tmpdir or default_tmpdir()
    workdir = tempfile.mkdtemp(prefix="cms-bench-", dir=tmpdir)
    mode = "quick" if settings.quick else "full"
    info = {**report.machine(), "tmpdir": workdir, "tmpdir_filesystem": filesystem(workdir)}
    print(
        f"bench ({mode}): sizes {list(settings.sizes)}, work directory {workdir} "
        f"({info['tmpdir_filesystem']}), load average {os.getloadavg()}, cms at "
        f"{info['cms_commit']} ({len(info['cms_uncommitted'])} files changed in cms/)",
        flush=True,
    )
    started = time.perf_counter()
    try:
        measured = Suite(settings, args.seed, workdir).run(
            None if args.phases is None else set(args.phases)
        )
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.perf_counter() - started
    judged = not settings.quick
    found = rows.build(measured)
    n = settings.largest
    if settings.quick:
        title = (
            f"QUICK MODE: {n:,} articles, {settings.history_commits:,} extra commits, "
            f"short loads; targets are judged only in the full run ({elapsed:.0f}s)"
        )
    else:
        title = (
            f"FULL RUN: {n:,} articles, {settings.history_commits:,} extra commits "
            f"({elapsed / 60:.1f} min)"
        )
    if args.phases:
        title += f"; ONLY the phases {', '.join(args.phases)} (--phases)"
    title += f" | {info['platform']}, {info['cpu_count']} CPUs, load {os.getloadavg()[0]:.2f}"
    print()
    print(report.table(found, judged, title))
    info["elapsed_s"] = elapsed
    report.write(args.output, mode, info, found, judged, measured.details())
    sizes = [s.n for s in measured.sizes]
    medians = {k: [s.median_ms(k) for s in measured.sizes] for k in ("store", "git", "gitpython")}
    chart.draw(
        args.chart, sizes, medians, f"{mode} run, {info['date']}, {info['cpu_count']} CPUs", 1.5
    )
    print(f"\nresults: {args.output}\nchart:   {args.chart}")
    missed = [r.name for r in found if r.passed is False]
    if judged and missed:
        print(f"missed targets: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
