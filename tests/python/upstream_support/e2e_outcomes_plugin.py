"""pytest plugin loaded into an upstream suite run (``-p e2e_outcomes_plugin``).

It runs inside the test venv, under every CPython 3.8-3.13, so it stays 3.8 syntax and
imports only the standard library and pytest. It writes one JSON file
(``$EQUIP_E2E_OUTCOMES``) with:

- ``outcomes``: test id -> passed | failed | skipped | error | xfailed | xpassed
  (a test whose call passed but whose teardown failed is "error"; collection errors
  appear under their collector's id as "error");
- ``details``: test id -> the failure/skip text (truncated), to show in messages;
- ``module_files``: for each name in ``$EQUIP_E2E_MODULES`` (comma-separated), the
  ``__file__`` of the module the tests actually used (looked up in ``sys.modules``
  after the run, imported then if no test imported it);
- ``python``: ``sys.version`` and ``sys.executable``.

With ``$EQUIP_E2E_HYPOTHESIS=1`` it also loads a Hypothesis profile (after the suite's own
conftest loaded its profile) that keeps that profile but derandomizes it, drops the
deadline and the health checks and disables the example database: the plain and the
instrumented runs then try the same examples, and the instrumented code's slowness cannot
fail a test by time alone. ``$EQUIP_E2E_HYPOTHESIS_MAX_EXAMPLES`` sets ``max_examples`` too.

Each test starts (before its fixtures) with the ``random`` module seeded from its node id, so
tests that draw unseeded random inputs do the same work in every run compared.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import sys

import pytest

_MAX_DETAIL = 4000
_outcomes = {}
_details = {}


def _record(nodeid, outcome, report=None):
    previous = _outcomes.get(nodeid)
    # A failed teardown after a passed (or failed) call makes the test an error.
    if previous is not None and outcome != "error":
        return
    _outcomes[nodeid] = outcome
    if report is not None and outcome not in ("passed",):
        text = getattr(report, "longreprtext", "") or ""
        if hasattr(report, "wasxfail") and report.wasxfail:
            text = "xfail: %s\n%s" % (report.wasxfail, text)
        if text:
            _details[nodeid] = text[-_MAX_DETAIL:]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    random.seed(item.nodeid)  # str seeds do not depend on PYTHONHASHSEED


def pytest_runtest_logreport(report):
    wasxfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if wasxfail:
            outcome = "xfailed" if report.skipped else "xpassed"
        elif report.failed:
            outcome = "failed"
        elif report.skipped:
            outcome = "skipped"
        else:
            outcome = "passed"
        _record(report.nodeid, outcome, report)
    elif report.when == "setup":
        if report.skipped:
            _record(report.nodeid, "xfailed" if wasxfail else "skipped", report)
        elif report.failed:
            _record(report.nodeid, "error", report)
    elif report.when == "teardown" and report.failed:
        _record(report.nodeid, "error", report)


def pytest_collectreport(report):
    if report.failed:
        _record(report.nodeid or "<collection>", "error", report)


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    if os.environ.get("EQUIP_E2E_HYPOTHESIS") != "1":
        return
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:
        return
    overrides = dict(
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    if os.environ.get("EQUIP_E2E_HYPOTHESIS_MAX_EXAMPLES"):
        overrides["max_examples"] = int(os.environ["EQUIP_E2E_HYPOTHESIS_MAX_EXAMPLES"])
    settings.register_profile("equip-e2e", settings(settings.default, **overrides))
    settings.load_profile("equip-e2e")


def pytest_sessionfinish(session, exitstatus):
    module_files = {}
    for name in filter(None, os.environ.get("EQUIP_E2E_MODULES", "").split(",")):
        module = sys.modules.get(name)
        if module is None:
            try:
                module = importlib.import_module(name)
            except Exception as exc:  # reported, the harness fails on it
                module_files[name] = "<import failed: %r>" % (exc,)
                continue
        module_files[name] = getattr(module, "__file__", None) or "<no __file__>"
    path = os.environ.get("EQUIP_E2E_OUTCOMES")
    if not path:
        return
    with open(path, "w", encoding="utf-8") as f:
        json.dump(
            {
                "runner": "pytest",
                "exitstatus": int(exitstatus),
                "python": {"version": sys.version, "executable": sys.executable},
                "module_files": module_files,
                "outcomes": _outcomes,
                "details": _details,
            },
            f,
            indent=1,
            sort_keys=True,
        )
