"""Crash soak: the crash suite's loop (`harness.crash`) for longer. Not part of `make test`.

`cms serve --workers 2` on a fresh repository takes write load from several client threads
and is killed with SIGKILL (its whole process group) at random moments, then restarted on the
same repository. Every acknowledged write is kept in a ledger and checked against git after
each restart and at the end; see `harness.crash` for what is checked.

    .venv/bin/python soak/crash_soak.py --minutes 10
    .venv/bin/python soak/crash_soak.py --crashes 200 --seed 7 --keep

Exit status 0 when nothing was lost and no problem was found, 1 otherwise. Only 127.0.0.1 is
used; every loop is bounded by the crash count and the time budget.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from cms.store import ArticleStore
from harness.crash import CrashRun

DAY = 24 * 60.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="stop crashing after this long (default 10, or 24 h with --crashes)",
    )
    parser.add_argument(
        "--crashes",
        type=int,
        default=None,
        help="stop after this many kill -9 (default: as many as fit)",
    )
    parser.add_argument("--seed", type=int, default=int(time.time()) % 1_000_000)
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument(
        "--min-load", type=float, default=0.3, help="least seconds of load before a kill"
    )
    parser.add_argument(
        "--max-load", type=float, default=4.0, help="most seconds of load before a kill"
    )
    parser.add_argument(
        "--dir", default=None, help="where to make the repository (default: the system temp dir)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the repository and log")
    args = parser.parse_args(argv)
    minutes = (
        args.minutes if args.minutes is not None else (DAY if args.crashes is not None else 10.0)
    )
    crashes = args.crashes if args.crashes is not None else 1_000_000

    workdir = Path(tempfile.mkdtemp(prefix="cms-crash-soak-", dir=args.dir))
    repo = workdir / "content-repo"
    ArticleStore.init(str(repo))
    print(
        f"crash soak: seed {args.seed}, up to {crashes} crashes in {minutes:g} min, "
        f"repository {repo}",
        flush=True,
    )
    run = CrashRun(
        repo,
        workdir,
        seed=args.seed,
        crashes=crashes,
        minutes=minutes,
        threads=args.threads,
        load=(args.min_load, args.max_load),
        say=lambda text: print(text, flush=True),
    )
    try:
        run.execute()
    finally:
        if args.keep or run.problems:
            print(f"kept {workdir} (server.log, content-repo)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    ok = run.lost == 0 and not run.problems and run.checked == len(run.ledger)
    print(
        f"{'OK' if ok else 'FAILED'}: {run.generation} crashes survived, "
        f"{run.checked} acknowledged writes checked, {run.lost} lost, "
        f"{len(run.problems)} problems"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
