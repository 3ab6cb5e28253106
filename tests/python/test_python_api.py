"""The typed Python API: docs/python-api.md's examples as doctests, mypy --strict
on a usage file, the abi3 wheel, reports and errors, the GIL released and Ctrl-C honoured."""

from __future__ import annotations

import dataclasses
import doctest
import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import equip_wheel
import harness
import pytest
from backend_support import our_wheel, run

DOCS = harness.REPO / "docs"
DEMO = harness.TESTWHEELS / "demo-1.0-py3-none-any.whl"
USAGE = Path(__file__).parent / "typing_usage" / "api_usage.py"


def big_wheel(directory: Path, modules: int = 400, functions: int = 60) -> Path:
    """A wheel large enough that instrumenting it takes a while."""
    body = "".join(
        f"def f{i}(a, b=1):\n    x = a + b\n    if x:\n        return [y for y in range(x)]\n    return None\n\n\n"
        for i in range(functions)
    )
    files = {f"synth/m{j}.py": body for j in range(modules)}
    files["synth/__init__.py"] = ""
    return harness.build_wheel(directory, "synth", "1.0", files)


# --- documented examples and types --------------------------------------------------------


def test_python_api_doc_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dist").mkdir()
    shutil.copy(DEMO, tmp_path / "dist")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EQUIP_CALLS_FILE", raising=False)
    result = doctest.testfile(
        str(DOCS / "python-api.md"),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
        report=True,
    )
    assert result.attempted >= 25, result
    assert result.failed == 0, result


@pytest.mark.parametrize("target", ["usage file", "installed package"])
def test_stubs_pass_mypy_strict(target: str, tmp_path: Path) -> None:
    args = [USAGE] if target == "usage file" else ["-p", "equip_wheel"]
    proc = run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", harness.CACHE / "mypy", *args],
        cwd=tmp_path,
        env=dict(os.environ),
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_sees_real_types(tmp_path: Path) -> None:
    """The stubs are not Any: mypy rejects misuse."""
    bad = tmp_path / "bad_usage.py"
    bad.write_text(
        textwrap.dedent("""\
        import equip_wheel
        from equip_wheel import _native

        report = equip_wheel.instrument_wheel("x.whl", dry_run=True)
        functions: str = report.totals.functions
        equip_wheel.instrument_wheel("x.whl", out_dir=3)
        _native.verify_wheel(1)
        name: str = report.output
    """)
    )
    proc = run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", harness.CACHE / "mypy", bad],
        env=dict(os.environ),
        check=False,
    )
    assert proc.returncode == 1
    assert "Found 4 errors" in proc.stdout, proc.stdout


# --- the package wheel ---------------------------------------------------------------------


def test_package_is_one_abi3_wheel_for_cpython_39_and_later() -> None:
    wheel = our_wheel()
    assert "-cp39-abi3-" in wheel.name, wheel.name
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        metadata = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Requires-Python: >=3.9" in metadata
    for member in [
        "equip_wheel/py.typed",
        "equip_wheel/_native.pyi",
        "equip_wheel/build.py",
        "equip_wheel/errors.py",
        "equip_wheel/__init__.py",
    ]:
        assert member in names, member
    assert any(n.startswith("equip_wheel/_native.abi3.") for n in names), names


@pytest.mark.parametrize("minor", ["3.9", "3.13", "3.14", "3.15"])
def test_abi3_wheel_works_on_oldest_and_newest(minor: str, tmp_path: Path) -> None:
    python = harness.require_python(minor)
    venv = harness.Venv.create_with_uv(python, tmp_path / "venv")
    venv.uv_install("--no-deps", "--offline", "--no-cache", our_wheel())
    out = venv.run(
        "-c",
        textwrap.dedent(f"""\
        import sys, equip_wheel
        r = equip_wheel.instrument_wheel({str(DEMO)!r}, preset="calls", out_dir={str(tmp_path / "out")!r})
        assert equip_wheel.verify_wheel(r.output).ok
        print(sys.version_info[:2], r.totals.functions)
    """),
    ).stdout
    assert out.strip() == f"({minor.replace('.', ', ')}) 6"


# --- behaviour -----------------------------------------------------------------------------


def test_report_types(tmp_path: Path) -> None:
    report = equip_wheel.instrument_wheel(DEMO, preset="calls", out_dir=tmp_path)
    assert isinstance(report, equip_wheel.Report)
    assert report.input == DEMO and report.output == tmp_path / DEMO.name
    assert report.output.is_file()
    assert isinstance(report.modules[0], equip_wheel.ModuleReport)
    assert isinstance(report.totals, equip_wheel.Totals)
    assert report.distribution == "demo" and report.version == report.output_version == "1.0"
    assert report.hooks_module == "_equip_hooks_demo.py"
    assert report.to_dict()["totals"]["functions"] == report.totals.functions
    assert report.to_dict()["output"] == str(report.output)
    # The same shape as the CLI's --report entries.
    cli_report = tmp_path / "report.json"
    harness.run_equip(
        "instrument",
        DEMO,
        "--preset",
        "calls",
        "--out-dir",
        tmp_path / "cli",
        "--report",
        cli_report,
    )
    [cli_entry] = json.loads(cli_report.read_text())["wheels"]
    ours = report.to_dict()
    assert cli_entry.pop("output") == str(tmp_path / "cli" / DEMO.name)
    assert ours.pop("output") == str(tmp_path / DEMO.name)
    assert cli_entry == ours
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.output_name = "x"  # type: ignore[misc]  # frozen


def test_config_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    equip = tmp_path / "equip.toml"
    equip.write_text('preset = "calls"\n[output]\nbuild-tag = "1traced"\n')
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\n[tool.equip-wheel]\nbuild-backend = "flit_core.buildapi"\nconfig = "equip.toml"\n'
    )
    from_file = equip_wheel.load_config(equip)
    from_pyproject = equip_wheel.load_config(pyproject)
    assert from_file.build_tag == from_pyproject.build_tag == "1traced"
    assert from_file.sha256 == from_pyproject.sha256
    assert from_pyproject.build_backend == "flit_core.buildapi" and from_file.build_backend is None
    assert equip_wheel.load_config(preset="calls").origin == "preset:calls"
    monkeypatch.chdir(tmp_path)
    assert equip_wheel.load_config().build_backend == "flit_core.buildapi"  # discovered
    report = equip_wheel.instrument_wheel(DEMO, "equip.toml", out_dir="out")
    assert report.output_name == "demo-1.0-1traced-py3-none-any.whl"
    with pytest.raises(equip_wheel.ConfigError, match="not both"):
        equip_wheel.instrument_wheel(DEMO, equip, preset="calls")
    with pytest.raises(equip_wheel.ConfigError, match="at most one"):
        equip_wheel.load_config(equip, preset="calls")
    with pytest.raises(equip_wheel.ConfigError, match="unknown preset"):
        equip_wheel.load_config(preset="nope")
    with pytest.raises(equip_wheel.ConfigError) as info:
        equip_wheel.load_config(tmp_path / "missing.toml")
    assert info.value.file.endswith("missing.toml") and "cannot read" in info.value.reason


def test_in_place(tmp_path: Path) -> None:
    wheel = Path(shutil.copy(DEMO, tmp_path))
    before = wheel.read_bytes()
    report = equip_wheel.instrument_wheel(wheel, preset="calls", in_place=True)
    assert report.output == wheel and wheel.read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == [DEMO.name]


def test_error_classes(tmp_path: Path) -> None:
    for cls in (
        equip_wheel.ConfigError,
        equip_wheel.WheelError,
        equip_wheel.InstrumentError,
        equip_wheel.FileError,
    ):
        assert issubclass(cls, equip_wheel.EquipWheelError)
    assert issubclass(equip_wheel.FileError, OSError)

    broken = harness.build_wheel(
        tmp_path,
        "broken",
        "1.0",
        {"broken/__init__.py": "def ok():\n    pass\n", "broken/bad.py": "def (:\n"},
    )
    config = equip_wheel.load_config(text='preset = "calls"\non-syntax-error = "fail"\n')
    with pytest.raises(equip_wheel.InstrumentError) as info:
        equip_wheel.instrument_wheel(broken, config, out_dir=tmp_path / "out")
    assert info.value.member == "broken/bad.py" and info.value.wheel == str(broken)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    # The default policy skips it, saying so.
    report = equip_wheel.instrument_wheel(broken, preset="calls", out_dir=tmp_path / "out")
    assert [s.member for s in report.skipped] == ["broken/bad.py"]

    not_a_zip = tmp_path / "text-1.0-py3-none-any.whl"
    not_a_zip.write_text("hello")
    with pytest.raises(equip_wheel.WheelError) as winfo:
        equip_wheel.instrument_wheel(not_a_zip, preset="calls")
    assert winfo.value.member is None and "not a valid zip archive" in winfo.value.reason

    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(equip_wheel.FileError) as finfo:
        equip_wheel.instrument_wheel(DEMO, preset="calls", out_dir=blocker / "sub")
    assert finfo.value.path == str(blocker / "sub") and finfo.value.errno is not None
    assert isinstance(finfo.value, OSError)


def test_gil_is_released_during_the_work(tmp_path: Path) -> None:
    wheel = big_wheel(tmp_path, modules=800)
    config = equip_wheel.load_config(preset="calls")
    ticks = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    thread = threading.Thread(target=spin)
    thread.start()
    try:
        time.sleep(0.05)
        start_ticks, start = ticks, time.perf_counter()
        equip_wheel.instrument_wheel(wheel, config, out_dir=tmp_path / "out")
        elapsed, during = time.perf_counter() - start, ticks - start_ticks
    finally:
        stop.set()
        thread.join()
    assert elapsed > 0.1, f"the work took {elapsed:.3f}s: too short to tell"
    # With the GIL held for the whole call the thread could not have counted at all.
    assert during > 10_000, (during, elapsed)


CTRL_C = """
import os, signal, sys, threading, time
import equip_wheel
wheel, out = sys.argv[1], sys.argv[2]
config = equip_wheel.load_config(preset="calls")
threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
start = time.perf_counter()
try:
    equip_wheel.instrument_wheel(wheel, config, out_dir=out)
except KeyboardInterrupt:
    print("interrupted after", round(time.perf_counter() - start, 3))
    sys.exit(0)
print("finished without interruption")
sys.exit(3)
"""


def test_ctrl_c_stops_the_work_and_leaves_nothing(tmp_path: Path) -> None:
    wheel = big_wheel(tmp_path, modules=1200)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-c", CTRL_C, str(wheel), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "interrupted after" in proc.stdout
    assert not out.exists() or list(out.iterdir()) == []


def test_a_missing_input_is_a_file_error(tmp_path: Path) -> None:
    missing = tmp_path / "gone-1.0-py3-none-any.whl"
    for call in (equip_wheel.instrument_wheel, equip_wheel.verify_wheel):
        with pytest.raises(equip_wheel.FileError) as info:
            call(missing)
        assert isinstance(info.value, OSError)
        assert info.value.errno == errno.ENOENT
        assert info.value.filename == str(missing)
        assert str(info.value) == f"{missing}: no such file or directory"
    assert not (tmp_path / "wheelhouse").exists()
    # A path that cannot be opened for another reason is a FileError too, with its errno.
    blocker = tmp_path / "plain-file"
    blocker.write_text("")
    for call in (equip_wheel.instrument_wheel, equip_wheel.verify_wheel):
        with pytest.raises(equip_wheel.FileError) as info:
            call(blocker / "pkg-1.0-py3-none-any.whl")
        assert info.value.errno == errno.ENOTDIR


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_input_is_a_file_error(tmp_path: Path) -> None:
    wheel = tmp_path / DEMO.name
    shutil.copy(DEMO, wheel)
    wheel.chmod(0)
    for call in (equip_wheel.instrument_wheel, equip_wheel.verify_wheel):
        with pytest.raises(equip_wheel.FileError) as info:
            call(wheel)
        assert info.value.errno == errno.EACCES
        assert str(info.value) == f"{wheel}: permission denied"
