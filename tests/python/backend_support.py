"""Helpers of the PEP 517 wrapper tests (test_build_backend.py): the fixture projects, the
pinned real backends, offline frontends and reading built wheels.

Every build runs offline: `--no-index` with two find-links directories, our own wheel
(``target/wheels``, built by scripts/test.sh) and the pinned real backends, downloaded once
from PyPI into ``.cache/backend-wheels`` (git-ignored).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import harness
import upstream

REPO = harness.REPO
#: uv's cache for this test run only: every run rebuilds equip-wheel with the same name and
#: version, and a shared cache would hand out a stale copy to build environments.
UV_CACHE = Path(tempfile.mkdtemp(prefix="equip-wheel-uv-cache-"))
atexit.register(shutil.rmtree, UV_CACHE, ignore_errors=True)
PROJECTS = REPO / "tests" / "fixtures" / "projects"
OUR_WHEELS = REPO / "target" / "wheels"
BACKEND_WHEELS = harness.CACHE / "backend-wheels"

#: fixture directory -> (distribution, import name, real backend, pinned requirement)
BACKENDS = {
    "setuptools": (
        "eqfix-setuptools",
        "eqfix_setuptools",
        "setuptools.build_meta",
        "setuptools==84.2.1",
    ),
    "hatchling": ("eqfix-hatchling", "eqfix_hatchling", "hatchling.build", "hatchling==1.33.0"),
    "flit": ("eqfix-flit", "eqfix_flit", "flit_core.buildapi", "flit_core==4.2.0"),
    "pdm": ("eqfix-pdm", "eqfix_pdm", "pdm.backend", "pdm-backend==2.5.0"),
}

#: What a real backend asks for through get_requires_for_build_* (hatchling's editables).
EXTRA_PINS = ["editables==0.6"]

#: The modules each fixture's config instruments (the rest are left alone).
INSTRUMENTED = {
    "setuptools": {"eqfix_setuptools", "eqfix_setuptools.core", "eqfix_setuptools.extra"},
    "hatchling": {"eqfix_hatchling", "eqfix_hatchling.core"},
    "flit": {"eqfix_flit", "eqfix_flit.core"},
    "pdm": {"eqfix_pdm", "eqfix_pdm.core", "eqfix_pdm.extra"},
}


def our_wheel() -> Path:
    """The equip-wheel wheel under test in target/wheels."""
    wheels = sorted(OUR_WHEELS.glob("equip_wheel-*.whl"))
    if len(wheels) != 1:
        raise AssertionError(
            f"expected exactly one equip_wheel wheel in {OUR_WHEELS} (scripts/test.sh builds it), "
            f"found {[w.name for w in wheels]}"
        )
    return wheels[0]


def ensure_backend_wheels() -> Path:
    """Downloads the pinned real backends (and their dependencies) once."""
    marker = BACKEND_WHEELS / "pins.json"
    pins = sorted([*(b[3] for b in BACKENDS.values()), *EXTRA_PINS])
    with upstream.file_lock(BACKEND_WHEELS.parent / ".backend-wheels.lock"):
        if marker.exists() and json.loads(marker.read_text()) == pins:
            return BACKEND_WHEELS
        BACKEND_WHEELS.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--only-binary",
                ":all:",
                "-d",
                str(BACKEND_WHEELS),
                *pins,
            ],
            check=True,
        )
        marker.write_text(json.dumps(pins))
    return BACKEND_WHEELS


def offline_args() -> list[str]:
    """Installer options for an offline build: our wheel and the pinned backends only."""
    return ["--no-index", "--find-links", str(OUR_WHEELS), "--find-links", str(BACKEND_WHEELS)]


def offline_env(**extra: str) -> dict[str, str]:
    """Environment of a frontend run: offline pip and uv (also inside build isolation), uv's
    cache private to this test run."""
    env = dict(os.environ)
    env.pop("EQUIP_WHEEL_DISABLE", None)
    env.update(
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=f"{OUR_WHEELS} {BACKEND_WHEELS}",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        UV_CACHE_DIR=str(UV_CACHE),
        UV_NO_INDEX="1",
        UV_FIND_LINKS=f"{OUR_WHEELS},{BACKEND_WHEELS}",
    )
    env.update(extra)
    return env


def pip_venv(path: Path) -> Path:
    """A venv without pip of its own (fast); install into it with :func:`pip_install`."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path / "bin" / "python"


def pip_install(python: Path, *args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
    """Real pip (the test environment's, run for ``python`` with ``--python``): ``pip install
    ARGS``, offline; fails on any installer warning."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            *offline_args(),
            *map(str, args),
        ],
        capture_output=True,
        text=True,
        env=offline_env(),
    )
    harness._check_install(proc, "pip install")
    return proc


def copy_project(name: str, dest: Path) -> Path:
    """A fresh copy of a fixture project (builds write into the source tree)."""
    target = dest / name
    shutil.copytree(
        PROJECTS / name,
        target,
        ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".pdm-build"),
    )
    return target


def set_equip_table(project: Path, backend: str, body: str) -> None:
    """Replaces the ``[tool.equip-wheel]`` table (the last section of every fixture's
    pyproject.toml) with ``build-backend = BACKEND`` and ``body``."""
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    start = text.index("[tool.equip-wheel]")
    head = text[:start]
    # Drop the comment lines that introduced the old table.
    lines = head.rstrip("\n").split("\n")
    while lines and lines[-1].startswith("#"):
        lines.pop()
    pyproject.write_text(
        "\n".join(lines) + f'\n\n[tool.equip-wheel]\nbuild-backend = "{backend}"\n{body}'
    )


def run(
    cmd: list[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env or offline_env(), capture_output=True, text=True
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout[-6000:]}\nstderr:\n{proc.stderr[-6000:]}"
        )
    return proc


def only_wheel(directory: Path) -> Path:
    wheels = sorted(directory.glob("*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {directory}: {[w.name for w in wheels]}"
    return wheels[0]


def provenance(wheel: Path) -> dict | None:
    """The wheel's ``*.dist-info/equip-wheel.json``, or None if it has none."""
    with zipfile.ZipFile(wheel) as z:
        names = [n for n in z.namelist() if n.endswith(".dist-info/equip-wheel.json")]
        return json.loads(z.read(names[0])) if names else None


def wheel_metadata(wheel: Path) -> tuple[str, str]:
    """(dist-info directory, METADATA Version) of a wheel."""
    with zipfile.ZipFile(wheel) as z:
        [meta] = [
            n for n in z.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
        ]
        version = next(
            line.split(":", 1)[1].strip()
            for line in z.read(meta).decode().splitlines()
            if line.startswith("Version:")
        )
        return meta.split("/")[0], version


def sdist_members(sdist: Path) -> dict[str, tuple[str, int, bytes]]:
    """name -> (type, mode, content) of every member of an sdist (mtimes left out)."""
    out: dict[str, tuple[str, int, bytes]] = {}
    with tarfile.open(sdist) as t:
        for m in t.getmembers():
            data = t.extractfile(m).read() if m.isfile() else b""  # type: ignore[union-attr]
            out[m.name] = (m.type.decode(), m.mode, data)
    return out


def calls_of(python: Path, import_name: str, tmp: Path, *, cwd: Path | None = None) -> dict:
    """Runs ``import_name.run()`` with ``python``; returns the ``calls`` preset's counts of
    the functions called (``{}`` if the program wrote none: nothing instrumented)."""
    calls_file = tmp / f"calls-{import_name}.json"
    calls_file.unlink(missing_ok=True)
    proc = run(
        [python, "-c", f"import {import_name}; assert {import_name}.run() == 6"],
        cwd=cwd or tmp,
        env={**offline_env(), "EQUIP_CALLS_FILE": str(calls_file)},
    )
    assert proc.returncode == 0
    if not calls_file.exists():
        return {}
    data = json.loads(calls_file.read_text())
    assert data["format"] == "equip-calls/1"
    return harness.called(data["calls"])


def assert_counts(calls: dict, fixture: str) -> None:
    """``calls`` is what the ``calls`` preset counted for one ``run()``: ``run`` once,
    ``add`` and ``Counter.bump`` 3 times, ``Counter.__init__`` once; nothing from the modules
    the fixture's config leaves out."""
    _, mod, _, _ = BACKENDS[fixture]
    assert calls.get(f"{mod}.core") == {"add": 3, "Counter.__init__": 1, "Counter.bump": 3}, calls
    assert calls.get(mod) == {"run": 1}, calls
    assert set(calls) <= INSTRUMENTED[fixture], calls
