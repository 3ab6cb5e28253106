"""How tests and benchmarks find interpreters (scripts/pythons.py): the override variable
wins, a wrong override is an error rather than a silent fallback, and a missing version
becomes a pytest skip whose message says where it was looked for."""

from __future__ import annotations

import subprocess
import sys

import harness
import pytest

pythons = harness.pythons
OWN = "%d.%d" % sys.version_info[:2]


@pytest.fixture(autouse=True)
def _fresh_lookup(monkeypatch):
    # These tests are about the lookup itself: the quick tier's EQUIP_PYTHONS filter would
    # answer first ("left out by EQUIP_PYTHONS") for every version but its own.
    monkeypatch.delenv("EQUIP_PYTHONS", raising=False)
    pythons._cache.clear()
    yield
    pythons._cache.clear()


def test_override_variable_wins(monkeypatch):
    monkeypatch.setenv(pythons.override_variable(OWN), sys.executable)
    assert pythons.find_python(OWN) == harness.Path(sys.executable)


def test_wrong_override_is_reported_not_replaced(monkeypatch):
    other = "3.8" if OWN != "3.8" else "3.9"
    monkeypatch.setenv(pythons.override_variable(other), sys.executable)
    exe, why = pythons.lookup(other)
    assert exe is None
    assert f"EQUIP_PYTHON_{other.replace('.', '_')}={sys.executable}" in why


def test_missing_version_is_a_skip_naming_the_places(monkeypatch):
    monkeypatch.delenv("EQUIP_PYTHON_3_99", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        harness.require_python("3.99")
    message = str(skipped.value)
    assert "CPython 3.99 not found" in message
    for place in [
        "$EQUIP_PYTHON_3_99",
        "versions/3.99.*",
        "python3.99 on PATH",
        "root/usr/bin/python3.99",
    ]:
        assert place in message


def test_command_line_prints_the_path_or_why_not(monkeypatch):
    script = harness.REPO / "scripts" / "pythons.py"
    env = {**harness.os.environ, pythons.override_variable(OWN): sys.executable}
    out = subprocess.run([sys.executable, script, OWN], env=env, capture_output=True, text=True)
    assert (out.returncode, out.stdout.strip()) == (0, sys.executable)
    out = subprocess.run([sys.executable, script, "3.99"], capture_output=True, text=True)
    assert out.returncode == 1 and "CPython 3.99 not found" in out.stderr
