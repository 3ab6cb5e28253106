"""Helpers of the .pyc tests: sourceless wheels compiled by a given interpreter, and
instrumenting them with the CLI."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import harness

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Compiles the .py files named on stdin (JSON: {member: source path}) into .pyc files in
# the output directory, with co_filename set to the member path, as `compileall -d` does.
_COMPILE = r"""
import json, os, py_compile, sys
members = json.load(sys.stdin)
out = sys.argv[1]
failed = []
for member, path in members.items():
    dest = os.path.join(out, member[:-3] + ".pyc")
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    try:
        py_compile.compile(path, cfile=dest, dfile=member, doraise=True)
    except py_compile.PyCompileError as e:
        failed.append(member)
json.dump(failed, sys.stdout)
"""


def write_wheel(path: Path, members: dict[str, bytes], dist_info: str) -> Path:
    """Writes a wheel of `members`, in name order, with a fresh RECORD."""
    return harness.write_wheel(path, dict(sorted(members.items())), dist_info)


def wheel_from_dir(src: Path, name: str, version: str, out: Path) -> Path:
    """A pure-Python wheel of the packages in `src`."""
    members = {
        p.relative_to(src).as_posix(): p.read_bytes()
        for p in src.rglob("*.py")
        if "__pycache__" not in p.parts
    }
    return harness.build_wheel(out, name, version, dict(sorted(members.items())))


def sourceless(wheel: Path, python: Path, out_dir: Path) -> Path:
    """`wheel` with every `.py` replaced by `pkg/mod.pyc` compiled by `python` (RECORD
    regenerated). Files that do not compile under that Python keep their `.py`."""
    work = out_dir / "src"
    pyc_dir = out_dir / "pyc"
    with zipfile.ZipFile(wheel) as z:
        members = {n: z.read(n) for n in z.namelist() if not n.endswith("/")}
    dist_info = next(n.split("/")[0] for n in members if n.split("/")[0].endswith(".dist-info"))
    sources = {}
    for name, data in members.items():
        if name.endswith(".py") and not name.startswith(dist_info):
            path = work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            sources[name] = str(path)
    proc = subprocess.run(
        [str(python), "-c", _COMPILE, str(pyc_dir)],
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        check=True,
    )
    failed = set(json.loads(proc.stdout))
    for name in sources:
        if name in failed:
            continue
        del members[name]
        pyc = name[:-3] + ".pyc"
        members[pyc] = (pyc_dir / pyc).read_bytes()
    out = out_dir / wheel.name
    return write_wheel(out, members, dist_info)


def instrument(wheel: Path, out_dir: Path, config: Path) -> tuple[Path, dict]:
    """Instruments `wheel` with the CLI; returns the output wheel and the JSON report."""
    report = out_dir / "report.json"
    harness.run_equip(
        "instrument", wheel, "--config", config, "--out-dir", out_dir, "--report", report
    )
    data = json.loads(report.read_text())["wheels"][0]
    return Path(data["output"]), data
