"""Instrumented code that runs outside its installed package runs uninstrumented, silently.

pip and virtualenv (pinned wheels from PyPI) instrumented with the default ``calls`` preset:
- pip runs ``pyproject_hooks/_in_process/_in_process.py`` by path in an isolated build
  environment, where the hooks module ``_equip_hooks_pip`` is not importable: the instrumented
  pip must still build and install an sdist-only project through build isolation (setuptools
  comes from a local find-links directory, so the test needs PyPI only for downloads);
- virtualenv copies ``_virtualenv.py`` into every venv it creates and loads it from a ``.pth``
  at each interpreter start, where ``_equip_hooks_virtualenv`` does not exist: the new venv's
  interpreter must start with an empty stderr, and its ``activate_this.py`` must run.
Both processes write the calls JSON of the preset, with counts for the package's functions.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import tarfile
import textwrap
import zipfile
from pathlib import Path

import fidelity
import harness
import pytest

PIP = ("pip", "24.2")
VIRTUALENV = ("virtualenv", "20.26.6")
#: virtualenv's dependencies (pinned, not instrumented).
VIRTUALENV_DEPS = [("distlib", "0.3.9"), ("filelock", "3.16.1"), ("platformdirs", "4.3.6")]
#: The build backend of the sdist-only project, served from a local find-links directory.
SETUPTOOLS = ("setuptools", "75.1.0")
PYTHON = "3.12"
#: What the binding of an instrumented module looks for (docs/semantics.md).
BINDING = "find_spec('_equip_hooks_{}')"


def _instrument(wheel: Path, out: Path) -> Path:
    harness.run_equip("instrument", wheel, "-o", out, "-q")
    produced = out / wheel.name
    assert produced.exists(), sorted(p.name for p in out.iterdir())
    return produced


def _calls(path: Path) -> dict:
    files = sorted(path.parent.glob(path.name.replace("{pid}", "*")))
    assert files, (
        f"no calls file matching {path.name} in {sorted(p.name for p in path.parent.iterdir())}"
    )
    merged: dict = {}
    for f in files:
        data = json.loads(f.read_text())
        assert data["format"] == "equip-calls/1"
        for module, functions in data["calls"].items():
            for qualname, count in functions.items():
                merged.setdefault(module, {})
                merged[module][qualname] = merged[module].get(qualname, 0) + count
    return harness.called(merged)


def _sdist_only_project(dest: Path) -> Path:
    """``tinyproj-1.0.tar.gz``: a setuptools project with no wheel anywhere."""
    root = dest / "tinyproj-1.0"
    (root / "tinyproj").mkdir(parents=True)
    (root / "tinyproj" / "__init__.py").write_text("def answer():\n    return 42\n")
    (root / "pyproject.toml").write_text(
        textwrap.dedent(f"""\
        [build-system]
        requires = ["setuptools=={SETUPTOOLS[1]}"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "tinyproj"
        version = "1.0"

        [tool.setuptools]
        packages = ["tinyproj"]
    """)
    )
    (root / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: tinyproj\nVersion: 1.0\n")
    sdist = dest / "tinyproj-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        tar.add(root, arcname="tinyproj-1.0")
    return sdist


@pytest.mark.slow
def test_instrumented_pip_builds_an_sdist_through_build_isolation(tmp_path):
    python = harness.require_python(PYTHON)
    pip = _instrument(harness.download_wheel(*PIP), tmp_path / "out")
    with zipfile.ZipFile(pip) as z:
        in_process = z.read("pip/_vendor/pyproject_hooks/_in_process/_in_process.py").decode()
    assert BINDING.format("pip") in in_process, "the build-env script is instrumented"

    venv = harness.Venv.create_with_uv(python, tmp_path / "venv")
    venv.uv_install(pip)
    links = tmp_path / "links"
    links.mkdir()
    setuptools = harness.download_wheel(*SETUPTOOLS)
    (links / setuptools.name).write_bytes(setuptools.read_bytes())
    sdist = _sdist_only_project(tmp_path / "project")

    calls_file = tmp_path / "calls" / "pip-{pid}.json"
    calls_file.parent.mkdir()
    proc = venv.run(
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-index",
        "--find-links",
        str(links),
        str(sdist),
        cwd=tmp_path,
        env={"EQUIP_CALLS_FILE": str(calls_file)},
        check=False,
    )
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert "Successfully installed tinyproj-1.0" in proc.stdout, proc.stdout
    assert "ModuleNotFoundError" not in proc.stdout + proc.stderr, proc.stderr
    assert venv.run("-c", "import tinyproj; print(tinyproj.answer())").stdout.strip() == "42"

    calls = _calls(calls_file)
    assert calls.get("pip._internal.cli.main", {}).get("main", 0) >= 1, sorted(calls)
    # The build backend hooks ran through pip's wrapper of the in-process script.
    wrappers = calls.get("pip._vendor.pyproject_hooks._impl", {})
    assert wrappers.get("BuildBackendHookCaller.build_wheel", 0) >= 1, wrappers
    # _in_process.py, run by path in the build environment, had no hooks module there: it ran
    # with the no-op stand-in and counted nothing.
    script = "pip._vendor.pyproject_hooks._in_process._in_process"
    assert script not in calls, calls[script]


@pytest.mark.slow
def test_instrumented_virtualenv_creates_clean_venvs(tmp_path):
    python = harness.require_python(PYTHON)
    virtualenv = _instrument(harness.download_wheel(*VIRTUALENV), tmp_path / "out")
    with zipfile.ZipFile(virtualenv) as z:
        copied = z.read("virtualenv/create/via_global_ref/_virtualenv.py").decode()
    assert BINDING.format("virtualenv") in copied

    venv = harness.Venv.create_with_uv(python, tmp_path / "venv")
    venv.uv_install(virtualenv, *(harness.download_wheel(*dep) for dep in VIRTUALENV_DEPS))

    calls_file = tmp_path / "calls" / "virtualenv-{pid}.json"
    calls_file.parent.mkdir()
    created = tmp_path / "created"
    venv.run(
        "-m",
        "virtualenv",
        "--no-seed",
        "--no-periodic-update",
        str(created),
        cwd=tmp_path,
        env={
            "EQUIP_CALLS_FILE": str(calls_file),
            "VIRTUALENV_OVERRIDE_APP_DATA": str(tmp_path / "app-data"),
        },
    )
    site_packages = next(created.glob("lib/python*/site-packages"))
    assert BINDING.format("virtualenv") in (site_packages / "_virtualenv.py").read_text()
    assert (site_packages / "_virtualenv.pth").exists()

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EQUIP_CALLS_FILE")}
    started = subprocess.run(
        [str(created / "bin" / "python"), "-c", "import sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert started.returncode == 0 and started.stderr == "", started.stderr
    assert Path(started.stdout.strip()) == created

    activate = created / "bin" / "activate_this.py"
    script = (
        f"import sys\nexec(open({str(activate)!r}).read(), {{'__file__': {str(activate)!r}}})\n"
        "print(sys.prefix)\n"
    )
    activated = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert activated.returncode == 0 and activated.stderr == "", activated.stderr
    assert Path(activated.stdout.strip()) == created

    calls = _calls(calls_file)
    assert calls.get("virtualenv.__main__", {}).get("run", 0) >= 1, sorted(calls)
    assert calls.get("virtualenv.run", {}).get("cli_run", 0) >= 1, calls.get("virtualenv.run")


#: A module whose first line is a `def` (no docstring, no blank line to host the binding).
SCRIPT = """def double(x):
    return 2 * x
def main():
    print(double(21))
if __name__ == "__main__":
    main()
"""
#: A module whose first line is a `class`.
KLASS = """class Point:
    x = 0
    def norm(self):
        return abs(self.x)
def make():
    return Point()
print(make().norm())
"""
#: A module of `def`s only.
ONLY_DEFS = """def one():
    return 1
def two():
    return one() + one()
"""


@pytest.fixture(scope="module")
def script_wheels(tmp_path_factory) -> dict[str, Path]:
    """The `tool` package instrumented with `calls` (.py), and with another config whose hooks
    have other signatures: name -> output wheel."""
    root = tmp_path_factory.mktemp("script")
    wheel = harness.build_wheel(
        root,
        "tool",
        "1.0",
        {
            "tool/__init__.py": "",
            "tool/script.py": SCRIPT,
            "tool/defs.py": ONLY_DEFS,
            "tool/klass.py": KLASS,
        },
    )
    other = root / "other.toml"
    other.write_text(
        '[hooks]\nfunction-enter = "print({lineno}, {arguments})"\n'
        'function-exit = "print({return_value})"\n'
    )
    harness.run_equip("instrument", wheel, "-c", other, "-o", root / "other", "-q")
    return {"calls": _instrument(wheel, root / "calls"), "other": root / "other" / wheel.name}


def _run(python: Path, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [str(python), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0 and proc.stderr == "", f"{args}: {proc.stderr}"
    return proc.stdout


@pytest.mark.parametrize("minor", ["3.8", "3.13"])
def test_modules_run_without_their_hooks_module(minor, script_wheels, tmp_path):
    """A module copied out of its package runs as the original wherever the hooks module is
    missing (by path, exec'd from source, `python -m`, zipapp, from a `.pth`) or belongs to
    another instrumentation, for `.py` and `.pyc`; installed with its hooks module, it counts."""
    python = harness.require_python(minor)
    with zipfile.ZipFile(script_wheels["calls"]) as z:
        script = z.read("tool/script.py").decode()
        defs = z.read("tool/defs.py").decode()
        klass = z.read("tool/klass.py").decode()
        hooks = z.read("_equip_hooks_tool.py")
        z.extractall(tmp_path / "site")
    with zipfile.ZipFile(script_wheels["other"]) as z:
        other_hooks = z.read("_equip_hooks_tool.py")
    # The binding took no line of its own: every statement of the original kept its line.
    for original, instrumented in ((SCRIPT, script), (ONLY_DEFS, defs), (KLASS, klass)):
        assert BINDING.format("tool") in instrumented
        kept = [
            (type(n).__name__, n.lineno)
            for n in fidelity.statements(ast.parse(original).body, False)
        ]
        now = [
            (type(n).__name__, n.lineno)
            for n in fidelity.statements(ast.parse(instrumented).body, True)
        ]
        assert now == kept, instrumented

    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "copied.py").write_text(script)
    (alone / "defs_copy.py").write_text(defs)
    assert _run(python, "copied.py", cwd=alone) == "42\n"
    (alone / "klass_copy.py").write_text(klass)
    assert _run(python, "klass_copy.py", cwd=alone) == "0\n"
    assert _run(python, "-m", "copied", cwd=alone) == "42\n"
    exec_it = "src = open('copied.py').read(); exec(compile(src, 'copied.py', 'exec'), {'__name__': '__main__'})"
    assert _run(python, "-c", exec_it, cwd=alone) == "42\n"
    assert _run(python, "-c", "import defs_copy; print(defs_copy.two())", cwd=alone) == "2\n"
    with zipfile.ZipFile(alone / "app.pyz", "w") as z:
        z.writestr("__main__.py", script)
    assert _run(python, "app.pyz", cwd=alone) == "42\n"
    pth = alone / "pth"
    pth.mkdir()
    (pth / "defs_copy.py").write_text(defs)
    (pth / "tool.pth").write_text("import defs_copy; defs_copy.two()\n")
    assert (
        _run(python, "-c", f"import site; site.addsitedir({str(pth)!r}); print('ok')", cwd=alone)
        == "ok\n"
    )
    # Sourceless: the .pyc of the instrumented module, run by path.
    compiled = _run(
        python,
        "-c",
        "import py_compile, sys; print(py_compile.compile('copied.py', 'copied.pyc'))",
        cwd=alone,
    )
    assert compiled.strip().endswith("copied.pyc")
    assert _run(python, "copied.pyc", cwd=alone) == "42\n"

    # A hooks module of another instrumentation (other signatures): the stand-in is used.
    (alone / "_equip_hooks_tool.py").write_bytes(other_hooks)
    assert _run(python, "copied.py", cwd=alone) == "42\n"

    # With its own hooks module, the same copy counts its calls.
    (alone / "_equip_hooks_tool.py").write_bytes(hooks)
    calls_file = tmp_path / "calls-{pid}.json"
    assert (
        _run(python, "-m", "copied", cwd=alone, env={"EQUIP_CALLS_FILE": str(calls_file)}) == "42\n"
    )
    assert _calls(calls_file)["tool.script"] == {"double": 1, "main": 1}
    assert (
        _run(
            python,
            "-c",
            "import tool.klass",
            cwd=tmp_path / "site",
            env={"EQUIP_CALLS_FILE": str(tmp_path / "klass-{pid}.json")},
        )
        == "0\n"
    )
    assert _calls(tmp_path / "klass-{pid}.json")["tool.klass"] == {"Point.norm": 1, "make": 1}
