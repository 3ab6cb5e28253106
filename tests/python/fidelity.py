"""Line fidelity of instrumented ``.py`` files, measured with the running interpreter's ``ast``.

    python fidelity.py ORIGINAL_DIR INSTRUMENTED_DIR [--json]

For every ``.py`` file under ORIGINAL_DIR that compiles with this interpreter, the file of
the same relative path under INSTRUMENTED_DIR must compile too. The original statements
(every ``ast.stmt``, nested ones included, in pre-order) are matched with the instrumented
file's statements after removing what equip-wheel injected (statements that only bind or call
``_equip_`` names, and the ``try`` blocks whose handler is equip-wheel's); a statement is kept
when its line number and its kind are unchanged. Runs on Python 3.8+ (no newer syntax here).
"""

from __future__ import annotations

import ast
import gc
import json
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

BODY_FIELDS = ("body", "orelse", "finalbody")


def _is_equip_name(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id.startswith(("_equip_", "__equip_"))


def _is_binding(node: ast.Call) -> bool:
    """The hooks binding: ``exec(getattr(<hooks module>, '_equip_bind_<tag>', ...), globals())``."""
    if not (isinstance(node.func, ast.Name) and node.func.id == "exec" and node.args):
        return False
    inner = node.args[0]
    return (
        isinstance(inner, ast.Call)
        and len(inner.args) == 3
        and isinstance(inner.args[1], ast.Constant)
        and str(inner.args[1].value).startswith("_equip_bind_")
    )


def _is_equip_call(node: ast.AST) -> bool:
    """``__equip_hooks__.<hook>(...)``, a direct hook call (``__equip_hooks__.tracer.start(...)``,
    ``__equip_enter__(...)``), or the hooks binding."""
    if not isinstance(node, ast.Call):
        return False
    if _is_binding(node):
        return True
    func = node.func
    while isinstance(func, ast.Attribute):
        func = func.value
    return _is_equip_name(func)


def is_injected(stmt: ast.stmt) -> bool:
    """Whether a statement is entirely equip-wheel's."""
    if isinstance(stmt, ast.Import):
        return all(a.asname == "_equip_h" for a in stmt.names)
    if isinstance(stmt, ast.Assign):
        return all(_is_equip_name(t) for t in stmt.targets)
    if isinstance(stmt, ast.Expr):
        return _is_equip_call(stmt.value)
    return False


def _is_deferred_exit(stmts: List[ast.stmt]) -> bool:
    """The ``finally`` of a function with deferred exits: ``_equip_l is None or <exit call>``."""
    if len(stmts) != 1 or not isinstance(stmts[0], ast.Expr):
        return False
    value = stmts[0].value
    return (
        isinstance(value, ast.BoolOp)
        and isinstance(value.values[0], ast.Compare)
        and _is_equip_name(value.values[0].left)
        and _is_equip_call(value.values[-1])
    )


def _is_leave(stmts: List[ast.stmt]) -> bool:
    """The ``finally`` of a function with deferred exits that cannot suspend: one call of the
    hooks module's leave function."""
    return len(stmts) == 1 and isinstance(stmts[0], ast.Expr) and _is_equip_call(stmts[0].value)


def is_injected_try(stmt: ast.stmt) -> bool:
    """The ``try`` equip-wheel wraps a function body in."""
    if isinstance(stmt, ast.Try) and not stmt.handlers and not stmt.orelse:
        return _is_leave(stmt.finalbody)
    if not isinstance(stmt, ast.Try) or len(stmt.handlers) != 1 or stmt.orelse:
        return False
    if stmt.finalbody and not _is_deferred_exit(stmt.finalbody):
        return False
    handler = stmt.handlers[0]
    body = handler.body
    deferred = bool(stmt.finalbody)
    if deferred:
        # A function with deferred exits first clears `_equip_l`.
        if not (body and isinstance(body[0], ast.Assign) and is_injected(body[0])):
            return False
        body = body[1:]
        if len(body) == 1 and isinstance(body[0], ast.Raise) and body[0].exc is None:
            return (
                handler.name is None
                and isinstance(handler.type, ast.Name)
                and handler.type.id == "BaseException"
            )
    # The handler is exactly `<hook call>; raise`.
    shape = (
        len(body) == 2
        and isinstance(body[0], ast.Expr)
        and isinstance(body[1], ast.Raise)
        and body[1].exc is None
    )
    if handler.name == "_equip_x":
        return shape
    return (
        shape
        and isinstance(handler.type, ast.Name)
        and handler.type.id == "GeneratorExit"
        and _is_equip_call(body[0].value)
    )


def statements(body: List[ast.stmt], strip: bool) -> Iterator[ast.stmt]:
    """Pre-order walk of statements; with ``strip``, equip-wheel's are removed."""
    for stmt in body:
        if strip and is_injected(stmt):
            continue
        if strip and is_injected_try(stmt):
            yield from statements(stmt.body, strip)
            continue
        yield stmt
        for field in BODY_FIELDS:
            yield from statements(getattr(stmt, field, None) or [], strip)
        for handler in getattr(stmt, "handlers", None) or []:
            yield from statements(handler.body, strip)
        for case in getattr(stmt, "cases", None) or []:
            yield from statements(case.body, strip)


def compare(
    original: ast.Module, instrumented: ast.Module
) -> Tuple[int, int, List[Tuple[int, int, str]]]:
    """(statements, kept, moved as (old line, new line, kind)) for one file's two trees."""
    old = list(statements(original.body, strip=False))
    new = list(statements(instrumented.body, strip=True))
    if len(old) != len(new):
        raise ValueError(f"statement count differs: {len(old)} original, {len(new)} instrumented")
    moved = [
        (a.lineno, b.lineno, type(a).__name__)
        for a, b in zip(old, new)
        if a.lineno != b.lineno or type(a) is not type(b)
    ]
    return len(old), len(old) - len(moved), moved


def parse_and_compile(source: bytes, filename: str) -> ast.Module:
    """The tree of ``source``, after checking that it compiles (each file is parsed once)."""
    tree = ast.parse(source, filename)
    compile(tree, filename, "exec", dont_inherit=True)
    return tree


def measure(original_dir: Path, instrumented_dir: Path) -> Dict[str, object]:
    """Fidelity and compilation over every ``.py`` file of ``original_dir``."""
    gc.disable()  # trees are freed by reference counting; cycle collection only costs time here
    total = kept = files = 0
    not_compiling: List[str] = []
    mismatched: List[str] = []
    worst: List[Tuple[str, int, int]] = []
    for path in sorted(original_dir.rglob("*.py")):
        rel = path.relative_to(original_dir)
        source = path.read_bytes()
        try:
            old_tree = parse_and_compile(source, str(path))
        except (SyntaxError, ValueError):
            continue  # the original does not compile here either
        files += 1
        target = instrumented_dir / rel
        new_source = target.read_bytes() if target.exists() else b""
        try:
            new_tree = parse_and_compile(new_source, str(target))
        except (SyntaxError, ValueError) as e:
            not_compiling.append(f"{rel}: {e}")
            continue
        try:
            n, k, _ = compare(old_tree, new_tree)
        except ValueError as e:
            mismatched.append(f"{rel}: {e}")
            continue
        total += n
        kept += k
        if n != k:
            worst.append((str(rel), n - k, n))
    worst.sort(key=lambda w: -w[1])
    return {
        "python": "%d.%d" % sys.version_info[:2],
        "files": files,
        "statements": total,
        "kept": kept,
        "ratio": kept / total if total else 1.0,
        "not_compiling": not_compiling,
        "mismatched": mismatched,
        "worst": worst[:10],
    }


if __name__ == "__main__":
    result = measure(Path(sys.argv[1]), Path(sys.argv[2]))
    if "--json" in sys.argv:
        print(json.dumps(result))
    else:
        print(
            "Python {python}: {kept}/{statements} statements kept their line ({pct:.3f}%) "
            "in {files} files; {nc} did not compile, {mm} mismatched".format(
                pct=100 * result["ratio"],
                nc=len(result["not_compiling"]),
                mm=len(result["mismatched"]),
                **result,
            )
        )
        for w in result["worst"]:
            print("  ", w)
        for line in result["not_compiling"][:10] + result["mismatched"][:10]:
            print("  !", line)
