"""Line fidelity of `.py` instrumentation.

Three corpora are instrumented: the six real wheels under the full-hooks probe config
(enter/exit/error/module hooks, tests/python/probe.py), the same six under the default
``calls`` preset, and CPython 3.13's standard library (`Lib/`, 1,726 files with its tests)
under full hooks. For each interpreter 3.8-3.13, `fidelity.py` (that interpreter's `ast`)
checks every file: it must compile wherever the original compiles, its statements minus
equip-wheel's must match the original's one for one, and the share of statements that kept
their line number and kind is compared with the floor below.

The issue asks for >= 99.9% under full hooks. That is out of reach for source that has no
blank line to spare: the `try:` that catches errors for the error hook needs a line of its
own (it cannot share the `def` line, and the first statement of the body cannot share its
line), so a method whose body follows its `def` with no blank or comment line moves. The
floors below are what the layout achieves today (regression guards, a little under the
measured value: 95.721% of the six wheels and 86.04% of `Lib/` on 3.13);
`test_full_hooks_target` records the 99.9% target as an expected failure. A function whose
returns run cleanup (`with`, `finally`) has a `finally:` line instead of the handler: its
exit is reported from there, once that cleanup has run, and so is its error.
The `calls` preset, which needs no `try:`, meets 99.9% in each of the six wheels: its entry
call goes inline, after the docstring, into a first statement's header, or after nested
`def`s that run nothing; only a body starting with `while` right under its `def` costs a line.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import harness
import probe
import pytest

HERE = Path(__file__).resolve().parent
FULL_HOOKS = 'on-syntax-error = "skip"\n' + probe.CONFIG
CALLS = 'preset = "calls"\non-syntax-error = "skip"\n'

#: Minimum share of statements keeping their line, per corpus and interpreter.
FLOORS = {
    ("six-wheels", "calls"): {minor: 0.999 for minor in harness.PY_VERSIONS},
    ("six-wheels", "full-hooks"): {minor: 0.957 for minor in harness.PY_VERSIONS},
    ("stdlib-3.13", "full-hooks"): {minor: 0.86 for minor in harness.PY_VERSIONS},
}
TARGET = 0.999


def _stdlib_wheel(dest: Path) -> Path:
    """A wheel holding every `.py` file of CPython 3.13's `Lib/` (site-packages left out)."""
    python = harness.require_python("3.13")
    lib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    members = {
        "stdlib/" + p.relative_to(lib).as_posix(): p.read_bytes()
        for p in lib.rglob("*.py")
        if "site-packages" not in p.relative_to(lib).parts and "__pycache__" not in p.parts
    }
    return harness.build_wheel(dest, "cpython_stdlib", "3.13", dict(sorted(members.items())))


def _extract_py(wheels, dest: Path) -> Path:
    """The `.py` members of ``wheels`` under ``dest/<wheel stem>/``."""
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                if name.endswith(".py"):
                    target = dest / Path(wheel).stem / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(z.read(name))
    return dest


@pytest.fixture(scope="session")
def corpora(real_wheels, tmp_path_factory) -> dict[tuple[str, str], tuple[Path, Path]]:
    """(corpus, config) -> (original `.py` tree, instrumented `.py` tree)."""
    root = tmp_path_factory.mktemp("fidelity")
    inputs = {
        "six-wheels": list(real_wheels.values()),
        "stdlib-3.13": [_stdlib_wheel(root / "stdlib-wheel")],
    }
    configs = {"full-hooks": FULL_HOOKS, "calls": CALLS}
    trees = {}
    for corpus, config_name in FLOORS:
        wheels = inputs[corpus]
        config = root / f"{config_name}.toml"
        config.write_text(configs[config_name])
        out = root / f"out-{corpus}-{config_name}"
        harness.run_equip("instrument", *wheels, "-c", config, "-o", out, "-q")
        original = root / f"orig-{corpus}"
        if not original.exists():
            _extract_py(wheels, original)
        instrumented = _extract_py(
            [out / Path(w).name for w in wheels], root / f"inst-{corpus}-{config_name}"
        )
        trees[(corpus, config_name)] = (original, instrumented)
    return trees


def _measure(minor: str, original: Path, instrumented: Path) -> dict:
    python = harness.require_python(minor)
    proc = subprocess.run(
        [str(python), str(HERE / "fidelity.py"), str(original), str(instrumented), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("minor", harness.PY_VERSIONS)
@pytest.mark.parametrize("corpus", list(FLOORS), ids=lambda c: "-".join(c))
def test_line_fidelity(corpus, minor, corpora):
    result = _measure(minor, *corpora[corpus])
    print(
        f"{'/'.join(corpus)} on {minor}: {result['kept']}/{result['statements']} statements kept "
        f"their line ({100 * result['ratio']:.3f}%) in {result['files']} files; worst: {result['worst'][:3]}"
    )
    assert result["files"] > 0
    assert result["not_compiling"] == [], result["not_compiling"][:10]
    assert result["mismatched"] == [], result["mismatched"][:10]
    assert result["ratio"] >= FLOORS[corpus][minor], result["worst"]
    if corpus == ("six-wheels", "calls"):
        # Not only in aggregate: every wheel on its own (files are under <wheel stem>/).
        original, instrumented = corpora[corpus]
        for tree in sorted(p for p in original.iterdir() if p.is_dir()):
            one = _measure(minor, tree, instrumented / tree.name)
            print(f"  {tree.name}: {one['kept']}/{one['statements']} ({100 * one['ratio']:.3f}%)")
            assert one["files"] > 0 and one["ratio"] >= FLOORS[corpus][minor], (
                tree.name,
                one["worst"],
            )


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="a try: line per function body cannot fit in source "
    "without blank lines (see the module docstring)",
)
def test_full_hooks_target(corpora):
    result = _measure("3.13", *corpora[("six-wheels", "full-hooks")])
    assert result["ratio"] >= TARGET
