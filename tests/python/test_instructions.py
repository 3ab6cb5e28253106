"""The ``instructions`` preset: a trace of every bytecode instruction the selected functions
execute.

The fixture package (``fixtures/itracefix``) has ``checksum``, with a loop, a branch, a call
and an exception handled inside, and two functions that are not selected (``helper``, called
by ``checksum``, and ``untraced``). Its wheel, as built (``.py``) and compiled by the
interpreter under test (``.pyc``), is instrumented with a config that layers
``[select] functions = ["checksum"]`` over the preset, installed into a fresh venv and run.
On every supported CPython the trace must be exactly the interpreter's own report for the
same calls: a reference run of the same installed package traces ``checksum`` with
``sys.settrace`` and ``frame.f_trace_opcodes`` and maps each opcode event (``f_lasti``,
``f_lineno``) to its instruction with ``dis``. The documented differences are applied to
the reference exactly: the preset's trace of a call starts after the call of the entry hook,
so the reference drops each frame's events up to that call; on 3.8-3.11 a generator is
traced to its first suspension only, so the reference drops a generator frame's events
after it. Functions that are not selected write nothing. A second run selects a generator
a coroutine and a recursive function, also called from a second thread, and a function with
EXTENDED_ARG prefixes: every thread and every level of the recursion is traced, and the
generator and the coroutine to their end on 3.12+. On 3.12+ a sys.monitoring
tool id already in use makes the preset take another (one warning, the same trace), and
no free id means one warning and no trace; an unwritable trace file is one warning and the
program runs unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import harness
import pyc_support
import pytest

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "itracefix"
OLD_PYTHONS = {"3.8", "3.9", "3.10", "3.11"}  # f_trace_opcodes, not sys.monitoring

#: What the fixture's run() and run_more() return (the same without instrumentation).
RESULT = [7, 0, 22]
RESULT_MORE = [[2, 1], 6, 0, 300, 5, 2]


def config(functions: list[str]) -> str:
    return f'preset = "instructions"\n\n[select]\nfunctions = {json.dumps(functions)}\n'


#: Runs the workload; the preset writes its trace to $EQUIP_INSTRUCTIONS_FILE.
DRIVER = """
import json, sys, itracefix.work as work
print(json.dumps(eval(sys.argv[1])))
"""

#: Runs a warm-up and then the workload (argv: JSON list of function names, warm-up and
#: workload expressions) with the interpreter's own tracer on the frames of those functions,
#: in every thread, and prints {"result", "traced"}: per thread, in the order
#: the threads first execute a traced instruction, the opcode events as [qualname, offset,
#: opname, arg, argrepr, repr(argval), line], mapped with dis, without each frame's events
#: up to the entry hook's call (the first CALL after the load of ``__equip_enter__``, or of
#: ``__equip_hooks__`` in a .pyc). On 3.8-3.11 a generator frame's events end at its first
#: suspension.
REFERENCE = """
import asyncio, dis, inspect, json, sys, threading
import itracefix.work as work

names, warm_up, workload = json.loads(sys.argv[1])
codes = {getattr(work, name).__code__: "itracefix.work:" + name for name in names}
stop_at_suspension = sys.version_info < (3, 12)
RESUMABLE = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


def describe(code):
    instructions = {i.offset: i for i in dis.get_instructions(code)}
    ordered = sorted(instructions)
    load = next(
        o for o in ordered if instructions[o].argval in ("__equip_enter__", "__equip_hooks__")
    )
    call = next(o for o in ordered if o > load and instructions[o].opname.startswith("CALL"))
    return instructions, call


described = {code: describe(code) for code in codes}
threads = {}
suspended = set()


def local(frame, event, arg):
    if event == "opcode" and frame not in suspended:
        threads.setdefault(threading.get_ident(), []).append(
            (frame.f_code, frame.f_lasti, frame.f_lineno)
        )
    elif event == "return" and stop_at_suspension and frame.f_code.co_flags & RESUMABLE:
        suspended.add(frame)
    return local


def on_call(frame, event, arg):
    if frame.f_code not in codes:
        return None
    frame.f_trace_lines = False
    frame.f_trace_opcodes = True
    return local


def collect():
    out = []
    for events in threads.values():
        rows = []
        for code, offset, line in events:
            instructions, hook_call = described[code]
            if offset > hook_call:
                i = instructions[offset]
                rows.append([codes[code], offset, i.opname, i.arg, i.argrepr, repr(i.argval), line])
        out.append(rows)
    threads.clear()
    return out


# CPython 3.12+ start a frame's opcode events late when f_trace_opcodes is first set in its
# "call" event (3.12 enables them at the next sys.settrace, 3.13+ on the code object at the
# frame's next call boundary): a warm-up under the tracer, and installing it again, make
# every later call report all of its opcodes, as 3.8-3.11 always do.
sys.settrace(on_call)
eval(warm_up)
sys.settrace(None)
collect()
threading.settrace(on_call)
sys.settrace(on_call)
result = eval(workload)
sys.settrace(None)
print(json.dumps({"result": result, "traced": collect()}))
"""


@pytest.fixture(scope="module")
def plain_wheel(tmp_path_factory) -> Path:
    return pyc_support.wheel_from_dir(
        FIXTURE, "itracefix", "1.0", tmp_path_factory.mktemp("itracefix")
    )


def installed(
    minor: str, variant: str, plain: Path, functions: list[str], tmp_path: Path
) -> harness.Venv:
    """A fresh venv of ``minor`` with the fixture wheel (``py`` or ``pyc`` members)
    instrumented with the preset selecting ``functions``."""
    python = harness.require_python(minor)
    wheel = plain
    if variant == "pyc":
        wheel = pyc_support.sourceless(plain, python, tmp_path / "sourceless")
        names = harness.wheel_members(wheel)
        assert "itracefix/work.pyc" in names and "itracefix/work.py" not in names
    out = tmp_path / "out"
    out.mkdir()
    (out / "equip.toml").write_text(config(functions))
    instrumented, _ = pyc_support.instrument(wheel, out / "wheelhouse", out / "equip.toml")
    venv = harness.Venv.create_with_uv(python, tmp_path / "venv")
    venv.uv_install("--no-deps", instrumented)
    return venv


def read_trace(path: Path) -> list[list]:
    """A trace file's lines, per thread in the order the threads first appear, as
    [qualname, offset, opname, arg, argrepr, value, line]; every line must have the eight
    tab-separated fields of the documented format."""
    threads: dict[str, list] = {}
    for text in path.read_text(encoding="utf-8").splitlines():
        thread, qualname, line, offset, opname, arg, argrepr, value = text.split("\t")
        threads.setdefault(thread, []).append(
            [
                qualname,
                int(offset),
                opname,
                None if arg == "-" else int(arg),
                argrepr,
                value,
                None if line == "-" else int(line),
            ]
        )
    return list(threads.values())


def traced_run(
    venv: harness.Venv, tmp_path: Path, workload: str, name: str, prelude: str = "", stderr=""
) -> tuple:
    """Runs ``prelude`` and ``workload`` with the preset writing to ``name-{pid}.txt`` and
    ``stderr`` expected: (result, trace, or None when no file was written)."""
    env = {
        "EQUIP_INSTRUCTIONS_FILE": str(tmp_path / f"{name}-{{pid}}.txt"),
        "EQUIP_INSTRUCTIONS_VALUES": "1",
    }
    proc = venv.run("-c", prelude + DRIVER, workload, cwd=tmp_path, env=env)
    assert proc.stderr == stderr
    files = list(tmp_path.glob(f"{name}-*.txt"))
    assert len(files) <= 1
    return json.loads(proc.stdout), read_trace(files[0]) if files else None


def reference_run(
    venv: harness.Venv, tmp_path: Path, functions: list[str], warm_up: str, workload: str
) -> tuple[dict, str]:
    """The reference tracer's report (see REFERENCE) and the stderr of its process, where
    the preset writes to ``ref-{pid}.txt``."""
    env = {
        "EQUIP_INSTRUCTIONS_FILE": str(tmp_path / "ref-{pid}.txt"),
        "EQUIP_INSTRUCTIONS_VALUES": "1",
    }
    argument = json.dumps([functions, warm_up, workload])
    proc = venv.run("-c", REFERENCE, argument, cwd=tmp_path, env=env)
    return json.loads(proc.stdout), proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["py", "pyc"])
@pytest.mark.parametrize("minor", harness.PY_VERSIONS)
def test_trace_equals_the_interpreters_own(minor, variant, plain_wheel, tmp_path):
    venv = installed(minor, variant, plain_wheel, ["checksum"], tmp_path)
    result, trace = traced_run(venv, tmp_path, "work.run()", "trace")
    assert result == RESULT

    # One thread; only the selected function writes (not helper, which it calls, nor
    # untraced); both calls of checksum, the second of an empty list.
    [lines] = trace
    assert {row[0] for row in lines} == {"itracefix.work:checksum"}

    data, stderr = reference_run(venv, tmp_path, ["checksum"], "work.checksum([])", "work.run()")
    assert data["result"] == RESULT
    [reference] = data["traced"]
    assert trace == data["traced"]
    # Each call starts at the same instruction, the one after the entry hook's call.
    starts = [i for i, row in enumerate(reference) if row[1] == reference[0][1]]
    assert len(starts) == 2 and starts[1] > 100
    empty_call = reference[starts[1] :]

    # The same process under the reference tracer. 3.12+ trace with sys.monitoring,
    # independently of sys.settrace, but CPython stops the INSTRUCTION events of every tool
    # on a code object once a trace function that set f_trace_opcodes on its frames is
    # reinstalled (3.12) or removed (3.13+): the preset traced the warm-up call,
    # checksum([]), exactly as the reference reported that call in the workload, and nothing
    # after it. 3.8-3.11 leave the frames to the installed
    # trace function, say so once, and write nothing.
    ref_files = list(tmp_path.glob("ref-*.txt"))
    if minor in OLD_PYTHONS:
        assert ref_files == []
        [warning] = stderr.splitlines()
        assert warning.startswith(
            "equip-wheel instructions preset: another trace function is installed"
        ), stderr
    else:
        assert stderr == ""
        [ref_file] = ref_files
        assert read_trace(ref_file) == [empty_call]


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["py", "pyc"])
@pytest.mark.parametrize("minor", harness.PY_VERSIONS)
def test_generators_recursion_threads(minor, variant, plain_wheel, tmp_path):
    functions = ["countdown", "pause", "factorial", "wide"]
    venv = installed(minor, variant, plain_wheel, functions, tmp_path)
    result, trace = traced_run(venv, tmp_path, "work.run_more()", "trace")
    assert result == RESULT_MORE

    warm_up = ", ".join(
        [
            "list(work.countdown(0))",
            "work.factorial(1)",
            "work.wide(False, 0)",
            "asyncio.run(work.pause(0))",
        ]
    )
    data, _ = reference_run(venv, tmp_path, functions, warm_up, "work.run_more()")
    assert data["result"] == RESULT_MORE
    assert trace == data["traced"]

    # Two threads: the main one ran countdown(2), factorial(3) (three levels), wide and
    # pause, the second factorial(2) (two levels). countdown yields twice; 3.8-3.11 trace it
    # only to the first yield.
    main, second = trace
    assert {row[0] for row in second} == {"itracefix.work:factorial"}
    returns = [row[0] for row in main + second if row[2].startswith("RETURN")]
    assert returns.count("itracefix.work:factorial") == 5
    yields = [row for row in main if row[0] == "itracefix.work:countdown"]
    yields = [row for row in yields if row[2] == "YIELD_VALUE"]
    assert len(yields) == (1 if minor in OLD_PYTHONS else 2)
    # pause awaits once: 3.8-3.11 trace it to that suspension, 3.12+ to its return.
    pause = [row[2] for row in main if row[0] == "itracefix.work:pause"]
    assert pause and (pause[-1] in ("YIELD_VALUE", "YIELD_FROM")) == (minor in OLD_PYTHONS)
    assert main[0][0] == "itracefix.work:countdown"
    # wide's jump over its long branch takes an EXTENDED_ARG: 3.8-3.11 report it in place
    # of the jump it prefixes, 3.12+ report both.
    assert any(row[0] == "itracefix.work:wide" and row[2] == "EXTENDED_ARG" for row in main)


@pytest.mark.parametrize("minor", [m for m in harness.PY_VERSIONS if m not in OLD_PYTHONS])
def test_monitoring_tool_ids_in_use(minor, plain_wheel, tmp_path):
    venv = installed(minor, "py", plain_wheel, ["checksum"], tmp_path)
    _, trace = traced_run(venv, tmp_path, "work.run()", "free")

    # Tool id 4 taken by another tool before the package is imported: the preset takes the
    # next free one, says so once, and traces the same.
    claim = "import sys; sys.monitoring.use_tool_id(4, 'another tool')\n"
    warning = (
        "equip-wheel instructions preset: sys.monitoring tool id 4 is in use "
        "('another tool'); using 3\n"
    )
    result, taken = traced_run(venv, tmp_path, "work.run()", "taken", claim, warning)
    assert result == RESULT and taken == trace

    # Every tool id taken: one warning, nothing traced, the program runs as before.
    claim_all = "import sys\nfor i in range(6): sys.monitoring.use_tool_id(i, 'tool %d' % i)\n"
    warning = (
        "equip-wheel instructions preset: every sys.monitoring tool id is in use: "
        "nothing is traced\n"
    )
    result, none = traced_run(venv, tmp_path, "work.run()", "none", claim_all, warning)
    assert result == RESULT and none is None


@pytest.mark.parametrize("minor", ["3.8", "3.11", "3.12", "3.15"])
def test_unwritable_file_is_reported_once(minor, plain_wheel, tmp_path):
    venv = installed(minor, "py", plain_wheel, ["checksum"], tmp_path)
    env = {"EQUIP_INSTRUCTIONS_FILE": str(tmp_path / "missing" / "trace-{pid}.txt")}
    proc = venv.run("-c", DRIVER, "work.run()", cwd=tmp_path, env=env)
    assert json.loads(proc.stdout) == RESULT
    [line] = proc.stderr.splitlines()
    assert line.startswith(
        "equip-wheel instructions preset: cannot write the trace: FileNotFoundError("
    ), proc.stderr
    assert not (tmp_path / "missing").exists()
