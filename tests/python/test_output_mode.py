"""The output wheel's file mode: that of any new file of the user (0o666 less the umask:
0o644 under umask 022, 0o600 under 077) through the command line, the Python API and the
PEP 517 backend; ``--in-place`` keeps the input's mode (0o644 stays 0o644, 0o600 stays
0o600, whatever the umask)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import harness
import pytest

UMASKS = [(0o022, 0o644), (0o077, 0o600)]
MODULE = "def double(x):\n    return 2 * x\n"

#: An in-tree backend (found through backend-path) whose "build" copies a prepared wheel.
COPY_BACKEND = """\
import os
import shutil


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    shutil.copy(os.environ["MODE_TEST_WHEEL"], wheel_directory)
    return os.path.basename(os.environ["MODE_TEST_WHEEL"])
"""


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run_with_umask(
    umask: int,
    cmd: list[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> None:
    proc = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(umask),
    )
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


def api_call(call: str) -> list[str]:
    return [sys.executable, "-c", f"import equip_wheel\n{call}"]


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    """A small valid wheel, mode 0o644, in its own directory."""
    directory = tmp_path / "in"
    directory.mkdir()
    path = harness.build_wheel(directory, "modefix", "1.0", {"modefix/__init__.py": MODULE})
    path.chmod(0o644)
    return path


def instrumented(path: Path) -> Path:
    """``path``, checked to be a valid instrumented wheel."""
    harness.run_equip("verify", path)
    with zipfile.ZipFile(path) as z:
        assert any(n.endswith(".dist-info/equip-wheel.json") for n in z.namelist()), (
            f"{path} was not instrumented"
        )
    return path


@pytest.mark.parametrize("umask,expected", UMASKS, ids=["022", "077"])
def test_cli_output_mode_follows_umask(
    wheel: Path, umask: int, expected: int, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_with_umask(umask, [harness.equip_wheel_exe(), "instrument", "-q", wheel, "-o", out])
    assert oct(mode_of(instrumented(out / wheel.name))) == oct(expected)


@pytest.mark.parametrize("umask,expected", UMASKS, ids=["022", "077"])
def test_api_output_mode_follows_umask(
    wheel: Path, umask: int, expected: int, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_with_umask(
        umask,
        api_call(
            f"equip_wheel.instrument_wheel({str(wheel)!r}, preset='calls', out_dir={str(out)!r})"
        ),
    )
    assert oct(mode_of(instrumented(out / wheel.name))) == oct(expected)


@pytest.mark.parametrize("umask,expected", UMASKS, ids=["022", "077"])
def test_backend_output_mode_follows_umask(
    wheel: Path, umask: int, expected: int, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / "_backend").mkdir(parents=True)
    (project / "_backend" / "copy_backend.py").write_text(COPY_BACKEND)
    (project / "pyproject.toml").write_text(
        textwrap.dedent("""\
        [build-system]
        requires = ["equip-wheel"]
        build-backend = "equip_wheel.build"

        [project]
        name = "modefix"
        version = "1.0"

        [tool.equip-wheel]
        build-backend = "copy_backend"
        backend-path = ["_backend"]
        preset = "calls"
        """)
    )
    out = tmp_path / "dist"
    run_with_umask(
        umask,
        [sys.executable, "-c", f"import equip_wheel.build as b; b.build_wheel({str(out)!r})"],
        cwd=project,
        env={"MODE_TEST_WHEEL": str(wheel)},
    )
    assert os.listdir(out) == [wheel.name], "the backend left temporary files"
    assert oct(mode_of(instrumented(out / wheel.name))) == oct(expected)


@pytest.mark.parametrize("front", ["cli", "api"])
@pytest.mark.parametrize("mode,umask", [(0o644, 0o077), (0o600, 0o022)], ids=["644", "600"])
def test_in_place_keeps_the_input_mode(wheel: Path, front: str, mode: int, umask: int) -> None:
    # The umask would give the other mode to a new file: only keeping the input's passes.
    wheel.chmod(mode)
    if front == "cli":
        cmd = [harness.equip_wheel_exe(), "instrument", "-q", "--in-place", wheel]
    else:
        cmd = api_call(
            f"equip_wheel.instrument_wheel({str(wheel)!r}, preset='calls', in_place=True)"
        )
    run_with_umask(umask, cmd)
    assert os.listdir(wheel.parent) == [wheel.name]
    assert oct(mode_of(instrumented(wheel))) == oct(mode)


def test_existing_output_is_replaced_with_a_new_files_mode(wheel: Path, tmp_path: Path) -> None:
    """Writing over an earlier output gives the file a new file's mode, not the old one's."""
    out = tmp_path / "out"
    out.mkdir()
    shutil.copyfile(wheel, out / wheel.name)
    (out / wheel.name).chmod(0o600)
    run_with_umask(0o022, [harness.equip_wheel_exe(), "instrument", "-q", wheel, "-o", out])
    assert os.listdir(out) == [wheel.name]
    assert oct(mode_of(instrumented(out / wheel.name))) == oct(0o644)
