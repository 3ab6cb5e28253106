"""Instrumented modules keep their namespaces: for every module of the six real wheels,
``set(vars(module))`` after importing the instrumented build (the default ``calls`` preset;
``.py`` and sourceless ``.pyc`` compiled by the same interpreter) equals the plain build's,
apart from dunder names (docs/semantics.md: the hooks are reached through dunder globals only).

One subprocess per interpreter and build imports every module of the six wheels (in sorted
order, so packages gain the same submodule attributes in every run) and prints each module's
names, or the exception its import raised; the plain build's must be the same, module for
module.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import harness
import pyc_support
import pytest

#: Imports every module found under the directory argv[1] and prints, as JSON,
#: {module: sorted non-dunder names of vars(module)} or {module: "!ExceptionName"}, and the
#: type name of each module's `__equip_hooks__` global when it has one.
DUMP = r"""
import json, sys
from pathlib import Path
root = Path(sys.argv[1])
sys.path.insert(0, str(root))
names = set()
for path in root.rglob("*"):
    rel = path.relative_to(root)
    if path.suffix not in (".py", ".pyc") or "__pycache__" in rel.parts:
        continue
    if rel.parts[0].endswith(".dist-info") or rel.parts[0].startswith("_equip_hooks_"):
        continue
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    if parts and all(p.isidentifier() for p in parts):
        names.add(".".join(parts))
out = {}
hooks = {}
for name in sorted(names):
    if name.split(".")[-1] == "__main__":
        continue  # runs the program
    try:
        __import__(name)
    except BaseException as e:
        out[name] = "!" + type(e).__name__
        continue
    module = sys.modules[name]
    out[name] = sorted(k for k in vars(module) if not (k.startswith("__") and k.endswith("__")))
    if "__equip_hooks__" in vars(module):
        hooks[name] = type(vars(module)["__equip_hooks__"]).__name__
print(json.dumps([out, hooks]))
"""


def _extract(wheel: Path, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as z:
        z.extractall(dest)
    return dest


def _names(python: Path, root: Path) -> tuple[dict, dict]:
    """(module -> names or "!Exception", module -> type name of its `__equip_hooks__`)."""
    proc = subprocess.run(
        [str(python), "-c", DUMP, str(root)], capture_output=True, text=True, cwd=root.parent
    )
    assert proc.returncode == 0, proc.stderr
    names, hooks = json.loads(proc.stdout)
    return names, hooks


@pytest.fixture(scope="session")
def calls_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ns-config") / "calls.toml"
    path.write_text('preset = "calls"\n')
    return path


@pytest.mark.slow
@pytest.mark.parametrize("minor", harness.PY_VERSIONS)
def test_instrumented_namespaces_equal_plain(
    minor, real_wheels, instrumented_wheels, calls_config, tmp_path
):
    python = harness.require_python(minor)
    plain = tmp_path / "plain"
    instrumented = tmp_path / "py"
    sourceless = tmp_path / "pyc"
    for name, wheel in real_wheels.items():
        _extract(wheel, plain)
        _extract(instrumented_wheels[name], instrumented)
        compiled = pyc_support.sourceless(wheel, python, tmp_path / f"sourceless-{name}")
        out, _ = pyc_support.instrument(compiled, tmp_path / f"out-{name}", calls_config)
        _extract(out, sourceless)
    expected, plain_hooks = _names(python, plain)
    assert plain_hooks == {}
    assert sum(isinstance(v, list) for v in expected.values()) > 50, expected
    for build, root in (("py", instrumented), ("pyc", sourceless)):
        actual, hooks = _names(python, root)
        # Instrumented code did run, bound to the real hooks module (not the stand-in).
        assert len(hooks) >= 40 and set(hooks.values()) == {"module"}, (build, hooks)
        assert set(actual) == set(expected), (build, sorted(set(actual) ^ set(expected)))
        problems = []
        for module in sorted(expected):
            if actual[module] != expected[module]:
                gained = (
                    sorted(set(actual[module]) - set(expected[module]))
                    if isinstance(actual[module], list)
                    else actual[module]
                )
                lost = (
                    sorted(set(expected[module]) - set(actual[module]))
                    if isinstance(expected[module], list)
                    else expected[module]
                )
                problems.append(f"{build} {module}: gained {gained}, lost {lost}")
        assert not problems, "\n".join(problems[:20])
