"""Tests of the upstream-suite harness itself (upstream.py and upstream_support/).

The comparison of the real suites is only worth something if the harness records each
outcome faithfully, sees a changed behaviour, and refuses a run that tested the source tree
instead of the installed wheel. These tests show each of those on small synthetic suites and
on more-itertools' real suite with a deliberately broken wheel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import harness
import pytest
import upstream
from upstream import KnownDifference, SuiteResult


def _result(
    outcomes: dict[str, str], label: str, details: dict[str, str] | None = None
) -> SuiteResult:
    return SuiteResult(
        name="demo",
        python="3.11",
        label=label,
        returncode=0,
        outcomes=outcomes,
        details=details or {},
        module_files={},
        stdout="",
        stderr="",
        duration=0.0,
    )


def test_comparison_lists_every_differing_test():
    plain = _result({"a": "passed", "b": "passed", "c": "skipped", "d": "xfailed"}, "plain")
    inst = _result(
        {"a": "passed", "b": "failed", "d": "xfailed", "e": "passed"},
        "instrumented",
        {"b": "AssertionError: boom"},
    )
    assert upstream.outcome_differences(plain, inst) == {
        "b": ("passed", "failed"),
        "c": ("skipped", "<not run>"),
        "e": ("<not run>", "passed"),
    }
    with pytest.raises(AssertionError) as info:
        upstream.assert_same_outcomes(plain, inst)
    message = str(info.value)
    assert "3 test(s) differ" in message
    assert "b: plain passed, instrumented failed" in message
    assert "c: plain skipped, instrumented <not run>" in message
    assert "AssertionError: boom" in message
    assert upstream.assert_same_outcomes(plain, _result(dict(plain.outcomes), "again")) == []


def test_known_difference_must_occur_exactly():
    known = {
        "b": KnownDifference(
            expected="passed", actual="failed", evidence="_equip_hooks_x", reason="why"
        )
    }
    plain = _result({"a": "passed", "b": "passed"}, "plain")
    inst = _result(
        {"a": "passed", "b": "failed"}, "instrumented", {"b": "assert '_equip_hooks_x' in {...}"}
    )
    assert upstream.assert_same_outcomes(plain, inst, known) == ["b: passed -> failed: why"]
    # The same outcome change for another reason is not the known difference.
    other = _result({"a": "passed", "b": "failed"}, "instrumented", {"b": "TypeError"})
    with pytest.raises(AssertionError, match="b: plain passed, instrumented failed"):
        upstream.assert_same_outcomes(plain, other, known)
    # A known difference that went away must be removed from the table.
    with pytest.raises(AssertionError, match="known difference no longer seen"):
        upstream.assert_same_outcomes(plain, _result(dict(plain.outcomes), "instrumented"), known)


def _run_support(runner_args: list[str], suite: Path, tmp_path: Path) -> dict:
    out = tmp_path / "outcomes.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    env.update(
        {
            "PYTHONPATH": str(upstream.SUPPORT),
            "EQUIP_E2E_OUTCOMES": str(out),
            "EQUIP_E2E_MODULES": "json",
        }
    )
    proc = subprocess.run(
        [sys.executable, *runner_args], cwd=suite, env=env, capture_output=True, text=True
    )
    assert out.exists(), f"no outcomes written\n{proc.stdout}\n{proc.stderr}"
    data = json.loads(out.read_text())
    assert data["module_files"]["json"].endswith(os.path.join("json", "__init__.py"))
    return data


def test_pytest_plugin_records_each_outcome(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_demo.py").write_text(
        textwrap.dedent("""
        import pytest

        @pytest.fixture
        def broken_teardown():
            yield
            raise RuntimeError("teardown")

        @pytest.fixture
        def broken_setup():
            raise RuntimeError("setup")

        def test_pass(): pass
        def test_fail(): assert 1 == 2
        def test_skip(): pytest.skip("no")
        @pytest.mark.skipif(True, reason="marker")
        def test_skip_marker(): pass
        @pytest.mark.xfail(reason="known")
        def test_xfail(): assert False
        @pytest.mark.xfail(reason="known")
        def test_xpass(): pass
        def test_setup_error(broken_setup): pass
        def test_teardown_error(broken_teardown): pass
        @pytest.mark.parametrize("x", [1, 2])
        def test_param(x): assert x == 1
    """)
    )
    (suite / "test_broken.py").write_text("import no_such_module_anywhere\n")
    data = _run_support(
        [
            "-m",
            "pytest",
            "-p",
            "e2e_outcomes_plugin",
            "-p",
            "no:cacheprovider",
            "-q",
            "--continue-on-collection-errors",
        ],
        suite,
        tmp_path,
    )
    assert data["outcomes"] == {
        "test_broken.py": "error",
        "test_demo.py::test_pass": "passed",
        "test_demo.py::test_fail": "failed",
        "test_demo.py::test_skip": "skipped",
        "test_demo.py::test_skip_marker": "skipped",
        "test_demo.py::test_xfail": "xfailed",
        "test_demo.py::test_xpass": "xpassed",
        "test_demo.py::test_setup_error": "error",
        "test_demo.py::test_teardown_error": "error",
        "test_demo.py::test_param[1]": "passed",
        "test_demo.py::test_param[2]": "failed",
    }
    assert "assert 1 == 2" in data["details"]["test_demo.py::test_fail"]
    assert "no_such_module_anywhere" in data["details"]["test_broken.py"]


def test_unittest_runner_records_each_outcome(tmp_path):
    suite = tmp_path / "suite"
    (suite / "tests").mkdir(parents=True)
    (suite / "tests" / "__init__.py").write_text("")
    (suite / "tests" / "test_demo.py").write_text(
        textwrap.dedent("""
        import doctest, unittest

        def twice(x):
            '''
            >>> twice(2)
            4
            >>> twice(3)
            7
            '''
            return 2 * x

        class Demo(unittest.TestCase):
            def test_pass(self): pass
            def test_fail(self): self.assertEqual(1, 2)
            def test_error(self): raise KeyError("k")
            @unittest.skip("no")
            def test_skip(self): pass
            @unittest.expectedFailure
            def test_xfail(self): self.fail()
            @unittest.expectedFailure
            def test_xpass(self): pass
            def test_subtests(self):
                for i in range(3):
                    with self.subTest(i=i):
                        self.assertLess(i, 2)
            def test_deselected(self): self.fail("must not run")

        class Row(unittest.TestCase):
            def __init__(self, n):
                super().__init__()
                self.n = n
            def __str__(self):
                return "row %s" % self.n
            def runTest(self):
                self.assertNotEqual(self.n, 2)

        class BrokenClass(unittest.TestCase):
            @classmethod
            def setUpClass(cls): raise RuntimeError("class setup")
            def test_never(self): pass

        def load_tests(loader, tests, pattern):
            tests.addTests(Row(n) for n in range(3))
            tests.addTests(doctest.DocTestSuite(__name__))
            return tests
    """)
    )
    (suite / "deselect.txt").write_text("tests.test_demo.Demo.test_deselected\n")
    data = _run_support(
        ["-m", "e2e_unittest_runner", "--deselect-file", "deselect.txt"], suite, tmp_path
    )
    outcomes = data["outcomes"]
    assert outcomes == {
        "tests.test_demo.Demo.test_pass": "passed",
        "tests.test_demo.Demo.test_fail": "failed",
        "tests.test_demo.Demo.test_error": "error",
        "tests.test_demo.Demo.test_skip": "skipped",
        "tests.test_demo.Demo.test_xfail": "xfailed",
        "tests.test_demo.Demo.test_xpass": "xpassed",
        "tests.test_demo.Demo.test_subtests": "failed",
        # The loader's own instance of Row (n = "runTest"), then the three rows.
        "tests.test_demo.Row.runTest": "passed",
        "tests.test_demo.Row.runTest <row 0>": "passed",
        "tests.test_demo.Row.runTest <row 1>": "passed",
        "tests.test_demo.Row.runTest <row 2>": "failed",
        "setUpClass (tests.test_demo.BrokenClass)": "error",
        "tests.test_demo.twice": "failed",
    }, json.dumps(outcomes, indent=1)
    assert "i=2" in data["details"]["tests.test_demo.Demo.test_subtests"]
    assert data["exitstatus"] == 1


def _rewrite_wheel(src: Path, dest: Path, edit) -> Path:
    """A copy of wheel ``src`` with ``edit(name, data) -> data`` applied and RECORD redone."""
    with zipfile.ZipFile(src) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    record = next(n for n in members if n.endswith(".dist-info/RECORD"))
    members = {n: edit(n, d) for n, d in members.items()}
    return harness.write_wheel(dest, members, record.partition("/")[0])


@pytest.mark.upstream
def test_changed_behaviour_is_caught_test_by_test(tmp_path, tmp_path_factory):
    """more-itertools with ``first()`` ignoring its default: the comparison against the
    plain wheel names exactly the tests that exercise that case."""
    python = harness.require_python("3.11")
    pkg = upstream.UPSTREAM["more-itertools"]
    plain_wheel = harness.download_wheel(pkg.name, pkg.version)

    def edit(name: str, data: bytes) -> bytes:
        if name != "more_itertools/more.py":
            return data
        text = data.decode()
        old = "    return default\n\n\ndef last("
        assert text.count(old) == 1, "more_itertools.more.first changed shape; update this test"
        return text.replace(old, "    return None\n\n\ndef last(").encode()

    broken = _rewrite_wheel(plain_wheel, tmp_path / "broken" / plain_wheel.name, edit)
    plain = upstream.plain_result("more-itertools", python, tmp_path_factory)
    suite = upstream.prepare_suite("more-itertools", tmp_path)
    venv = upstream.make_test_venv("more-itertools", python, [broken], tmp_path / "venv")
    result = upstream.run_suite("more-itertools", venv, suite, label="broken")
    diffs = upstream.outcome_differences(plain, result)
    assert diffs, "a broken first() went unnoticed"
    assert all(v == ("passed", "failed") or v == ("passed", "error") for v in diffs.values()), diffs
    assert "tests.test_more.FirstTests.test_default" in diffs, diffs
    with pytest.raises(AssertionError, match="test\\(s\\) differ"):
        upstream.assert_same_outcomes(plain, result)


@pytest.mark.upstream
def test_run_from_source_tree_is_refused(tmp_path):
    """A suite directory that shadows the installed package makes run_suite fail: the
    harness only accepts runs that imported the package from the venv's site-packages."""
    python = harness.require_python("3.11")
    pkg = upstream.UPSTREAM["more-itertools"]
    suite = upstream.prepare_suite("more-itertools", tmp_path)
    with zipfile.ZipFile(harness.download_wheel(pkg.name, pkg.version)) as z:
        for name in z.namelist():
            if name.startswith("more_itertools/"):
                target = suite / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(name))
    venv = upstream.make_test_venv(
        "more-itertools", python, [harness.download_wheel(pkg.name, pkg.version)], tmp_path / "venv"
    )
    with pytest.raises(AssertionError, match="not from the venv's"):
        upstream.run_suite("more-itertools", venv, suite, label="shadowed")


def test_test_venv_has_wheel_pins_and_extra(tmp_path):
    """make_test_venv installs the wheel under test, the pinned runner and an extra module
    wheel (as a probe module would be), offline."""
    python = harness.require_python("3.11")
    probe = upstream.build_module_wheel("e2e_probe", "EVENTS = []\n", tmp_path / "probe")
    from installer.sources import WheelFile

    with WheelFile.open(probe) as source:
        source.validate_record(validate_contents=True)
    pkg = upstream.UPSTREAM["click"]
    venv = upstream.make_test_venv(
        "click",
        python,
        [harness.download_wheel(pkg.name, pkg.version)],
        tmp_path / "venv",
        extra=[probe],
    )
    out = venv.run(
        "-c",
        "import e2e_probe, click, pytest, importlib.metadata as m; "
        "print(e2e_probe.EVENTS, m.version('click'), pytest.__version__)",
    ).stdout.split()
    assert out == ["[]", "8.1.7", "8.3.5"]
