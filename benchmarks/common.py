"""What every benchmark shares: paths, the binaries under test, timing, printing verdicts."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"
#: Scratch space (git-ignored, under .cache/ like the tests' downloads).
WORK = REPO / ".cache" / "bench"
CONFIGS = BENCH / "configs"

# The download + cache helper of the end-to-end tests (pinned versions, sha256-checked).
sys.path.insert(0, str(REPO / "tests" / "python"))
import harness  # noqa: E402

find_python = harness.find_python
download_wheel = harness.download_wheel
PY_VERSIONS = harness.PY_VERSIONS


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))


def equip_wheel_exe() -> Path:
    """The release binary scripts/bench.sh built (or ``$EQUIP_WHEEL_EXE``)."""
    return Path(os.environ.get("EQUIP_WHEEL_EXE", target_dir() / "release" / "equip-wheel"))


def floor_exe() -> Path:
    """The ``bench_floor`` cargo example (examples/bench_floor.rs)."""
    return target_dir() / "release" / "examples" / "bench_floor"


def run(cmd: list, **kw) -> subprocess.CompletedProcess:
    """Runs a command, failing loudly with its output."""
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, cmd))} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def timed(cmd: list, **kw) -> float:
    """Wall-clock seconds of one run of ``cmd``."""
    start = time.perf_counter()
    run(cmd, **kw)
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)


@dataclass
class Verdicts:
    """The target lines of a run, printed as they are decided and summed up at the end."""

    lines: list[tuple[str, bool, str]] = field(default_factory=list)

    def check(self, target: str, met: bool, measured: str) -> None:
        self.lines.append((target, met, measured))
        print(f"  {'MET    ' if met else 'NOT MET'}  {target}: {measured}", flush=True)

    def summary(self) -> str:
        out = ["", "== Verdicts"]
        for target, met, measured in self.lines:
            out.append(f"  {'MET    ' if met else 'NOT MET'}  {target}: {measured}")
        return "\n".join(out)


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table (readable in a terminal too)."""
    cells = [headers] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    fmt = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join(
        [fmt(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        + [fmt(r) for r in cells[1:]]
    )


def machine() -> str:
    """One paragraph on where the numbers come from."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, "
        f"{rustc or 'rustc ?'}, driver Python {platform.python_version()}, "
        f"equip-wheel commit {commit or '?'}"
    )
