"""Peer (a) of the tool-speed benchmark: the instrumenter a user would write instead of
equip-wheel, in plain Python with the standard library only.

zipfile in; for every ``.py`` module: ``ast.parse``, a transform that calls enter/exit/error
hooks around every function body, ``ast.unparse``; zipfile out (deflated) with RECORD
regenerated. One process, as such a script would be. Usage::

    python3.11 benchmarks/ast_reference.py IN.whl OUT_DIR
"""

from __future__ import annotations

import ast
import base64
import csv
import hashlib
import io
import sys
import zipfile
from pathlib import Path

HOOKS_ALIAS = "_hooks"
HOOKS_IMPORT = "import equip_bench_hooks as _hooks"


def hook_call(name: str, *args: ast.expr) -> ast.Call:
    """``_hooks.<name>(*args)``."""
    func = ast.Attribute(ast.Name(HOOKS_ALIAS, ast.Load()), name, ast.Load())
    return ast.Call(func, list(args), [])


def name(id_: str, ctx: ast.expr_context | None = None) -> ast.Name:
    return ast.Name(id_, ctx or ast.Load())


class Returns(ast.NodeTransformer):
    """Routes the returns of one function body (not of nested scopes) through the exit hook."""

    def visit_Return(self, node: ast.Return):
        if node.value is None:
            # `return <value>` is not allowed in async generators: call, then return.
            return [ast.Expr(hook_call("exit", name("_e"), ast.Constant(None))), node]
        node.value = hook_call("exit", name("_e"), node.value)
        return node

    def visit_FunctionDef(self, node):  # nested scopes have their own returns
        return node

    visit_AsyncFunctionDef = visit_Lambda = visit_ClassDef = visit_FunctionDef


class Instrument(ast.NodeTransformer):
    """enter / try: body / except BaseException: error; raise / exit on fall-off."""

    def __init__(self) -> None:
        self.prefix: list[str] = []

    def visit_ClassDef(self, node: ast.ClassDef):
        self.prefix.append(node.name + ".")
        self.generic_visit(node)
        self.prefix.pop()
        return node

    def visit_FunctionDef(self, node):
        qualname = "".join(self.prefix) + node.name
        self.prefix.append(qualname + ".<locals>.")
        self.generic_visit(node)
        self.prefix.pop()
        doc = []
        body = node.body
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            doc, body = body[:1], body[1:]
        body = [Returns().visit(stmt) for stmt in body]
        flat = []
        for stmt in body:
            flat.extend(stmt if isinstance(stmt, list) else [stmt])
        enter = ast.Assign([name("_e", ast.Store())], hook_call("enter", ast.Constant(qualname)))
        handler = ast.ExceptHandler(
            name("BaseException"),
            "_x",
            [ast.Expr(hook_call("error", name("_e"), name("_x"))), ast.Raise()],
        )
        guarded = ast.Try(flat or [ast.Pass()], [handler], [], [])
        fall_off = ast.Expr(hook_call("exit", name("_e"), ast.Constant(None)))
        node.body = doc + [enter, guarded, fall_off]
        return node

    visit_AsyncFunctionDef = visit_FunctionDef


def instrument_source(source: bytes) -> bytes | None:
    """The instrumented module, or None when it does not parse (copied unchanged)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    tree = Instrument().visit(tree)
    # The hooks import goes after the docstring and `from __future__` imports.
    at = 0
    if (
        tree.body
        and isinstance(tree.body[0], ast.Expr)
        and isinstance(tree.body[0].value, ast.Constant)
    ):
        at = 1
    while (
        at < len(tree.body)
        and isinstance(tree.body[at], ast.ImportFrom)
        and tree.body[at].module == "__future__"
    ):
        at += 1
    tree.body[at:at] = ast.parse(HOOKS_IMPORT).body
    ast.fix_missing_locations(tree)
    return (ast.unparse(tree) + "\n").encode("utf-8")


def record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def instrument_wheel(src: Path, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = out_dir / src.name
    rows = []
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        record = next(n for n in zin.namelist() if n.endswith(".dist-info/RECORD"))
        for info in zin.infolist():
            if info.filename == record or info.is_dir():
                continue
            data = zin.read(info)
            if info.filename.endswith(".py") and ".dist-info/" not in info.filename:
                data = instrument_source(data) or data
            zout.writestr(info, data, zipfile.ZIP_DEFLATED)
            rows.append((info.filename, record_hash(data), len(data)))
        rows.append((record, "", ""))
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        zout.writestr(record, text.getvalue())
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.setrecursionlimit(100_000)  # sympy nests expressions deeper than the default allows
    instrument_wheel(Path(sys.argv[1]), Path(sys.argv[2]))
