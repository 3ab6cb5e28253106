"""Direct hook calls (`on-hook-error = "raise"` with snippets that are one call of a name the
hooks module binds): call sites skip the generated hook function, and nothing else changes —
values, enter-value threading, returned values, re-raised tracebacks, generators."""

from __future__ import annotations

import subprocess
import zipfile

import harness
import pytest

HOOKS = '''
events = []


class Loud:
    """An exit result whose truth value raises: the site must not test it."""
    def __bool__(self):
        raise AssertionError("the site tested the exit hook's result")


def enter(qualname, lineno):
    events.append(("enter", qualname))
    return (qualname, len(events))


def exit(token, value):
    events.append(("exit", token, value))
    return Loud()


def error(token, exc):
    events.append(("error", token, type(exc).__name__))
'''

CONFIG = """
[hooks]
imports = ["from dhooks import enter, exit, error"]
function-enter = "enter({qualname}, {lineno})"
function-exit = "exit({enter_value}, {return_value})"
function-error = "error({enter_value}, {exception})"
on-hook-error = "raise"
"""

MODULE = """
def fact(n):
    if n <= 1:
        return 1
    return n * fact(n - 1)


def pair(a):
    return a, a


def fails():
    raise KeyError("k")


def gen():
    yield 1
    return 2
"""

CHECK = """
import traceback
import dhooks
from dmod import mod
assert mod.fact(3) == 6
assert mod.pair(1) == (1, 1)
try:
    mod.fails()
except KeyError as e:
    frames = [f.name for f in traceback.extract_tb(e.__traceback__)]
    assert frames == ["<module>", "fails"], frames
assert list(mod.gen()) == [1]
print(dhooks.events)
"""


@pytest.mark.parametrize("minor", harness.PY_VERSIONS)
def test_direct_calls_keep_semantics(minor, tmp_path):
    python = harness.require_python(minor)
    wheel = harness.build_wheel(
        tmp_path, "dmod", "1.0", {"dmod/__init__.py": "", "dmod/mod.py": MODULE}
    )
    (tmp_path / "equip.toml").write_text(CONFIG)
    harness.run_equip("instrument", wheel, "-c", tmp_path / "equip.toml", "-o", tmp_path / "out")
    site = tmp_path / "site"
    with zipfile.ZipFile(tmp_path / "out" / wheel.name) as z:
        z.extractall(site)
        source = z.read("dmod/mod.py").decode()
    assert "find_spec('_equip_hooks_dmod')" in source, source
    assert "__equip_enter__(" in source, source
    (site / "dhooks.py").write_text(HOOKS)
    proc = subprocess.run([str(python), "-c", CHECK], cwd=site, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    events = eval(proc.stdout)
    assert events == [
        ("enter", "fact"),
        ("enter", "fact"),
        ("enter", "fact"),
        ("exit", ("fact", 3), 1),
        ("exit", ("fact", 2), 2),
        ("exit", ("fact", 1), 6),
        ("enter", "pair"),
        ("exit", ("pair", 7), (1, 1)),
        ("enter", "fails"),
        ("error", ("fails", 9), "KeyError"),
        ("enter", "gen"),
        ("exit", ("gen", 11), 2),
    ]
