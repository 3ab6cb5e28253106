"""The PEP 517 / 660 wrapper ``equip_wheel.build``.

Four fixture projects (tests/fixtures/projects: setuptools, hatchling, flit_core and
pdm-backend as the real backend) are built through real frontends (pip, build, uv) and their
wheels installed and run; the hooks are also called directly in a venv holding every backend.
Everything runs offline against our wheel in target/wheels and the pinned backends (see
backend_support.py).
"""

from __future__ import annotations

import gzip
import json
import sys
import time
import zipfile
from pathlib import Path

import harness
import pytest
from backend_support import (
    BACKENDS,
    assert_counts,
    calls_of,
    copy_project,
    ensure_backend_wheels,
    offline_args,
    offline_env,
    only_wheel,
    our_wheel,
    pip_install,
    pip_venv,
    provenance,
    run,
    sdist_members,
    set_equip_table,
    wheel_metadata,
)

FIXTURES = list(BACKENDS)
UV = [sys.executable, "-m", "uv"]


@pytest.fixture(scope="session")
def offline() -> None:
    """Our wheel is built and the pinned backends are downloaded."""
    our_wheel()
    ensure_backend_wheels()


@pytest.fixture(scope="session")
def backends_venv(offline: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with equip-wheel and every pinned real backend: for calling hooks directly."""
    path = tmp_path_factory.mktemp("backends") / "venv"
    run([*UV, "venv", "--quiet", "--python", sys.executable, path])
    python = path / "bin" / "python"
    run(
        [
            *UV,
            "pip",
            "install",
            "--quiet",
            "--python",
            python,
            *offline_args(),
            "equip-wheel",
            *(b[3] for b in BACKENDS.values()),
        ]
    )
    return python


def call_hooks(
    python: Path, project: Path, code: str, *, env: dict[str, str] | None = None, check: bool = True
):
    """Runs ``code`` with ``python`` in ``project`` (the cwd of a PEP 517 hook), with
    ``b`` bound to ``equip_wheel.build``."""
    prelude = "import json, os, sys\nimport equip_wheel.build as b\n"
    return run([python, "-c", prelude + code], cwd=project, env=env or offline_env(), check=check)


# --- every backend through every frontend --------------------------------------------------


def build_with(frontend: str, project: Path, out: Path) -> Path:
    if frontend == "pip wheel":
        run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", *offline_args(), "-w", out, project]
        )
    elif frontend == "python -m build":
        run([sys.executable, "-m", "build", "--outdir", out, project])
        assert len(list(out.glob("*.tar.gz"))) == 1, "build makes the sdist first"
    elif frontend == "uv build":
        run([*UV, "build", "--python", sys.executable, *offline_args(), "--out-dir", out, project])
        assert len(list(out.glob("*.tar.gz"))) == 1, "uv build makes the sdist first"
    else:
        raise AssertionError(frontend)
    return only_wheel(out)


@pytest.mark.parametrize("frontend", ["pip wheel", "python -m build", "uv build"])
@pytest.mark.parametrize("fixture", FIXTURES)
def test_frontend_builds_instrumented_wheel(
    fixture: str, frontend: str, offline: None, tmp_path: Path
) -> None:
    dist, mod, _, _ = BACKENDS[fixture]
    project = copy_project(fixture, tmp_path)
    wheel = build_with(frontend, project, tmp_path / "out")

    prov = provenance(wheel)
    assert prov is not None, f"{wheel.name} has no equip-wheel.json: not instrumented"
    if fixture == "pdm":
        assert wheel.name == "eqfix_pdm-1.2.0-1traced-py3-none-any.whl"
    else:
        assert wheel.name == f"{mod}-1.2.0-py3-none-any.whl"
    assert harness.run_equip("verify", wheel).returncode == 0

    venv = harness.Venv.create_with_uv(Path(sys.executable), tmp_path / "venv")
    venv.uv_install("--no-deps", "--offline", "--no-cache", wheel)
    assert_counts(calls_of(venv.python, mod, tmp_path), fixture)


# --- editable installs and sdists pass through ---------------------------------------------


@pytest.mark.parametrize("fixture", FIXTURES)
def test_editable_install_passes_through(fixture: str, offline: None, tmp_path: Path) -> None:
    dist, mod, _, _ = BACKENDS[fixture]
    project = copy_project(fixture, tmp_path)
    venv = harness.Venv(tmp_path / "venv")
    pip_install(pip_venv(venv.path), "-e", project)

    where = venv.run("-c", f"import {mod}; print({mod}.__file__)", cwd=tmp_path).stdout.strip()
    assert Path(where).resolve().is_relative_to(project.resolve()), where
    # Not instrumented: no provenance file installed, and running it writes no calls file.
    files = venv.run(
        "-c",
        "import importlib.metadata as m, json; "
        f"print(json.dumps([str(f) for f in m.distribution({dist!r}).files or []]))",
    ).stdout
    assert "equip-wheel.json" not in files
    assert calls_of(venv.python, mod, tmp_path) == {}
    # Edits show up without reinstalling: it is a real editable install.
    core = next(project.rglob(f"{mod}/core.py"))
    core.write_text(core.read_text().replace("return a + b", "return a + b + 0"))
    venv.run("-c", f"import inspect, {mod}.core as c; assert '+ 0' in inspect.getsource(c.add)")


@pytest.mark.parametrize("fixture", FIXTURES)
def test_sdist_is_the_real_backends(fixture: str, backends_venv: Path, tmp_path: Path) -> None:
    _, _, backend, _ = BACKENDS[fixture]
    env = offline_env(SOURCE_DATE_EPOCH="1700000000")
    sdists = {}
    for label, code in [
        ("inner-1", f"import {backend} as inner\nprint(inner.build_sdist('out'))"),
        ("inner-2", f"import {backend} as inner\nprint(inner.build_sdist('out'))"),
        ("wrapped", "print(b.build_sdist('out'))"),
    ]:
        project = copy_project(fixture, tmp_path / label)
        name = call_hooks(backends_venv, project, code, env=env).stdout.strip().splitlines()[-1]
        sdists[label] = project / "out" / name
        if label == "inner-1":
            time.sleep(1.1)  # so that a clock-dependent backend shows it between its own two
    names = {label: p.name for label, p in sdists.items()}
    assert len(set(names.values())) == 1, names
    # What the real backend reproduces across two builds (a second apart), the wrapper must
    # reproduce too: the gzip file, else the tar stream, else the members (names, types,
    # modes, contents; setuptools stamps files with the build time).
    for form in (Path.read_bytes, lambda p: gzip.decompress(p.read_bytes()), sdist_members):
        if form(sdists["inner-1"]) == form(sdists["inner-2"]):
            assert form(sdists["wrapped"]) == form(sdists["inner-1"])
            break
    else:
        raise AssertionError(f"{fixture}: the real backend's own sdists differ in content")


# --- a local version label through real pip ------------------------------------------------


def with_local_version(fixture: str, tmp_path: Path) -> Path:
    _, _, backend, _ = BACKENDS[fixture]
    project = copy_project(fixture, tmp_path)
    (project / "equip.toml").unlink(missing_ok=True)
    set_equip_table(
        project,
        backend,
        'preset = "calls"\n\n[tool.equip-wheel.output]\nlocal-version = "traced"\n',
    )
    return project


@pytest.mark.parametrize("fixture", FIXTURES)
def test_local_version_pip_install_and_wheel(fixture: str, offline: None, tmp_path: Path) -> None:
    dist, mod, _, _ = BACKENDS[fixture]
    project = with_local_version(fixture, tmp_path)

    # `pip install .` (pip prepares the metadata first, then checks the wheel against it).
    venv = harness.Venv(tmp_path / "venv")
    proc = pip_install(pip_venv(venv.path), project)
    assert "inconsistent" not in (proc.stdout + proc.stderr).lower()
    version = venv.run(
        "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"
    ).stdout.strip()
    assert version == "1.2.0+traced"
    assert_counts(calls_of(venv.python, mod, tmp_path), fixture)

    # `pip wheel .`: name, dist-info and METADATA agree.
    out = tmp_path / "wheels"
    proc = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *offline_args(), "-w", out, project]
    )
    assert "inconsistent" not in (proc.stdout + proc.stderr).lower()
    wheel = only_wheel(out)
    assert wheel.name == f"{mod}-1.2.0+traced-py3-none-any.whl"
    assert wheel_metadata(wheel) == (f"{mod}-1.2.0+traced.dist-info", "1.2.0+traced")
    assert provenance(wheel) is not None


@pytest.mark.parametrize("fixture", ["setuptools", "flit", "pdm"])
def test_local_version_prepared_metadata_matches_wheel(
    fixture: str, backends_venv: Path, tmp_path: Path
) -> None:
    """prepare_metadata_for_build_wheel + build_wheel(metadata_directory=...) as pip calls them."""
    _, mod, _, _ = BACKENDS[fixture]
    project = with_local_version(fixture, tmp_path)
    out = (
        call_hooks(
            backends_venv,
            project,
            """
os.makedirs('meta'); os.makedirs('whl')
name = b.prepare_metadata_for_build_wheel('meta', {})
wheel = b.build_wheel('whl', {}, os.path.join('meta', name))
print(json.dumps([name, wheel, sorted(os.listdir('whl')), sorted(os.listdir('meta'))]))
""",
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    name, wheel, listing, meta_listing = json.loads(out)
    assert name == f"{mod}-1.2.0+traced.dist-info"
    assert [n for n in meta_listing if n.endswith(".dist-info")] == [name]
    assert listing == [wheel] == [f"{mod}-1.2.0+traced-py3-none-any.whl"]
    prepared = (project / "meta" / name / "METADATA").read_text()
    assert "\nVersion: 1.2.0+traced\n" in prepared
    with zipfile.ZipFile(project / "whl" / wheel) as z:
        assert z.read(f"{name}/METADATA").decode() == prepared


# --- the hook surface ------------------------------------------------------------------------


@pytest.mark.parametrize("pip_tracker", [False, True], ids=["plain", "PIP_BUILD_TRACKER"])
@pytest.mark.parametrize("fixture", FIXTURES)
def test_hooks_mirror_the_real_backend(
    fixture: str, pip_tracker: bool, backends_venv: Path, tmp_path: Path
) -> None:
    """hasattr() sees exactly the real backend's hooks (hatchling hides its prepare hooks
    under pip), with the PEP signatures."""
    _, _, backend, _ = BACKENDS[fixture]
    project = copy_project(fixture, tmp_path)
    env = offline_env(**({"PIP_BUILD_TRACKER": str(tmp_path)} if pip_tracker else {}))
    out = (
        call_hooks(
            backends_venv,
            project,
            f"""
import importlib, inspect
inner = importlib.import_module({backend!r})
names = ['get_requires_for_build_wheel', 'get_requires_for_build_sdist',
         'get_requires_for_build_editable', 'prepare_metadata_for_build_wheel',
         'prepare_metadata_for_build_editable', 'build_wheel', 'build_sdist', 'build_editable',
         'UnsupportedOperation']
ours = [n for n in names if hasattr(b, n)]
theirs = [n for n in names if hasattr(inner, n)]
def params(f):
    return "(" + ", ".join(p.name + ("" if p.default is p.empty else "=" + repr(p.default))
                           for p in inspect.signature(f).parameters.values()) + ")"
sigs = {{n: params(getattr(b, n)) for n in ours if n != 'UnsupportedOperation'}}
print(json.dumps([ours, theirs, sigs, sorted(n for n in dir(b) if n in names)]))
""",
            env=env,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    ours, theirs, sigs, listed = json.loads(out)
    assert ours == theirs
    assert listed == sorted(ours)
    assert "build_wheel" in ours and "build_sdist" in ours
    if fixture == "hatchling":
        assert ("prepare_metadata_for_build_wheel" in ours) is (not pip_tracker)
    for name, sig in sigs.items():
        if name.startswith("get_requires"):
            assert sig == "(config_settings=None)"
        elif name.startswith("prepare_metadata"):
            assert sig == "(metadata_directory, config_settings=None)"
        elif name == "build_sdist":
            assert sig == "(sdist_directory, config_settings=None)"
        else:
            assert sig == "(wheel_directory, config_settings=None, metadata_directory=None)"


RECORDING_BACKEND = '''\
"""An in-tree backend (loaded through backend-path) that records what it is given."""
import gzip
import json
import os
import sys
import time

from flit_core import buildapi as _flit


def _record(hook, *args):
    with open(os.environ["RECORD_HOOKS"], "a") as f:
        f.write(json.dumps([hook, *args]) + "\\n")


def get_requires_for_build_wheel(config_settings=None):
    _record("get_requires_for_build_wheel", config_settings)
    return ["recorded-requirement"]


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _record("build_wheel", config_settings, metadata_directory)
    if os.environ.get("RECORDING_BACKEND_EXIT"):
        with open(os.path.join(wheel_directory, "partial.whl"), "wb") as f:
            f.write(b"half")
        sys.exit(1)  # as maturin does
    return _flit.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory, config_settings=None):
    _record("build_sdist", config_settings)
    return _flit.build_sdist(sdist_directory, config_settings)


class UnsupportedOperation(Exception):
    pass
'''


@pytest.fixture
def recording_project(tmp_path: Path) -> Path:
    """The flit fixture, built by an in-tree backend found through ``backend-path``."""
    project = copy_project("flit", tmp_path)
    (project / "_backend").mkdir()
    (project / "_backend" / "recording_backend.py").write_text(RECORDING_BACKEND)
    set_equip_table(project, "recording_backend", 'backend-path = ["_backend"]\n')
    return project


def test_backend_path_hooks_and_config_settings_pass_through(
    recording_project: Path, backends_venv: Path, tmp_path: Path
) -> None:
    record = tmp_path / "record.jsonl"
    settings = {"--build-option": ["--x", "--y"], "equip-wheel.enabled": "true", "other": "1"}
    out = (
        call_hooks(
            backends_venv,
            recording_project,
            f"""
settings = {settings!r}
snapshot = json.dumps(settings, sort_keys=True)
hooks = sorted(n for n in ['get_requires_for_build_wheel', 'get_requires_for_build_sdist',
    'prepare_metadata_for_build_wheel', 'build_wheel', 'build_sdist', 'build_editable',
    'get_requires_for_build_editable', 'prepare_metadata_for_build_editable'] if hasattr(b, n))
requires = b.get_requires_for_build_wheel(settings)
wheel = b.build_wheel('out', settings)
assert json.dumps(settings, sort_keys=True) == snapshot, "config_settings were modified"
print(json.dumps([hooks, requires, wheel, b.UnsupportedOperation.__module__]))
""",
            env=offline_env(RECORD_HOOKS=str(record)),
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    hooks, requires, wheel, unsupported_module = json.loads(out)
    assert hooks == ["build_sdist", "build_wheel", "get_requires_for_build_wheel"]
    assert requires == ["recorded-requirement"]
    assert unsupported_module == "recording_backend"
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    assert calls == [
        ["get_requires_for_build_wheel", settings],
        ["build_wheel", settings, None],
    ]
    assert provenance(recording_project / "out" / wheel) is not None


def test_inner_system_exit_leaves_nothing(
    recording_project: Path, backends_venv: Path, tmp_path: Path
) -> None:
    proc = call_hooks(
        backends_venv,
        recording_project,
        "b.build_wheel('out')",
        env=offline_env(RECORD_HOOKS=str(tmp_path / "record.jsonl"), RECORDING_BACKEND_EXIT="1"),
        check=False,
    )
    assert proc.returncode == 1
    assert list((recording_project / "out").iterdir()) == [], "temporary files left behind"


@pytest.mark.parametrize(
    "how",
    ["config setting", "config setting list", "environment", "table"],
)
def test_switch_off(how: str, backends_venv: Path, tmp_path: Path) -> None:
    project = copy_project("flit", tmp_path)
    settings: dict = {}
    env = offline_env()
    if how == "config setting":
        settings = {"equip-wheel.enabled": "false"}
    elif how == "config setting list":
        settings = {"equip-wheel.enabled": ["true", "0"]}
    elif how == "environment":
        env["EQUIP_WHEEL_DISABLE"] = "1"
    else:
        set_equip_table(project, "flit_core.buildapi", "enabled = false\n")
    proc = call_hooks(
        backends_venv,
        project,
        f"""
os.makedirs('meta'); os.makedirs('out')
name = b.prepare_metadata_for_build_wheel('meta', {settings!r})
print(name, b.build_wheel('out', {settings!r}, os.path.join('meta', name)))
""",
        env=env,
    )
    meta, wheel = proc.stdout.split()[-2:]
    assert meta == "eqfix_flit-1.2.0.dist-info"
    assert provenance(project / "out" / wheel) is None
    assert "instrumentation switched off" in proc.stderr
    if how == "table":
        # A config setting switches it back on for one build.
        call_hooks(
            backends_venv,
            project,
            "os.makedirs('on'); b.build_wheel('on', {'equip-wheel.enabled': 'true'})",
        )
        assert provenance(only_wheel(project / "on")) is not None


def test_switch_off_through_pip_config_settings(offline: None, tmp_path: Path) -> None:
    project = copy_project("flit", tmp_path)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            *offline_args(),
            "-w",
            tmp_path / "out",
            "--config-settings",
            "equip-wheel.enabled=false",
            project,
        ]
    )
    assert provenance(only_wheel(tmp_path / "out")) is None


def test_switch_with_a_bad_value_fails_cleanly(backends_venv: Path, tmp_path: Path) -> None:
    project = copy_project("flit", tmp_path)
    proc = call_hooks(
        backends_venv,
        project,
        "os.makedirs('out'); b.build_wheel('out', {'equip-wheel.enabled': 'maybe'})",
        check=False,
    )
    assert proc.returncode == 1
    assert (
        "equip-wheel: error: config setting equip-wheel.enabled must be true or false"
        in proc.stderr
    )
    assert "Traceback" not in proc.stderr


def test_switched_off_build_ignores_a_broken_config(backends_venv: Path, tmp_path: Path) -> None:
    project = copy_project("flit", tmp_path)
    set_equip_table(
        project, "flit_core.buildapi", '[tool.equip-wheel.hooks]\nfunction-enter = "f({nope})"\n'
    )
    call_hooks(
        backends_venv,
        project,
        "os.makedirs('out'); b.build_wheel('out')",
        env=offline_env(EQUIP_WHEEL_DISABLE="1"),
    )
    assert provenance(only_wheel(project / "out")) is None


@pytest.mark.parametrize(
    "table, message",
    [
        ('[tool.equip-wheel.hooks]\nfunction-entr = "f()"\n', "unknown field `function-entr`"),
        ('[tool.equip-wheel.hooks]\nfunction-enter = "f({nope})"\n', "unknown placeholder {nope}"),
        ('config = "missing.toml"\n', "missing.toml: cannot read"),
    ],
    ids=["unknown key", "bad placeholder", "missing config file"],
)
def test_config_errors_fail_cleanly(
    table: str, message: str, backends_venv: Path, tmp_path: Path
) -> None:
    project = copy_project("flit", tmp_path)
    set_equip_table(project, "flit_core.buildapi", table)
    proc = call_hooks(backends_venv, project, "b.build_wheel('out')", check=False)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("equip-wheel: error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (project / "out").exists() or list((project / "out").iterdir()) == []


@pytest.mark.parametrize(
    "table, message",
    [
        (None, "has no [tool.equip-wheel] table"),
        ("enabled = true\n", "build-backend is missing"),
        (
            'build-backend = "no_such_backend_mod"\n',
            "cannot import the real build backend 'no_such_backend_mod'",
        ),
        ('build-backend = "flit_core.buildapi:nope"\n', "has no attribute 'nope'"),
        ('build-backend = "equip_wheel.build"\n', "cannot be equip_wheel.build itself"),
    ],
    ids=["no table", "no backend", "unimportable", "bad object", "itself"],
)
def test_backend_setting_errors(
    table: str | None, message: str, backends_venv: Path, tmp_path: Path
) -> None:
    project = copy_project("flit", tmp_path)
    text = (project / "pyproject.toml").read_text()
    head = text[: text.index("[tool.equip-wheel]")]
    (project / "pyproject.toml").write_text(
        head + ("[tool.equip-wheel]\n" + table if table else "")
    )
    proc = call_hooks(backends_venv, project, "hasattr(b, 'build_wheel')", check=False)
    assert proc.returncode == 1
    assert "equip-wheel: error: " in proc.stderr and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_mismatching_metadata_directory_is_refused(backends_venv: Path, tmp_path: Path) -> None:
    """A metadata_directory whose version the wheel does not have fails the build, leaving
    no wheel."""
    project = copy_project("flit", tmp_path)
    proc = call_hooks(
        backends_venv,
        project,
        """
os.makedirs('meta/eqfix_flit-9.9.dist-info')
with open('meta/eqfix_flit-9.9.dist-info/METADATA', 'w') as f:
    f.write('Metadata-Version: 2.1\\nName: eqfix-flit\\nVersion: 9.9\\n\\n')
b.build_wheel('out', None, 'meta/eqfix_flit-9.9.dist-info')
""",
        check=False,
    )
    assert proc.returncode == 1
    assert "prepared metadata" in proc.stderr and "9.9" in proc.stderr, proc.stderr
    assert list((project / "out").iterdir()) == []


# --- errors before anything is built, through real frontends ------------------------------

#: What uv and build print when they start building the wheel from the sdist.
WHEEL_FROM_SDIST = "Building wheel from"


def frontend_cmd(frontend: str, project: Path, out: Path, *extra: str) -> list:
    """The command line of a real frontend building ``project`` into ``out``."""
    if frontend == "pip wheel":
        return [sys.executable, "-m", "pip", "wheel", "--no-deps", *offline_args(), "-w", out,
                *extra, project]  # fmt: skip
    if frontend == "python -m build":
        return [sys.executable, "-m", "build", "--outdir", out, *extra, project]
    if frontend == "uv build":
        return [*UV, "build", "--python", sys.executable, *offline_args(), "--out-dir", out,
                *extra, project]  # fmt: skip
    raise AssertionError(frontend)


def built_files(out: Path) -> list[str]:
    """What a build left in its output directory (uv writes a .gitignore there first)."""
    if not out.exists():
        return []
    return sorted(p.name for p in out.iterdir() if p.name != ".gitignore")


def assert_fails_first(proc, out: Path, names: Path, message: str) -> str:
    """The build failed with one ``equip-wheel: error:`` line that names ``names`` (a file of
    the project) and says ``message``, before any sdist or wheel was written. Returns it."""
    assert proc.returncode != 0, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "equip-wheel: error:" in line]
    assert len(errors) == 1, proc.stderr
    error = errors[0]
    assert str(names) in error and message in error, error
    assert "Traceback" not in proc.stderr
    assert WHEEL_FROM_SDIST not in proc.stderr + proc.stdout, proc.stderr
    assert built_files(out) == [], "an sdist or wheel was left behind"
    return error


@pytest.mark.parametrize("frontend", ["pip wheel", "python -m build", "uv build"])
@pytest.mark.parametrize("where", ["pyproject.toml", "equip.toml"])
def test_config_error_is_reported_before_anything_is_built(
    where: str, frontend: str, offline: None, tmp_path: Path
) -> None:
    """An invalid configuration fails the first hook (get_requires_*), naming the project's
    own file, not the copy in an sdist unpacked into a temporary directory."""
    project = copy_project("flit", tmp_path)
    bad = '[hooks]\nfunction-enter = "f({qualnam})"\n'
    if where == "pyproject.toml":
        set_equip_table(project, "flit_core.buildapi", "[tool.equip-wheel." + bad[1:])
    else:
        (project / "equip.toml").write_text(bad)
        set_equip_table(
            project,
            "flit_core.buildapi",
            'config = "equip.toml"\n\n[tool.flit.sdist]\ninclude = ["equip.toml"]\n',
        )
    out = tmp_path / "out"
    proc = run(frontend_cmd(frontend, project, out), check=False)
    error = assert_fails_first(proc, out, project / where, "unknown placeholder {qualnam}")
    assert f"{project / where}:" in error and "hooks.function-enter" in error, error


@pytest.mark.parametrize("frontend", ["python -m build", "uv build"])
@pytest.mark.parametrize(
    "fixture, include",
    [
        ("setuptools", 'add the line "include equip.toml" to MANIFEST.in'),
        ("flit", 'list it in [tool.flit.sdist] include = ["equip.toml"]'),
    ],
)
def test_config_file_missing_from_the_sdist_fails_with_a_hint(
    fixture: str, include: str, frontend: str, offline: None, tmp_path: Path
) -> None:
    """The real backend leaves equip.toml out of its sdist: build_sdist fails (and leaves no
    sdist) with how to include it; following the hint makes the same build work."""
    _, mod, backend, _ = BACKENDS[fixture]
    project = copy_project(fixture, tmp_path)
    (project / "equip.toml").write_text(f'preset = "calls"\n\n[select]\nmodules = ["{mod}.core"]\n')
    set_equip_table(project, backend, 'config = "equip.toml"\n')
    out = tmp_path / "out"
    proc = run(frontend_cmd(frontend, project, out), check=False)
    error = assert_fails_first(
        proc, out, project / "pyproject.toml", "config = 'equip.toml': the sdist"
    )
    assert f"does not contain equip.toml; {include}" in error.replace(
        ", so a wheel built from it (uv build, python -m build) would miss its settings", ""
    ), error
    assert "or move the settings inline into [tool.equip-wheel]" in error

    if frontend == "uv build":
        # The hint, followed, works.
        if fixture == "setuptools":
            (project / "MANIFEST.in").write_text("include equip.toml\n")
        else:
            with (project / "pyproject.toml").open("a") as f:
                f.write('\n[tool.flit.sdist]\ninclude = ["equip.toml"]\n')
        run(frontend_cmd(frontend, project, out))
        prov = provenance(only_wheel(out))
        assert prov is not None
        assert prov["config"]["select"]["modules"] == [f"{mod}.core"], prov


def test_config_file_missing_from_a_given_sdist_fails_with_a_hint(
    offline: None, tmp_path: Path
) -> None:
    """An sdist made without the check (instrumentation switched off) and built later: the
    wheel build says the file is not in the sdist and how to include it."""
    project = copy_project("flit", tmp_path)
    (project / "equip.toml").write_text('preset = "calls"\n')
    set_equip_table(project, "flit_core.buildapi", 'config = "equip.toml"\n')
    sdists = tmp_path / "sdists"
    run(
        frontend_cmd("uv build", project, sdists, "--sdist"),
        env=offline_env(EQUIP_WHEEL_DISABLE="1"),
    )
    [sdist] = sdists.glob("*.tar.gz")
    out = tmp_path / "out"
    proc = run(frontend_cmd("pip wheel", sdist, out), check=False)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if "equip-wheel: error:" in line]
    assert len(errors) == 1, proc.stderr
    assert "config = 'equip.toml': equip.toml is not in the sdist this wheel is built from; " \
        'list it in [tool.flit.sdist] include = ["equip.toml"]' in errors[0], errors[0]  # fmt: skip
    assert built_files(out) == []


EARLY_HOOKS = {
    "get_requires_for_build_wheel": "b.get_requires_for_build_wheel({})",
    "get_requires_for_build_sdist": "b.get_requires_for_build_sdist({})",
    "get_requires_for_build_editable": "b.get_requires_for_build_editable({})",
    "prepare_metadata_for_build_wheel": "b.prepare_metadata_for_build_wheel('out', {})",
    "prepare_metadata_for_build_editable": "b.prepare_metadata_for_build_editable('out', {})",
    "build_sdist": "b.build_sdist('out', {})",
}


@pytest.mark.parametrize("hook", list(EARLY_HOOKS))
def test_each_early_hook_validates_the_config(
    hook: str, backends_venv: Path, tmp_path: Path
) -> None:
    project = copy_project("setuptools", tmp_path)
    set_equip_table(
        project,
        "setuptools.build_meta",
        '[tool.equip-wheel.hooks]\nfunction-enter = "f({nope})"\n',
    )
    (project / "out").mkdir()
    proc = call_hooks(backends_venv, project, EARLY_HOOKS[hook], check=False)
    assert proc.returncode == 1, proc.stderr
    [error] = [line for line in proc.stderr.splitlines() if "equip-wheel: error:" in line]
    assert f"{project / 'pyproject.toml'}:" in error and "unknown placeholder {nope}" in error
    assert list((project / "out").iterdir()) == []
    # Switched off, the same hook does not read the settings.
    proc = call_hooks(
        backends_venv, project, EARLY_HOOKS[hook], env=offline_env(EQUIP_WHEEL_DISABLE="1")
    )
    assert "equip-wheel: error:" not in proc.stderr


def test_config_file_outside_the_project_fails_build_sdist(
    backends_venv: Path, tmp_path: Path
) -> None:
    project = copy_project("hatchling", tmp_path)
    (tmp_path / "shared.toml").write_text('preset = "calls"\n')
    set_equip_table(project, "hatchling.build", 'config = "../shared.toml"\n')
    proc = call_hooks(backends_venv, project, "b.build_sdist('out')", check=False)
    assert proc.returncode == 1
    [error] = [line for line in proc.stderr.splitlines() if "equip-wheel: error:" in line]
    assert (
        f"{project / 'pyproject.toml'}: config = '../shared.toml' is outside the project" in error
    ), error
    assert list((project / "out").iterdir()) == []


def test_mistyped_backend_gets_did_you_mean_through_uv(offline: None, tmp_path: Path) -> None:
    project = copy_project("setuptools", tmp_path)
    set_equip_table(project, "setuptools.build_meat", "")
    out = tmp_path / "out"
    proc = run(frontend_cmd("uv build", project, out), check=False)
    error = assert_fails_first(
        proc,
        out,
        project / "pyproject.toml",
        "cannot import the real build backend 'setuptools.build_meat'",
    )
    assert error.endswith("; did you mean 'setuptools.build_meta'?"), error
    assert "[build-system] requires" not in error, error


@pytest.mark.parametrize(
    "spec, suggestion",
    [
        ("hatchling.biuld", "; did you mean 'hatchling.build'?"),
        ("flit_core.buildap", "; did you mean 'flit_core.buildapi'?"),
        ("pdm.backnd", "; did you mean 'pdm.backend'?"),
        (
            "poetry.core.masonry.apy",
            "; did you mean 'poetry.core.masonry.api'? (not installed here: list it in "
            "[build-system] requires too)",
        ),
        ("completely_different", " (list it in [build-system] requires): No module named"),
        ("maturin", " (list it in [build-system] requires): No module named 'maturin'"),
    ],
)
def test_mistyped_backend_did_you_mean(
    spec: str, suggestion: str, backends_venv: Path, tmp_path: Path
) -> None:
    project = copy_project("flit", tmp_path)
    set_equip_table(project, spec, "")
    proc = call_hooks(backends_venv, project, "hasattr(b, 'build_wheel')", check=False)
    assert proc.returncode == 1
    [error] = [line for line in proc.stderr.splitlines() if "equip-wheel: error:" in line]
    assert error.startswith(f"equip-wheel: error: {project / 'pyproject.toml'}: "), error
    assert suggestion in error, error
    if "did you mean" not in suggestion:
        assert "did you mean" not in error


# --- a local version label through sdist-first frontends -----------------------------------


def sdist_pkg_info_version(sdist: Path) -> tuple[str, str]:
    """(top-level directory, PKG-INFO Version) of an sdist."""
    members = sdist_members(sdist)
    top = {name.split("/")[0] for name in members}
    assert len(top) == 1, top
    [top_dir] = top
    pkg_info = members[f"{top_dir}/PKG-INFO"][2].decode()
    version = next(
        v.split(":", 1)[1].strip() for v in pkg_info.splitlines() if v.startswith("Version:")
    )
    return top_dir, version


@pytest.mark.parametrize(
    "fixture, frontend",
    [(f, "uv build") for f in FIXTURES] + [("flit", "python -m build")],
)
def test_local_version_builds_from_the_sdist(
    fixture: str, frontend: str, offline: None, tmp_path: Path
) -> None:
    """uv compares the version of the wheel built from the sdist with the sdist's: the sdist
    carries the label too (file name, top directory, PKG-INFO)."""
    dist, mod, _, _ = BACKENDS[fixture]
    project = with_local_version(fixture, tmp_path)
    out = tmp_path / "out"
    run(frontend_cmd(frontend, project, out))
    [sdist] = out.glob("*.tar.gz")
    wheel = only_wheel(out)
    assert sdist.name == f"{mod}-1.2.0+traced.tar.gz"
    assert sdist_pkg_info_version(sdist) == (f"{mod}-1.2.0+traced", "1.2.0+traced")
    assert wheel.name == f"{mod}-1.2.0+traced-py3-none-any.whl"
    assert wheel_metadata(wheel) == (f"{mod}-1.2.0+traced.dist-info", "1.2.0+traced")
    assert provenance(wheel) is not None
    venv = harness.Venv.create_with_uv(Path(sys.executable), tmp_path / "venv")
    venv.uv_install("--no-deps", "--offline", "--no-cache", wheel)
    assert_counts(calls_of(venv.python, mod, tmp_path), fixture)


@pytest.mark.parametrize("fixture", FIXTURES)
def test_local_version_sdist_is_the_real_backends_relabelled(
    fixture: str, backends_venv: Path, tmp_path: Path
) -> None:
    """The labelled sdist is the real backend's with only the top directory and PKG-INFO's
    Version changed (member order, types, modes and contents kept)."""
    _, mod, _, _ = BACKENDS[fixture]
    env = offline_env(SOURCE_DATE_EPOCH="1700000000")
    sdists = {}
    for label, extra in [("plain", {"EQUIP_WHEEL_DISABLE": "1"}), ("labelled", {})]:
        project = with_local_version(fixture, tmp_path / label)
        name = (
            call_hooks(backends_venv, project, "print(b.build_sdist('out'))", env={**env, **extra})
            .stdout.strip()
            .splitlines()[-1]
        )
        assert sorted(p.name for p in (project / "out").iterdir()) == [name]
        sdists[label] = project / "out" / name
    assert sdists["plain"].name == f"{mod}-1.2.0.tar.gz"
    assert sdists["labelled"].name == f"{mod}-1.2.0+traced.tar.gz"
    plain = sdist_members(sdists["plain"])
    labelled = sdist_members(sdists["labelled"])
    old, new = f"{mod}-1.2.0", f"{mod}-1.2.0+traced"
    assert list(labelled) == [n.replace(old, new, 1) for n in plain]
    for name, member in plain.items():
        relabelled = labelled[name.replace(old, new, 1)]
        if name == f"{old}/PKG-INFO":
            assert relabelled[2] == member[2].replace(
                b"\nVersion: 1.2.0\n", b"\nVersion: 1.2.0+traced\n"
            )
            assert relabelled[:2] == member[:2]
        else:
            assert relabelled == member, name


PKG_INFO_VERSION_BACKEND = '''\
"""An in-tree backend (loaded through backend-path): flit_core, except that, as
VCS-versioning plugins do outside a checkout, it takes the version from PKG-INFO when the
project has one (an unpacked sdist)."""
import os
import re

from flit_core.buildapi import build_sdist, get_requires_for_build_sdist  # noqa: F401
from flit_core.buildapi import build_wheel as _flit_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if os.path.exists("PKG-INFO"):
        with open("PKG-INFO") as f:
            version = re.search(r"^Version: (.*)$", f.read(), re.M).group(1)
        with open("pyproject.toml") as f:
            text = f.read()
        with open("pyproject.toml", "w") as f:
            f.write(re.sub(r'^version = ".*"$', f'version = "{version}"', text, count=1, flags=re.M))
    return _flit_build_wheel(wheel_directory, config_settings, metadata_directory)
'''


def test_local_version_taken_from_pkg_info_fails_instead_of_labelling_twice(
    offline: None, tmp_path: Path
) -> None:
    project = copy_project("flit", tmp_path)
    (project / "_backend").mkdir()
    (project / "_backend" / "pkg_info_backend.py").write_text(PKG_INFO_VERSION_BACKEND)
    set_equip_table(
        project,
        "pkg_info_backend",
        'backend-path = ["_backend"]\npreset = "calls"\n\n[tool.equip-wheel.output]\n'
        'local-version = "traced"\n\n[tool.flit.sdist]\ninclude = ["_backend/"]\n',
    )
    out = tmp_path / "out"
    proc = run(frontend_cmd("uv build", project, out), check=False)
    assert proc.returncode != 0
    [error] = [line for line in proc.stderr.splitlines() if "equip-wheel: error:" in line]
    assert (
        "the real backend built version 1.2.0+traced from this sdist, whose PKG-INFO already "
        "carries the local version label 'traced'" in error
    ), error
    assert "the wheel would be 1.2.0+traced.traced" in error
    assert "build the wheel from the source tree (pip wheel ., uv build --wheel)" in error
    assert not list(out.glob("*.whl"))
    # The fix the message gives works.
    run(frontend_cmd("uv build", project, out, "--wheel"))
    assert only_wheel(out).name == "eqfix_flit-1.2.0+traced-py3-none-any.whl"


# --- switching instrumentation off through real frontends -----------------------------------


@pytest.mark.parametrize(
    "frontend, how",
    [
        ("uv build", "-C equip-wheel.enabled=false"),
        ("python -m build", "-C equip-wheel.enabled=false"),
        ("uv build", "EQUIP_WHEEL_DISABLE=1"),
        ("pip wheel", "EQUIP_WHEEL_DISABLE=1"),
    ],
)
def test_switched_off_builds_the_real_backends_wheel(
    frontend: str, how: str, offline: None, tmp_path: Path
) -> None:
    """Switched off, the wrapper builds exactly the real backend's wheel and sdist: no
    provenance, no local label, no instrumented module, even with a broken config."""
    env = offline_env(SOURCE_DATE_EPOCH="1700000000")
    # The same project with flit_core as its own backend: the reference wheel.
    reference = copy_project("flit", tmp_path / "reference")
    text = (reference / "pyproject.toml").read_text()
    (reference / "pyproject.toml").write_text(
        text.replace(
            'build-backend = "equip_wheel.build"', 'build-backend = "flit_core.buildapi"', 1
        )
    )
    run(frontend_cmd(frontend, reference, tmp_path / "ref-out"), env=env)
    expected = only_wheel(tmp_path / "ref-out")

    project = with_local_version("flit", tmp_path)
    with (project / "pyproject.toml").open("a") as f:
        f.write('\n[tool.equip-wheel.hooks]\nfunction-enter = "f({nope})"\n')
    extra: list[str] = []
    if how.startswith("-C"):
        extra = ["--config-settings" if frontend == "pip wheel" else "-C", how.split(" ", 1)[1]]
    else:
        env["EQUIP_WHEEL_DISABLE"] = "1"
    out = tmp_path / "out"
    proc = run(frontend_cmd(frontend, project, out, *extra), env=env)
    wheel = only_wheel(out)
    assert wheel.name == expected.name == "eqfix_flit-1.2.0-py3-none-any.whl"
    assert provenance(wheel) is None
    assert harness.wheel_members(wheel) == harness.wheel_members(expected)
    if frontend != "pip wheel":
        [sdist] = out.glob("*.tar.gz")
        assert sdist.name == "eqfix_flit-1.2.0.tar.gz"
    if frontend != "pip wheel":  # pip shows a backend's output only when it fails
        assert "instrumentation switched off by" in proc.stderr + proc.stdout


# --- docs/build-backend.md ---------------------------------------------------------------


def doc_blocks(lang: str) -> list[str]:
    text = (harness.REPO / "docs" / "build-backend.md").read_text()
    blocks, current = [], None
    for line in text.splitlines(keepends=True):
        if current is None and line.strip() == f"```{lang}":
            current = []
        elif current is not None and line.strip() == "```":
            blocks.append("".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_build_backend_doc_examples(backends_venv: Path, tmp_path: Path) -> None:
    import equip_wheel

    quick, inline, with_file, equip_toml = doc_blocks("toml")
    # The quick start builds an instrumented wheel.
    project = tmp_path / "quick"
    (project / "src" / "mypkg").mkdir(parents=True)
    (project / "src" / "mypkg" / "__init__.py").write_text("def hello():\n    return 'hi'\n")
    (project / "pyproject.toml").write_text(quick)
    call_hooks(backends_venv, project, "os.makedirs('dist'); print(b.build_wheel('dist'))")
    wheel = only_wheel(project / "dist")
    assert wheel.name == "mypkg-1.0-py3-none-any.whl"
    assert provenance(wheel) is not None
    # The other examples are valid configurations.
    for name, text in [("inline", inline), ("file", with_file)]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "pyproject.toml").write_text(text)
        (tmp_path / name / "equip.toml").write_text(equip_toml)
        config = equip_wheel.load_config(tmp_path / name / "pyproject.toml")
        assert config.build_backend in ("hatchling.build", "flit_core.buildapi")
    assert equip_wheel.load_config(tmp_path / "inline" / "pyproject.toml").local_version == "traced"
    assert equip_wheel.load_config(tmp_path / "file" / "pyproject.toml").normalized["select"][
        "modules"
    ] == ["mypkg.core"]
