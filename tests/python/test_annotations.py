"""PEP 649/749 annotations and PEP 810 lazy imports survive instrumentation (CPython 3.14+).

The `annots` fixture annotates everything (module level, conditional annotations, classes,
methods, properties, nested functions, forward references to names defined later or never).
Its plain build, its `.py`-instrumented build and its `.pyc`-instrumented (sourceless) build
must give identical `annotationlib.get_annotations` results in the VALUE, FORWARDREF and
STRING formats, and no `__annotate__` function may fire a hook (they run with fake globals
for FORWARDREF and STRING). On 3.15 the `lazy import`s of `annots.lazy` stay lazy: the
imported modules enter `sys.modules` on first use only.
"""

from __future__ import annotations

import json
from pathlib import Path

import harness
import probe
import pyc_support
import pytest

FIXTURE = pyc_support.FIXTURES / "annots"

CHECK = r"""
import annotationlib, asyncio, json, re, sys
import annots.mod as m
out = {}
for name, obj in m.objects().items():
    for fmt in ("VALUE", "FORWARDREF", "STRING"):
        try:
            ann = annotationlib.get_annotations(obj, format=annotationlib.Format[fmt])
            # Object addresses differ between processes, module files between venvs.
            out[f"{name} {fmt}"] = {
                k: re.sub(" from '[^']*'", "", re.sub(" at 0x[0-9a-f]+", "", repr(v)))
                for k, v in ann.items()}
        except Exception as e:
            out[f"{name} {fmt}"] = f"{type(e).__name__}: {e}"
out["calls"] = [asyncio.run(m.coro(1)), list(m.gen(2)), m.Box().method(0) is not None,
                m.unannotated(1, 2)]
if sys.version_info >= (3, 15):
    import annots.lazy as lz
    watched = ("colorsys", "difflib")
    before = [w in sys.modules for w in watched]
    result = lz.use()
    out["lazy"] = [before, [w in sys.modules for w in watched], result]
print(json.dumps(out, sort_keys=True))
"""


def _wheel(minor: str, out: Path) -> Path:
    files = {f"annots/{p.name}": p.read_text() for p in sorted((FIXTURE / "annots").glob("*.py"))}
    if tuple(map(int, minor.split("."))) < (3, 15):
        del files["annots/lazy.py"]  # `lazy import` is 3.15 syntax
    out.mkdir(parents=True)
    return harness.build_wheel(out, "annots", "1.0", files)


def _run(python: Path, wheel: Path, tmp: Path, label: str) -> tuple[dict, dict]:
    venv = harness.Venv.create(python, tmp / f"venv-{label}")
    venv.pip_install("--no-deps", "--no-index", wheel)
    out = tmp / f"probe-{label}"
    out.mkdir()
    env = {
        "PYTHONPATH": str(probe.module_dir(out / "module")),
        "EQUIP_PROBE_OUT": str(out / "probe-{pid}.json"),
    }
    proc = venv.run("-c", CHECK, cwd=tmp, env=env)
    counts, problems = probe.results(out)
    assert problems == [], (label, problems)
    return json.loads(proc.stdout), probe.per_function(counts)


@pytest.mark.parametrize("minor", ["3.14", "3.15"])
def test_annotations_and_lazy_imports_survive(minor: str, tmp_path: Path) -> None:
    python = harness.require_python(minor)
    config = probe.config_file(tmp_path / "config")
    plain = _wheel(minor, tmp_path / "plain")
    sourceless = pyc_support.sourceless(plain, python, tmp_path / "sourceless")
    assert "annots/mod.pyc" in harness.wheel_members(sourceless)
    py_out, py_report = pyc_support.instrument(plain, tmp_path / "out-py", config)
    pyc_out, pyc_report = pyc_support.instrument(sourceless, tmp_path / "out-pyc", config)

    # Ten annotation functions: the module, Box, Box.Inner and seven functions; counted
    # alike from the source and from the code objects, never instrumented.
    for report in (py_report, pyc_report):
        mod = next(m for m in report["modules"] if m["module"] == "annots.mod")
        assert mod["not_instrumented"]["annotate_functions"] == 10, mod
        assert not any("__annotate__" in f for f in mod["functions"]), mod["functions"]

    expected, _ = _run(python, plain, tmp_path, "plain")
    assert expected["Box STRING"] == {
        "size": "'int'",
        "ref": "'Box'",
        "fwd": "'Later'",
        "cond_attr": "'NeverDefined'",
    }
    assert expected["module VALUE"].startswith("NameError"), expected["module VALUE"]
    assert "conditional" in expected["module STRING"]
    for label, wheel in [("py", py_out), ("pyc", pyc_out)]:
        seen, per_function = _run(python, wheel, tmp_path, label)
        differing = {
            k: (expected.get(k), seen.get(k))
            for k in expected.keys() | seen.keys()
            if expected.get(k) != seen.get(k)
        }
        assert differing == {}, (label, json.dumps(differing))
        assert not [q for q in per_function if "__annotate__" in q], (label, per_function)
        assert per_function["annots.mod:func"]["enter"] >= 1, (label, per_function)
        assert per_function["annots.mod:Box.method"] == {"enter": 1, "exit": 1, "error": 0}
        if minor == "3.15":
            assert per_function["annots.lazy:use"] == {"enter": 1, "exit": 1, "error": 0}
    if minor == "3.15":
        before, after, _ = expected["lazy"]
        assert before == [False, False] and after == [True, True], expected["lazy"]
