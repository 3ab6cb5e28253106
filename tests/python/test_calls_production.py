"""The `calls` preset in production: every instrumented function in the output with zeros
included (modules never imported too), the output path fixed at import (a later chdir does
not move it), counts from forked children and multiprocessing workers (fork, spawn,
forkserver; pools closed and joined), periodic and signal-triggered flushing, and
``equip-wheel calls merge``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import harness
import pytest

PACKAGE = {
    "prodapp/__init__.py": (
        "def square(x):\n    return x * x\n\n\n"
        "def cube(x):\n    return x * x * x\n\n\n"
        "def in_parent():\n    return 1\n\n\n"
        "def in_child():\n    return 2\n\n\n"
        "def never():\n    return 3\n\n\n"
        "class Shape:\n"
        "    def area(self):\n        return 4\n\n"
        "    def unused(self):\n        return 5\n"
    ),
    "prodapp/unimported.py": "def orphan():\n    return 6\n",
}

#: The workload: chdir after import, a plain fork, then two pools of each start method,
#: closed and joined (inside a ``with`` block, and without one).
WORKLOAD = """
import os, sys
{imports}
os.chdir(sys.argv[1])
prodapp.in_parent()
prodapp.Shape().area()
pid = os.fork()
if pid == 0:
    prodapp.in_child()
    prodapp.in_child()
    sys.exit(0)
assert os.waitpid(pid, 0)[1] == 0
for method in sys.argv[2].split(","):
    context = multiprocessing.get_context(method)
    with context.Pool(2) as pool:
        assert pool.map(prodapp.square, range(10)) == [x * x for x in range(10)]
        pool.close()
        pool.join()
    pool = context.Pool(2)
    assert pool.map(prodapp.cube, range(5)) == [x ** 3 for x in range(5)]
    pool.close()
    pool.join()
"""

IMPORT_ORDERS = {
    "package-first": "import prodapp\nimport multiprocessing",
    "multiprocessing-first": "import multiprocessing\nimport prodapp",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("calls-production")
    wheel = harness.build_wheel(tmp, "prodapp", "1.0", PACKAGE)
    harness.run_equip("instrument", "-q", wheel, "--preset", "calls", "-w", tmp / "out")
    site = tmp / "site"
    with zipfile.ZipFile(tmp / "out" / wheel.name) as z:
        z.extractall(site)
    return site


def run_workload(python: Path, site: Path, tmp: Path, methods: str, imports: str) -> Path:
    """Runs the workload from ``tmp/start`` (chdir to ``tmp/elsewhere`` after import);
    returns the directory the calls files must be in."""
    start, elsewhere = tmp / "start", tmp / "elsewhere"
    start.mkdir()
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EQUIP_CALLS")}
    proc = subprocess.run(
        [str(python), "-c", WORKLOAD.format(imports=imports), str(elsewhere), methods],
        cwd=start,
        env={**env, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "equip-wheel" not in proc.stderr, proc.stderr
    assert not list(elsewhere.iterdir()), "the calls files followed the chdir"
    return start


def merged(files: list[Path], *args: str) -> subprocess.CompletedProcess[str]:
    return harness.run_equip("calls", "merge", *args, *files)


@pytest.mark.parametrize("order", sorted(IMPORT_ORDERS))
@pytest.mark.parametrize("minor", ["3.8", "3.11", "3.14"])
def test_no_count_is_lost_across_processes(site: Path, tmp_path: Path, minor: str, order: str):
    python = harness.require_python(minor)
    methods = "fork,spawn,forkserver"
    out = run_workload(python, site, tmp_path, methods, IMPORT_ORDERS[order])
    files = sorted(out.glob("equip-calls-*.json"))
    # The parent, the forked child, every fork worker (2 per pool, 2 pools) and each spawn
    # or forkserver worker that ran a task (one that did not never imported the package).
    assert 2 + 2 * 2 + 2 <= len(files) <= 2 + 3 * 2 * 2, [f.name for f in files]
    for f in files:
        data = json.loads(f.read_text())
        assert f.name == f"equip-calls-{data['pid']}.json"
        # Zeros included: every instrumented function is in every file.
        assert data["calls"]["prodapp.unimported"] == {"orphan": 0}
        assert set(data["calls"]["prodapp"]) == {
            "square", "cube", "in_parent", "in_child", "never", "Shape.area", "Shape.unused",
        }  # fmt: skip

    total = json.loads(merged(files, "--format", "json").stdout)
    assert total["format"] == "equip-calls/1"
    assert sorted(total["pids"]) == sorted(json.loads(f.read_text())["pid"] for f in files)
    assert total["calls"] == {
        "prodapp": {
            "square": 30, "cube": 15, "in_parent": 1, "in_child": 2, "never": 0,
            "Shape.area": 1, "Shape.unused": 0,
        },
        "prodapp.unimported": {"orphan": 0},
    }  # fmt: skip
    uncalled = merged(files, "--uncalled").stdout.splitlines()
    assert uncalled == ["prodapp:Shape.unused", "prodapp:never", "prodapp.unimported:orphan"]
    table = merged(files).stdout.splitlines()
    assert table[0].split() == ["calls", "function"]
    assert table[1].split() == ["30", "prodapp:square"]
    assert table[-1].split() == ["0", "prodapp:never"]


class Running:
    """A process of the instrumented package that calls ``square(2)``, then ``cube(2)`` when
    told, then waits; its calls file is ``target``."""

    CODE = (
        "import os, sys, time, prodapp\n"
        "prodapp.square(2)\n"
        "print(os.getpid(), flush=True)\n"
        "sys.stdin.readline()\n"
        "prodapp.cube(2)\n"
        "print('cubed', flush=True)\n"
        "time.sleep(60)\n"
    )

    def __init__(self, site: Path, target: Path, **flush: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EQUIP_CALLS")}
        env.update(PYTHONPATH=str(site), EQUIP_CALLS_FILE=str(target), **flush)
        self.target = target
        self.proc = subprocess.Popen(
            [sys.executable, "-c", self.CODE],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.pid = int(self.proc.stdout.readline())

    def cube(self) -> None:
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline() == "cubed\n"

    def counts(self, timeout: float = 20) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        while not self.target.exists():
            assert time.monotonic() < deadline, "no calls file"
            time.sleep(0.02)
        return json.loads(self.target.read_text())["calls"]["prodapp"]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def test_periodic_flush(site: Path, tmp_path: Path):
    running = Running(site, tmp_path / "calls.json", EQUIP_CALLS_FLUSH_INTERVAL="0.1")
    try:
        assert running.counts()["square"] == 1
        running.cube()
        deadline = time.monotonic() + 20
        while running.counts()["cube"] != 1:
            assert time.monotonic() < deadline, "the periodic flush did not pick up cube()"
            time.sleep(0.05)
    finally:
        running.stop()
    assert not list(tmp_path.glob("*.tmp")), "a temporary file was left"


def test_signal_flush(site: Path, tmp_path: Path):
    running = Running(site, tmp_path / "calls.json", EQUIP_CALLS_FLUSH_SIGNAL="SIGUSR1")
    try:
        time.sleep(0.3)
        assert not running.target.exists(), "written before the signal"
        os.kill(running.pid, signal.SIGUSR1)
        assert running.counts() == {**running.counts(), "square": 1, "cube": 0}
        running.cube()
        running.target.unlink()
        os.kill(running.pid, signal.SIGUSR1)
        assert running.counts()["cube"] == 1
    finally:
        running.stop()


def test_merge_refuses_what_it_cannot_read(tmp_path: Path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"format": "equip-calls/1", "pid": 1, "calls": {"m": {"f": 0}}}))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "equip-timing/1", "pid": 2, "calls": {}}))
    negative = tmp_path / "negative.json"
    negative.write_text(
        json.dumps({"format": "equip-calls/1", "pid": 3, "calls": {"m": {"f": -1}}})
    )
    proc = harness.run_equip(
        "calls", "merge", good, other, negative, tmp_path / "gone.json", check=False
    )
    assert proc.returncode == 1
    assert proc.stdout == ""  # a partial merge would call the missing process's functions unused
    errors = proc.stderr.splitlines()
    assert errors == [
        f'equip-wheel: error: {other}: not an equip-calls/1 file: its format is "equip-timing/1"',
        f"equip-wheel: error: {negative}: not an equip-calls/1 file: invalid value: integer `-1`,"
        " expected u64 at line 1 column 61",
        f"equip-wheel: error: {tmp_path / 'gone.json'}: no such file or directory",
    ]
    assert harness.run_equip("calls", "merge", "--uncalled", good).stdout == "m:f\n"
