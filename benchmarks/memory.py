"""Peak RSS of the tool on the largest wheel (sympy), against its uncompressed size."""

from __future__ import annotations

import shutil
import subprocess
import sys

import wheels
from common import CONFIGS, WORK, Verdicts, equip_wheel_exe

# Runs the command in a fresh child of a fresh Python, so RUSAGE_CHILDREN is that command's.
PEAK = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # KiB on Linux
"""


def peak_rss_bytes(cmd: list) -> int:
    out = subprocess.run(
        [sys.executable, "-c", PEAK, *map(str, cmd)], check=True, capture_output=True, text=True
    ).stdout
    return int(out.split()[-1]) * 1024


def main(verdicts: Verdicts) -> None:
    print("== Peak memory on sympy (full no-op hooks, --jobs 2)", flush=True)
    wheel = wheels.get(wheels.SYMPY)
    out = WORK / "memory" / "out"
    shutil.rmtree(out, ignore_errors=True)
    rss = peak_rss_bytes(
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
            "2",
        ]
    )
    size = wheels.uncompressed_size(wheel)
    print(
        f"  peak RSS {rss / 1e6:.1f} MB; wheel {wheel.stat().st_size / 1e6:.1f} MB compressed, "
        f"{size / 1e6:.1f} MB uncompressed"
    )
    verdicts.check(
        "sympy: peak RSS below 3x the uncompressed wheel",
        rss < 3 * size,
        f"{rss / size:.2f}x ({rss / 1e6:.1f} MB / {size / 1e6:.1f} MB)",
    )
