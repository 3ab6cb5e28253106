"""End-to-end tests of .pyc instrumentation on the `shapes` fixture package.

For each interpreter, the fixture is compiled to a sourceless wheel (`pkg/mod.pyc`, no
`.py`), instrumented with the full-hooks probe config, installed into a venv of that same
version and run: its self-check must print exactly what the plain wheel prints, and the probe
must see enter, exit and error events, each exit/error with its own call's enter value.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import harness
import probe
import pyc_support
import pytest

SHAPES = pyc_support.FIXTURES / "shapes"


@pytest.fixture(scope="module")
def probe_config(tmp_path_factory) -> Path:
    return probe.config_file(tmp_path_factory.mktemp("probe-config"))


def _run(venv: harness.Venv, out: Path, cwd: Path) -> tuple[str, dict, list[str]]:
    """Runs the fixture's self-check with the probe importable; returns its output, the
    probe's per-function counts and problems."""
    out.mkdir(parents=True)
    env = {
        "PYTHONPATH": str(probe.module_dir(out / "module")),
        "EQUIP_PROBE_OUT": str(out / "probe-{pid}.json"),
    }
    proc = venv.run("-c", "import shapes; shapes.selfcheck()", cwd=cwd, env=env)
    counts, problems = probe.results(out)
    return proc.stdout, counts, problems


@pytest.fixture(scope="module")
def shapes_wheel(tmp_path_factory) -> Path:
    return pyc_support.wheel_from_dir(SHAPES, "shapes", "1.0", tmp_path_factory.mktemp("shapes"))


@pytest.mark.parametrize("minor", harness.PY_VERSIONS)
def test_sourceless_shapes_behave_and_report(
    minor: str, shapes_wheel: Path, probe_config: Path, tmp_path: Path
) -> None:
    python = harness.require_python(minor)
    plain = pyc_support.sourceless(shapes_wheel, python, tmp_path / "plain")
    names = harness.wheel_members(plain)
    assert "shapes/core.pyc" in names and "shapes/core.py" not in names

    out, report = pyc_support.instrument(plain, tmp_path / "out", probe_config)
    modules = {m["member"]: m for m in report["modules"]}
    assert set(modules) == {"shapes/__init__.pyc", "shapes/core.pyc"}
    core = modules["shapes/core.pyc"]
    assert core["kind"] == "pyc"
    for qualname in [
        "plain",
        "gen",
        "coro",
        "agen",
        "closure.<locals>.inner",
        "Base.prop",
        "Base.Inner.deep",
        "decorator.<locals>.wrapper",
        "nested_three.<locals>.level2.<locals>.level3",
    ]:
        assert qualname in core["functions"], qualname
    assert core["not_instrumented"]["lambdas"] == 1
    assert core["not_instrumented"]["class_bodies"] == 3
    # `verify` accepts the output wheel (RECORD and zip checks).
    harness.run_equip("verify", out)

    results = {}
    for label, wheel in [("plain", plain), ("instrumented", out)]:
        venv = harness.Venv.create(python, tmp_path / f"venv-{label}")
        venv.pip_install("--no-deps", "--no-index", wheel)
        results[label] = _run(venv, tmp_path / f"probe-{label}", tmp_path)
    plain_out, _, _ = results["plain"]
    inst_out, counts, problems = results["instrumented"]
    assert inst_out == plain_out
    assert "('traceback', ['selfcheck', 'raises'])" in inst_out

    assert problems == []
    seen = probe.totals(counts)
    assert seen["module-enter"] == 2 and seen["module-exit"] == 2
    assert seen["enter"] > 50 and seen["exit"] > 40 and seen["error"] >= 5
    per = probe.per_function(counts)
    # raises("value") twice and raises("key") once, all propagating.
    assert per["shapes.core:raises"] == {"enter": 3, "exit": 0, "error": 3}
    # gen: run to the end, closed early (reported as exit), thrown into, delegated to.
    assert per["shapes.core:gen"] == {"enter": 4, "exit": 3, "error": 1}
    assert per["shapes.core:recursive"] == {"enter": 6, "exit": 6, "error": 0}
    assert per["shapes.core:reraises"] == {"enter": 1, "exit": 0, "error": 1}
    assert per["shapes.core:catches"] == {"enter": 1, "exit": 1, "error": 0}
    assert per["shapes.core:agen"]["enter"] == 1 and per["shapes.core:agen"]["exit"] == 1
    assert per["shapes.core:coro"] == {"enter": 1, "exit": 1, "error": 0}
    assert per["shapes.core:Base.prop"] == {"enter": 2, "exit": 2, "error": 0}
    assert per["shapes.core:closure.<locals>.counter"]["exit"] == 2
    assert per["shapes.core:with_block"] == {"enter": 1, "exit": 1, "error": 0}
    # Every call that entered has left.
    assert all(c["enter"] == c["exit"] + c["error"] for c in per.values()), per


def test_unsupported_magic_is_named_or_skipped(probe_config: Path, tmp_path: Path) -> None:
    python = harness.require_python("3.11")
    wheel = pyc_support.wheel_from_dir(SHAPES, "shapes", "1.0", tmp_path / "src")
    plain = pyc_support.sourceless(wheel, python, tmp_path / "plain")
    members = harness.wheel_members(plain)
    # Pretend one module was compiled by Python 3.16 (magic 3700, beyond the tables).
    data = bytearray(members["shapes/core.pyc"])
    data[0:2] = (3700).to_bytes(2, "little")
    members["shapes/core.pyc"] = bytes(data)
    future = pyc_support.write_wheel(
        tmp_path / "future" / plain.name, members, "shapes-1.0.dist-info"
    )
    proc = harness.run_equip(
        "instrument", future, "--config", probe_config, "--out-dir", tmp_path / "out", check=False
    )
    assert proc.returncode == 1
    assert "shapes/core.pyc" in proc.stderr and "Python 3.16" in proc.stderr, proc.stderr

    config = tmp_path / "skip.toml"
    config.write_text('on-unsupported-pyc = "skip"\n' + probe_config.read_text())
    report = tmp_path / "report.json"
    harness.run_equip(
        "instrument", future, "--config", config, "--out-dir", tmp_path / "out2", "--report", report
    )
    import json

    data = json.loads(report.read_text())["wheels"][0]
    assert [s["member"] for s in data["skipped"]] == ["shapes/core.pyc"]
    assert any("Python 3.16" in w for w in data["warnings"])
    assert [m["member"] for m in data["modules"]] == ["shapes/__init__.pyc"]


@pytest.mark.parametrize("minor", ["3.11", "3.13", "3.14", "3.15"])
def test_pyc_and_py_builds_report_the_same_events(
    minor: str, shapes_wheel: Path, probe_config: Path, tmp_path: Path
) -> None:
    """Differential oracle on the fixture: the .py-instrumented and the .pyc-instrumented
    builds of the same package, running the same self-check, give identical probe counts."""
    python = harness.require_python(minor)
    sourceless = pyc_support.sourceless(shapes_wheel, python, tmp_path / "plain")
    summaries = {}
    for label, wheel in [("py", shapes_wheel), ("pyc", sourceless)]:
        out, _ = pyc_support.instrument(wheel, tmp_path / f"out-{label}", probe_config)
        venv = harness.Venv.create(python, tmp_path / f"venv-{label}")
        venv.pip_install("--no-deps", "--no-index", out)
        _, counts, problems = _run(venv, tmp_path / f"probe-{label}", tmp_path)
        assert problems == [], (label, problems)
        summaries[label] = counts
    # Per (event kind, module, qualname).
    assert summaries["pyc"] == summaries["py"]


@pytest.mark.parametrize("minor", ["3.14", "3.15"])
def test_none_common_constant_is_what_the_injector_assumes(minor: str) -> None:
    """The `.pyc` injector recognizes `with` cleanup that loads `None` through
    `LOAD_COMMON_CONSTANT 7` on 3.15 (and knows 3.14 cannot): the interpreter's own table."""
    python = harness.require_python(minor)
    out = subprocess.run(
        [
            str(python),
            "-c",
            "import opcode; c = opcode._common_constants; "
            "print(c.index(None) if None in c else -1)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == {"3.14": "-1", "3.15": "7"}[minor]


PROBED = """\
LIMIT = 3

def loop(n):
    total = 0
    for i in range(n):
        total += i
    return total

RESULT = loop(LIMIT)
"""

PROBES = """\
[[probes]]
module = "probed.mod"
line = 4
snippet = "print('probe', {lineno}, {qualname}, sorted({locals}))"

[[probes]]
module = "probed.mod"
line = 6
snippet = "print('probe', {lineno}, {qualname}, {locals}['i'])"

[[probes]]
module = "probed.mod"
line = 9
snippet = "print('probe', {lineno}, {qualname}, {locals}['LIMIT'])"
"""


@pytest.mark.parametrize("minor", harness.PY_VERSIONS)
def test_sourceless_probes_run_before_their_lines(minor: str, tmp_path: Path) -> None:
    """Probes in a `.pyc` go before the statement starting on their line (in a function or
    the module body), once per execution of it, and see that line as `{lineno}`; a line
    where no statement starts is refused naming the nearest lines that have one."""
    python = harness.require_python(minor)
    source = harness.build_wheel(
        tmp_path / "src", "probed", "1.0", {"probed/__init__.py": "", "probed/mod.py": PROBED}
    )
    plain = pyc_support.sourceless(source, python, tmp_path / "plain")
    assert "probed/mod.pyc" in harness.wheel_members(plain)
    config = tmp_path / "equip.toml"
    config.write_text(PROBES)
    out, report = pyc_support.instrument(plain, tmp_path / "out", config)
    modules = {m["member"]: m for m in report["modules"]}
    assert modules["probed/mod.pyc"]["probes"] == 3

    site = tmp_path / "site"
    with zipfile.ZipFile(out) as z:
        z.extractall(site)
    proc = subprocess.run(
        [str(python), "-c", "import probed.mod"],
        cwd=site,
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.splitlines() == [
        "probe 9 None 3",
        "probe 4 loop ['n']",
        "probe 6 loop 0",
        "probe 6 loop 1",
        "probe 6 loop 2",
    ]
    assert proc.stderr == ""

    config.write_text(PROBES.replace("line = 6", "line = 8"))
    proc = harness.run_equip(
        "instrument", plain, "--config", config, "--out-dir", tmp_path / "refused", check=False
    )
    assert proc.returncode == 1
    assert (
        "probes[1]: no statement starts on line 8 of probed.mod; nearest lines with one: 7, 9"
        in proc.stderr
    )
    assert not (tmp_path / "refused").exists() or not any((tmp_path / "refused").iterdir())
