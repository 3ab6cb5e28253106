#!/usr/bin/env python3
"""Finds the CPython interpreters the tests and benchmarks run: the one place that knows
where they live.

For a minor version ``3.X`` the first of these that exists and really is CPython 3.X wins:

1. ``$EQUIP_PYTHON_3_X`` (e.g. ``EQUIP_PYTHON_3_14=/usr/local/bin/python3.14``): an explicit
   override; if it is set but not a CPython 3.X, the lookup fails (it never falls through
   to another interpreter silently);
2. pyenv: the newest ``$(pyenv root)/versions/3.X.N/bin/python``;
3. the private prefix of ``debian-cpython.sh`` (``$DEBIAN_CPYTHON_PREFIX``, default
   ``/opt/debian-cpython``): ``root/usr/bin/python3.X``;
4. ``python3.X`` on ``PATH``.

``$EQUIP_PYTHONS`` (e.g. ``3.11`` or ``3.8,3.13``), when set, limits the versions to those it
lists: the others are reported as not found, with that reason (``scripts/test.sh --quick``).

Command line (used by the Rust tests and the shell scripts)::

    python3 scripts/pythons.py 3.14          # prints the path, or exits 1 saying why
    python3 scripts/pythons.py --all         # "3.X<TAB>path" for each one found

Python code imports it (``tests/python/harness.py``, ``scripts/gen_bytecode_tables.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

#: Every CPython minor version the project builds for and tests under.
ALL_VERSIONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15"]

_cache: dict[str, tuple[Path | None, str]] = {}


def override_variable(minor: str) -> str:
    """The environment variable that overrides the lookup of ``minor`` (``3.14`` ->
    ``EQUIP_PYTHON_3_14``)."""
    return "EQUIP_PYTHON_" + minor.replace(".", "_")


def pyenv_root() -> Path:
    """The pyenv root (``$PYENV_ROOT``, ``pyenv root``, or ``~/.pyenv``)."""
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    try:
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True)
        return Path(out.stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return Path.home() / ".pyenv"


def debian_prefix() -> Path:
    """Where ``debian-cpython.sh`` installs interpreters."""
    return Path(os.environ.get("DEBIAN_CPYTHON_PREFIX", "/opt/debian-cpython"))


def _is_minor(exe: Path, minor: str) -> bool:
    """Whether ``exe`` runs and is CPython ``minor``."""
    try:
        out = subprocess.run(
            [
                str(exe),
                "-c",
                "import sys; print('%d.%d' % sys.version_info[:2], sys.implementation.name)",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.split() == [minor, "cpython"]


def _pyenv(minor: str) -> Path | None:
    candidates = []
    for exe in (pyenv_root() / "versions").glob(f"{minor}.*/bin/python"):
        patch = exe.parent.parent.name[len(minor) + 1 :]
        if patch.isdigit():
            candidates.append((int(patch), exe))
    return max(candidates)[1] if candidates else None


def lookup(minor: str) -> tuple[Path | None, str]:
    """``(path, "")`` for the interpreter of ``minor``, or ``(None, why)`` naming every
    place that was searched."""
    if minor in _cache:
        return _cache[minor]
    chosen = os.environ.get("EQUIP_PYTHONS", "").replace(",", " ").split()
    if chosen and minor not in chosen:
        _cache[minor] = (None, f"CPython {minor} left out by EQUIP_PYTHONS={' '.join(chosen)}")
        return _cache[minor]
    var = override_variable(minor)
    places = []
    result: tuple[Path | None, str] | None = None
    if os.environ.get(var):
        exe = Path(os.environ[var])
        result = (
            (exe, "")
            if _is_minor(exe, minor)
            else (None, f"${var}={exe} is not a working CPython {minor}")
        )
    else:
        places.append(f"${var} (unset)")
        root = pyenv_root()
        exe = _pyenv(minor)
        places.append(f"{root}/versions/{minor}.*")
        if exe is None or not _is_minor(exe, minor):
            exe = debian_prefix() / "root" / "usr" / "bin" / f"python{minor}"
            places.append(str(exe))
            if not exe.exists() or not _is_minor(exe, minor):
                found = shutil.which(f"python{minor}")
                places.append(f"python{minor} on PATH")
                exe = Path(found) if found and _is_minor(Path(found), minor) else None
        result = (
            (exe, "")
            if exe is not None
            else (
                None,
                f"CPython {minor} not found (looked at {', '.join(places)}; "
                f"scripts/test.sh installs 3.14/3.15 with debian-cpython.sh)",
            )
        )
    _cache[minor] = result
    return result


def find_python(minor: str) -> Path | None:
    """The interpreter of CPython ``minor`` (e.g. ``"3.14"``), or None."""
    return lookup(minor)[0]


def main(argv: list[str]) -> int:
    if argv == ["--all"]:
        for minor in ALL_VERSIONS:
            exe = find_python(minor)
            if exe is not None:
                print(f"{minor}\t{exe}")
        return 0
    if len(argv) != 1 or argv[0].count(".") != 1:
        print("usage: pythons.py 3.X | --all", file=sys.stderr)
        return 2
    exe, why = lookup(argv[0])
    if exe is None:
        print(why, file=sys.stderr)
        return 1
    print(exe)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
