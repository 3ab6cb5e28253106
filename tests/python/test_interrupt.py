"""Signals while instrumenting a large real wheel (sympy): SIGINT, SIGTERM and SIGKILL at
seeded random moments of a run, with and without ``--in-place``.

After every run the directories hold no partial or stray file (hidden ones included), the
input is intact, and the exit status says what happened:

- 0: the output is complete (byte-identical to an uninterrupted run, which ``verify``
  accepts); the signal came after the last output was in place, or after the run ended;
- 130 (SIGINT) / 143 (SIGTERM), or death by that signal before the handlers were installed:
  nothing was written (in place: the input is the original);
- SIGKILL: the output is either absent or complete (in place: the old or the new wheel).

The moments are drawn uniformly over 1.5 times an uninterrupted run's duration, so some land
before the output exists, some while it is written and some after. The seed is printed
(``EQUIP_WHEEL_SIGNAL_SEED`` sets it). Each run instruments all of sympy's members but hooks
only ``sympy.core``: the whole 6 MB wheel is read, checked and written, and a run stays short
enough for 120 of them in a few minutes.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import harness
import pytest

SYMPY = ("sympy", "1.13.3")
MOMENTS = 20
SEED = int(os.environ.get("EQUIP_WHEEL_SIGNAL_SEED", "1207"))
CONFIG = 'preset = "calls"\n\n[select]\nmodules = ["sympy.core", "sympy.core.*"]\n'
#: Fixed timestamps: every complete output is byte-identical to the reference run's.
ENV = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(directory: Path) -> list[str]:
    """Every name in ``directory``, hidden ones included ([] if it does not exist)."""
    return sorted(os.listdir(directory)) if directory.exists() else []


class Reference:
    """The input wheel, the config, and one uninterrupted run: its output's sha256 and its
    duration."""

    def __init__(self, root: Path) -> None:
        self.wheel = harness.download_wheel(*SYMPY)
        self.input_sha = sha256(self.wheel)
        self.config = root / "equip.toml"
        self.config.write_text(CONFIG)
        out = root / "reference"
        start = time.monotonic()
        harness.run_equip("instrument", "-q", "-c", self.config, self.wheel, "-o", out, env=ENV)
        self.duration = time.monotonic() - start
        assert listing(out) == [self.wheel.name]
        harness.run_equip("verify", out / self.wheel.name)
        self.output_sha = sha256(out / self.wheel.name)
        assert self.output_sha != self.input_sha


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    return Reference(tmp_path_factory.mktemp("signals"))


def run_and_signal(cmd: list[str], sig: signal.Signals, delay: float) -> tuple[int, str]:
    """Starts ``cmd``, sends ``sig`` after ``delay`` seconds (unless it already ended) and
    returns its exit status (negative: killed by that signal) and stderr."""
    proc = subprocess.Popen(
        cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        _, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired as timeout:
        proc.kill()
        raise AssertionError(f"still running 120 s after {sig.name}: {cmd}") from timeout
    return proc.returncode, stderr


def check_outcome(sig: signal.Signals, code: int, stderr: str, written: bool) -> None:
    """The exit status says whether the output was written."""
    assert "panicked" not in stderr, stderr
    if code == 0:
        assert written, f"exit 0 but no output\n{stderr}"
    elif sig == signal.SIGKILL:
        assert code == -signal.SIGKILL, f"exit {code}\n{stderr}"
    else:
        assert code in (128 + sig, -sig), f"exit {code} after {sig.name}\n{stderr}"
        assert not written, f"exit {code} after {sig.name}, but the output was written"


@pytest.mark.parametrize("in_place", [False, True], ids=["out-dir", "in-place"])
@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name
)
def test_signal_at_random_moments(
    reference: Reference, sig: signal.Signals, in_place: bool, tmp_path: Path
) -> None:
    rng = random.Random(f"{SEED}-{sig.name}-{in_place}")
    print(
        f"seed {SEED} (EQUIP_WHEEL_SIGNAL_SEED), {sig.name}, in_place={in_place}, "
        f"reference run {reference.duration:.2f} s"
    )
    outcomes = {"written": 0, "not written": 0}
    for i in range(MOMENTS):
        delay = rng.uniform(0, 1.5 * reference.duration)
        trial = tmp_path / f"t{i}"
        inputs, out = trial / "in", trial / "out"
        inputs.mkdir(parents=True)
        wheel = inputs / reference.wheel.name
        shutil.copyfile(reference.wheel, wheel)
        cmd = [
            harness.equip_wheel_exe(),
            "instrument",
            "-q",
            "-c",
            str(reference.config),
            str(wheel),
            *(["--in-place"] if in_place else ["-o", str(out)]),
        ]
        code, stderr = run_and_signal(cmd, sig, delay)
        what = f"moment {i}: {sig.name} after {delay:.3f} s (seed {SEED}), exit {code}"

        assert listing(inputs) == [wheel.name], f"{what}: stray files next to the input"
        if in_place:
            now = sha256(wheel)
            assert now in (reference.input_sha, reference.output_sha), (
                f"{what}: the wheel is neither the original nor the complete output"
            )
            written = now == reference.output_sha
        else:
            assert sha256(wheel) == reference.input_sha, f"{what}: the input changed"
            produced = listing(out)
            assert produced in ([], [wheel.name]), f"{what}: stray files {produced}"
            written = produced == [wheel.name]
            if written:
                assert sha256(out / wheel.name) == reference.output_sha, (
                    f"{what}: the output is not the complete wheel"
                )
        check_outcome(sig, code, stderr, written)
        outcomes["written" if written else "not written"] += 1
        print(f"  {what}: {'written' if written else 'not written'}")
        shutil.rmtree(trial)
    print(f"  {outcomes}")
