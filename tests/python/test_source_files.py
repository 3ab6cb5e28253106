"""Source files the way they come: encodings, line endings, tabs, form feeds, files that do
not parse, and what happens when a hook itself fails."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import harness
import pytest

FULL_HOOKS = """
[hooks]
imports = ["import collections"]
setup = "seen = collections.Counter()"
function-enter = "seen['enter', {qualname}] += 1"
function-exit = "seen['exit', {qualname}] += 1"
function-error = "seen['error', {qualname}] += 1"
"""

LATIN1 = (
    '# -*- coding: latin-1 -*-\n"""Caf\xe9 module."""\n\ndef name():\n    return \'caf\xe9 \xa9\'\n'
).encode("latin-1")

CRLF = b"def crlf(x):\r\n    y = x * 2\r\n\r\n    return y\r\n"

TABS = b"def tabs(x):\n\tif x:\n\t\treturn 'yes'\n\treturn 'no'\n"

FORM_FEED = b"def ff(x):\n    a = 1\n\x0c\n    return a + x\n"

BOM = b"\xef\xbb\xbfdef bom():\n    return '\xc3\xa9'\n"

PY2 = b"def old():\n    print 'python 2'\n"

FILES = {
    "enc/__init__.py": b"",
    "enc/latin.py": LATIN1,
    "enc/crlf.py": CRLF,
    "enc/tabs.py": TABS,
    "enc/ff.py": FORM_FEED,
    "enc/bom.py": BOM,
    "enc/legacy.py": PY2,
}

CHECK = """
import _equip_hooks_enc as h
from enc import latin, crlf, tabs, ff, bom
out = [latin.name(), crlf.crlf(2), tabs.tabs(0), ff.ff(1), bom.bom()]
print(repr(out), sorted(h.seen.items()))
"""


@pytest.fixture(scope="module")
def instrumented(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root = tmp_path_factory.mktemp("enc")
    wheel = harness.build_wheel(root, "enc", "1.0", FILES)
    (root / "equip.toml").write_text(FULL_HOOKS)
    proc = harness.run_equip("instrument", wheel, "-c", root / "equip.toml", "-o", root / "out")
    return root / "out" / wheel.name, proc


def test_files_keep_their_encoding_and_line_endings(instrumented):
    wheel, _ = instrumented
    with zipfile.ZipFile(wheel) as z:
        latin = z.read("enc/latin.py")
        crlf = z.read("enc/crlf.py")
        bom = z.read("enc/bom.py")
        tabs = z.read("enc/tabs.py")
        ff = z.read("enc/ff.py")
    assert latin.startswith(b"# -*- coding: latin-1 -*-\n")
    assert b"caf\xe9 \xa9" in latin and b"__equip_hooks__" in latin
    latin.decode("latin-1")
    assert crlf.count(b"\r\n") == crlf.count(b"\n"), "every line ending stays CRLF"
    assert bom.startswith(b"\xef\xbb\xbf") and b"'\xc3\xa9'" in bom
    assert b"\n\t\t" in tabs and b"\n    \t" not in tabs, (
        "tab-indented blocks are indented with tabs"
    )
    assert b"\x0c" in ff


def test_unparseable_files_are_skipped_with_a_warning(instrumented):
    wheel, proc = instrumented
    assert "enc/legacy.py: not instrumented: line 2" in proc.stderr
    with zipfile.ZipFile(wheel) as z:
        assert z.read("enc/legacy.py") == PY2


@pytest.mark.parametrize("minor", ["3.8", "3.13"])
def test_instrumented_files_run(instrumented, minor, tmp_path):
    python = harness.require_python(minor)
    wheel, _ = instrumented
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp_path)
    proc = subprocess.run([str(python), "-c", CHECK], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("['café ©', 4, 'no', 2, 'é']"), proc.stdout
    for fn in ("name", "crlf", "tabs", "ff", "bom"):
        assert f"(('enter', '{fn}'), 1)" in proc.stdout
        assert f"(('exit', '{fn}'), 1)" in proc.stdout


def test_on_syntax_error_fail(tmp_path):
    wheel = harness.build_wheel(tmp_path, "enc", "1.0", FILES)
    (tmp_path / "equip.toml").write_text('on-syntax-error = "fail"\n' + FULL_HOOKS)
    proc = harness.run_equip(
        "instrument", wheel, "-c", tmp_path / "equip.toml", "-o", tmp_path / "out", check=False
    )
    assert proc.returncode == 1
    assert "enc/legacy.py: line 2" in proc.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


POLICY = """
[hooks]
function-enter = "1 / 0"
function-exit = "1 / 0"
on-hook-error = "{policy}"
"""

POLICY_MODULE = b'"""Policy."""\n\n\nclass Box:\n    def work(self, x):\n        return x + 1\n'

POLICY_CHECK = """
import warnings
warnings.simplefilter("always")
from pol import mod
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    try:
        results = [mod.Box().work(1), mod.Box().work(2)]
    except ZeroDivisionError as e:
        results = ["raised"]
print(results, sorted({(str(x.category.__name__), x.filename.endswith('mod.py'), x.lineno) for x in w}), len(w))
for x in sorted(w, key=lambda x: str(x.message)):
    print(x.message)
"""


def _policy_run(policy: str, minor: str, tmp_path: Path, sourceless: bool = False) -> list[str]:
    """Instruments the `pol` wheel (``.pyc`` compiled by CPython ``minor`` when
    ``sourceless``) with both hooks failing under ``policy``, runs POLICY_CHECK with that
    interpreter; returns its output lines."""
    import pyc_support

    python = harness.require_python(minor)
    wheel = harness.build_wheel(
        tmp_path, "pol", "1.0", {"pol/__init__.py": b"", "pol/mod.py": POLICY_MODULE}
    )
    if sourceless:
        wheel = pyc_support.sourceless(wheel, python, tmp_path / "pyc")
    (tmp_path / "equip.toml").write_text(POLICY.format(policy=policy))
    harness.run_equip("instrument", wheel, "-c", tmp_path / "equip.toml", "-o", tmp_path / "out")
    with zipfile.ZipFile(tmp_path / "out" / wheel.name) as z:
        z.extractall(tmp_path / "site")
    proc = subprocess.run(
        [str(python), "-c", POLICY_CHECK], cwd=tmp_path / "site", capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


@pytest.mark.parametrize(
    "policy, expected",
    [
        # Two sites (enter, exit) fail; each warns once although called twice; both
        # warnings point at the instrumented function's `return` line, where they run.
        ("warn", "[2, 3] [('RuntimeWarning', True, 6)] 2"),
        ("ignore", "[2, 3] [] 0"),
        ("raise", "['raised'] [] 0"),
    ],
)
def test_on_hook_error(policy, expected, tmp_path):
    assert _policy_run(policy, "3.11", tmp_path)[0] == expected


@pytest.mark.parametrize(
    "minor, sourceless", [("3.8", False), ("3.13", False), ("3.8", True), ("3.13", True)]
)
def test_warning_names_the_failing_site(minor, sourceless, tmp_path):
    """The generated hook function finds the site from the calling frame: the message names
    the hook, the installed file, the line the hook ran on, module and qualname, and the
    exception (`.py` and `.pyc`, oldest and newest CPython)."""
    lines = _policy_run("warn", minor, tmp_path, sourceless)
    assert lines[0].startswith("[2, 3] [('RuntimeWarning', True, "), lines
    # CPython < 3.11 code objects have no co_qualname: the function's name stands in.
    where = "pol.mod:Box.work" if minor in ("3.11", "3.12", "3.13") else "pol.mod:work"
    # The file as the code object names it: the installed path for a .py, the path it was
    # compiled from for a .pyc. The line is where the hook ran: the `return` line, where the
    # .py injector hosts both calls; the `def` line (entry) and the `return` line for a .pyc.
    file_name = "pol/mod.py" if sourceless else str(tmp_path / "site" / "pol" / "mod.py")
    lines_run = [5, 6] if sourceless else [6, 6]
    for hook, line, message in zip(["function-enter", "function-exit"], lines_run, lines[1:]):
        assert message == (
            f"equip-wheel: the {hook} hook at {file_name}:{line} ({where}) raised "
            "ZeroDivisionError: division by zero "
            "(further failures at this site are not reported)"
        ), message
    assert len(lines) == 3, lines


POLICY_MODULE_DEFERRED = (
    b'"""Policy."""\nimport contextlib\n\n\nclass Box:\n    def work(self, x):\n'
    b"        with contextlib.nullcontext():\n            return x + 1\n"
)


def test_warning_of_a_deferred_exit_names_the_instrumented_function(tmp_path):
    """A return inside `with` reports its exit from the function's `finally`, through one
    more function of the hooks module: the warning still names the instrumented site (its
    file, the `finally` line, module and qualname), not the hooks module."""
    python = harness.require_python("3.13")
    wheel = harness.build_wheel(
        tmp_path, "pol", "1.0", {"pol/__init__.py": b"", "pol/mod.py": POLICY_MODULE_DEFERRED}
    )
    (tmp_path / "equip.toml").write_text(POLICY.format(policy="warn"))
    harness.run_equip("instrument", wheel, "-c", tmp_path / "equip.toml", "-o", tmp_path / "out")
    with zipfile.ZipFile(tmp_path / "out" / wheel.name) as z:
        z.extractall(tmp_path / "site")
    proc = subprocess.run(
        [str(python), "-c", POLICY_CHECK], cwd=tmp_path / "site", capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("[2, 3] [('RuntimeWarning', True, "), lines
    installed = tmp_path / "site" / "pol" / "mod.py"
    exit_warning = next(line for line in lines[1:] if "function-exit" in line)
    prefix = f"equip-wheel: the function-exit hook at {installed}:"
    assert exit_warning.startswith(prefix), exit_warning
    line = int(exit_warning[len(prefix) :].split(" ", 1)[0])
    assert installed.read_text().splitlines()[line - 1].strip().startswith("finally:")
    assert "(pol.mod:Box.work) raised ZeroDivisionError" in exit_warning
