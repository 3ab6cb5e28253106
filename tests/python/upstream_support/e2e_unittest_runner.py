"""Runs a unittest suite the way ``python -m unittest`` does and records each test's outcome.

Usage (inside the test venv, cwd = the suite directory)::

    python -m e2e_unittest_runner [--deselect-file F] [discover args...]

Discovery is ``unittest.TestLoader().discover(start, pattern, top)`` with the defaults of
``python -m unittest`` (start ``.``, pattern ``test*.py``), so ``load_tests`` hooks (doctest
suites, generated test tables) run exactly as upstream runs them. Writes the same JSON as
the pytest plugin (``e2e_outcomes_plugin``) to ``$EQUIP_E2E_OUTCOMES``; ``$EQUIP_E2E_MODULES``
names the modules whose ``__file__`` is recorded after the run.

Test ids are ``TestCase.id()``; when several tests share an id (one TestCase class
instantiated per row of a data table), the later ones get `` <str(test)>`` appended, then
``#N`` if still not unique, which is deterministic because unittest runs in order.
Tests listed in the deselect file (one id per line) are not run and not recorded. Each test
starts with the ``random`` module seeded from its id, so tests that draw unseeded random
inputs do the same work in every run compared.

It runs under every CPython 3.8-3.13: 3.8 syntax, standard library only.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import sys
import traceback
import unittest

_MAX_DETAIL = 4000


class RecordingResult(unittest.TextTestResult):
    """A text result that also records an outcome per test id."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcomes = {}
        self.details = {}
        self._current = {}

    def _key(self, test):
        key = test.id()
        if key in self.outcomes:
            base = key = "%s <%s>" % (key, test)
            n = 2
            while key in self.outcomes:
                key = "%s#%d" % (base, n)
                n += 1
        return key

    def _set(self, test, outcome, detail=None):
        # Tests never started (errors of setUpClass/setUpModule) get their own key.
        key = self._current.get(id(test)) or self._key(test)
        previous = self.outcomes.get(key)
        # A failed subtest or a cleanup error is not overwritten by a later success.
        rank = {"error": 2, "failed": 1}
        if previous is not None and rank.get(previous, 0) > rank.get(outcome, 0):
            return
        self.outcomes[key] = outcome
        if detail:
            self.details[key] = (self.details.get(key, "") + detail)[-_MAX_DETAIL:]

    def startTest(self, test):
        key = self._key(test)
        self._current[id(test)] = key
        self.outcomes[key] = "running"
        random.seed(key)  # str seeds do not depend on PYTHONHASHSEED
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        key = self._current.pop(id(test), None)
        if key is not None and self.outcomes.get(key) == "running":
            # Only failed subtests are reported; a test whose subtests all passed
            # and that reported nothing else passed.
            self.outcomes[key] = "passed"

    def addSuccess(self, test):
        super().addSuccess(test)
        self._set(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._set(test, "failed", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._set(test, "error", self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._set(test, "skipped", reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._set(test, "xfailed")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._set(test, "xpassed")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            outcome = "failed" if issubclass(err[0], test.failureException) else "error"
            detail = "%s\n%s" % (subtest, self._exc_info_to_string(err, test))
            self._set(test, outcome, detail)


def _deselect(suite, ids):
    """A copy of ``suite`` without the tests whose id is in ``ids``."""
    kept = unittest.TestSuite()
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            kept.addTest(_deselect(item, ids))
        elif item.id() not in ids:
            kept.addTest(item)
    return kept


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--deselect-file")
    parser.add_argument("-s", "--start-directory", default=".")
    parser.add_argument("-p", "--pattern", default="test*.py")
    parser.add_argument("-t", "--top-level-directory", default=None)
    args = parser.parse_args(argv)

    ids = set()
    if args.deselect_file:
        with open(args.deselect_file, encoding="utf-8") as f:
            ids = {line.strip() for line in f if line.strip()}

    sys.path.insert(0, os.path.abspath(args.top_level_directory or args.start_directory))
    loader = unittest.TestLoader()
    suite = loader.discover(args.start_directory, args.pattern, args.top_level_directory)
    suite = _deselect(suite, ids)
    runner = unittest.TextTestRunner(resultclass=RecordingResult, verbosity=1)
    result = runner.run(suite)

    module_files = {}
    for name in filter(None, os.environ.get("EQUIP_E2E_MODULES", "").split(",")):
        try:
            module = sys.modules.get(name) or importlib.import_module(name)
            module_files[name] = getattr(module, "__file__", None) or "<no __file__>"
        except Exception as exc:
            module_files[name] = "<import failed: %r>" % (exc,)
    outcomes = {k: ("error" if v == "running" else v) for k, v in result.outcomes.items()}
    path = os.environ.get("EQUIP_E2E_OUTCOMES")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "runner": "unittest",
                    "exitstatus": 0 if result.wasSuccessful() else 1,
                    "python": {"version": sys.version, "executable": sys.executable},
                    "module_files": module_files,
                    "outcomes": outcomes,
                    "details": result.details,
                },
                f,
                indent=1,
                sort_keys=True,
            )
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        sys.exit(3)
