"""Shared helpers of the end-to-end tests: interpreters, downloads, venvs, running the CLI.

Third-party wheels and sdists are downloaded at test time (pinned versions) into
``.cache/downloads`` (git-ignored) and reused by later runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache"
DOWNLOADS = CACHE / "downloads"
TESTWHEELS = REPO / "testwheels"

#: Every CPython minor version the instrumented output is tested under.
PY_VERSIONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15"]

#: The real wheels of the end-to-end acceptance (name, version).
REAL_WHEELS = [
    ("six", "1.16.0"),
    ("attrs", "24.2.0"),
    ("click", "8.1.7"),
    ("packaging", "24.2"),
    ("idna", "3.10"),
    ("more-itertools", "10.5.0"),
]


# The one place that finds interpreters (override variable, pyenv, debian-cpython prefix,
# PATH): scripts/pythons.py, shared with the benchmarks, the table generator and the Rust
# tests.
sys.path.insert(0, str(REPO / "scripts"))
import pythons  # noqa: E402

pyenv_root = pythons.pyenv_root
find_python = pythons.find_python


def require_python(minor: str) -> Path:
    """The interpreter for ``minor``; skips the test, saying where it looked, when it is
    missing."""
    import pytest  # here, not at the top: the benchmarks reuse this module without pytest

    exe, why = pythons.lookup(minor)
    if exe is None:
        pytest.skip(why)
    return exe


def equip_wheel_exe() -> str:
    """The ``equip-wheel`` console script of the Python package under test, or
    ``$EQUIP_WHEEL_EXE`` (e.g. ``target/release/equip-wheel`` while developing)."""
    if os.environ.get("EQUIP_WHEEL_EXE"):
        return os.environ["EQUIP_WHEEL_EXE"]
    script = Path(sys.executable).parent / "equip-wheel"
    if script.exists():
        return str(script)
    found = shutil.which("equip-wheel")
    if found is None:
        raise RuntimeError("equip-wheel is not installed; run scripts/test.sh")
    return found


def uv_exe() -> str:
    """The ``uv`` of the test venv (tests/requirements.txt), else the one on PATH."""
    script = Path(sys.executable).parent / "uv"
    if script.exists():
        return str(script)
    found = shutil.which("uv")
    if found is None:
        raise RuntimeError("uv is not installed; run scripts/test.sh")
    return found


def run_equip(
    *args: str | os.PathLike[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
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


def _fetch(request: str | urllib.request.Request, timeout: float, attempts: int = 3) -> bytes:
    """The body of a GET, retried (with a pause) on network errors."""
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.read()
        except (OSError, urllib.error.URLError):
            if attempt == attempts:
                raise
            time.sleep(2 * attempt)
    raise AssertionError("unreachable")


def _pypi_files(name: str, version: str) -> list[dict]:
    """The files of ``name==version`` from PyPI's simple index (PEP 691 JSON, the API pip and
    uv use; the per-version ``/pypi/NAME/VERSION/json`` API is not reachable everywhere)."""
    normalized = re.sub(r"[-_.]+", "-", name).lower()
    request = urllib.request.Request(
        f"https://pypi.org/simple/{normalized}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    files = json.loads(_fetch(request, timeout=60))["files"]
    return [f for f in files if _matches(f["filename"], name, version) and not f.get("yanked")]


def _download(url: str, dest: Path, sha256: str | None = None) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.exists():
        part = dest.with_suffix(dest.suffix + f".{os.getpid()}.part")
        part.write_bytes(_fetch(url, timeout=120))
        if sha256 is not None:
            actual = hashlib.sha256(part.read_bytes()).hexdigest()
            if actual != sha256:
                part.unlink()
                raise RuntimeError(f"{url}: sha256 {actual}, PyPI says {sha256}")
        part.replace(dest)
    return dest


def download_wheel(name: str, version: str) -> Path:
    """The pure-Python wheel of ``name==version`` from PyPI (cached, sha256-checked)."""
    cached = [p for p in DOWNLOADS.glob("*.whl") if _matches(p.name, name, version)]
    if cached:
        return cached[0]
    wheels = [f for f in _pypi_files(name, version) if f["filename"].endswith("-none-any.whl")]
    if not wheels:
        raise RuntimeError(f"{name} {version} has no pure-Python wheel on PyPI")
    f = wheels[0]
    return _download(f["url"], DOWNLOADS / f["filename"], f.get("hashes", {}).get("sha256"))


def download_sdist(name: str, version: str) -> Path:
    """The sdist of ``name==version`` from PyPI (cached, sha256-checked)."""
    cached = _cached_sdist(name, version)
    if cached:
        return cached
    sdists = [f for f in _pypi_files(name, version) if f["filename"].endswith(".tar.gz")]
    if not sdists:
        raise RuntimeError(f"{name} {version} has no sdist on PyPI")
    f = sdists[0]
    return _download(f["url"], DOWNLOADS / f["filename"], f.get("hashes", {}).get("sha256"))


def _cached_sdist(name: str, version: str) -> Path | None:
    for p in DOWNLOADS.glob("*.tar.gz"):
        if _matches(p.name, name, version):
            return p
    return None


def _matches(filename: str, name: str, version: str) -> bool:
    normalized = name.replace("-", "_").lower()
    stem = filename.lower().replace("-", "_")
    return stem.startswith(f"{normalized}_{version}_") or stem.startswith(
        f"{normalized}_{version}."
    )


@dataclass
class Venv:
    """A virtual environment made for one test."""

    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @classmethod
    def create(cls, python: Path, path: Path) -> Venv:
        """A venv with pip: ``python -m venv``, or ``uv venv --seed`` for interpreters
        whose ensurepip has no pip wheel to install (Debian's builds of 3.14/3.15)."""
        made = subprocess.run([str(python), "-m", "venv", str(path)], capture_output=True)
        if made.returncode != 0:
            shutil.rmtree(path, ignore_errors=True)
            subprocess.run(
                [uv_exe(), "venv", "--quiet", "--seed", "--python", str(python), str(path)],
                check=True,
                capture_output=True,
            )
        return cls(path)

    @classmethod
    def create_with_uv(cls, python: Path, path: Path) -> Venv:
        subprocess.run(
            [uv_exe(), "venv", "--quiet", "--python", str(python), str(path)],
            check=True,
            capture_output=True,
        )
        return cls(path)

    def pip_install(self, *args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
        """``pip install ARGS``; fails the test on any installer warning."""
        proc = subprocess.run(
            [
                str(self.python),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                *map(str, args),
            ],
            capture_output=True,
            text=True,
        )
        _check_install(proc, "pip install")
        return proc

    def uv_install(self, *args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
        """``uv pip install ARGS`` into this venv; fails on any warning."""
        proc = subprocess.run(
            [uv_exe(), "pip", "install", "--python", str(self.python), *map(str, args)],
            capture_output=True,
            text=True,
        )
        _check_install(proc, "uv pip install")
        return proc

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Runs ``python ARGS`` in this venv."""
        proc = subprocess.run(
            [str(self.python), *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
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


def called(calls: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The ``calls`` preset's counts without the functions it lists with 0 (never called):
    module -> qualname -> count, modules with no call left out."""
    kept = {m: {q: n for q, n in functions.items() if n} for m, functions in calls.items()}
    return {m: functions for m, functions in kept.items() if functions}


def wheel_members(path: Path) -> dict[str, bytes]:
    """Name -> content of every member of a wheel."""
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def build_wheel(
    directory: Path,
    distribution: str,
    version: str,
    files: dict[str, bytes | str],
    *,
    metadata: dict[str, str] | None = None,
    description: str | None = None,
    tags: str = "py3-none-any",
) -> Path:
    """Builds a minimal valid wheel (RECORD included) from ``files`` (member -> content; a
    ``{distribution}-{version}.dist-info/...`` member adds a file to the dist-info) and returns
    ``directory/{distribution}-{version}-{tags}.whl``.

    ``metadata``: headers added to METADATA after ``Name`` and ``Version`` (e.g.
    ``{"Requires-Python": ">=3.9"}``); ``description``: the METADATA body after the header
    block; ``tags``: the compressed tag set of the file name (``py2.py3-none-any``), which
    WHEEL lists expanded, one ``Tag:`` line per tag."""
    import itertools

    dist_info = f"{distribution}-{version}.dist-info"
    members = {
        name: (data.encode() if isinstance(data, str) else data) for name, data in files.items()
    }
    headers = f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
    headers += "".join(f"{key}: {value}\n" for key, value in (metadata or {}).items())
    body = "" if description is None else f"\n{description}"
    members[f"{dist_info}/METADATA"] = (headers + body).encode()
    expanded = itertools.product(*(part.split(".") for part in tags.split("-")))
    tag_lines = "".join(f"Tag: {'-'.join(tag)}\n" for tag in expanded)
    members[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: equip-wheel tests\nRoot-Is-Purelib: true\n" + tag_lines
    ).encode()
    return write_wheel(directory / f"{distribution}-{version}-{tags}.whl", members, dist_info)


def write_wheel(path: Path, members: dict[str, bytes], dist_info: str) -> Path:
    """Writes ``members`` (name -> content) as the wheel ``path`` with a fresh
    ``{dist_info}/RECORD`` (one given is replaced): the members in the given order, the
    ``dist_info`` ones last, each a regular file of mode 0o644 dated 2020-01-01, deflated.
    Creates the parent directory."""
    import base64
    import hashlib

    record_name = f"{dist_info}/RECORD"
    names = [n for n in members if n != record_name]
    names.sort(key=lambda n: n.startswith(f"{dist_info}/"))  # stable: the order is kept
    rows = []
    for name in names:
        digest = base64.urlsafe_b64encode(hashlib.sha256(members[name]).digest())
        rows.append(f"{name},sha256={digest.rstrip(b'=').decode()},{len(members[name])}\n")
    rows.append(f"{record_name},,\n")
    contents = {name: members[name] for name in names}
    contents[record_name] = "".join(rows).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in contents.items():
            info = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return path
