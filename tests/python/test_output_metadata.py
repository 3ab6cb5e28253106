"""Where an instrumented wheel may install, and what the report says when instrumentation
cannot take effect:

- Requires-Python is raised to the oldest Python the instrumented code runs on (3.8): real
  pip on CPython 3.7 (and 2.7) refuses the output, or the module it installs imports;
- modules shadowed by an extension module (a mypyc-compiled black wheel), modules imported
  by a ``.pth`` file and scripts are reported per member, and ``on-shadowed-module = "skip"``
  / ``[select] exclude-modules`` keep the report clean;
- a config with no hooks and no preset instruments its selection with the ``calls`` hooks.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import harness
import pytest

DEMO = harness.TESTWHEELS / "demo-1.0-py3-none-any.whl"

#: A black release with CPython 3.11 manylinux wheels compiled by mypyc.
BLACK = ("black", "24.10.0")


def make_wheel(
    directory: Path,
    name: str,
    files: dict[str, str],
    *,
    requires_python: str | None = None,
    tags: str = "py3-none-any",
) -> Path:
    """A minimal valid wheel with the given METADATA ``Requires-Python`` and file name tags."""
    metadata = {} if requires_python is None else {"Requires-Python": requires_python}
    return harness.build_wheel(
        directory, name, "1.0", files, metadata=metadata, description="A description.\n", tags=tags
    )


def instrument(wheel: Path, out: Path, *args: str | Path) -> tuple[dict, str]:
    """Instruments ``wheel`` into ``out``; returns its report entry and the CLI's stderr."""
    report = out.parent / f"{out.name}-report.json"
    proc = harness.run_equip("instrument", wheel, "-o", out, "--report", report, *args)
    [entry] = json.loads(report.read_text())["wheels"]
    return entry, proc.stderr


def metadata_header(wheel: Path, key: str) -> str | None:
    with zipfile.ZipFile(wheel) as z:
        [name] = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        for line in z.read(name).decode().splitlines():
            if not line:
                return None
            k, _, v = line.partition(":")
            if k.strip().lower() == key.lower():
                return v.strip()
    return None


def provenance(wheel: Path) -> dict:
    with zipfile.ZipFile(wheel) as z:
        [name] = [n for n in z.namelist() if n.endswith(".dist-info/equip-wheel.json")]
        return json.loads(z.read(name))


def pip_target_install(python: Path, wheel: Path, target: Path) -> subprocess.CompletedProcess[str]:
    """``pip install --target`` of a local wheel with the interpreter's own pip, offline."""
    return subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-index",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
    )


SOURCE = (
    "def double(x):\n"
    "    return x * 2\n"
    "\n"
    "def total(items):\n"
    "    result = 0\n"
    "    for item in items:\n"
    "        result += double(item)\n"
    "    return result\n"
)


@pytest.mark.parametrize("declared", [">=3.7", None], ids=["requires-3.7", "no-requires"])
def test_old_pythons_refuse_the_output_or_import_it(tmp_path: Path, declared: str | None) -> None:
    wheel = make_wheel(
        tmp_path,
        "oldpy",
        {"oldpy/__init__.py": SOURCE},
        requires_python=declared,
        tags="py2.py3-none-any",
    )
    entry, stderr = instrument(wheel, tmp_path / "out")
    out = Path(entry["output"])
    assert out.name == wheel.name, "the file name and its tags are kept"
    assert metadata_header(out, "Requires-Python") == ">=3.8"
    change = {"input": declared, "output": ">=3.8"}
    assert entry["requires_python"] == change
    assert provenance(out)["requires_python"] == change
    assert "Requires-Python" in stderr and ">=3.8" in stderr, stderr
    # The input is what an old pip would install and import.
    checks = 0
    for minor in ("3.7", "2.7"):
        python = harness.find_python(minor)
        if python is None:
            print(f"CPython {minor} is not installed; not checked there", file=sys.stderr)
            continue
        checks += 1
        installed = pip_target_install(python, out, tmp_path / f"site-{minor}")
        if installed.returncode == 0:
            subprocess.run(
                [str(python), "-c", "import oldpy; assert oldpy.total([1, 2]) == 6"],
                env={"PYTHONPATH": str(tmp_path / f"site-{minor}")},
                check=True,
            )
        else:
            assert "requires a different Python" in installed.stderr, installed.stderr
            assert not (tmp_path / f"site-{minor}" / "oldpy").exists()
    if checks == 0:
        pytest.skip("neither CPython 3.7 nor 2.7 is installed under pyenv")
    python37 = harness.find_python("3.7")
    if python37 is not None:
        venv = harness.Venv.create(python37, tmp_path / "venv-3.7")
        uv = subprocess.run(
            [
                harness.uv_exe(),
                "pip",
                "install",
                "--python",
                str(venv.python),
                "--offline",
                str(out),
            ],
            capture_output=True,
            text=True,
        )
        if uv.returncode == 0:
            venv.run("-c", "import oldpy; assert oldpy.total([1, 2]) == 6")
        else:
            assert "does not satisfy Python>=3.8" in " ".join(uv.stderr.split()), uv.stderr
    # Where it installs, it runs instrumented.
    python = harness.require_python("3.8")
    installed = pip_target_install(python, out, tmp_path / "site-3.8")
    assert installed.returncode == 0, installed.stderr
    calls = tmp_path / "calls.json"
    subprocess.run(
        [str(python), "-c", "import oldpy; oldpy.total([1, 2])"],
        check=True,
        env={"PYTHONPATH": str(tmp_path / "site-3.8"), "EQUIP_CALLS_FILE": str(calls)},
    )
    assert harness.called(json.loads(calls.read_text())["calls"])["oldpy"] == {
        "double": 2,
        "total": 1,
    }


def test_requires_python_already_recent_is_kept(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "newpy", {"newpy.py": SOURCE}, requires_python=">=3.9, <4")
    entry, stderr = instrument(wheel, tmp_path / "out")
    assert entry["requires_python"] is None
    assert metadata_header(Path(entry["output"]), "Requires-Python") == ">=3.9, <4"
    assert "Requires-Python" not in stderr


def test_wheels_for_old_pythons_only_are_refused(tmp_path: Path) -> None:
    for name, kwargs in [
        ("only37", {"requires_python": "<3.8"}),
        ("cp37only", {"tags": "cp37-cp37m-linux_x86_64"}),
    ]:
        wheel = make_wheel(tmp_path, name, {f"{name}.py": SOURCE}, **kwargs)
        proc = harness.run_equip("instrument", wheel, "-o", tmp_path / "out", "-q", check=False)
        assert proc.returncode == 1, proc.stderr
        [error] = proc.stderr.strip().splitlines()
        assert "no Python the instrumented code runs on (3.8 or later)" in error, error
        assert not (tmp_path / "out" / wheel.name).exists()


def download_platform_wheel(name: str, version: str, dest: Path) -> Path:
    """The CPython 3.11 manylinux x86_64 wheel of ``name==version``, with pip (cached)."""
    dest.mkdir(parents=True, exist_ok=True)
    pattern = f"{name}-{version}-cp311-cp311-*manylinux*x86_64*.whl"
    found = sorted(dest.glob(pattern))
    if not found:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--disable-pip-version-check",
                "--no-deps",
                "--only-binary",
                ":all:",
                "--platform",
                "manylinux2014_x86_64",
                "--python-version",
                "3.11",
                "--implementation",
                "cp",
                "--abi",
                "cp311",
                "-d",
                str(dest),
                f"{name}=={version}",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        found = sorted(dest.glob(pattern))
    assert len(found) == 1, found
    return found[0]


def test_mypyc_wheel_warns_per_shadowed_module(tmp_path: Path) -> None:
    wheel = download_platform_wheel(*BLACK, harness.DOWNLOADS)
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    extensions = {n.split(".")[0] for n in names if n.endswith(".so")}
    shadowed = sorted(n for n in names if n.endswith(".py") and n[: -len(".py")] in extensions)
    plain = sorted(n for n in names if n.endswith(".py") and n[: -len(".py")] not in extensions)
    assert "black/linegen.py" in shadowed and "black/__init__.py" in shadowed
    assert plain, "some of black's modules are not compiled"

    entry, stderr = instrument(wheel, tmp_path / "warn", "--dry-run")
    instrumented = {m["member"] for m in entry["modules"]}
    # One warning per instrumented module file that an extension module shadows (a shadowed
    # file without functions, such as a table, is not instrumented and not warned about).
    warned = sorted(w.split(":")[0] for w in entry["warnings"] if "never runs" in w)
    assert warned == sorted(set(shadowed) & instrumented)
    assert len(warned) > 20 and set(plain) & instrumented
    assert len(entry["warnings"]) == len(warned), entry["warnings"]
    assert (
        "black/linegen.py: instrumented but never runs: the extension module black/linegen."
        in stderr
    )

    # The documented exclusion: leave shadowed modules unchanged, the rest instrumented.
    config = tmp_path / "equip.toml"
    config.write_text('on-shadowed-module = "skip"\n')
    entry, stderr = instrument(wheel, tmp_path / "skip", "--dry-run", "--config", config)
    assert entry["warnings"] == [], entry["warnings"]
    assert "warning" not in stderr, stderr
    skipped = sorted(s["member"] for s in entry["skipped"] if "on-shadowed-module" in s["reason"])
    assert skipped == shadowed
    assert {m["member"] for m in entry["modules"]} == set(plain) & instrumented
    assert entry["totals"]["functions"] > 0


def test_pth_modules_and_scripts_are_reported(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        "startup",
        {
            "startup.pth": "import _startup_hook\n",
            "_startup_hook.py": SOURCE,
            "startup/__init__.py": SOURCE,
            "startup-1.0.data/scripts/startup-tool.py": "import startup\nprint(startup.total([1]))\n",
        },
    )
    entry, stderr = instrument(wheel, tmp_path / "warn", "--dry-run")
    assert entry["warnings"] == [
        "_startup_hook.py: startup.pth imports _startup_hook at the start of every Python of the "
        "environment: its hooks run in every process there (exclude it with [select] "
        'exclude-modules = ["_startup_hook"])'
    ]
    assert "warning: _startup_hook.py: startup.pth imports" in stderr
    [script] = entry["skipped"]
    assert script["member"] == "startup-1.0.data/scripts/startup-tool.py"
    assert "not a module of the package" in script["reason"]

    config = tmp_path / "equip.toml"
    config.write_text('[select]\nexclude-modules = ["_startup_hook"]\n')
    entry, _ = instrument(wheel, tmp_path / "clean", "--dry-run", "--config", config)
    assert entry["warnings"] == []
    assert [m["module"] for m in entry["modules"]] == ["startup"]


def unpack(wheel: Path, site: Path) -> Path:
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    return site


def test_config_without_hooks_uses_the_calls_hooks(tmp_path: Path) -> None:
    config = tmp_path / "equip.toml"
    config.write_text('[select]\nmodules = ["demo.greet"]\n\n[output]\nlocal-version = "traced"\n')
    entry, stderr = instrument(DEMO, tmp_path / "out", "--config", config)
    assert [m["module"] for m in entry["modules"]] == ["demo.greet"]
    assert "matched" not in stderr and entry["warnings"] == [], stderr
    assert Path(entry["output"]).name == "demo-1.0+traced-py3-none-any.whl"
    site = unpack(Path(entry["output"]), tmp_path / "site")
    calls = tmp_path / "calls.json"
    python = harness.require_python("3.11")
    subprocess.run(
        [str(python), "-m", "demo"],
        cwd=site,
        check=True,
        capture_output=True,
        env={"PYTHONPATH": str(site), "EQUIP_CALLS_FILE": str(calls)},
    )
    assert harness.called(json.loads(calls.read_text())["calls"]) == {
        "demo.greet": {
            "greet": 3,
            "shout": 1,
            "countdown": 1,
            "Greeter.__init__": 1,
            "Greeter.greet_all": 1,
        }
    }

    # Nothing selected: the warning says so, and only then.
    config.write_text('[select]\nmodules = ["nothing.here"]\n')
    entry, stderr = instrument(DEMO, tmp_path / "none", "--config", config)
    assert entry["totals"]["modules"] == 0
    assert any("no module of the wheel matched" in w for w in entry["warnings"]), entry["warnings"]
    config.write_text('[select]\nfunctions = ["no_such_function"]\n')
    entry, stderr = instrument(DEMO, tmp_path / "nofunc", "--config", config)
    assert any("no function in them matched" in w for w in entry["warnings"]), entry["warnings"]
