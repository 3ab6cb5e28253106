"""Smoke test of the benchmarks' peers (benchmarks/, run by scripts/bench.sh, not by CI): the
plain-Python `ast` reference instrumenter must produce a valid wheel whose functions really
call the hooks, or the tool-speed ratios would compare against a broken peer. Fast (< 5 s)."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import harness

COUNTING_HOOKS = """
import collections
calls = collections.Counter()


def enter(qualname):
    calls["enter", qualname] += 1
    return qualname


def exit(token, value):
    calls["exit", token] += 1
    return value


def error(token, exc):
    calls["error", token] += 1
"""


def test_ast_reference_instruments_the_demo_wheel(tmp_path):
    wheel = harness.TESTWHEELS / "demo-1.0-py3-none-any.whl"
    subprocess.run(
        [
            sys.executable,
            str(harness.REPO / "benchmarks" / "ast_reference.py"),
            str(wheel),
            str(tmp_path / "out"),
        ],
        check=True,
    )
    out = tmp_path / "out" / wheel.name
    harness.run_equip("verify", out)
    with zipfile.ZipFile(out) as z:
        z.extractall(tmp_path / "site")
    (tmp_path / "site" / "equip_bench_hooks.py").write_text(COUNTING_HOOKS)
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import runpy, equip_bench_hooks as h; "
            "runpy.run_module('demo', run_name='__main__'); print(sum(h.calls.values()))",
        ],
        cwd=tmp_path / "site",
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[-1]) > 0, proc.stdout
