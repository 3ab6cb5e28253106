#!/usr/bin/env python3
"""Generates src/bytecode/tables/pyXY.rs from the real CPython interpreters.

Each supported interpreter is asked (through its own ``opcode``, ``dis`` and
``importlib.util`` modules) for its opcode names, argument flags, jump kinds, inline
cache sizes and stack effects; the answers are written as one Rust table per minor
version. Run it from anywhere:

    python3 scripts/gen_bytecode_tables.py            # every interpreter scripts/pythons.py finds
    python3 scripts/gen_bytecode_tables.py --check    # exit 1 if the committed tables differ

The output is deterministic: the same interpreters give byte-identical files.

Stack effects are stored as a small model per opcode and per jump direction, fitted to
``dis.stack_effect`` over the arguments 0..1023 and verified there:
  * ``Linear(c, k)``: ``c + k * arg``;
  * ``Bits(c, [w0..w7])``: ``c + sum(w_j * bit_j(arg))`` (flag arguments);
  * ``Split(c, lo, hi)``: ``c + lo * (arg & 0xff) + hi * (arg >> 8)`` (UNPACK_EX);
  * ``Table([e0..e15])``: any other shape, valid for arguments below 16 only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pythons import lookup  # noqa: E402  (the one place that finds interpreters)

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "bytecode" / "tables"
VERSIONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15"]

# Runs inside each interpreter; prints one JSON document.
PROBE = r"""
import dis, json, opcode, sys, importlib.util

def has(name):
    return set(getattr(opcode, name, []))

hasarg = has("hasarg") if hasattr(opcode, "hasarg") else {
    op for op in range(256) if op >= opcode.HAVE_ARGUMENT}
cache = getattr(opcode, "_inline_cache_entries", None)
if cache is None:
    cache = getattr(dis, "_inline_cache_entries", None)

def cache_of(op, name):
    if cache is None:
        return 0
    if hasattr(cache, "keys"):  # a dict (3.13+), a frozendict (3.15)
        return cache.get(name, 0)
    return cache[op] if op < len(cache) else 0

def effect(op, arg, jump):
    try:
        if op in hasarg:
            return dis.stack_effect(op, arg, jump=jump)
        return dis.stack_effect(op, jump=jump)
    except (ValueError, TypeError):
        return None

ops = []
for op in range(256):
    name = opcode.opname[op]
    if name.startswith("<"):
        continue
    e = {}
    for jump in (False, True):
        args = range(1024) if op in hasarg else [0]
        e[str(jump)] = [effect(op, a, jump) for a in args]
    ops.append({
        "op": op,
        "name": name,
        "hasarg": op in hasarg,
        "jrel": op in has("hasjrel"),
        "jabs": op in has("hasjabs"),
        "const": op in has("hasconst"),
        "namei": op in has("hasname"),
        "local": op in has("haslocal"),
        "free": op in has("hasfree"),
        "cache": cache_of(op, name),
        "effect": e,
    })
print(json.dumps({
    "version": list(sys.version_info[:3]),
    "magic": int.from_bytes(importlib.util.MAGIC_NUMBER[:2], "little"),
    "have_argument": opcode.HAVE_ARGUMENT,
    "extended_arg": opcode.EXTENDED_ARG,
    "ops": ops,
}))
"""

# Instructions after which control never falls through (by name; the opcode module has no
# such list). Jumps among them are unconditional.
NO_FALLTHROUGH = {
    "RETURN_VALUE",
    "RETURN_CONST",
    "RAISE_VARARGS",
    "RERAISE",
    "JUMP_ABSOLUTE",
    "JUMP_FORWARD",
    "JUMP_BACKWARD",
    "JUMP_BACKWARD_NO_INTERRUPT",
}
# Jumps whose offset counts backwards (3.11+; END_ASYNC_FOR is a relative jump back to its
# loop's SEND from 3.14 on, a plain instruction before).
BACKWARD = {
    "END_ASYNC_FOR",
    "JUMP_BACKWARD",
    "JUMP_BACKWARD_NO_INTERRUPT",
    "POP_JUMP_BACKWARD_IF_FALSE",
    "POP_JUMP_BACKWARD_IF_TRUE",
    "POP_JUMP_BACKWARD_IF_NONE",
    "POP_JUMP_BACKWARD_IF_NOT_NONE",
}
# Jumps that only set up an exception handler or finally block (3.8-3.10): the jump
# target is reached only when an exception is raised (or via CALL_FINALLY on 3.8).
BLOCK_SETUP = {"SETUP_FINALLY", "SETUP_WITH", "SETUP_ASYNC_WITH", "SETUP_CLEANUP"}


def fit(values: list[int | None], hasarg: bool) -> str:
    """The Rust `Effect` expression for one opcode/jump direction."""
    if any(v is None for v in values):
        if all(v is None for v in values):
            return "Effect::Unknown"
        values = values[:16]
        if any(v is None for v in values):
            return "Effect::Unknown"
        return f"Effect::Table([{', '.join(map(str, values))}])"
    c = values[0]
    if not hasarg:
        return f"Effect::Linear({c}, 0)"
    k = values[1] - c
    if all(v == c + k * a for a, v in enumerate(values)):
        return f"Effect::Linear({c}, {k})"
    w = [values[1 << j] - c for j in range(10)]
    if (
        w[8] == 0
        and w[9] == 0
        and all(v == c + sum(w[j] for j in range(10) if a >> j & 1) for a, v in enumerate(values))
    ):
        return f"Effect::Bits({c}, [{', '.join(map(str, w[:8]))}])"
    lo, hi = values[1] - c, values[256] - c
    if all(v == c + lo * (a & 0xFF) + hi * (a >> 8) for a, v in enumerate(values)):
        return f"Effect::Split({c}, {lo}, {hi})"
    return f"Effect::Table([{', '.join(map(str, values[:16]))}])"


def render(data: dict, minor: str) -> str:
    major, mnr, patch = data["version"]
    lines = [
        f"//! Opcode table of CPython {major}.{mnr} (generated from {major}.{mnr}.{patch} by",
        "//! `scripts/gen_bytecode_tables.py`; do not edit).",
        "",
        "use super::{Effect, OpInfo, OpTable, flags::*};",
        "",
        f"/// The opcode table of CPython {major}.{mnr}.",
        "pub static TABLE: OpTable = OpTable {",
        f"    minor: {mnr},",
        f"    magic: {data['magic']},",
        f"    have_argument: {data['have_argument']},",
        f"    extended_arg: {data['extended_arg']},",
        "    ops: [",
    ]
    by_op = {o["op"]: o for o in data["ops"]}
    for op in range(256):
        o = by_op.get(op)
        if o is None:
            lines.append("        OpInfo::UNUSED,")
            continue
        flags = []
        if o["hasarg"]:
            flags.append("HAS_ARG")
        if o["jrel"]:
            flags.append("JREL")
        if o["jabs"]:
            flags.append("JABS")
        if o["const"]:
            flags.append("CONST")
        if o["namei"]:
            flags.append("NAME")
        if o["local"]:
            flags.append("LOCAL")
        if o["free"]:
            flags.append("FREE")
        if o["name"] in NO_FALLTHROUGH:
            flags.append("NO_FALLTHROUGH")
        if o["name"] in BACKWARD and o["jrel"]:
            flags.append("BACKWARD")
        if o["name"] in BLOCK_SETUP and int(mnr) <= 10:
            flags.append("BLOCK_SETUP")
        flag_expr = " | ".join(flags) if flags else "0"
        nojump = fit(o["effect"]["False"], o["hasarg"])
        jump = fit(o["effect"]["True"], o["hasarg"])
        lines.append(
            f"        OpInfo {{ name: {json.dumps(o['name'])}, flags: {flag_expr}, "
            f"cache: {o['cache']}, effect: {nojump}, jump_effect: {jump} }},"
        )
    lines += ["    ],", "};", ""]
    return "\n".join(lines)


def rustfmt(text: str) -> str:
    """``text`` as ``cargo fmt`` leaves it (the committed tables are formatted)."""
    return subprocess.run(
        ["rustfmt", "--edition", "2024", "--emit", "stdout"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed tables instead of writing"
    )
    args = parser.parse_args()
    status = 0
    for minor in VERSIONS:
        exe, why = lookup(minor)
        if exe is None:
            print(f"{why}: table not regenerated", file=sys.stderr)
            status = 1
            continue
        out = subprocess.run(
            [str(exe), "-c", PROBE], capture_output=True, text=True, check=True
        ).stdout
        text = rustfmt(render(json.loads(out), minor))
        path = OUT / f"py{minor.replace('.', '')}.rs"
        if args.check:
            if not path.exists() or path.read_text() != text:
                print(f"{path}: differs from what {exe} gives", file=sys.stderr)
                status = 1
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(REPO)} from {exe}")
    return status


if __name__ == "__main__":
    sys.exit(main())
