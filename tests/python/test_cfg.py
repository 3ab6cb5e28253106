"""Control-flow analysis (`equip-wheel cfg`, `equip_wheel.cfg`) of every code object of the
six real wheels, as `.py` (compiled by the interpreter under test) and as sourceless `.pyc`
wheels compiled by it, on every supported CPython (3.8 to 3.15; a missing one is skipped).

For each code object the document must agree with `dis` run by that interpreter on the same
code object (every instruction's offset, opname, argument and line, EXTENDED_ARG prefixes
folded), partition the instructions into blocks (each in exactly one), and carry dominators,
dominance frontiers, post-dominators and depth-first orders equal to those recomputed here
from the document's own edges by a different algorithm: the set-based iterative data-flow
definition (Dom(n) = {n} ∪ ⋂ Dom(preds)) and the definition of the frontier. The Graphviz
output must parse with `dot`, and the command line's errors must carry their exit codes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import equip_wheel
import harness
import pyc_support
import pytest

#: Every CPython whose bytecode the analysis reads.
PYTHONS = harness.PY_VERSIONS
NAMES = [name for name, _ in harness.REAL_WHEELS]

#: Run by the interpreter under test: for each member (its bytes in a file), the code
#: objects CPython makes of it in the analysis' order (module body, then `co_consts` depth
#: first, each object once) with `dis`'s instructions.
_DIS = r"""
import dis, json, marshal, sys
JUMPS = set(dis.hasjrel) | set(getattr(dis, "hasjabs", []))

def exception_table(code):
    # (start, end, handler) byte offsets of each 3.11+ entry, decoded from the table's
    # definition: varints of 6-bit big-endian chunks, bit 6 continuing, units of 2 bytes.
    data = getattr(code, "co_exceptiontable", b"")
    pos = [0]
    def varint():
        b = data[pos[0]]
        pos[0] += 1
        value = b & 63
        while b & 64:
            b = data[pos[0]]
            pos[0] += 1
            value = (value << 6) | (b & 63)
        return value
    out = []
    while pos[0] < len(data):
        start, length, target = varint() * 2, varint() * 2, varint() * 2
        varint()
        out.append([start, start + length, target])
    return out

members = json.load(sys.stdin)
out = {}
for member, path in members.items():
    data = open(path, "rb").read()
    if member.endswith(".pyc"):
        root = marshal.loads(data[16:])
    else:
        root = compile(data, member, "exec", dont_inherit=True)
    codes, seen, stack = [], set(), [root]
    while stack:
        code = stack.pop()
        if id(code) in seen:
            continue
        seen.add(id(code))
        instructions, line = [], None
        lines = list(code.co_lines()) if hasattr(code, "co_lines") else None
        for i in dis.get_instructions(code):
            if getattr(i, "positions", None) is not None:  # 3.11+
                line = i.positions.lineno
            elif lines is not None:  # 3.10: PEP 626 ranges, some without a line
                line = next((n for a, b, n in lines if a <= i.offset < b), None)
            elif i.starts_line is not None:  # 3.8, 3.9: the line in effect
                line = i.starts_line
            target = i.argval if i.opcode in JUMPS else None
            instructions.append([i.offset, i.opname, i.arg, line, target])
        codes.append({
            "qualname": getattr(code, "co_qualname", None),
            "name": code.co_name,
            "firstlineno": code.co_firstlineno,
            "size": len(code.co_code),
            "exception_table": exception_table(code),
            "instructions": instructions,
        })
        nested = [c for c in code.co_consts if isinstance(c, type(root))]
        stack.extend(reversed(nested))
    out[member] = codes
json.dump(out, sys.stdout)
"""


def _modules(wheel: Path) -> dict[str, str]:
    """Module name -> member of every `.py`/`.pyc` module of a purelib wheel."""
    out = {}
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if ".dist-info/" in name or not name.endswith((".py", ".pyc")):
                continue
            stem = name.rsplit(".", 1)[0]
            parts = stem.split("/")
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = name
    return out


def _dis_reference(wheel: Path, members: list[str], python: Path, tmp: Path) -> dict:
    """`_DIS` of `members` of `wheel`, run by `python`."""
    paths = {}
    with zipfile.ZipFile(wheel) as z:
        for i, member in enumerate(members):
            path = tmp / f"m{i}"
            path.write_bytes(z.read(member))
            paths[member] = str(path)
    proc = subprocess.run(
        [str(python), "-I", "-c", _DIS],
        input=json.dumps(paths),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict = json.loads(proc.stdout)
    return result


def _bits(mask: int) -> list[int]:
    out, i = [], 0
    while mask:
        if mask & 1:
            out.append(i)
        mask >>= 1
        i += 1
    return out


def _reference_dominators(
    n: int, succs: list[list[int]], entry: int
) -> tuple[list[int | None], list[list[int]], set[int]]:
    """Immediate dominators, dominance frontiers and the reachable nodes, from the data-flow
    definition: Dom(entry) = {entry}; Dom(v) = {v} ∪ ⋂ Dom(p) over reachable predecessors p,
    iterated to the fixed point (sets as bit masks); idom(v) is the strict dominator of v
    with the most dominators; y is in DF(x) when x dominates a reachable predecessor of y but
    does not strictly dominate y."""
    reach, todo = {entry}, [entry]
    while todo:
        for s in succs[todo.pop()]:
            if s not in reach:
                reach.add(s)
                todo.append(s)
    preds: list[set[int]] = [set() for _ in range(n)]
    for a in range(n):
        for b in succs[a]:
            preds[b].add(a)
    full = (1 << n) - 1
    dom = [full] * n
    dom[entry] = 1 << entry
    order = sorted(reach)
    changed = True
    while changed:
        changed = False
        for v in order:
            if v == entry:
                continue
            new = full
            for p in preds[v]:
                if p in reach:
                    new &= dom[p]
            new |= 1 << v
            if new != dom[v]:
                dom[v] = new
                changed = True
    idom: list[int | None] = [None] * n
    for v in order:
        strict = [d for d in _bits(dom[v]) if d != v]
        if strict:
            idom[v] = max(strict, key=lambda d: bin(dom[d]).count("1"))
    frontiers: list[set[int]] = [set() for _ in range(n)]
    for y in order:
        for p in preds[y]:
            if p not in reach:
                continue
            for x in _bits(dom[p]):
                if not (x != y and dom[y] >> x & 1):
                    frontiers[x].add(y)
    return idom, [sorted(f) for f in frontiers], reach


def _reference_dfs(succs: list[list[int]], entry: int) -> tuple[list[int], list[int]]:
    """Pre- and post-order of a recursive depth-first search, successors in edge order."""
    pre: list[int] = []
    post: list[int] = []
    seen: set[int] = set()

    def visit(v: int) -> None:
        seen.add(v)
        pre.append(v)
        for s in succs[v]:
            if s not in seen:
                visit(s)
        post.append(v)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(succs) + 100))
    try:
        visit(entry)
    finally:
        sys.setrecursionlimit(limit)
    return pre, post


def _children(idom: list[int | None], size: int) -> list[list[int]]:
    tree: list[list[int]] = [[] for _ in range(size)]
    for v, d in enumerate(idom):
        if d is not None:
            tree[d].append(v)
    return tree


def check_edges_against_the_code(code: dict, expected: dict, where: str) -> None:
    """Jump edges go where the jump instructions (as `dis` decodes them) land; exception
    edges (3.11+) are exactly those of the exception table as CPython encodes it."""
    blocks = code["blocks"]
    block_at = {}
    for b in blocks:
        for ins in b["instructions"]:
            block_at[ins["offset"] - 2 * ins["extended_args"]] = b["index"]
    edges = {(e["from"], e["to"], e["kind"]) for e in code["edges"]}
    for b in blocks:
        last = b["instructions"][-1]
        if last["target"] is None or last["opname"] == "END_ASYNC_FOR":
            continue
        kind = "exception" if last["opname"].startswith("SETUP_") else "jump"
        assert (b["index"], block_at[last["target"]], kind) in edges, f"{where}: {last}"
    table = expected["exception_table"]
    if not table:
        return
    from_table = set()
    for start, end, handler in table:
        for b in blocks:
            if any(start <= i["offset"] < end for i in b["instructions"]):
                from_table.add((b["index"], block_at[handler], "exception"))
    assert {e for e in edges if e[2] == "exception"} == from_table, where


def check_code_object(code: dict, expected: dict, where: str) -> None:
    """Asserts one code object of the document against `dis` and the reference algorithms."""
    where = f"{where}:{code['qualname']}"
    # 3.8-3.10 have no co_qualname (the analysis reconstructs it): compare co_name there.
    if expected["qualname"] is not None:
        assert code["qualname"] == expected["qualname"], where
    assert code["name"] == expected["name"], where
    assert code["firstlineno"] == expected["firstlineno"], where
    blocks = code["blocks"]
    n = len(blocks)
    assert n > 0, where
    # Blocks tile co_code in order; every instruction lies in exactly one block.
    assert [b["index"] for b in blocks] == list(range(n)), where
    assert blocks[0]["start"] == 0 and blocks[-1]["end"] == expected["size"], where
    for a, b in zip(blocks, blocks[1:]):
        assert a["end"] == b["start"], where
    ours = []
    for b in blocks:
        assert b["instructions"], f"{where}: empty block {b['index']}"
        for ins in b["instructions"]:
            start = ins["offset"] - 2 * ins["extended_args"]
            assert b["start"] <= start and ins["offset"] < b["end"], f"{where}: {ins}"
            ours.append(ins)
    offsets = [i["offset"] for i in ours]
    assert offsets == sorted(set(offsets)), f"{where}: an instruction in two blocks"
    # The same instructions as dis, EXTENDED_ARG prefixes folded into what they extend.
    theirs, prefixes = [], 0
    for offset, opname, arg, line, target in expected["instructions"]:
        if opname == "EXTENDED_ARG":
            prefixes += 1
            continue
        theirs.append(
            {
                "offset": offset,
                "extended_args": prefixes,
                "opname": opname,
                "arg": arg,
                "line": line,
                "target": target,
            }
        )
        prefixes = 0
    fields = ("offset", "extended_args", "opname", "arg", "line", "target")
    mine = [{k: i[k] for k in fields} for i in ours]
    assert mine == theirs, where
    # Edges: valid blocks, a kind each.
    succs: list[list[int]] = [[] for _ in range(n)]
    for e in code["edges"]:
        assert 0 <= e["from"] < n and 0 <= e["to"] < n, where
        assert e["kind"] in ("normal", "jump", "exception"), where
        succs[e["from"]].append(e["to"])
    check_edges_against_the_code(code, expected, where)
    # Dominators and frontiers, recomputed from the edges.
    assert code["entry"] == 0, where
    idom, frontiers, reach = _reference_dominators(n, succs, 0)
    dom = code["dominators"]
    assert dom["idom"] == idom, where
    assert dom["frontiers"] == frontiers, where
    assert dom["tree"] == _children(idom, n), where
    assert code["unreachable"] == sorted(set(range(n)) - reach), where
    # Post-dominators: the same on the reverse graph from a virtual exit (node n) whose
    # edges go to every block without successors.
    reverse: list[list[int]] = [[] for _ in range(n + 1)]
    for a in range(n):
        for b in succs[a]:
            reverse[b].append(a)
    reverse[n] = [b for b in range(n) if not succs[b]]
    ipdom, post_frontiers, post_reach = _reference_dominators(n + 1, reverse, n)
    post = code["post_dominators"]
    assert post["exit"] == n, where
    assert post["ipdom"] == ipdom[:n], where
    assert post["frontiers"] == post_frontiers[:n], where
    assert post["tree"] == _children(ipdom, n + 1), where
    assert post["no_exit"] == sorted(set(range(n)) - post_reach), where
    # Depth-first orders.
    pre, postorder = _reference_dfs(succs, 0)
    t = code["traversal"]
    assert t["preorder"] == pre, where
    assert t["postorder"] == postorder, where
    assert t["reverse_postorder"] == postorder[::-1], where


def _wheel(kind: str, name: str, python: Path, real_wheels, tmp: Path) -> Path:
    """The real wheel, or a sourceless copy of it compiled by `python`."""
    if kind == "py":
        path: Path = real_wheels[name]
        return path
    return pyc_support.sourceless(real_wheels[name], python, tmp / "sourceless")


@pytest.mark.parametrize("kind", ["py", "pyc"])
@pytest.mark.parametrize("minor", PYTHONS)
@pytest.mark.parametrize("name", NAMES)
def test_every_code_object_of_the_six_wheels(name, minor, kind, real_wheels, tmp_path):
    python = harness.require_python(minor)
    wheel = _wheel(kind, name, python, real_wheels, tmp_path)
    modules = _modules(wheel)
    if kind == "pyc":
        assert all(m.endswith(".pyc") for m in modules.values()), modules
    expected = _dis_reference(wheel, sorted(modules.values()), python, tmp_path)
    checked = handlers = exception_edges = 0
    for module, member in sorted(modules.items()):
        doc = equip_wheel.cfg(wheel, module, python=python)
        assert doc["schema"] == "equip-cfg/1"
        assert doc["member"] == member and doc["source"] == kind
        assert doc["python"]["version"].startswith(minor), doc["python"]
        if kind == "py":
            assert doc["python"]["executable"], doc["python"]
        codes = doc["code_objects"]
        want = expected[member]
        assert [c["name"] for c in codes] == [c["name"] for c in want], member
        for code, exp in zip(codes, want):
            check_code_object(code, exp, f"{wheel.name}:{member}")
            checked += 1
            handlers += bool(exp["exception_table"])
            exception_edges += sum(e["kind"] == "exception" for e in code["edges"])
    assert checked > 0
    # Every one of the six has try/except or with: exception edges were compared.
    assert exception_edges > 0
    if minor not in ("3.8", "3.9", "3.10"):
        assert handlers > 0


def _cli_json(*args) -> dict:
    proc = harness.run_equip("cfg", *args, "--format", "json")
    result: dict = json.loads(proc.stdout)
    return result


def test_cli_and_api_agree_and_name_the_interpreter(real_wheels):
    """The CLI prints the API's document; without --python the console script compiles
    with the interpreter it runs in, and says so (JSON and text)."""
    wheel = real_wheels["click"]
    target = "click.core:Context.invoke"
    from_cli = _cli_json(wheel, target)
    from_api = equip_wheel.cfg(wheel, target)
    # The same interpreter, maybe by another name (python3 in the script's shebang).
    assert {**from_cli, "python": None} == {**from_api, "python": None}
    # Two @overload stubs and the implementation share the qualname.
    assert [c["firstlineno"] for c in from_cli["code_objects"]] == [714, 723, 732]
    assert {c["qualname"] for c in from_cli["code_objects"]} == {"Context.invoke"}
    version = "%d.%d.%d" % sys.version_info[:3]
    exe = from_cli["python"]["executable"]
    assert from_cli["python"]["version"] == version
    # The console script runs in this test's interpreter (maybe by another name).
    assert Path(exe).resolve() == Path(sys.executable).resolve(), exe
    text = harness.run_equip("cfg", wheel, target).stdout
    assert f"compiled by {exe} (Python {version})" in text.splitlines()[0]
    assert "== Context.invoke (function, line " in text
    assert "dominator tree:" in text and "reverse post-order:" in text
    # --python picks another one.
    python = harness.require_python("3.13")
    other = _cli_json(wheel, target, "--python", python)
    assert other["python"]["version"].startswith("3.13.")


def test_nested_qualnames_select_one_code_object(real_wheels):
    wheel = real_wheels["attrs"]
    doc = equip_wheel.cfg(wheel, "attr._make")
    nested = [c["qualname"] for c in doc["code_objects"] if ".<locals>." in c["qualname"]]
    assert nested, "attr._make has nested functions"
    # Every code object with the qualname (comprehensions of one function share theirs).
    for qualname in set(nested):
        one = equip_wheel.cfg(wheel, f"attr._make:{qualname}")
        assert [c["qualname"] for c in one["code_objects"]] == [q for q in nested if q == qualname]
        assert one["code_objects"] == [c for c in doc["code_objects"] if c["qualname"] == qualname]
    assert doc["code_objects"][0]["qualname"] == "<module>"
    assert doc["code_objects"][0]["kind"] == "module"
    kinds = {c["kind"] for c in doc["code_objects"]}
    assert {"module", "class", "function"} <= kinds, kinds


def _require_dot() -> str:
    dot = shutil.which("dot")
    if dot is None:
        if os.environ.get("EQUIP_SKIP_GRAPHVIZ"):
            pytest.skip("Graphviz left out by EQUIP_SKIP_GRAPHVIZ")
        pytest.fail(
            "Graphviz `dot` is not installed (scripts/test.sh installs it with apt-get; "
            "set EQUIP_SKIP_GRAPHVIZ=1 to skip this test deliberately)"
        )
    return dot


@pytest.mark.parametrize(
    "name, target",
    [
        ("click", "click.core:Context.invoke"),
        ("six", "six"),
        ("attrs", "attr._make:_ClassBuilder.__init__"),
        ("packaging", "packaging.version:Version.__init__"),
    ],
)
def test_dot_output_renders_with_graphviz(name, target, real_wheels, tmp_path):
    dot = _require_dot()
    wheel = real_wheels[name]
    out = harness.run_equip("cfg", wheel, target, "--format", "dot").stdout
    doc = equip_wheel.cfg(wheel, target)
    assert out.count("digraph ") == len(doc["code_objects"])
    edges = sum(len(c["edges"]) for c in doc["code_objects"])
    assert out.count(" -> b") == edges
    proc = subprocess.run([dot, "-Tsvg"], input=out, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("<svg") == len(doc["code_objects"])
    # Each code object in canonical form is one graph with its blocks as nodes.
    canon = subprocess.run([dot, "-Tcanon"], input=out, capture_output=True, text=True)
    assert canon.returncode == 0, canon.stderr


def test_cli_errors(real_wheels, tmp_path):
    wheel = real_wheels["packaging"]
    missing = harness.run_equip("cfg", wheel, "packaging.verson", check=False)
    assert missing.returncode == 2, missing.stderr
    assert missing.stdout == ""
    assert "no module packaging.verson" in missing.stderr
    assert "did you mean" in missing.stderr and "packaging.version" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    qual = harness.run_equip("cfg", wheel, "packaging.version:Verson.__init__", check=False)
    assert qual.returncode == 2, qual.stderr
    assert "no code object Verson.__init__ in module packaging.version" in qual.stderr
    assert "did you mean: Version.__init__" in qual.stderr
    bad = harness.run_equip("cfg", wheel, ":x", check=False)
    assert bad.returncode == 2 and "MODULE:QUALNAME" in bad.stderr
    not_a_wheel = tmp_path / "notes.txt"
    not_a_wheel.write_text("hello")
    broken = harness.run_equip("cfg", not_a_wheel, "x", check=False)
    assert broken.returncode == 1 and "not a wheel file name" in broken.stderr
    fake = tmp_path / "pkg-1.0-py3-none-any.whl"
    fake.write_bytes(b"not a zip")
    broken = harness.run_equip("cfg", fake, "pkg", check=False)
    assert broken.returncode == 1 and broken.stderr.startswith("equip-wheel: error:")
    absent = harness.run_equip("cfg", tmp_path / "absent-1.0-py3-none-any.whl", "x", check=False)
    assert absent.returncode == 1 and "no such file" in absent.stderr
    no_python = harness.run_equip(
        "cfg", wheel, "packaging.version", "--python", tmp_path / "nopython", check=False
    )
    assert no_python.returncode == 2 and "cannot run the Python interpreter" in no_python.stderr
    with pytest.raises(equip_wheel.ConfigError, match="no module packaging.verson"):
        equip_wheel.cfg(wheel, "packaging.verson")


def test_syntax_error_and_unsupported_bytecode(tmp_path):
    src = tmp_path / "src" / "pkg"
    src.mkdir(parents=True)
    (src / "__init__.py").write_text("def f(:\n    pass\n")
    (src / "ok.py").write_text("def g(x):\n    return x\n")
    wheel = pyc_support.wheel_from_dir(tmp_path / "src", "pkg", "1.0", tmp_path)
    proc = harness.run_equip("cfg", wheel, "pkg", check=False)
    assert proc.returncode == 1, proc.stderr
    assert "pkg/__init__.py: does not compile with" in proc.stderr
    assert "SyntaxError" in proc.stderr
    with pytest.raises(equip_wheel.InstrumentError, match="does not compile"):
        equip_wheel.cfg(wheel, "pkg")
    # Bytecode of a Python the bytecode layer does not read (3.7).
    python37, why = harness.pythons.lookup("3.7")
    if python37 is None:
        pytest.skip(why)
    (src / "__init__.py").write_text("")
    old = pyc_support.sourceless(wheel, python37, tmp_path / "py37")
    proc = harness.run_equip("cfg", old, "pkg.ok", check=False)
    assert proc.returncode == 1, proc.stderr
    assert "compiled for Python 3.7" in proc.stderr
    # A .py member compiled by a 3.7 interpreter: the same error, naming the interpreter.
    proc = harness.run_equip("cfg", wheel, "pkg.ok", "--python", python37, check=False)
    assert proc.returncode == 1, proc.stderr
    assert f"{python37} compiled it for Python 3.7" in proc.stderr
