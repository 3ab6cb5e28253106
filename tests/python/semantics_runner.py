"""Runs semantics cases in a fresh interpreter and prints their outcomes as JSON.

    python semantics_runner.py CASES_JSON

CASES_JSON maps case name -> driver source. Each case module ``case_<name>`` is imported
from ``sys.path``, then the driver runs with ``m`` bound to it and may set ``RESULT``. The
events recorded by ``recorder`` (if importable) while the case runs are reported with it.
"""

import importlib
import json
import sys
import traceback

try:
    import recorder
except ImportError:  # running the original, uninstrumented package
    recorder = None


def run_case(name, driver):
    start = len(recorder.events) if recorder else 0
    namespace = {}
    try:
        namespace["m"] = importlib.import_module("case_" + name)
        exec(compile(driver, "<driver %s>" % name, "exec"), namespace)
        result = namespace.get("RESULT")
        error = None
    except BaseException as e:  # a case failing is data for the test
        result = None
        error = "".join(traceback.format_exception_only(type(e), e)).strip()
    events = recorder.events[start:] if recorder else []
    return {"result": result, "error": error, "events": events}


def main():
    cases = json.loads(open(sys.argv[1]).read())
    out = {name: run_case(name, driver) for name, driver in cases.items()}
    sys.stdout.write(json.dumps(out, default=repr))


if __name__ == "__main__":
    main()
