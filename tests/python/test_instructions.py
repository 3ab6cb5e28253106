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
``f_lineno``) to its instruction with ``dis``. The one documented difference: the preset's
trace of a call starts after the call of the entry hook, so the reference drops the events
up to that call. Functions that are not selected write nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import harness
import pyc_support
import pytest

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "itracefix"
SELECTED = "itracefix.work:checksum"

#: What the fixture's run() returns (the same with and without instrumentation).
RESULT = [7, 0, 22]

CONFIG = """\
preset = "instructions"

[select]
functions = ["checksum"]
"""

#: Runs the workload; the preset writes its trace to $EQUIP_INSTRUCTIONS_FILE.
DRIVER = """
import json, itracefix.work as work
print(json.dumps(work.run()))
"""

#: Runs the workload with the interpreter's own tracer on checksum's frames, and prints
#: its opcode events as (offset, opname, arg, argrepr, repr(argval), line), mapped with dis,
#: one list per
#: call, after dropping each call's events up to the entry hook's call (the first CALL
#: after the load of ``__equip_enter__``, or of ``__equip_hooks__`` in a ``.pyc``).
REFERENCE = """
import dis, json, sys
import itracefix.work as work

code = work.checksum.__code__
instructions = {i.offset: i for i in dis.get_instructions(code)}
ordered = sorted(instructions)
load = next(
    o for o in ordered if instructions[o].argval in ("__equip_enter__", "__equip_hooks__")
)
hook_call = next(o for o in ordered if o > load and instructions[o].opname.startswith("CALL"))
calls = []


def local(frame, event, arg):
    if event == "opcode":
        calls[-1].append((frame.f_lasti, frame.f_lineno))
    return local


def on_call(frame, event, arg):
    if frame.f_code is not code:
        return None
    calls.append([])
    frame.f_trace_lines = False
    frame.f_trace_opcodes = True
    return local


# CPython 3.12+ start a frame's opcode events late when f_trace_opcodes is first set in its
# "call" event (3.12 enables them at the next sys.settrace, 3.13+ on the code object at the
# frame's next call boundary): a first call under the tracer, and installing it again, make
# every later call report all of its opcodes, as 3.8-3.11 always do.
sys.settrace(on_call)
work.checksum([])
sys.settrace(None)
calls.clear()
sys.settrace(on_call)
result = work.run()
sys.settrace(None)
reference = [
    [
        [
            offset,
            instructions[offset].opname,
            instructions[offset].arg,
            instructions[offset].argrepr,
            repr(instructions[offset].argval),
            line,
        ]
        for offset, line in events
        if offset > hook_call
    ]
    for events in calls
]
print(json.dumps({"result": result, "reference": reference}))
"""


@pytest.fixture(scope="module")
def plain_wheel(tmp_path_factory) -> Path:
    return pyc_support.wheel_from_dir(
        FIXTURE, "itracefix", "1.0", tmp_path_factory.mktemp("itracefix")
    )


def instrumented(wheel: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    config = out / "equip.toml"
    config.write_text(CONFIG)
    path, report = pyc_support.instrument(wheel, out / "wheelhouse", config)
    return path


def installed(minor: str, variant: str, plain: Path, tmp_path: Path) -> harness.Venv:
    """A fresh venv of ``minor`` with the fixture wheel (``py`` or ``pyc`` members)
    instrumented with the preset."""
    python = harness.require_python(minor)
    wheel = plain
    if variant == "pyc":
        wheel = pyc_support.sourceless(plain, python, tmp_path / "sourceless")
        names = harness.wheel_members(wheel)
        assert "itracefix/work.pyc" in names and "itracefix/work.py" not in names
    venv = harness.Venv.create_with_uv(python, tmp_path / "venv")
    venv.uv_install("--no-deps", instrumented(wheel, tmp_path / "out"))
    return venv


def read_trace(path: Path) -> list[list[str]]:
    """The lines of a trace file, split into their tab-separated fields."""
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]


def calls_of(lines: list[list[str]], first_offset: str) -> list[list[list]]:
    """The trace lines as (offset, opname, arg, argrepr, value, line) lists, one list per
    call: a call starts at each line whose offset is the first instruction after the entry
    hook."""
    calls: list[list[list]] = []
    for _, _, line, offset, opname, arg, argrepr, value in lines:
        if offset == first_offset:
            calls.append([])
        calls[-1].append(
            [
                int(offset),
                opname,
                None if arg == "-" else int(arg),
                argrepr,
                value,
                None if line == "-" else int(line),
            ]
        )
    return calls


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["py", "pyc"])
@pytest.mark.parametrize("minor", harness.PY_VERSIONS)
def test_trace_equals_the_interpreters_own(minor, variant, plain_wheel, tmp_path):
    venv = installed(minor, variant, plain_wheel, tmp_path)
    env = {
        "EQUIP_INSTRUCTIONS_FILE": str(tmp_path / "trace-{pid}.txt"),
        "EQUIP_INSTRUCTIONS_VALUES": "1",
    }
    proc = venv.run("-c", DRIVER, cwd=tmp_path, env=env)
    assert json.loads(proc.stdout) == RESULT
    assert proc.stderr == ""
    [trace_file] = tmp_path.glob("trace-*.txt")
    lines = read_trace(trace_file)

    # Only the selected function writes; one thread; eight fields per line.
    assert {tuple(fields[1:2]) for fields in lines} == {(SELECTED,)}
    assert len({fields[0] for fields in lines}) == 1
    assert {len(fields) for fields in lines} == {8}

    ref = venv.run(
        "-c",
        REFERENCE,
        cwd=tmp_path,
        env={**env, "EQUIP_INSTRUCTIONS_FILE": str(tmp_path / "ref-{pid}.txt")},
    )
    data = json.loads(ref.stdout)
    assert data["result"] == RESULT
    reference = data["reference"]
    assert len(reference) == 2 and len(reference[0]) > 50 and reference[1]
    first = str(reference[0][0][0])
    assert calls_of(lines, first) == reference

    # The same process under the reference tracer. 3.12+ trace with sys.monitoring,
    # independently of sys.settrace, but CPython stops the INSTRUCTION events of every tool
    # on a code object once a trace function that set f_trace_opcodes on its frames is
    # reinstalled (3.12) or removed (3.13+): the preset traced the warm-up call, which is
    # reference[1]'s call (checksum([])), exactly, and nothing after it. 3.8-3.11 leave the
    # frames to the installed trace function, say so once, and write nothing.
    ref_files = list(tmp_path.glob("ref-*.txt"))
    if tuple(map(int, minor.split("."))) >= (3, 12):
        assert ref.stderr == ""
        [ref_file] = ref_files
        assert calls_of(read_trace(ref_file), first) == [reference[1]]
    else:
        assert ref_files == []
        [warning] = ref.stderr.splitlines()
        assert warning.startswith(
            "equip-wheel instructions preset: another trace function is installed"
        ), ref.stderr
