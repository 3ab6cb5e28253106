"""Tool speed on sympy and Django with full no-op hooks, against its peers:

(a) ``ast_reference.py``, the plain-Python instrumenter a user would write (this Python);
(b) a no-op ``python -m wheel unpack`` + ``python -m wheel pack`` of the same wheel;
(c) the floor, ``examples/bench_floor.rs``: the same pipeline with instrumentation skipped.

Runs are interleaved (tool, floor, wheel, reference, tool, ...) so that drift on a shared
machine hits all of them alike; the median of each is compared.
"""

from __future__ import annotations

import shutil
import sys

import wheels
from common import BENCH, CONFIGS, WORK, Verdicts, equip_wheel_exe, floor_exe, median, table, timed

CONFIG = CONFIGS / "noop.toml"


def contenders(wheel, jobs: int) -> dict[str, callable]:
    """name -> function running it once on ``wheel`` and returning seconds."""
    out = WORK / "tool" / "out"

    def fresh():
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        return out

    def wheel_unpack_pack():
        d = fresh()
        t = timed([sys.executable, "-m", "wheel", "unpack", wheel, "-d", d / "unpacked"])
        (tree,) = (d / "unpacked").iterdir()
        return t + timed([sys.executable, "-m", "wheel", "pack", tree, "-d", d])

    return {
        "equip-wheel": lambda: timed(
            [
                equip_wheel_exe(),
                "instrument",
                wheel,
                "--config",
                CONFIG,
                "-o",
                fresh(),
                "-q",
                "--jobs",
                jobs,
            ]
        ),
        "floor": lambda: timed([floor_exe(), wheel, fresh(), "--jobs", jobs]),
        "wheel unpack+pack": wheel_unpack_pack,
        "ast reference": lambda: timed(
            [sys.executable, BENCH / "ast_reference.py", wheel, fresh()]
        ),
    }


def measure(wheel, runs: int, jobs: int = 2, reference_runs: int | None = None) -> dict:
    """Median seconds of each contender. ``reference_runs`` caps the slow ast reference."""
    times = {name: [] for name in contenders(wheel, jobs)}
    for i in range(runs):
        for name, go in contenders(wheel, jobs).items():
            if name == "ast reference" and reference_runs is not None and i >= reference_runs:
                continue
            times[name].append(go())
    return {name: median(ts) for name, ts in times.items()}


def main(verdicts: Verdicts, runs: int, quick: bool = False) -> None:
    print(f"== Tool speed, full no-op hooks, --jobs 2 (median of {runs} runs; seconds)", flush=True)
    specs = [wheels.SYMPY] if quick else [wheels.SYMPY, wheels.DJANGO]
    rows, results = [], {}
    for spec in specs:
        wheel = wheels.get(spec)
        m = measure(wheel, runs, reference_runs=1 if quick else None)
        results[spec[0]] = m
        tool = m["equip-wheel"]
        rows.append(
            [f"{spec[0]} {spec[1]} ({wheels.py_count(wheel)} .py)"]
            + [f"{m[k]:.2f}" for k in m]
            + [
                f"{m['ast reference'] / tool:.1f}x",
                f"{m['wheel unpack+pack'] / tool:.2f}x",
                f"{tool / m['floor']:.2f}x",
            ]
        )
    print(
        table(
            [
                "wheel",
                "equip-wheel",
                "floor",
                "wheel unpack+pack",
                "ast reference",
                "reference / tool",
                "unpack+pack / tool",
                "tool / floor",
            ],
            rows,
        )
    )
    m = results["sympy"]
    tool = m["equip-wheel"]
    verdicts.check(
        "sympy: >= 25x faster than the ast reference",
        m["ast reference"] / tool >= 25,
        f"{m['ast reference'] / tool:.1f}x",
    )
    verdicts.check(
        "sympy: >= 1.5x faster than wheel unpack+pack",
        m["wheel unpack+pack"] / tool >= 1.5,
        f"{m['wheel unpack+pack'] / tool:.2f}x",
    )
    verdicts.check(
        "sympy: within 1.3x of the floor (2 cores)",
        tool / m["floor"] <= 1.3,
        f"{tool / m['floor']:.2f}x",
    )
