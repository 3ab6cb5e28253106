"""Scaling of the tool: time against the number of files (1/4, 1/2 and all of sympy, as
sub-wheels with valid RECORD) on 1 and 2 cores (``--jobs``)."""

from __future__ import annotations

import shutil

import wheels
from common import CONFIGS, WORK, equip_wheel_exe, median, table, timed


def time_tool(wheel, jobs: int, runs: int) -> float:
    out = WORK / "scaling" / "out"
    times = []
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        times.append(
            timed(
                [
                    equip_wheel_exe(),
                    "instrument",
                    wheel,
                    "--config",
                    CONFIGS / "noop.toml",
                    "-o",
                    out,
                    "-q",
                    "--jobs",
                    jobs,
                ]
            )
        )
    return median(times)


def main(runs: int) -> None:
    print(f"== Scaling on sympy: files and cores (median of {runs} runs; seconds)", flush=True)
    full = wheels.get(wheels.SYMPY)
    rows = []
    for label, keep_one_in in [("1/4", 4), ("1/2", 2), ("all", 1)]:
        wheel = full if keep_one_in == 1 else wheels.sub_wheel(full, keep_one_in)
        one, two = time_tool(wheel, 1, runs), time_tool(wheel, 2, runs)
        rows.append(
            [
                label,
                wheels.py_count(wheel),
                f"{wheels.uncompressed_size(wheel) / 1e6:.1f}",
                f"{one:.2f}",
                f"{two:.2f}",
                f"{one / two:.2f}x",
            ]
        )
    print(
        table(
            ["share of sympy", ".py files", "MB uncompressed", "1 core", "2 cores", "speed-up"],
            rows,
        )
    )
