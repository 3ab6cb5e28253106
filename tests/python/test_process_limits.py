"""Process-level limits of the command line: a full disk, an absurd ``-j``, threads that
cannot be created, a malformed ``SOURCE_DATE_EPOCH``. Each gives its documented exit code and
one clear error line (no panic, no traceback, no dump of internal state), and leaves nothing
behind."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import harness
import pytest


def error_lines(stderr: str) -> list[str]:
    assert "panicked" not in stderr and "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if "error:" in line]


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    """A small wheel with ~200 KB of incompressible data beside its module."""
    directory = tmp_path / "in"
    directory.mkdir()
    noise = random.Random(7).randbytes(200_000)
    return harness.build_wheel(
        directory,
        "limitfix",
        "1.0",
        {
            "limitfix/__init__.py": "def f(x):\n    return x\n",
            "limitfix/noise.bin": noise,
        },
    )


@pytest.fixture
def small_tmpfs(tmp_path: Path):
    """A 64 KiB tmpfs (needs the right to mount: root on Linux; skipped otherwise)."""
    mount = tmp_path / "full"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {proc.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_is_one_clear_line_and_leaves_nothing(wheel: Path, small_tmpfs: Path) -> None:
    proc = harness.run_equip("instrument", wheel, "-o", small_tmpfs, check=False)
    assert proc.returncode == 1, proc.stderr
    [line] = error_lines(proc.stderr)
    assert "No space left on device" in line and wheel.name in line, line
    assert "ZipWriter" not in proc.stderr and "{" not in line, proc.stderr
    assert os.listdir(small_tmpfs) == []


def test_too_many_jobs_are_lowered(wheel: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = harness.run_equip("instrument", wheel, "-o", out, "-j", "10000")
    assert "--jobs 10000 lowered to" in proc.stderr, proc.stderr
    assert os.listdir(out) == [wheel.name]
    harness.run_equip("verify", out / wheel.name)


@pytest.mark.skipif(
    os.geteuid() != 0 or not (shutil.which("setpriv") and shutil.which("prlimit")),
    reason="needs root, setpriv and prlimit to run as another user with a process limit",
)
def test_thread_creation_failure_is_a_clear_error(wheel: Path, tmp_path: Path) -> None:
    # As an unprivileged user allowed a single task, no worker thread can start.
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "prlimit"]
    # The console script's interpreter may live where that user cannot go (/root/.pyenv):
    # then the binary built by cargo, which runs the same command line.
    candidates = [harness.equip_wheel_exe(), str(harness.REPO / "target/release/equip-wheel")]
    runnable = [
        exe
        for exe in candidates
        if subprocess.run(
            [*as_nobody, "--nproc=64", exe, "--version"], capture_output=True
        ).returncode
        == 0
    ]
    if not runnable:
        pytest.skip(f"none of {candidates} runs as an unprivileged user here")
    exe = runnable[0]
    for path in (tmp_path, wheel.parent.parent, wheel.parent):
        path.chmod(0o777)
    out = tmp_path / "out"
    proc = subprocess.run(
        [*as_nobody, "--nproc=1", exe, "instrument", str(wheel), "-o", str(out), "-j", "2"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1, proc.stderr
    [line] = error_lines(proc.stderr)
    assert "worker thread" in line, line
    assert not out.exists() or os.listdir(out) == []


def test_source_date_epoch_not_an_integer_is_a_usage_error(wheel: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = harness.run_equip(
        "instrument", wheel, "-o", out, env={"SOURCE_DATE_EPOCH": "yesterday"}, check=False
    )
    assert proc.returncode == 2, proc.stderr
    [line] = error_lines(proc.stderr)
    assert "SOURCE_DATE_EPOCH" in line and "yesterday" in line, line
    assert not out.exists() or os.listdir(out) == []
