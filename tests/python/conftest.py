"""pytest fixtures of the end-to-end tests (helpers live in harness.py)."""

from __future__ import annotations

from pathlib import Path

import harness
import pytest


@pytest.fixture(scope="session")
def real_wheels() -> dict[str, Path]:
    """The six pinned real wheels, downloaded once: name -> path."""
    return {name: harness.download_wheel(name, version) for name, version in harness.REAL_WHEELS}


@pytest.fixture(scope="session")
def instrumented_wheels(real_wheels, tmp_path_factory) -> dict[str, Path]:
    """The six real wheels instrumented with the default preset (``calls``), in one CLI
    call: name -> output wheel (same file name as the input)."""
    out = tmp_path_factory.mktemp("instrumented")
    harness.run_equip("instrument", *real_wheels.values(), "-o", out)
    produced = {}
    for name, wheel in real_wheels.items():
        path = out / wheel.name
        assert path.exists(), (
            f"no output for {wheel.name} in {sorted(p.name for p in out.iterdir())}"
        )
        produced[name] = path
    return produced
