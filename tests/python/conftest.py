"""pytest fixtures of the end-to-end tests (helpers live in harness.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import harness


@pytest.fixture(scope="session")
def real_wheels() -> dict[str, Path]:
    """The six pinned real wheels, downloaded once: name -> path."""
    return {name: harness.download_wheel(name, version) for name, version in harness.REAL_WHEELS}
