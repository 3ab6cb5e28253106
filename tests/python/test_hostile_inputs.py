"""Hostile and broken input: never a crash, a hang, a memory blow-up or a silently bad wheel.

Every case of the generated corpus (hostile_cases.py: broken zips, hostile wheels, modules
and ``.pyc`` files, configs, process conditions; built at test time) is run through

- the command line (``test_cli``): the documented exit code, exactly one ``error:`` line
  naming the member, file or key, no raw control characters in what is printed, no panic,
  nothing left in the output directory (or exactly the expected wheel, which ``verify``
  accepts), the inputs unchanged;
- ``verify`` (``test_verify_agrees``): accepts or rejects the wheel as expected, and when it
  rejects it, ``instrument`` rejects it with the same message;
- the Python API (``test_api``): the documented exception class with the same properties,
  ``load_config`` for config cases, ``verify_wheel`` agreeing with ``instrument_wheel``;
- the PEP 517 backend (``test_backend``): ``equip_wheel.build.build_wheel`` of a tiny
  project whose in-tree backend produces the hostile wheel, or whose ``[tool.equip-wheel]``
  table holds the hostile config: one error line, ``SystemExit(1)``, nothing in the wheel
  directory.

Each run is a child process with a 120 s timeout whose peak RSS (``os.wait4``) must stay
under twice the largest legitimate member plus 200 MB; a watchdog stops a child that goes
past it. ``EQUIP_HOSTILE_TIMEOUT`` shortens the timeout for exploratory runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import hostile_cases as hc
import pytest

CASES = hc.all_cases()
TIMEOUT = float(os.environ.get("EQUIP_HOSTILE_TIMEOUT", "120"))
RSS_BASE = 200 * hc.MB

PANIC_MARKERS = [
    "panicked at",
    "stack backtrace",
    "RUST_BACKTRACE",
    "Traceback (most recent",
    "Segmentation fault",
    "fatal runtime error",
    "memory allocation of",
]
#: Characters that must never reach a terminal raw: C0 controls but tab and newline, DEL, C1.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
ERROR_PREFIXES = ("equip-wheel: error:", "error:")
#: The other lines a run may print to stderr: the banner, warnings and notices, per-wheel
#: summaries and their indented details, argument-parser hints.
OTHER_LINE = re.compile(r"equip-wheel|error:|\[\d+/\d+\] |  |Usage:|For more information|tip:")


def by_id(cases: list[hc.Case]) -> list:
    return [pytest.param(c, id=c.id) for c in cases]


# ---------------------------------------------------------------------------------------
# Running a child: exit code, output, peak RSS, timeout.


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    max_rss: int
    #: Why the child was stopped by us (timeout, RSS), or "".
    stopped: str

    def describe(self) -> str:
        return (
            f"exit {self.code}{' (' + self.stopped + ')' if self.stopped else ''}, "
            f"peak RSS {self.max_rss // hc.MB} MB\nstdout:\n{self.stdout[-3000:]}\n"
            f"stderr:\n{self.stderr[-3000:]}"
        )


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_child(
    cmd: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    rss_cap: int,
    file_size_limit: int | None = None,
) -> Run:
    """Runs ``cmd``; stops it after TIMEOUT seconds or once its RSS passes ``rss_cap``.
    ``file_size_limit``: the child's RLIMIT_FSIZE (SIGXFSZ ignored, so writes past it fail
    with EFBIG)."""

    def limit() -> None:
        if file_size_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=limit,
        )
        deadline = time.monotonic() + TIMEOUT
        stopped = ""
        delay = 0.002
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if not stopped:
                if time.monotonic() > deadline:
                    stopped = f"timed out after {TIMEOUT:.0f} s"
                elif _rss(proc.pid) > rss_cap:
                    stopped = f"stopped at RSS over {rss_cap // hc.MB} MB"
                if stopped:
                    os.killpg(proc.pid, signal.SIGKILL)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            usage.ru_maxrss * 1024,
            stopped,
        )


def child_env(inputs: hc.Inputs, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SOURCE_DATE_EPOCH", "EQUIP_WHEEL_DISABLE", "RUST_BACKTRACE")
    }
    env.update(inputs.env)
    env.update(extra)
    return env


def rss_cap(case: hc.Case) -> int:
    """The watchdog's limit: the bound with the case's largest legitimate member, plus slack
    for members of the output (checked exactly afterwards)."""
    return RSS_BASE + 2 * case.legit_member + 64 * hc.MB


def check_rss(run: Run, case: hc.Case, outputs: list[Path], what: str) -> None:
    largest = case.legit_member
    for wheel in outputs:
        with zipfile.ZipFile(wheel) as z:
            largest = max([largest, *(i.file_size for i in z.infolist())])
    bound = RSS_BASE + 2 * largest
    assert run.max_rss <= bound, (
        f"{what}: peak RSS {run.max_rss // hc.MB} MB over the bound {bound // hc.MB} MB\n"
        + run.describe()
    )


# ---------------------------------------------------------------------------------------
# What a case must leave behind.


def snapshot(root: Path, skip: Path | None) -> dict[str, tuple]:
    """Every entry under ``root`` (``skip`` excluded), without following links or opening
    anything but regular files: name -> (kind, content hash or link target)."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        if skip is not None and (here == skip or skip in here.parents):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = here / name
            if skip is not None and path == skip:
                continue
            st = path.lstat()
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_file():
                out[rel] = ("file", hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mode)
            else:
                out[rel] = ("other", st.st_mode)
    return out


def out_dir(root: Path, inputs: hc.Inputs) -> Path:
    return Path(inputs.out) if os.path.isabs(inputs.out) else root / inputs.out


def listing(path: Path) -> list[str] | None:
    try:
        return sorted(os.listdir(path)) if path.is_dir() and not path.is_symlink() else None
    except OSError:
        return None


def expected_outputs(case: hc.Case, inputs: hc.Inputs) -> list[str]:
    if case.outputs is not None:
        return sorted(case.outputs)
    if case.code == 0 and inputs.wheel is not None:
        return [Path(inputs.wheel).name]
    return []


def check_printed(text: str, what: str, run: Run) -> None:
    for marker in PANIC_MARKERS:
        assert marker not in text, f"{what}: {marker!r} in the output\n" + run.describe()
    bad = CONTROL.search(text)
    assert bad is None, (
        f"{what}: raw control character {bad.group()!r} printed at "
        f"{text[max(0, bad.start() - 40) : bad.end() + 40]!r}\n" + run.describe()
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(ERROR_PREFIXES)]


def check_one_error(run: Run, names: tuple[str, ...], what: str) -> str:
    """The single error line of a failed run, naming every one of ``names``."""
    lines = error_lines(run.stderr)
    assert len(lines) == 1, f"{what}: expected exactly one error line\n" + run.describe()
    for name in names:
        assert name in lines[0], f"{what}: the error does not name {name!r}\n" + run.describe()
    for line in run.stderr.splitlines():
        assert line == "" or OTHER_LINE.match(line), (
            f"{what}: stray line {line!r} (an error split over lines?)\n" + run.describe()
        )
    return lines[0]


def reason(line: str) -> str:
    """An error line without its prefix and ``[n/m]`` progress counter."""
    for prefix in ERROR_PREFIXES:
        if line.startswith(prefix):
            line = line[len(prefix) :]
            break
    return re.sub(r"^\s*\[\d+/\d+\]\s*", "", line).strip()


# ---------------------------------------------------------------------------------------
# The command line


def run_instrument(case: hc.Case, root: Path, inputs: hc.Inputs) -> Run:
    cmd = [hc.equip_wheel_binary(), "instrument", *inputs.args, "-o", inputs.out]
    return run_child(
        cmd,
        cwd=root,
        env=child_env(inputs),
        rss_cap=rss_cap(case),
        file_size_limit=inputs.file_size_limit,
    )


def check_instrument_run(
    case: hc.Case,
    root: Path,
    inputs: hc.Inputs,
    run: Run,
    before: dict,
    out_before: list[str] | None,
    what: str,
) -> None:
    assert not run.stopped, f"{what}: {run.stopped}\n" + run.describe()
    assert run.code >= 0, f"{what}: killed by signal {-run.code}\n" + run.describe()
    check_printed(run.stdout + run.stderr, what, run)
    assert run.code == case.code, f"{what}: expected exit {case.code}\n" + run.describe()
    if case.code != 0:
        check_one_error(run, case.names, what)
    else:
        assert not error_lines(run.stderr), f"{what}: error printed on success\n" + run.describe()
        for name in case.names:
            assert name in run.stderr, f"{what}: nothing says {name!r}\n" + run.describe()
    out = out_dir(root, inputs)
    assert snapshot(root, out) == before, f"{what}: the inputs or their directory changed"
    after = listing(out)
    expected = expected_outputs(case, inputs)
    if out_before is None or os.path.isabs(inputs.out):
        assert after == out_before, f"{what}: {out} changed: {out_before} -> {after}"
    else:
        assert after == expected, f"{what}: output directory holds {after}, expected {expected}"
    outputs = [out / name for name in expected]
    check_rss(run, case, outputs, what)
    for wheel in outputs:
        verified = subprocess.run(
            [hc.equip_wheel_binary(), "verify", str(wheel)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert verified.returncode == 0, f"{what}: the output fails verify:\n{verified.stderr}"
        if case.check_output is not None:
            case.check_output(wheel)


@pytest.mark.parametrize("case", by_id([c for c in CASES if c.cli]))
def test_cli(case: hc.Case, tmp_path: Path) -> None:
    root = tmp_path / "case"
    inputs = case.make(root)
    out = out_dir(root, inputs)
    before = snapshot(root, out)
    out_before = listing(out)
    run = run_instrument(case, root, inputs)
    check_instrument_run(case, root, inputs, run, before, out_before, "instrument")


# ---------------------------------------------------------------------------------------
# verify, and instrument agreeing with it


@pytest.mark.parametrize("case", by_id([c for c in CASES if c.verify_ok is not None and c.cli]))
def test_verify_agrees(case: hc.Case, tmp_path: Path) -> None:
    root = tmp_path / "case"
    inputs = case.make(root)
    assert inputs.wheel is not None
    before = snapshot(root, None)
    run = run_child(
        [hc.equip_wheel_binary(), "verify", inputs.wheel],
        cwd=root,
        env=child_env(inputs),
        rss_cap=rss_cap(case),
    )
    assert not run.stopped, f"verify: {run.stopped}\n" + run.describe()
    assert run.code >= 0, f"verify: killed by signal {-run.code}\n" + run.describe()
    check_printed(run.stdout + run.stderr, "verify", run)
    check_rss(run, case, [], "verify")
    assert snapshot(root, None) == before, "verify changed its input"
    if case.verify_ok:
        assert run.code == 0, "verify rejects a valid wheel\n" + run.describe()
        return
    assert run.code == 1, "verify accepts (or mishandles) a broken wheel\n" + run.describe()
    lines = run.stderr.splitlines()
    assert lines and all(line.startswith(ERROR_PREFIXES) for line in lines), (
        "verify: every problem must be one error line\n" + run.describe()
    )
    for name in case.names:
        assert any(name in line for line in lines), (
            f"verify: no problem names {name!r}\n" + run.describe()
        )
    verify_reasons = {reason(line) for line in lines}
    inst = run_child(
        [hc.equip_wheel_binary(), "instrument", inputs.wheel, "-o", inputs.out],
        cwd=root,
        env=child_env(inputs),
        rss_cap=rss_cap(case),
    )
    assert inst.code == 1, "instrument does not refuse what verify refuses\n" + inst.describe()
    line = check_one_error(inst, (), "instrument")
    assert reason(line) in verify_reasons, (
        f"instrument and verify disagree:\n  instrument: {reason(line)}\n  verify:     "
        + "\n              ".join(sorted(verify_reasons))
    )


# ---------------------------------------------------------------------------------------
# The Python API, in a child process (a crash must not take pytest with it)

API_RUNNER = r"""
import json, sys
import equip_wheel

spec = json.loads(sys.argv[1])
results = []


def describe(e):
    return {"classes": [c.__name__ for c in type(e).__mro__], "message": str(e),
            "key": getattr(e, "key", None), "member": getattr(e, "member", None)}


for op in spec:
    try:
        if op["call"] == "load_config":
            equip_wheel.load_config(op["config"])
            results.append({"ok": True})
        elif op["call"] == "verify_wheel":
            try:
                r = equip_wheel.verify_wheel(op["wheel"])
            except equip_wheel.FileError as e:  # a file that cannot be read: nothing to verify
                results.append({"ok": False, "problems": [str(e)], **describe(e)})
                continue
            results.append({"ok": r.ok, "problems": r.problems})
        else:
            r = equip_wheel.instrument_wheel(op["wheel"], op.get("config"), out_dir=op["out"])
            results.append({"ok": True, "report": r.to_dict()})
    except BaseException as e:  # noqa: B036 - a PanicException is a BaseException
        results.append({"ok": False, **describe(e)})
print(json.dumps(results))
"""


def api_cases() -> list[hc.Case]:
    return [c for c in CASES if c.api and c.cli]


@pytest.mark.parametrize("case", by_id(api_cases()))
def test_api(case: hc.Case, tmp_path: Path) -> None:
    root = tmp_path / "case"
    inputs = case.make(root)
    out = out_dir(root, inputs)
    before = snapshot(root, out)
    out_before = listing(out)
    ops: list[dict] = []
    if case.load_config and inputs.config is not None:
        ops.append({"call": "load_config", "config": inputs.config})
    if case.verify_ok is not None:
        ops.append({"call": "verify_wheel", "wheel": inputs.wheel})
    ops.append(
        {
            "call": "instrument_wheel",
            "wheel": inputs.wheel,
            "config": inputs.config,
            "out": inputs.out,
        }
    )
    run = run_child(
        [sys.executable, "-c", API_RUNNER, json.dumps(ops)],
        cwd=root,
        env=child_env(inputs),
        rss_cap=rss_cap(case),
        file_size_limit=inputs.file_size_limit,
    )
    assert not run.stopped, f"API: {run.stopped}\n" + run.describe()
    assert run.code == 0, "API: the Python process died\n" + run.describe()
    check_printed(run.stderr, "API", run)
    results = dict(zip([op["call"] for op in ops], json.loads(run.stdout.splitlines()[-1])))
    failing = case.code != 0

    def check_error(result: dict, call: str) -> None:
        assert not result["ok"], f"{call} succeeded: {json.dumps(result)[:2000]}"
        accepted = set(case.api_errors) or {"EquipWheelError"}
        assert accepted & set(result["classes"]), (
            f"{call} raised {result['classes'][0]}, expected one of {sorted(accepted)}: "
            f"{result['message']}"
        )
        message = result["message"]
        assert "\n" not in message and not CONTROL.search(message), f"{call}: {message!r}"
        for name in case.names:
            if name.startswith("-"):
                continue  # command-line options do not exist in the API
            assert name in message, f"{call}: the error does not name {name!r}: {message}"

    if "load_config" in results:
        if failing:
            check_error(results["load_config"], "load_config")
        else:
            assert results["load_config"]["ok"], results["load_config"]
    result = results["instrument_wheel"]
    if failing:
        check_error(result, "instrument_wheel")
    else:
        assert result["ok"], f"instrument_wheel failed: {result}"
        report = result["report"]
        said = json.dumps([report["warnings"], report["notices"], report["skipped"]])
        for name in case.names:
            assert name in said, f"no warning, notice or skip names {name!r}: {said[:3000]}"
    if "verify_wheel" in results:
        verdict = results["verify_wheel"]
        assert verdict["ok"] == case.verify_ok, f"verify_wheel: {verdict}"
        if not verdict["ok"]:
            assert not result["ok"], "instrument_wheel accepts what verify_wheel refuses"
            assert result["message"] in verdict["problems"], (
                f"instrument_wheel and verify_wheel disagree:\n  {result['message']}\n  "
                + "\n  ".join(verdict["problems"])
            )
    assert snapshot(root, out) == before, "API: the inputs or their directory changed"
    expected = [] if failing else expected_outputs(case, inputs)
    after = listing(out)
    if out_before is None or os.path.isabs(inputs.out):
        assert after == out_before, f"API: {out} changed: {out_before} -> {after}"
    else:
        assert after == expected, f"API: output directory holds {after}, expected {expected}"
    check_rss(run, case, [out / n for n in expected], "API")


# ---------------------------------------------------------------------------------------
# The PEP 517 backend, on a tiny project whose in-tree backend returns the case's wheel

IN_TREE_BACKEND = '''\
"""Returns the wheel named by $HOSTILE_WHEEL as if it had built it."""
import os
import shutil


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    source = os.environ["HOSTILE_WHEEL"]
    name = os.path.basename(source)
    shutil.copyfile(source, os.path.join(wheel_directory, name))
    return name


def build_sdist(sdist_directory, config_settings=None):
    raise NotImplementedError
'''

BACKEND_RUNNER = r"""
import sys
import equip_wheel.build as backend

try:
    name = backend.build_wheel("dist")
except SystemExit as e:
    print("SystemExit", e.code)
    raise
print("built", name)
"""


def nested_settings(settings: str) -> str:
    """An equip.toml body as the body of ``[tool.equip-wheel]`` (its tables re-rooted)."""
    return "\n".join(
        re.sub(r"^(\s*)(\[\[?)\s*", r"\1\2tool.equip-wheel.", line)
        for line in settings.splitlines()
    )


def backend_cases() -> list[hc.Case]:
    return [c for c in CASES if c.backend]


@pytest.mark.parametrize("case", by_id(backend_cases()))
def test_backend(case: hc.Case, tmp_path: Path) -> None:
    root = tmp_path / "case"
    inputs = case.make(root)
    assert inputs.wheel is not None and (root / inputs.wheel).is_file()
    project = tmp_path / "project"
    (project / "_backend").mkdir(parents=True)
    (project / "_backend" / "hostile_backend.py").write_text(IN_TREE_BACKEND)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "equip_wheel.build"\n\n'
        '[tool.equip-wheel]\nbuild-backend = "hostile_backend"\nbackend-path = ["_backend"]\n'
        + nested_settings(inputs.backend_settings)
        + "\n"
    )
    (project / "dist").mkdir()
    before = snapshot(root, None)
    run = run_child(
        [sys.executable, "-c", BACKEND_RUNNER],
        cwd=project,
        env=child_env(inputs, HOSTILE_WHEEL=str(root / inputs.wheel)),
        rss_cap=rss_cap(case),
    )
    assert not run.stopped, f"backend: {run.stopped}\n" + run.describe()
    assert run.code >= 0, f"backend: killed by signal {-run.code}\n" + run.describe()
    check_printed(run.stdout + run.stderr, "backend", run)
    built = sorted(os.listdir(project / "dist"))
    if case.code == 0:
        assert run.code == 0, "backend: the build failed\n" + run.describe()
        assert len(built) == 1 and built[0].endswith(".whl"), f"backend: dist holds {built}"
        outputs = [project / "dist" / built[0]]
        verified = subprocess.run(
            [hc.equip_wheel_binary(), "verify", str(outputs[0])],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert verified.returncode == 0, f"backend: the output fails verify:\n{verified.stderr}"
    else:
        assert run.code == 1, "backend: expected SystemExit(1)\n" + run.describe()
        names = tuple("pyproject.toml" if n == "cfg.toml" else n for n in case.names)
        lines = error_lines(run.stderr)
        assert len(lines) == 1, "backend: expected exactly one error line\n" + run.describe()
        for name in names:
            assert name in lines[0], f"backend: the error does not name {name!r}\n" + run.describe()
        assert built == [], f"backend: dist holds {built} after a failed build"
        outputs = []
    assert snapshot(root, None) == before, "backend: the input wheel changed"
    check_rss(run, case, outputs, "backend")


def test_corpus_size() -> None:
    """The corpus is the size the hostile-input acceptance asks for, in every family."""
    families = {c.id.split("/")[0] for c in CASES}
    assert families == {"zip", "wheel", "module", "config", "process"}
    assert len(CASES) >= 300, len(CASES)
