"""Runs the benchmarks and prints results and a verdict per target.

Every ratio compares contenders measured side by side in this run. Run it through
``scripts/bench.sh``, which builds the binaries and the Python environment it needs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import import_time
import memory
import runtime
import scaling
import tool_speed
from common import Verdicts, machine

PARTS = ["tool", "scaling", "memory", "runtime", "import"]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="scripts/bench.sh",
        description="Benchmarks of equip-wheel against its peers (tool speed on sympy and "
        "Django, scaling, peak memory, per-call runtime overhead on CPython 3.8-3.13, import "
        "time). Prints tables and one MET / NOT MET line per target.",
        epilog="parts: tool = speed vs the ast reference, wheel unpack+pack and the floor; "
        "scaling = files and cores; memory = peak RSS; runtime = ns/call vs hand-written, "
        "decorators, wrapt, sys.setprofile, sys.monitoring; import = python -X importtime. "
        "Results are meaningful on an otherwise idle machine.",
    )
    p.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        metavar="PART",
        help=f"run only this part (repeatable): {', '.join(PARTS)}",
    )
    p.add_argument(
        "--runs",
        type=int,
        default=5,
        help="runs per measurement of the tool parts; the median counts (default 5)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a fast pass: 1 run, sympy only, the ast reference once, fewer "
        "runtime rounds (numbers are rougher)",
    )
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    parts = args.only or PARTS
    runs = 1 if args.quick else args.runs
    print(f"Machine: {machine()}")
    print(f"Load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n", flush=True)
    verdicts = Verdicts()
    start = time.time()
    if "tool" in parts:
        tool_speed.main(verdicts, runs, args.quick)
    if "scaling" in parts:
        scaling.main(runs)
    if "memory" in parts:
        memory.main(verdicts)
    if "runtime" in parts:
        runtime.main(verdicts, args.quick)
    if "import" in parts:
        import_time.main(runs)
    print(verdicts.summary())
    print(
        f"\n({time.time() - start:.0f} s; load average at end: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
