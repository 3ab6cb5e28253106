"""Runs a third-party package's own upstream test suite against an *installed* wheel.

The suite comes from the package's sdist (downloaded and cached by ``harness``). Only the
tests and the pytest/tox configuration they need are copied into a scratch directory, so
what the tests import is the package installed in the venv, never the sdist's source tree;
every run checks that (the ``__file__`` of each of the package's top-level modules, as used
by the run, must lie in the venv's site-packages).

Typical use (plain vs instrumented, test by test)::

    python = harness.require_python("3.11")
    plain = upstream.plain_result("attrs", python, tmp_path_factory)   # once per session
    suite = upstream.prepare_suite("attrs", tmp_path)
    venv = upstream.make_test_venv("attrs", python, [instrumented_whl], tmp_path / "venv",
                                   extra=[probe_whl])                 # extra is optional
    inst = upstream.run_suite("attrs", venv, suite, label="instrumented",
                              env={"EQUIP_CALLS_FILE": str(tmp_path / "calls-{pid}.json")})
    applied = upstream.assert_same_outcomes(plain, inst, upstream.UPSTREAM["attrs"].known_differences)
    if applied:
        pytest.xfail("; ".join(applied))   # a known defect: never report it as a pass

Every run is made comparable: ``PYTHONHASHSEED=0``, no inherited ``PYTEST_*``/``PYTHON*``/
``EQUIP_*`` variables, pytest with ``-p no:cacheprovider`` and without ``-x``, and for
Hypothesis suites a derandomized profile without deadline (see
``upstream_support/e2e_outcomes_plugin.py``). Deselected tests (``UpstreamPackage.deselect``,
each with its reason) are left out of every run alike, so they cannot hide a difference.

API:

- ``UPSTREAM``: name -> ``UpstreamPackage`` (pinned version, import names, runner, files
  copied from the sdist, pinned test dependencies, deselected tests with their reasons).
- ``prepare_suite(name, workdir) -> Path``: a fresh scratch copy of the suite.
- ``make_test_venv(name, python, wheel_paths, dest, extra=()) -> Venv``: a fresh venv
  (``uv venv``) with the given wheel(s), the pinned test dependencies and any ``extra``
  local wheels installed offline from a per-interpreter wheelhouse;
  ``build_module_wheel(module, source, dest_dir)`` makes such an extra wheel (a probe).
- ``run_suite(name, venv, suite_dir, env=None) -> SuiteResult``: runs the suite and
  returns its per-test ``outcomes``.
- ``assert_same_outcomes(expected, actual, known)`` / ``outcome_differences(...)``: the
  comparison, with the differing test ids and their failure text in the message; ``known``
  (usually ``UPSTREAM[name].known_differences``) lists differences that are known defects,
  which must then occur exactly as described.
- ``baseline_result(name, python, wheel_paths, tmp_path_factory, ...)`` /
  ``plain_result(name, python, tmp_path_factory)``: the reference run, computed once per
  test session for the same inputs (shared by pytest-xdist workers) and reused.

The pinned test dependencies are installed from ``.cache/wheelhouse/<python tag>/`` with
``--no-index``; ``ensure_wheelhouse`` downloads the missing ones once with that
interpreter's own ``pip download --no-deps --only-binary :all:`` (a lock file makes it
safe under pytest-xdist).
"""

from __future__ import annotations

import dataclasses
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import harness
from harness import Venv
from packaging.requirements import Requirement

SUPPORT = Path(__file__).resolve().parent / "upstream_support"
WHEELHOUSE = harness.CACHE / "wheelhouse"

#: Wall-clock limit of one suite run; a hung suite fails instead of eating CI's 90 minutes.
SUITE_TIMEOUT = 900

#: The test runner and what it needs, every Python 3.8-3.13 (pytest 8.3 is the last
#: series supporting 3.8, and it runs on 3.13). ``packaging`` is pytest's dependency;
#: when ``packaging`` itself is the package under test, its wheel fills that need.
PYTEST_PINS = (
    "pytest==8.3.5",
    "pluggy==1.5.0",
    "iniconfig==2.0.0",
    "packaging==24.2",
    'exceptiongroup==1.2.2; python_version < "3.11"',
    'tomli==2.2.1; python_version < "3.11"',
)


@dataclass(frozen=True)
class KnownDifference:
    """A test whose outcome instrumentation is known to change: a defect of the
    instrumented output, listed so that the rest of the suite is still compared exactly.
    ``evidence`` must appear in the instrumented run's failure text for it to apply."""

    expected: str
    actual: str
    evidence: str
    reason: str


@dataclass(frozen=True)
class UpstreamPackage:
    """How to run one package's upstream suite.

    ``copy``: paths inside the sdist (relative to its top directory) copied into the
    scratch dir: the tests and the config files the runner reads; never the package.
    ``pins``: exact test dependencies (PEP 508 markers allowed) on top of the runner's.
    ``pin_overrides``: per Python minor ("3.8"), name -> version replacing a pin there.
    ``deselect``: test id -> the reason it is not run (the same in every run compared).
    ``known_differences``: test id -> KnownDifference (plain vs instrumented, any config).
    """

    name: str
    version: str
    modules: tuple[str, ...]
    runner: str  # "pytest" or "unittest"
    copy: tuple[str, ...]
    args: tuple[str, ...] = ()
    pins: tuple[str, ...] = ()
    pin_overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    deselect: dict[str, str] = field(default_factory=dict)
    known_differences: dict[str, KnownDifference] = field(default_factory=dict)
    hypothesis: bool = False
    min_python: str = "3.8"

    def requirements(self, minor: str) -> list[str]:
        """The exact test requirements for Python ``minor``, markers evaluated, the package
        under test itself left out (its wheel is installed instead)."""
        pins = (PYTEST_PINS if self.runner == "pytest" else ()) + self.pins
        overrides = self.pin_overrides.get(minor, {})
        env = {
            "python_version": minor,
            "python_full_version": f"{minor}.0",
            "implementation_name": "cpython",
            "platform_python_implementation": "CPython",
            "sys_platform": "linux",
            "platform_system": "Linux",
            "os_name": "posix",
        }
        out = []
        for pin in pins:
            req = Requirement(pin)
            if req.marker is not None and not req.marker.evaluate(env):
                continue
            if _normalize(req.name) == _normalize(self.name):
                continue
            version = overrides.get(_normalize(req.name))
            out.append(f"{req.name}=={version}" if version else f"{req.name}{req.specifier}")
        return out


#: The pins below were checked on CPython 3.8.18, 3.9.18, 3.10.13, 3.11.7, 3.12.1 and 3.13.0:
#: every suite collects and runs on each. Against the plain wheels, a few tests fail for
#: reasons of the interpreter or of the package, identically in every run compared:
#: six ``test_move_items[dbm_ndbm]`` (pyenv builds have no ``_dbm``) on all, and
#: ``test_move_items[tkinter_tix]`` on 3.13 (``tkinter.tix`` was removed); attrs
#: ``TestPipe::test_wrapped_annotation`` on 3.11 and 3.12 (an attrs 24.2.0 bug there).
#: Use ``pin_overrides`` if a pin ever has to differ by version.
UPSTREAM: dict[str, UpstreamPackage] = {
    "six": UpstreamPackage(
        name="six",
        version="1.16.0",
        modules=("six",),
        runner="pytest",
        copy=("test_six.py", "setup.cfg"),
        args=("test_six.py",),
    ),
    "attrs": UpstreamPackage(
        name="attrs",
        version="24.2.0",
        modules=("attr", "attrs"),
        runner="pytest",
        # conftest.py is the root one (fixtures, Hypothesis profile, collect_ignore);
        # pyproject.toml holds [tool.pytest.ini_options] (strict xfail, filterwarnings).
        copy=("conftest.py", "pyproject.toml", "tests"),
        args=("tests",),
        # The [tests] extra, less pytest-xdist (not used) and the mypy extra
        # (pytest-mypy-plugins runs mypy over tests/test_mypy.yml: minutes per run,
        # and it checks mypy's messages, not attrs' behaviour); pyright is not installed,
        # so tests/test_pyright.py skips itself.
        pins=(
            "hypothesis==6.113.0",
            "sortedcontainers==2.4.0",
            "cloudpickle==3.1.0",
            "Pympler==1.1",
        ),
        hypothesis=True,
    ),
    "click": UpstreamPackage(
        name="click",
        version="8.1.7",
        modules=("click",),
        runner="pytest",
        # setup.cfg holds [tool:pytest] (testpaths, filterwarnings = error);
        # tests/test_utils.py::test_expand_args globs the cwd for *.cfg and **/conf.py,
        # so docs/conf.py comes along as data.
        copy=("setup.cfg", "tests", "docs/conf.py"),
        args=("tests",),
    ),
    "packaging": UpstreamPackage(
        name="packaging",
        version="24.2",
        modules=("packaging",),
        runner="pytest",
        copy=("tests",),
        args=("tests",),
        pins=("pretend==1.0.9",),
    ),
    "idna": UpstreamPackage(
        name="idna",
        version="3.10",
        modules=("idna",),
        runner="unittest",
        # unittest, as upstream runs it: tests/test_idna_uts46.py builds one test per row
        # of IdnaTestV2.txt in load_tests, which pytest would not run.
        copy=("tests",),
    ),
    "more-itertools": UpstreamPackage(
        name="more-itertools",
        version="10.5.0",
        modules=("more_itertools",),
        runner="unittest",
        # unittest, as upstream's tox.ini runs it: load_tests adds the doctests of
        # more_itertools.more and .recipes, which pytest would not run.
        copy=("tests",),
    ),
}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _package(name: str) -> UpstreamPackage:
    try:
        return UPSTREAM[name]
    except KeyError:
        raise KeyError(
            f"no upstream suite is defined for {name!r}; known: {sorted(UPSTREAM)}"
        ) from None


# ---------------------------------------------------------------------------------------
# Suite extraction


def prepare_suite(name: str, workdir: Path) -> Path:
    """Extracts the tests and runner config of ``name``'s pinned sdist into a fresh
    ``workdir/<name>-suite`` (nothing of the package's own source) and returns it."""
    pkg = _package(name)
    sdist = harness.download_sdist(pkg.name, pkg.version)
    dest = Path(workdir) / f"{pkg.name}-suite"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    wanted = [PurePosixPath(p) for p in pkg.copy]
    found: set[PurePosixPath] = set()
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            parts = PurePosixPath(member.name).parts
            if len(parts) < 2 or not (member.isfile() or member.isdir()):
                continue
            rel = PurePosixPath(*parts[1:])
            if any(part in ("..", "") or part.startswith("/") for part in rel.parts):
                raise RuntimeError(f"{sdist.name}: unsafe member name {member.name!r}")
            if ".pytest_cache" in rel.parts or "__pycache__" in rel.parts:
                continue
            top = next((w for w in wanted if rel == w or w in rel.parents), None)
            if top is None:
                continue
            found.add(top)
            target = dest.joinpath(*rel.parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(member)
            assert src is not None, member.name  # a regular file always has content
            with src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
    missing = set(wanted) - found
    if missing:
        raise RuntimeError(f"{sdist.name} has none of {sorted(map(str, missing))}")
    for module in pkg.modules:
        if (dest / module).exists() or (dest / f"{module}.py").exists():
            raise RuntimeError(f"the suite copy of {name} contains the package itself: {module}")
    return dest


# ---------------------------------------------------------------------------------------
# Interpreters, wheelhouse, venvs


@functools.lru_cache(maxsize=None)
def python_minor(python: Path) -> str:
    """``"3.11"`` for a CPython 3.11 interpreter."""
    out = subprocess.run(
        [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def file_lock(path: Path):
    """An exclusive lock on ``path`` (created if needed) for a ``with`` block: pytest-xdist
    workers share the caches behind it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "w")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


def _have(wheelhouse: Path, requirement: str) -> bool:
    req = Requirement(requirement)
    version = next(iter(req.specifier)).version
    prefix = f"{_normalize(req.name).replace('-', '_')}-{version}-"
    return any(_wheel_prefix(p.name) == prefix for p in wheelhouse.glob("*.whl"))


def _wheel_prefix(filename: str) -> str:
    name, version = filename.split("-")[:2]
    return f"{_normalize(name).replace('-', '_')}-{version}-"


def ensure_wheelhouse(python: Path, requirements: list[str]) -> Path:
    """The wheelhouse of ``python``'s minor version, holding a wheel for every exact
    ``requirements`` entry (``name==version``); missing ones are downloaded once with
    that interpreter's ``pip download --no-deps --only-binary :all:``."""
    minor = python_minor(python)
    wheelhouse = WHEELHOUSE / f"cp{minor.replace('.', '')}"
    wheelhouse.mkdir(parents=True, exist_ok=True)
    with file_lock(WHEELHOUSE / f".cp{minor.replace('.', '')}.lock"):
        missing = [r for r in requirements if not _have(wheelhouse, r)]
        if missing:
            pip = [str(python), "-m", "pip"]
            if subprocess.run([*pip, "--version"], capture_output=True).returncode != 0:
                # No pip in that interpreter (Debian's 3.14/3.15): this one's pip, told the
                # target version.
                pip = [sys.executable, "-m", "pip"]
                target = ["--python-version", minor, "--implementation", "cp"]
            else:
                target = []
            proc = subprocess.run(
                [
                    *pip,
                    "download",
                    "--disable-pip-version-check",
                    *target,
                    "--no-deps",
                    "--only-binary",
                    ":all:",
                    "--dest",
                    str(wheelhouse),
                    *missing,
                ],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise RuntimeError(
                    f"pip download {' '.join(missing)} failed on {python}:\n"
                    f"{proc.stdout}\n{proc.stderr}"
                )
            still = [r for r in missing if not _have(wheelhouse, r)]
            if still:
                raise RuntimeError(f"pip download left {still} missing in {wheelhouse}")
    return wheelhouse


def make_test_venv(name: str, python: Path, wheel_paths, dest: Path, extra=()) -> Venv:
    """A fresh venv at ``dest`` (made by ``uv venv`` from ``python``) with the wheel(s)
    in ``wheel_paths`` installed, plus ``name``'s pinned test dependencies for that
    interpreter and ``extra`` (local wheels or project paths, e.g. a probe module; they
    must need nothing beyond the pins). Installs offline (``--no-index``) from the
    wheelhouse; fails on any installer warning. Checks that ``name`` was installed from
    one of ``wheel_paths``, at its pinned version."""
    pkg = _package(name)
    requirements = pkg.requirements(python_minor(python))
    wheelhouse = ensure_wheelhouse(python, requirements)
    venv = Venv.create_with_uv(python, Path(dest))
    venv.uv_install(
        "--no-index",
        "--find-links",
        str(wheelhouse),
        *map(str, wheel_paths),
        *map(str, extra),
        *requirements,
    )
    version = venv.run(
        "-c", f"import importlib.metadata as m; print(m.version({pkg.name!r}))"
    ).stdout.strip()
    if version.split("+")[0] != pkg.version:
        raise AssertionError(f"{name} {version} installed in {dest}, expected {pkg.version}")
    return venv


def build_module_wheel(module: str, source: str, dest_dir: Path, version: str = "0.0") -> Path:
    """A minimal valid pure-Python wheel holding the single module ``module`` (``source``
    is its text), e.g. a probe module to pass as ``extra`` to ``make_test_venv``."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    return harness.build_wheel(
        dest_dir, re.sub(r"[-_.]+", "_", module), version, {f"{module}.py": source}
    )


def site_packages(venv: Venv) -> Path:
    """The purelib directory of ``venv``."""
    out = venv.run("-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    return Path(out.stdout.strip())


# ---------------------------------------------------------------------------------------
# Running a suite


@dataclass
class SuiteResult:
    """One run of an upstream suite: per-test ``outcomes`` (test id -> passed | failed |
    skipped | error | xfailed | xpassed), failure ``details`` per test id, the module
    files the run imported, the runner's exit code, output and duration."""

    name: str
    python: str
    label: str
    returncode: int
    outcomes: dict[str, str]
    details: dict[str, str]
    module_files: dict[str, str]
    stdout: str
    stderr: str
    duration: float

    def counts(self) -> dict[str, int]:
        """Outcome -> number of tests."""
        counts: dict[str, int] = {}
        for outcome in self.outcomes.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        return dict(sorted(counts.items()))

    def summary(self) -> str:
        """``attrs on 3.11 (plain): 1200 passed, 3 skipped in 41.2s``."""
        counts = ", ".join(f"{n} {outcome}" for outcome, n in self.counts().items())
        return f"{self.name} on {self.python} ({self.label}): {counts or 'no tests'} in {self.duration:.1f}s"


def _clean_env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "PYTHON", "EQUIP_", "VIRTUAL_ENV", "COV_", "HYPOTHESIS"))
    }
    env.update(
        {
            "PYTHONHASHSEED": "0",  # the same set orders in every run compared
            "PYTHONPATH": str(SUPPORT),
            "NO_COLOR": "1",
        }
    )
    extra = dict(extra or {})
    if extra.get("PYTHONPATH"):
        extra["PYTHONPATH"] = os.pathsep.join([str(SUPPORT), extra["PYTHONPATH"]])
    env.update(extra)
    return env


def run_suite(
    name: str,
    venv: Venv,
    suite_dir: Path,
    env: dict[str, str] | None = None,
    label: str = "",
    timeout: float = SUITE_TIMEOUT,
    hypothesis_max_examples: int | None = None,
) -> SuiteResult:
    """Runs ``name``'s upstream suite from ``suite_dir`` (made by ``prepare_suite``) with
    ``venv``'s interpreter and returns the per-test outcomes. ``env`` is added to a clean
    environment (no inherited PYTEST_*/PYTHON*/EQUIP_* variables). For suites using
    Hypothesis (attrs), ``hypothesis_max_examples`` lowers the examples per test (the
    default keeps the suite's own, 100): runs compared must use the same value. The run fails (raises
    AssertionError) if the runner crashed without writing outcomes, if no test ran, or if
    the package's modules were not imported from ``venv``'s site-packages."""
    pkg = _package(name)
    suite_dir = Path(suite_dir)
    out_dir = suite_dir.parent / f".{label or 'run'}-{time.monotonic_ns()}"
    out_dir.mkdir(parents=True)
    outcomes_file = out_dir / "outcomes.json"
    run_env = _clean_env(env)
    run_env["EQUIP_E2E_OUTCOMES"] = str(outcomes_file)
    run_env["EQUIP_E2E_MODULES"] = ",".join(pkg.modules)
    if pkg.runner == "pytest":
        if pkg.hypothesis:
            run_env["EQUIP_E2E_HYPOTHESIS"] = "1"
            if hypothesis_max_examples is not None:
                run_env["EQUIP_E2E_HYPOTHESIS_MAX_EXAMPLES"] = str(int(hypothesis_max_examples))
        cmd = [
            str(venv.python),
            "-m",
            "pytest",
            "-p",
            "e2e_outcomes_plugin",
            "-p",
            "no:cacheprovider",
            "-q",
            "--color=no",
            "-o",
            "console_output_style=classic",
            # A module that fails to import is one "error"; the other modules still run.
            "--continue-on-collection-errors",
            f"--basetemp={out_dir / 'basetemp'}",
            "--rootdir",
            str(suite_dir),
        ]
        for test_id in pkg.deselect:
            cmd += ["--deselect", test_id]
        cmd += list(pkg.args)
    elif pkg.runner == "unittest":
        deselect_file = out_dir / "deselect.txt"
        deselect_file.write_text("".join(f"{t}\n" for t in pkg.deselect))
        cmd = [
            str(venv.python),
            "-m",
            "e2e_unittest_runner",
            "--deselect-file",
            str(deselect_file),
            *pkg.args,
        ]
    else:
        raise ValueError(f"unknown runner {pkg.runner!r}")
    start = time.monotonic()
    try:
        proc = subprocess.run(
            cmd, cwd=suite_dir, env=run_env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"{name} suite ({label}) did not finish in {timeout}s:\n"
            f"{_tail(exc.stdout)}\n{_tail(exc.stderr)}"
        ) from None
    duration = time.monotonic() - start
    if not outcomes_file.exists():
        raise AssertionError(
            f"{name} suite ({label}) wrote no outcomes; exit {proc.returncode}\n"
            f"{' '.join(cmd)}\n{_tail(proc.stdout)}\n{_tail(proc.stderr)}"
        )
    data = json.loads(outcomes_file.read_text())
    result = SuiteResult(
        name=name,
        python=python_minor(venv.python),
        label=label,
        returncode=proc.returncode,
        outcomes=data["outcomes"],
        details=data["details"],
        module_files=data["module_files"],
        stdout=proc.stdout,
        stderr=proc.stderr,
        duration=duration,
    )
    if not result.outcomes:
        raise AssertionError(
            f"{name} suite ({label}) ran no test\n{_tail(proc.stdout)}\n{_tail(proc.stderr)}"
        )
    _check_module_files(result, site_packages(venv))
    return result


def _check_module_files(result: SuiteResult, purelib: Path) -> None:
    for module, file in result.module_files.items():
        try:
            Path(file).resolve().relative_to(purelib.resolve())
        except ValueError:
            raise AssertionError(
                f"{result.name} suite ({result.label}) imported {module} from {file}, "
                f"not from the venv's {purelib}"
            ) from None
    missing = set(_package(result.name).modules) - set(result.module_files)
    if missing:
        raise AssertionError(
            f"{result.name} suite ({result.label}) did not report {sorted(missing)}"
        )


def _tail(text: str | bytes | None, lines: int = 60) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


# ---------------------------------------------------------------------------------------
# Comparing runs


def outcome_differences(expected: SuiteResult, actual: SuiteResult) -> dict[str, tuple[str, str]]:
    """Test id -> (expected outcome, actual outcome) for every test whose outcome differs;
    a test that ran in only one of the runs has ``"<not run>"`` on the other side."""
    diffs = {}
    for test_id in sorted(set(expected.outcomes) | set(actual.outcomes)):
        a = expected.outcomes.get(test_id, "<not run>")
        b = actual.outcomes.get(test_id, "<not run>")
        if a != b:
            diffs[test_id] = (a, b)
    return diffs


def assert_same_outcomes(
    expected: SuiteResult,
    actual: SuiteResult,
    known: dict[str, KnownDifference] | None = None,
    max_shown: int = 30,
) -> list[str]:
    """Fails unless both runs have the same outcome for every test id, apart from the
    ``known`` differences (test id -> KnownDifference), each of which must show up exactly
    as described (same outcomes, its evidence in the actual run's failure text): a known
    difference that no longer happens fails too, so that it is removed. The message lists
    the differing ids and, for the first few, the failure text of each side. Returns one
    line per known difference that applied (for the caller to report, e.g. as xfail)."""
    known = known or {}
    diffs = outcome_differences(expected, actual)
    problems, applied = [], []
    for test_id, (a, b) in diffs.items():
        k = known.get(test_id)
        if (
            k is not None
            and (a, b) == (k.expected, k.actual)
            and k.evidence in actual.details.get(test_id, "")
        ):
            applied.append(f"{test_id}: {a} -> {b}: {k.reason}")
        else:
            problems.append(test_id)
    stale = [t for t in known if t not in diffs]
    if not problems and not stale:
        return applied
    name_a, name_b = expected.label or "expected", actual.label or "actual"
    message = [
        f"{len(problems)} test(s) differ between {expected.summary()} and {actual.summary()}:"
    ]
    message += [
        f"{t}: {name_a} {diffs[t][0]}, {name_b} {diffs[t][1]}" for t in problems[:max_shown]
    ]
    if len(problems) > max_shown:
        message.append(f"... and {len(problems) - max_shown} more")
    for t in stale:
        message.append(
            f"known difference no longer seen (remove it from UPSTREAM): {t}: "
            f"{name_a} {expected.outcomes.get(t, '<not run>')}, {name_b} {actual.outcomes.get(t, '<not run>')}"
        )
    for test_id in (problems + stale)[:5]:
        for result in (expected, actual):
            detail = result.details.get(test_id)
            if detail:
                message.append(f"--- {test_id} ({result.label}):\n{detail}")
    if not any(r.details.get(t) for r in (expected, actual) for t in problems[:5]):
        message.append(f"--- output ({name_b}):\n{_tail(actual.stdout)}\n{_tail(actual.stderr)}")
    raise AssertionError("\n".join(message))


def _session_root(tmp_path_factory) -> Path:
    """The session's base temp dir, shared by all pytest-xdist workers of the session."""
    base = Path(tmp_path_factory.getbasetemp())
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def baseline_result(
    name: str,
    python: Path,
    wheel_paths,
    tmp_path_factory,
    extra=(),
    env: dict[str, str] | None = None,
    hypothesis_max_examples: int | None = None,
    label: str = "plain",
) -> SuiteResult:
    """The suite's result with ``wheel_paths`` (and ``extra``) installed on ``python``,
    computed once per test session for the same inputs (wheel contents by sha256) and
    reused: stored as JSON under the session's base temp dir behind a file lock, so
    pytest-xdist workers share it too. Use it for the reference side of a comparison."""
    key_data = json.dumps(
        [
            name,
            str(python),
            [_sha256(w) for w in wheel_paths],
            [str(e) for e in extra],
            sorted((env or {}).items()),
            hypothesis_max_examples,
            label,
            _package(name).requirements(python_minor(python)),
        ]
    )
    key = f"{_normalize(name)}-{python_minor(python)}-{hashlib.sha256(key_data.encode()).hexdigest()[:16]}"
    root = _session_root(tmp_path_factory) / "upstream-baselines"
    stored = root / f"{key}.json"
    with file_lock(root / f".{key}.lock"):
        if stored.exists():
            return SuiteResult(**json.loads(stored.read_text()))
        work = root / key
        suite = prepare_suite(name, work)
        venv = make_test_venv(name, python, wheel_paths, work / "venv", extra=extra)
        result = run_suite(
            name, venv, suite, env=env, label=label, hypothesis_max_examples=hypothesis_max_examples
        )
        stored.write_text(json.dumps(dataclasses.asdict(result)))
        return result


def plain_result(
    name: str, python: Path, tmp_path_factory, hypothesis_max_examples: int | None = None
) -> SuiteResult:
    """``baseline_result`` for the plain pinned wheel downloaded from PyPI."""
    pkg = _package(name)
    wheel = harness.download_wheel(pkg.name, pkg.version)
    return baseline_result(
        name, python, [wheel], tmp_path_factory, hypothesis_max_examples=hypothesis_max_examples
    )
