"""``python -m reviewqa.collections.runner JOBS_DIR [--nice N]``: run a collection's queued jobs and exit.

Started by the service for each upload or delete (``jobs.start_runner``); safe to start by hand, e.g. to
resume jobs left queued when the machine stopped.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from reviewqa.collections.jobs import run_jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reviewqa.collections.runner", description=__doc__)
    parser.add_argument("jobs_dir", type=Path, help="The collection's jobs folder (<index_dir>/jobs).")
    parser.add_argument("--nice", type=int, default=10, help="Lower this process's priority by N first.")
    parser.add_argument("--keep", type=int, default=50, help="Records of finished jobs to keep.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("reviewqa").setLevel(logging.INFO)
    if args.nice > 0:
        os.nice(args.nice)  # the service's answering threads keep the CPU first
    ran = run_jobs(args.jobs_dir, keep=args.keep)
    logging.getLogger(__name__).info("%d jobs run in %s", ran, args.jobs_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
