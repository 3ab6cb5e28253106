"""Shared helpers of the end-to-end tests: interpreters, downloads, venvs, running the CLI.

Third-party wheels and sdists are downloaded at test time (pinned versions) into
``.cache/downloads`` (git-ignored) and reused by later runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache"
DOWNLOADS = CACHE / "downloads"
TESTWHEELS = REPO / "testwheels"

#: Every CPython minor version the instrumented output is tested under.
PY_VERSIONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]

#: The real wheels of the end-to-end acceptance (name, version).
REAL_WHEELS = [
    ("six", "1.16.0"),
    ("attrs", "24.2.0"),
    ("click", "8.1.7"),
    ("packaging", "24.2"),
    ("idna", "3.10"),
    ("more-itertools", "10.5.0"),
]


def pyenv_root() -> Path:
    """The pyenv root (``$PYENV_ROOT``, ``pyenv root``, or ``~/.pyenv``)."""
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    try:
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True)
        return Path(out.stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return Path.home() / ".pyenv"


def find_python(minor: str) -> Path | None:
    """The newest pyenv CPython ``minor`` (e.g. ``"3.11"``), or None."""
    candidates = []
    for exe in (pyenv_root() / "versions").glob(f"{minor}.*/bin/python"):
        patch = exe.parent.parent.name[len(minor) + 1 :]
        if patch.isdigit():
            candidates.append((int(patch), exe))
    return max(candidates)[1] if candidates else None


def require_python(minor: str) -> Path:
    """The interpreter for ``minor``; skips the test, saying so, when it is missing."""
    exe = find_python(minor)
    if exe is None:
        pytest.skip(f"CPython {minor} is not installed under {pyenv_root()}/versions")
    return exe


def equip_wheel_exe() -> str:
    """The ``equip-wheel`` console script of the Python package under test."""
    script = Path(sys.executable).parent / "equip-wheel"
    if script.exists():
        return str(script)
    found = shutil.which("equip-wheel")
    if found is None:
        raise RuntimeError("equip-wheel is not installed; run scripts/test.sh")
    return found


def run_equip(*args: str | os.PathLike[str], cwd: Path | None = None,
              env: dict[str, str] | None = None,
              check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs ``equip-wheel ARGS`` and returns the completed process (text output)."""
    proc = subprocess.run(
        [equip_wheel_exe(), *map(str, args)],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"equip-wheel {' '.join(map(str, args))} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def _pypi_release(name: str, version: str) -> dict:
    url = f"https://pypi.org/pypi/{name}/{version}/json"
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.load(response)


def _download(url: str, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.exists():
        part = dest.with_suffix(dest.suffix + ".part")
        with urllib.request.urlopen(url, timeout=120) as response, open(part, "wb") as f:
            shutil.copyfileobj(response, f)
        part.rename(dest)
    return dest


def download_wheel(name: str, version: str) -> Path:
    """The pure-Python wheel of ``name==version`` from PyPI (cached)."""
    cached = [p for p in DOWNLOADS.glob("*.whl") if _matches(p.name, name, version)]
    if cached:
        return cached[0]
    files = _pypi_release(name, version)["urls"]
    wheels = [f for f in files if f["packagetype"] == "bdist_wheel" and f["filename"].endswith("-none-any.whl")]
    if not wheels:
        raise RuntimeError(f"{name} {version} has no pure-Python wheel on PyPI")
    return _download(wheels[0]["url"], DOWNLOADS / wheels[0]["filename"])


def download_sdist(name: str, version: str) -> Path:
    """The sdist of ``name==version`` from PyPI (cached)."""
    cached = _cached_sdist(name, version)
    if cached:
        return cached
    files = _pypi_release(name, version)["urls"]
    sdists = [f for f in files if f["packagetype"] == "sdist"]
    if not sdists:
        raise RuntimeError(f"{name} {version} has no sdist on PyPI")
    return _download(sdists[0]["url"], DOWNLOADS / sdists[0]["filename"])


def _cached_sdist(name: str, version: str) -> Path | None:
    for p in DOWNLOADS.glob("*.tar.gz"):
        if _matches(p.name, name, version):
            return p
    return None


def _matches(filename: str, name: str, version: str) -> bool:
    normalized = name.replace("-", "_").lower()
    stem = filename.lower().replace("-", "_")
    return stem.startswith(f"{normalized}_{version}_") or stem.startswith(f"{normalized}_{version}.")


@dataclass
class Venv:
    """A virtual environment made for one test."""

    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @classmethod
    def create(cls, python: Path, path: Path) -> Venv:
        subprocess.run([str(python), "-m", "venv", str(path)], check=True, capture_output=True)
        return cls(path)

    @classmethod
    def create_with_uv(cls, python: Path, path: Path) -> Venv:
        subprocess.run(["uv", "venv", "--quiet", "--python", str(python), str(path)],
                       check=True, capture_output=True)
        return cls(path)

    def pip_install(self, *args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
        """``pip install ARGS``; fails the test on any installer warning."""
        proc = subprocess.run(
            [str(self.python), "-m", "pip", "install", "--disable-pip-version-check", *map(str, args)],
            capture_output=True, text=True,
        )
        _check_install(proc, "pip install")
        return proc

    def uv_install(self, *args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
        """``uv pip install ARGS`` into this venv; fails on any warning."""
        proc = subprocess.run(
            ["uv", "pip", "install", "--python", str(self.python), *map(str, args)],
            capture_output=True, text=True,
        )
        _check_install(proc, "uv pip install")
        return proc

    def run(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Runs ``python ARGS`` in this venv."""
        proc = subprocess.run(
            [str(self.python), *args], cwd=cwd, env={**os.environ, **(env or {})},
            capture_output=True, text=True,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"python {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
            )
        return proc


def _check_install(proc: subprocess.CompletedProcess[str], what: str) -> None:
    if proc.returncode != 0:
        raise AssertionError(f"{what} failed:\n{proc.stdout}\n{proc.stderr}")
    for line in proc.stderr.splitlines():
        if "warning" in line.lower() and "pip version" not in line.lower():
            raise AssertionError(f"{what} warned: {line}\n{proc.stderr}")


def wheel_members(path: Path) -> dict[str, bytes]:
    """Name -> content of every member of a wheel."""
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def build_wheel(directory: Path, distribution: str, version: str,
                files: dict[str, bytes | str]) -> Path:
    """Builds a minimal valid pure-Python wheel (RECORD included) from ``files``."""
    import base64
    import hashlib

    dist_info = f"{distribution}-{version}.dist-info"
    members = {name: (data.encode() if isinstance(data, str) else data) for name, data in files.items()}
    members[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
    ).encode()
    members[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: equip-wheel tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    rows = []
    for name, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{name},sha256={digest},{len(data)}\n")
    rows.append(f"{dist_info}/RECORD,,\n")
    members[f"{dist_info}/RECORD"] = "".join(rows).encode()
    path = directory / f"{distribution}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data)
    return path
