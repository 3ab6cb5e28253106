"""The embedded presets on the demo wheel: what they write, and that several packages
instrumented with the same preset share one output."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import harness
import pytest

DEMO = harness.TESTWHEELS / "demo-1.0-py3-none-any.whl"


def instrument(tmp: Path, preset: str, *wheels: Path) -> list[Path]:
    harness.run_equip("instrument", *wheels, "--preset", preset, "-o", tmp / preset, "-q")
    return [tmp / preset / w.name for w in wheels]


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory):
    return harness.require_python("3.11")


def run_demo(
    python: Path,
    site: Path,
    env: dict[str, str],
    code: str = "import runpy; runpy.run_module('demo', run_name='__main__')",
):
    proc = subprocess.run(
        [str(python), "-c", code],
        cwd=site,
        env={"PYTHONPATH": str(site), **env},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def unpack(wheels: list[Path], site: Path) -> Path:
    import zipfile

    for w in wheels:
        with zipfile.ZipFile(w) as z:
            z.extractall(site)
    return site


def test_calls(tmp_path, venv_python):
    site = unpack(instrument(tmp_path, "calls", DEMO), tmp_path / "site")
    out = tmp_path / "calls-{pid}.json"
    run_demo(venv_python, site, {"EQUIP_CALLS_FILE": str(out)})
    [written] = list(tmp_path.glob("calls-*.json"))
    data = json.loads(written.read_text())
    assert data["format"] == "equip-calls/1"
    assert written.name == f"calls-{data['pid']}.json"
    assert data["calls"]["demo.greet"] == {
        "greet": 3,
        "shout": 1,
        "countdown": 1,
        "Greeter.__init__": 1,
        "Greeter.greet_all": 1,
        "Greeter.count": 0,  # never called: listed with 0
    }


def test_calls_from_two_packages_share_one_file(tmp_path, venv_python):
    other = harness.build_wheel(
        tmp_path, "other", "2.0", {"other.py": "def ping():\n    return 'pong'\n"}
    )
    site = unpack(instrument(tmp_path, "calls", DEMO, other), tmp_path / "site")
    out = tmp_path / "calls.json"
    run_demo(
        venv_python,
        site,
        {"EQUIP_CALLS_FILE": str(out)},
        "import demo, other; demo.shout('x'); other.ping(); other.ping()",
    )
    calls = json.loads(out.read_text())["calls"]
    assert calls["other"] == {"ping": 2}
    assert calls["demo.greet"] == {
        "greet": 1,
        "shout": 1,
        "countdown": 0,
        "Greeter.__init__": 0,
        "Greeter.greet_all": 0,
        "Greeter.count": 0,
    }


def test_trace(tmp_path, venv_python):
    site = unpack(instrument(tmp_path, "trace", DEMO), tmp_path / "site")
    proc = run_demo(venv_python, site, {}, "import demo; demo.shout('x')")
    lines = [line for line in proc.stderr.splitlines() if line.startswith("[equip]")]
    pattern = re.compile(r"\[equip\] (\d+) ( *)(->|<-) demo\.greet:(\w+)(?: returned ([\d.]+)ms)?$")
    parsed = [pattern.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m[2], m[3], m[4]) for m in parsed] == [
        ("", "->", "shout"),
        ("  ", "->", "greet"),
        ("  ", "<-", "greet"),
        ("", "<-", "shout"),
    ]
    assert len({m[1] for m in parsed}) == 1  # one thread id


def test_trace_to_file_reports_errors(tmp_path, venv_python):
    bad = harness.build_wheel(
        tmp_path, "bad", "1.0", {"bad.py": "def boom():\n    raise KeyError('k')\n"}
    )
    site = unpack(instrument(tmp_path, "trace", bad), tmp_path / "site")
    run_demo(
        venv_python,
        site,
        {"EQUIP_TRACE_FILE": str(tmp_path / "trace-{pid}.log")},
        "import bad\ntry:\n    bad.boom()\nexcept KeyError:\n    pass",
    )
    [log] = list(tmp_path.glob("trace-*.log"))
    assert re.search(r"<- bad:boom raised KeyError [\d.]+ms", log.read_text()), log.read_text()


def test_timing(tmp_path, venv_python):
    site = unpack(instrument(tmp_path, "timing", DEMO), tmp_path / "site")
    out = tmp_path / "timing.json"
    run_demo(venv_python, site, {"EQUIP_TIMING_FILE": str(out)})
    functions = json.loads(out.read_text())["functions"]["demo.greet"]
    greet = functions["greet"]
    assert greet["calls"] == 3 and greet["errors"] == 0
    assert 0 < greet["min_ns"] <= greet["max_ns"] <= greet["total_ns"]
    assert functions["shout"]["total_ns"] >= functions["shout"]["min_ns"] > 0


def test_output_at_exit_never_raises(tmp_path, venv_python):
    site = unpack(instrument(tmp_path, "calls", DEMO), tmp_path / "site")
    proc = run_demo(
        venv_python,
        site,
        {"EQUIP_CALLS_FILE": str(tmp_path / "missing-dir" / "c.json")},
        "import demo; demo.shout('x')",
    )
    assert "cannot write the calls file" in proc.stderr
