"""Import-time overhead: ``python -X importtime -c "import sympy"`` with the plain wheel and
with the wheel instrumented with full no-op hooks (both unzipped like pip installs a pure
wheel, with mpmath next to them, and byte-compiled first as pip does)."""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import sys
import zipfile

import wheels
from common import BENCH, CONFIGS, WORK, equip_wheel_exe, median, run, table

MPMATH = ("mpmath", "1.3.0")  # sympy 1.13.3's one dependency


def install(wheel_paths, site) -> None:
    shutil.rmtree(site, ignore_errors=True)
    for w in wheel_paths:
        with zipfile.ZipFile(w) as z:
            z.extractall(site)
    compileall.compile_dir(str(site), quiet=1, workers=0)


def cumulative_us(site, module: str) -> int:
    """The cumulative import time of ``module`` reported by ``-X importtime``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(BENCH)])}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    for line in reversed(proc.stderr.splitlines()):
        fields = [f.strip() for f in line.split("|")]
        if len(fields) == 3 and fields[2] == module:
            return int(fields[1])
    raise RuntimeError(f"no importtime line for {module}:\n{proc.stderr[-2000:]}")


def main(runs: int) -> None:
    print(f"== Import time of sympy (python -X importtime, median of {runs} runs)", flush=True)
    sympy, mpmath = wheels.get(wheels.SYMPY), wheels.download_wheel(*MPMATH)
    root = WORK / "import"
    shutil.rmtree(root / "out", ignore_errors=True)
    run(
        [
            equip_wheel_exe(),
            "instrument",
            sympy,
            "--config",
            CONFIGS / "noop.toml",
            "-o",
            root / "out",
            "-q",
        ]
    )
    install([sympy, mpmath], root / "plain")
    install([root / "out" / sympy.name, mpmath], root / "instrumented")
    times = {"plain": [], "instrumented": []}
    for _ in range(runs):
        for name in times:
            times[name].append(cumulative_us(root / name, "sympy"))
    plain, inst = median(times["plain"]), median(times["instrumented"])
    print(
        table(
            ["sympy", "plain (ms)", "instrumented (ms)", "ratio"],
            [
                [
                    wheels.SYMPY[1],
                    f"{plain / 1000:.0f}",
                    f"{inst / 1000:.0f}",
                    f"{inst / plain:.2f}x",
                ]
            ],
        )
    )
