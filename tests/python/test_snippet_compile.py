"""Every hooks module the snippet tests generate compiles on every supported CPython, and the
snippets the static check refuses really are refused by CPython's compiler.

The configs are those of the snippet and hooks-module unit tests that are accepted, the
embedded presets, the configs of the semantics, direct-call and preset tests and of the probe,
and a set of tricky accepted snippets. Each instruments the demo wheel with the CLI; the
``_equip_hooks_*.py`` of the output wheel is compiled (and, where its imports exist, imported)
by each interpreter ``scripts/pythons.py`` finds; a missing interpreter is a skip."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import harness
import probe
import pytest
import test_direct_calls
import test_semantics

DEMO = harness.TESTWHEELS / "demo-1.0-py3-none-any.whl"


def toml(hooks: dict[str, str], probes: list[tuple[str, int, str]] = ()) -> str:
    """A config with the ``[hooks]`` keys ``hooks`` (strings, or lists of strings) and
    probes ``(module, line, snippet)``; JSON strings are TOML basic strings."""
    lines = ["[hooks]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in hooks.items()]
    for module, line, snippet in probes:
        lines += [
            "",
            "[[probes]]",
            f"module = {json.dumps(module)}",
            f"line = {line}",
            f"snippet = {json.dumps(snippet)}",
        ]
    return "\n".join(lines) + "\n"


# Accepted configs of the unit tests of src/config/snippet.rs and src/hooks_module.rs.
UNIT_CONFIGS = {
    "unit-set-placeholders": toml({"function-enter": "tracer.start({qualname}, {arguments})"}),
    "unit-f-strings": toml(
        {
            "function-exit": 'print(f"{qualname} returned {return_value!r}")',
            "function-enter": 'print("[CALL] {file_name}::{method_name}:{lineno} {other}")',
        }
    ),
    "unit-plain-strings": toml(
        {
            "function-exit": "print('{return_value}')",
            "function-enter": "print(r'\\d{qualname}', '\\N{EM DASH}{lineno}')",
        }
    ),
    "unit-located": toml(
        {
            "module-enter": "s = {x,}",
            "module-exit": "def helper():\n    return 1\nhelper()",
        }
    ),
    "unit-render": toml(
        {
            "imports": ["import sys"],
            "setup": "events = []",
            "function-enter": "x = 1\nevents.append(({qualname}, {thread_id}, '''a\nb'''))\n{arguments}",
            "function-exit": "events.append(f'{method_name} -> {return_value!r}')",
        }
    ),
    "unit-abi": toml({"on-hook-error": "raise", "function-exit": "print({lineno})"}),
    "unit-direct-raise": toml(
        {
            "on-hook-error": "raise",
            "imports": ["from t import enter, exit", "import tracer"],
            "function-enter": "enter({qualname}, 1)",
            "function-exit": "exit({enter_value}, {return_value})",
            "function-error": "tracer.fail({exception})",
            "module-enter": "print({module})",
        }
    ),
    "unit-direct-warn": toml(
        {
            "imports": ["from t import enter, exit", "import tracer"],
            "function-enter": "enter({qualname}, 1)",
            "function-exit": "exit({enter_value}, {return_value})",
            "function-error": "tracer.fail({exception})",
            "module-enter": "print({module})",
        }
    ),
    "unit-exit-no-return": toml(
        {
            "on-hook-error": "raise",
            "imports": ["from t import exit"],
            "function-exit": "exit({lineno})",
        }
    ),
    "unit-binding": toml(
        {
            "function-enter": "print({qualname})",
            "function-exit": "print({lineno}, {return_value}, {enter_value})",
        }
    ),
    "unit-binding-other": toml({"function-enter": "print({module})"}),
}
# What `what_the_compiler_refuses_is_an_error` accepts, one hook each.
COMPILER_ACCEPTS = [
    "for x in y:\n    break\nelse:\n    pass",
    "while x:\n    continue",
    "async def f():\n    async for x in y:\n        await x",
    "def f():\n    yield 1",
    "global counter\ncounter = 1",
    "def f():\n    y = 1\n    def g():\n        nonlocal y\n        y = 2",
    "(x async for x in y)",
    "from os import path",
    "lambda: (yield)",
    "def f():\n    def g():\n        nonlocal y\n    y = 1",
    "y = 1\ndef f():\n    nonlocal y",
    "import a.b as y, c.d\ndef f():\n    nonlocal y, c",
    # (`match` captures bind too, but `match` itself needs 3.10.)
    "def f(x):\n    try:\n        pass\n    except E as e:\n        pass\n    def g():\n        nonlocal e, x",
    "def f():\n    [y := 1 for _ in ()]\n    def g():\n        nonlocal y",
    "def f(a, *, b, **c):\n    return lambda a, b=1: a",
]

# Tricky snippets the check accepts: each must compile everywhere.
TRICKY = {
    "setup": (
        "import functools\n"
        "counter = 0\n"
        "def bump():\n"
        "    global counter\n"
        "    counter += 1\n"
        "    def inner(n=counter):\n"
        "        nonlocal_ok = [n for n in range(3) if (m := n)]\n"
        "        return nonlocal_ok\n"
        "    return inner\n"
        "class Box:\n"
        "    def __init__(self):\n"
        "        self.items = {k: v for k, v in zip('ab', (1, 2))}\n"
        "async def gather(xs):\n"
        "    return [x async for x in xs]\n"
    ),
    "module-enter": (
        "async_ = 1; await_ = 2; asyncio_like = {'async': async_, 'await': await_}\n"
        "print(f'{module!r:>10} {lineno:04d} {{literal}} {asyncio_like[\"async\"]}')"
    ),
    "module-exit": (
        "try:\n"
        "    import json as _j\n"
        "except ImportError:\n"
        "    _j = None\n"
        "finally:\n"
        "    pass\n"
        "with open(__file__) if False else __import__('contextlib').nullcontext() as cm:\n"
        "    pass"
    ),
    "function-enter": (
        "if (n := len({qualname})) > 0:\n"
        "    key = (lambda q, *a, k=1, **kw: f'{q}:{k}')({qualname})\n"
        "    rows = [[i * j for j in range(n)] for i in range(2)]\n"
        "    gen = sum(x for x in range(3))\n"
        "    s = {x for x in 'ab'}\n"
        "for i in range(2):\n"
        "    if i:\n"
        "        break\n"
        "    continue\n"
        "else:\n"
        "    pass\n"
        "def nested(a, b=2, *args, c, **kwargs):\n"
        "    def deeper():\n"
        "        nonlocal a\n"
        "        a = 3\n"
        "        return a\n"
        "    return deeper()\n"
        "(yield_ := 1)\n"
        "print(f'{qualname=}', f'{lineno}' f\"{arguments}\", {thread_id})"
    ),
    "function-exit": (
        "x = {return_value}; del x\n"
        "while False:\n"
        "    pass\n"
        "assert True, 'never'\n"
        "lambda: (yield)\n"
        "print(f'{qualname} -> {return_value!r:.40}', '{lineno}', r'{{raw}}')"
    ),
    "function-error": (
        "import traceback\n"
        "try:\n"
        "    raise {exception}\n"
        "except BaseException as e:\n"
        "    traceback.format_exception_only(type(e), e)\n"
        "class Note:\n"
        "    kind = 'error'\n"
        "    def __repr__(self):\n"
        "        return f'<{self.kind}>'\n"
        "print(Note(), {qualname}, {lineno})"
    ),
}

PROBE_LINE = 3  # a statement line of demo/__init__.py (so is PROBE_LINE + 2)


def configs() -> dict[str, str]:
    """Every config named as in the test ids."""
    found = dict(UNIT_CONFIGS)
    for i, snippet in enumerate(COMPILER_ACCEPTS):
        found[f"unit-compiler-accepts-{i}"] = toml({"module-enter": snippet})
    presets = harness.run_equip("presets").stdout
    for line in presets.splitlines():
        name = line.split(":")[0].split()[0]
        found[f"preset-{name}"] = harness.run_equip("presets", "--show", name).stdout
    semantics = test_semantics.CONFIG
    semantics = semantics.replace("PROBE_LINE_1", str(PROBE_LINE)).replace(
        "PROBE_LINE_2", str(PROBE_LINE + 2)
    )
    semantics = semantics.replace('modules = ["case_*"]', 'modules = ["*"]')
    semantics = semantics.replace('module = "case_probes"', 'module = "demo"')
    found["test_semantics"] = semantics
    found["test_direct_calls"] = test_direct_calls.CONFIG
    found["probe"] = probe.CONFIG
    found["tricky"] = toml(TRICKY, [("demo", PROBE_LINE, "print({locals}, f'{lineno}')")])
    return found


CONFIGS = configs()


@pytest.fixture(scope="module")
def hooks_modules(tmp_path_factory) -> dict[str, Path]:
    """Name -> the ``_equip_hooks_*.py`` generated for that config."""
    root = tmp_path_factory.mktemp("snippet-compile")
    out: dict[str, Path] = {}
    for name, text in CONFIGS.items():
        directory = root / name
        directory.mkdir()
        (directory / "equip.toml").write_text(text)
        harness.run_equip(
            "instrument", DEMO, "--config", directory / "equip.toml", "-o", directory / "out", "-q"
        )
        with zipfile.ZipFile(directory / "out" / DEMO.name) as wheel:
            members = [
                m
                for m in wheel.namelist()
                if Path(m).name.startswith("_equip_hooks_") and m.endswith(".py")
            ]
            assert len(members) == 1, members
            out[name] = directory / Path(members[0]).name
            out[name].write_bytes(wheel.read(members[0]))
    return out


COMPILE = "import sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')"
# Imports the module from its file; a missing third-party/test module of the config's
# `imports` is reported (exit 3) rather than failing, since only the test runs provide it.
IMPORT = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("hooks_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
try:
    spec.loader.exec_module(module)
except ModuleNotFoundError as e:
    print("missing:", e.name)
    sys.exit(3)
"""
# Modules the configs import from the tests' own trees (never on an interpreter's path).
TEST_ONLY_MODULES = {"recorder", "dhooks", "equip_probe", "t", "tracer"}


@pytest.mark.parametrize("minor", harness.pythons.ALL_VERSIONS)
def test_every_hooks_module_compiles(minor, hooks_modules, tmp_path):
    python = harness.require_python(minor)
    failures = []
    for name, path in hooks_modules.items():
        proc = subprocess.run(
            [str(python), "-c", COMPILE, str(path)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            failures.append(f"{name}: compile: {proc.stderr.strip()}")
            continue
        proc = subprocess.run(
            [str(python), "-c", IMPORT, str(path)], capture_output=True, text=True, cwd=tmp_path
        )
        if proc.returncode == 3 and proc.stdout.split()[-1] in TEST_ONLY_MODULES:
            continue
        if proc.returncode != 0:
            failures.append(f"{name}: import: {proc.stdout.strip()} {proc.stderr.strip()}")
    assert not failures, f"CPython {minor}:\n" + "\n".join(failures)


def test_the_configs_cover_every_source():
    # A preset, test config or tricky snippet that went missing would silently shrink the check.
    assert {
        "preset-calls",
        "preset-trace",
        "preset-timing",
        "preset-otel",
        "test_semantics",
        "test_direct_calls",
        "probe",
        "tricky",
    } <= CONFIGS.keys()
    assert len(CONFIGS) >= len(UNIT_CONFIGS) + len(COMPILER_ACCEPTS) + 8


# The cases of `what_the_compiler_refuses_is_an_error` (src/config/snippet.rs).
REFUSED = [
    "break",
    "continue",
    "for x in y:\n    pass\nelse:\n    break",
    "for x in y:\n    def f():\n        continue",
    "async for x in y:\n    pass",
    "async with x:\n    pass",
    "def f():\n    await x",
    "def f():\n    [x async for x in y]",
    "class C:\n    return 1",
    "class C:\n    yield 1",
    "def f():\n    return [(yield x) for x in y]",
    "from __future__ import annotations",
    "from os import *",
    "x = 1\nglobal x",
    "def f():\n    y = 1\n    def g():\n        y\n        nonlocal y",
    "__debug__ = 1",
    "def f():\n    def g():\n        nonlocal y",
    "class C:\n    y = 2\n    def g():\n        nonlocal y\n        y = 3",
    "def f(a, b, a):\n    pass",
    "g = lambda x, *, x: x",
    "def f(a, /, *a):\n    pass",
    "# only a comment",
    "print(1)\0",
    "x = {}1{}".format("(" * 5000, ")" * 5000),
]


def in_hook_function(snippet: str) -> str:
    """``snippet`` as the body of a generated hook function (inside its ``try``)."""
    body = "".join("        " + line + "\n" for line in snippet.split("\n"))
    return (
        "def _equip_module_enter(module):\n    try:\n"
        + body
        + "    except Exception as _equip_exc:\n        pass\n"
    )


CHECK_REFUSED = """
import json, sys
results = []
for source in json.load(sys.stdin):
    try:
        compile(source, "<snippet>", "exec")
        results.append(None)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as e:
        results.append(type(e).__name__ + ": " + str(e))
print(json.dumps(results))
"""


@pytest.mark.parametrize("minor", harness.pythons.ALL_VERSIONS)
def test_what_the_check_refuses_cpython_refuses(minor):
    python = harness.require_python(minor)
    sources = [in_hook_function(s) for s in REFUSED] + [
        in_hook_function(s) for s in COMPILER_ACCEPTS
    ]
    proc = subprocess.run(
        [str(python), "-c", CHECK_REFUSED],
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        check=True,
    )
    results = json.loads(proc.stdout)
    accepted = [REFUSED[i][:60] for i, r in enumerate(results[: len(REFUSED)]) if r is None]
    assert not accepted, f"CPython {minor} compiles snippets the check refuses: {accepted}"
    refused = [
        (COMPILER_ACCEPTS[i][:60], r)
        for i, r in enumerate(results[len(REFUSED) :])
        if r is not None
    ]
    assert not refused, f"CPython {minor} refuses snippets the check accepts: {refused}"
