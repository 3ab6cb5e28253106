"""``[[patch]]``: hooks on callables of other modules, wrapped at run time.

A fixture package (``patchapp``) is instrumented with one patch table whose targets are
``os.system``, ``subprocess.Popen.__init__``, ``builtins.open`` and the callables of another
installed, uninstrumented package (``patchdep``: a function, a method, a static and a class
method, a generator function and a coroutine function), plus two targets that do not exist.
A driver imports both packages (in either order: a target whose module is imported later is
patched when it is), runs the same workload on the main thread and on a second thread, and
prints what the hooks saw. On every supported CPython the events must be exactly the calls
made, with their bound arguments, return values, exceptions and thread ids; the wrappers
must keep names, ``__wrapped__``, ``inspect.signature``, method binding and the kind of
callable; a hook that calls a patched callable recurses once, is reported once and switches
the wrappers to guarded mode (its own calls no longer hooked); each missing target is one
warning. The six real wheels' machinery runs ``packaging``'s upstream suite under ``calls``
with patch targets it calls all the time, and the suite's outcomes must be unchanged.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import harness
import pytest
import upstream

DEP = {
    "patchdep/__init__.py": '''\
"""Another installed package, not instrumented: its callables are patch targets."""


def scale(x, factor=2):
    """Scales x."""
    if x < 0:
        raise ValueError("negative: %r" % (x,))
    return x * factor


class Meter:
    def __init__(self, unit):
        self.unit = unit

    def read(self, value, *, digits=1):
        return round(value, digits)

    @staticmethod
    def parse(text):
        return float(text)

    @classmethod
    def metric(cls):
        return cls("m")


def numbers(n):
    for i in range(n):
        yield i
    return "done"


async def later(x):
    return x + 1
''',
}

APP = {
    "patchapp/__init__.py": '''\
import asyncio
import os
import subprocess
import sys


def work(devnull):
    """The calls the test expects to see, in order."""
    import patchdep

    status = os.system("exit 3")
    with open(devnull) as f:
        f.read()
    try:
        open(os.path.join(devnull, "missing"))
    except OSError:
        pass
    subprocess.Popen([sys.executable, "-c", "pass"]).wait()
    patchdep.scale(4)
    patchdep.scale(x=5, factor=3)
    try:
        patchdep.scale(-1)
    except ValueError:
        pass
    meter = patchdep.Meter.metric()
    meter.read(2.345, digits=2)
    patchdep.Meter.parse("1.5")
    generated = patchdep.numbers(2)
    items = list(generated)
    value = asyncio.run(patchdep.later(1)) if sys.version_info >= (3, 7) else None
    return [status, items, value]
''',
}

CONFIG = """
[hooks]
imports = ["import threading"]
setup = '''
events = []
_lock = threading.Lock()


def _plain(value):
    if isinstance(value, BaseException):
        return type(value).__name__ + ": " + str(value)
    if type(value).__module__ == "subprocess":
        return type(value).__name__
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return type(value).__name__


def record(*event):
    with _lock:
        events.append(_plain(list(event)))
        index = len(events) - 1
    # A hook calling a patched callable (recursing once, then guarded).
    import patchdep
    patchdep.scale(0)
    return index
'''

[[patch]]
targets = [
    "os.system",
    "subprocess.Popen.__init__",
    "builtins.open",
    "patchdep.scale",
    "patchdep.Meter.read",
    "patchdep.Meter.parse",
    "patchdep:Meter.metric",
    "patchdep.numbers",
    "patchdep.later",
    "os.no_such_function",
    "patchdep.missing.deeper",
]
function-enter = "record('enter', {module}, {qualname}, {class_name}, {arguments}, {arg0}, {thread_id})"
function-exit = "record('exit', {enter_value}, {return_value}, {thread_id})"
function-error = "record('error', {enter_value}, {exception}, {thread_id})"
"""

DRIVER = """
import inspect, json, os, subprocess, sys, threading
{imports}
hooks = sys.modules["_equip_hooks_patchapp"]
# The hook calls patchdep.scale itself: the first patched call recurses until RecursionError,
# which switches the wrappers to guarded mode (then the hooks' own calls are not hooked).
assert not hooks._equip_patch_guard[0]
assert patchdep.scale(1) == 2
assert hooks._equip_patch_guard[0]
del hooks.events[:]
results = {{}}

def run(name):
    results[name] = (threading.get_ident(), patchapp.work(os.devnull))

worker = threading.Thread(target=run, args=("worker",))
worker.start()
worker.join()
run("main")
events = list(hooks.events)

wrapped = {{
    "scale": patchdep.scale,
    "read": patchdep.Meter.read,
    "parse": patchdep.Meter.parse,
    "metric": patchdep.Meter.metric,
    "system": os.system,
    "open": open,
    "init": subprocess.Popen.__init__,
    "numbers": patchdep.numbers,
    "later": patchdep.later,
}}
checks = {{
    name: {{
        "wrapped": hasattr(f, "__wrapped__"),
        "name": f.__name__,
        "qualname": getattr(f, "__qualname__", None),
        "module": getattr(f, "__module__", None),
        "doc": f.__doc__ == f.__wrapped__.__doc__ if hasattr(f, "__wrapped__") else None,
        "signature": str(inspect.signature(f)) if name != "system" or sys.version_info >= (3, 9)
        else None,
        "same_signature": (
            inspect.signature(f) == inspect.signature(f.__wrapped__)
            if hasattr(f, "__wrapped__") and name != "metric"
            and (name != "system" or sys.version_info >= (3, 9))
            else None
        ),
    }}
    for name, f in wrapped.items()
}}
meter = patchdep.Meter("m")
checks["bound"] = {{
    "signature": str(inspect.signature(meter.read)),
    "self": meter.read.__self__ is meter,
    "static": type(inspect.getattr_static(patchdep.Meter, "parse")).__name__,
    "class": type(inspect.getattr_static(patchdep.Meter, "metric")).__name__,
    "classmethod_binds": patchdep.Meter.metric().unit,
    "generator": inspect.isgeneratorfunction(patchdep.numbers),
    "coroutine": inspect.iscoroutinefunction(patchdep.later),
    "popen_init_is_method": inspect.ismethod(subprocess.Popen([sys.executable, "-c", ""]).__init__),
}}
# Importing the hooks module again does not wrap twice.
import importlib
importlib.reload(hooks)
checks["once"] = not hasattr(patchdep.scale.__wrapped__, "__wrapped__")
print(json.dumps({{"results": results, "events": events, "checks": checks}}))
"""

IMPORT_ORDERS = {
    "app-first": "import patchapp\nimport patchdep",
    "dep-first": "import patchdep\nimport patchapp",
}


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> dict[str, Path]:
    """``patchapp`` instrumented with the patch config, and ``patchdep`` plain, unpacked."""
    tmp = tmp_path_factory.mktemp("patch")
    (tmp / "equip.toml").write_text(CONFIG)
    app = harness.build_wheel(tmp, "patchapp", "1.0", APP)
    dep = harness.build_wheel(tmp, "patchdep", "1.0", DEP)
    harness.run_equip("instrument", "-q", app, "--config", tmp / "equip.toml", "-w", tmp / "out")
    sites = {}
    for name, wheel in (("app", tmp / "out" / app.name), ("dep", dep)):
        sites[name] = tmp / f"site-{name}"
        with zipfile.ZipFile(wheel) as z:
            z.extractall(sites[name])
    return sites


def expected_events(tid: int, minor: tuple[int, int]) -> list[list]:
    """The events of one run of ``patchapp.work`` on thread ``tid``: (kind, ...) without the
    enter indices, which the test resolves."""
    devnull = "/dev/null"
    open_args = {
        "file": devnull, "mode": "r", "buffering": -1, "encoding": None, "errors": None,
        "newline": None, "closefd": True, "opener": None,
    }  # fmt: skip
    missing = dict(open_args, file=devnull + "/missing")
    return [
        ["enter", "os", "system", None, {"command": "exit 3"}, "exit 3"],
        ["exit", 3 << 8],
        ["enter", "builtins", "open", None, open_args, devnull],
        ["exit", "TextIOWrapper"],
        ["enter", "builtins", "open", None, missing, devnull + "/missing"],
        ["error", "NotADirectoryError: [Errno 20] Not a directory: '/dev/null/missing'"],
        ["enter", "subprocess", "Popen.__init__", "Popen", "popen", "Popen"],
        ["exit", None],
        ["enter", "patchdep", "scale", None, {"x": 4, "factor": 2}, 4],
        ["exit", 8],
        ["enter", "patchdep", "scale", None, {"x": 5, "factor": 3}, 5],
        ["exit", 15],
        ["enter", "patchdep", "scale", None, {"x": -1, "factor": 2}, -1],
        ["error", "ValueError: negative: -1"],
        ["enter", "patchdep", "Meter.metric", "Meter", {"cls": "type"}, "type"],
        ["exit", "Meter"],
        ["enter", "patchdep", "Meter.read", "Meter", {"self": "Meter", "value": 2.345, "digits": 2}, "Meter"],
        ["exit", 2.35],
        ["enter", "patchdep", "Meter.parse", "Meter", {"text": "1.5"}, "1.5"],
        ["exit", 1.5],
        ["enter", "patchdep", "numbers", None, {"n": 2}, 2],
        ["exit", "done"],
        ["enter", "patchdep", "later", None, {"x": 1}, 1],
        ["exit", 2],
    ]  # fmt: skip


@pytest.mark.parametrize("order", sorted(IMPORT_ORDERS))
@pytest.mark.parametrize("minor", harness.PY_VERSIONS)
def test_patched_calls_are_seen(sites: dict[str, Path], minor: str, order: str):
    python = harness.require_python(minor)
    version = tuple(int(p) for p in minor.split("."))
    proc = subprocess.run(
        [str(python), "-c", DRIVER.format(imports=IMPORT_ORDERS[order])],
        env={"PYTHONPATH": f"{sites['app']}:{sites['dep']}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)

    # Each missing target is one warning (dotted form: under the package, a submodule may
    # come later, so only the module attribute that cannot exist is reported); the recursion
    # of the hook is one more.
    warnings = [line for line in proc.stderr.splitlines() if "equip-wheel:" in line]
    assert len(warnings) == 2, proc.stderr
    assert "patch target os.no_such_function does not exist" in warnings[0]
    assert (
        "the patch[0].function-enter hook around patchdep.scale called patched callables and "
        "recursed; from now on, calls made by patch hooks are not hooked"
    ) in warnings[1]

    events = out["events"]
    for name in ("worker", "main"):
        tid, result = out["results"][name]
        assert result == [3 << 8, [0, 1], 2]
        mine = [e for e in events if e[-1] == tid]
        seen = []
        for event in mine:
            kind, rest = event[0], event[1:-1]
            if kind == "enter":
                module, qualname, class_name, arguments, arg0 = rest
                if qualname == "Popen.__init__":
                    assert arguments["args"] == [python.as_posix(), "-c", "pass"] or arguments[
                        "args"
                    ][1:] == ["-c", "pass"], arguments
                    assert arguments["self"] == "Popen" and "bufsize" in arguments
                    arguments = "popen"
                seen.append([kind, module, qualname, class_name, arguments, arg0])
            else:
                enter_index, value = rest
                # The exit or error names its own call's enter.
                assert events[enter_index][0] == "enter" and events[enter_index][-1] == tid
                seen.append([kind, value])
        assert seen == expected_events(tid, version), json.dumps(seen, indent=1)
        # No event of the hook's own patchdep.scale(0) calls: guarded mode held.
        assert not any(e[0] == "enter" and e[5] == 0 for e in mine)

    checks = out["checks"]
    for name, c in checks.items():
        if name in ("bound", "once"):
            continue
        assert c["wrapped"], name
        assert c["doc"], name
        if c["same_signature"] is not None:
            assert c["same_signature"], name
    assert checks["scale"]["signature"] == "(x, factor=2)"
    assert (checks["scale"]["name"], checks["scale"]["qualname"], checks["scale"]["module"]) == (
        "scale", "scale", "patchdep",
    )  # fmt: skip
    assert checks["read"]["qualname"] == "Meter.read"
    # A class method seen through its class is bound: its signature drops ``cls``.
    assert checks["metric"]["signature"] == "()"
    assert checks["init"]["qualname"] == "Popen.__init__"
    assert (checks["system"]["name"], checks["open"]["name"]) == ("system", "open")
    assert checks["bound"] == {
        "signature": "(value, *, digits=1)",
        "self": True,
        "static": "staticmethod",
        "class": "classmethod",
        "classmethod_binds": "m",
        "generator": True,
        "coroutine": True,
        "popen_init_is_method": True,
    }
    assert checks["once"]


def test_patch_errors_are_config_errors(tmp_path: Path):
    wheel = harness.build_wheel(tmp_path, "patchapp", "1.0", APP)
    cases = {
        'targets = ["builtins.str.join"]\nfunction-enter = "print(1)"': (
            'patch[0].targets[0]', "built-in type str"
        ),
        'targets = ["os"]\nfunction-enter = "print(1)"': ("patch[0].targets[0]", "names no attribute"),
        'targets = ["os.system", "os:system"]\nfunction-enter = "print(1)"': (
            "patch[0].targets[1]", "already a target of patch[0]"
        ),
        'targets = ["os.system"]\nfunction-enter = "print({locals})"': (
            "patch[0].function-enter", "{locals} has no value"
        ),
        'targets = ["os.system"]\nfunction-exit = "print({enter_value})"': (
            "patch[0].function-exit", "needs a function-enter"
        ),
        'targets = []\nfunction-enter = "print(1)"': ("patch[0].targets", "at least one target"),
    }  # fmt: skip
    for body, (key, message) in cases.items():
        config = tmp_path / "equip.toml"
        config.write_text("[[patch]]\n" + body + "\n")
        proc = harness.run_equip(
            "instrument", wheel, "--config", config, "-o", tmp_path / "out", check=False
        )
        assert proc.returncode == 2, (body, proc.stderr)
        assert key in proc.stderr and message in proc.stderr, (body, proc.stderr)
        assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_readme_example_is_a_valid_config(tmp_path: Path):
    readme = (harness.REPO / "README.md").read_text()
    section = readme.split("### Hooks on other modules' callables: `[[patch]]`", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "equip.toml").write_text(example)
    wheel = harness.build_wheel(tmp_path, "patchapp", "1.0", APP)
    harness.run_equip(
        "instrument", wheel, "--config", tmp_path / "equip.toml", "-o", tmp_path / "out"
    )
    hooks = zipfile.ZipFile(tmp_path / "out" / wheel.name).read("_equip_hooks_patchapp.py")
    assert (
        b"_equip_patch_install(((None, 'os.system'), (None, 'subprocess.Popen.__init__')" in hooks
    )


#: packaging's suite calls these all the time (and pytest with it).
UPSTREAM_TARGETS = ["re.compile", "os.path.join", "builtins.open", "subprocess.Popen.__init__"]


@pytest.mark.upstream
@pytest.mark.slow
def test_upstream_suite_with_calls_and_patches(real_wheels, tmp_path, tmp_path_factory):
    name = "packaging"
    python = harness.require_python("3.11")
    config = tmp_path / "equip.toml"
    config.write_text(
        'preset = "calls"\n[[patch]]\ntargets = ' + json.dumps(UPSTREAM_TARGETS) + "\n"
    )
    out = tmp_path / "wheels"
    harness.run_equip("instrument", "-q", real_wheels[name], "--config", config, "-o", out)
    plain = upstream.plain_result(name, python, tmp_path_factory)
    suite = upstream.prepare_suite(name, tmp_path)
    venv = upstream.make_test_venv(name, python, [out / real_wheels[name].name], tmp_path / "v")
    calls = tmp_path / "calls"
    calls.mkdir()
    instrumented = upstream.run_suite(
        name,
        venv,
        suite,
        label="calls+patch",
        env={"EQUIP_CALLS_FILE": str(calls / "calls-{pid}.json")},
    )
    print(plain.summary())
    print(instrumented.summary())
    applied = upstream.assert_same_outcomes(
        plain, instrumented, upstream.UPSTREAM[name].known_differences
    )
    totals: dict[str, int] = {}
    for path in calls.glob("calls-*.json"):
        for module, counts in json.loads(path.read_text())["calls"].items():
            for qualname, n in counts.items():
                key = f"{module}:{qualname}"
                totals[key] = totals.get(key, 0) + n
    # The patched callables were counted next to the package's own functions.
    assert totals.get("re:compile", 0) > 0, sorted(totals)[:20]
    assert totals.get("builtins:open", 0) > 0
    assert sum(n for k, n in totals.items() if k.startswith("packaging")) > 1000
    if applied:
        pytest.xfail("known difference(s), every other test identical: " + "; ".join(applied))
