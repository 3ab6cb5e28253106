"""Real wheels from PyPI, instrumented with the default preset.

Each of the six pinned wheels (harness.REAL_WHEELS) is instrumented with no config (the
``calls`` preset); every output must pass ``equip-wheel verify``, pypa/installer's
``validate_record(validate_contents=True)`` and a hash-checking read of every member with
``wheel.wheelfile.WheelFile``; install with pip and with uv into fresh venvs of CPython 3.11
and 3.13 (no installer warning); import and work (a small real use of each package, whose
results are checked); and write the calls JSON at exit, with the exact number of calls of
the functions the use called directly.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import textwrap
from pathlib import Path

import harness
import pytest
from harness import Venv

INSTALL_PYTHONS = ["3.11", "3.13"]
INSTALLERS = ["pip", "uv"]
NAMES = [name for name, _ in harness.REAL_WHEELS]

#: The import names of each distribution: every module in a calls file written by a use
#: of the package must belong to it.
IMPORT_NAMES = {
    "six": ("six",),
    "attrs": ("attr", "attrs"),
    "click": ("click",),
    "packaging": ("packaging",),
    "idna": ("idna",),
    "more-itertools": ("more_itertools",),
}

#: A small real use of each package: it asserts its own results and prints "ok <pid>".
USES = {
    "six": """
        import six
        from six.moves.urllib.parse import urljoin
        assert six.ensure_str(b"caf\\xc3\\xa9") == "caf\\u00e9"
        assert dict(six.iteritems({"a": 1})) == {"a": 1}
        class Meta(type):
            pass
        class Base(six.with_metaclass(Meta, object)):
            pass
        assert type(Base) is Meta and Base.__mro__[1] is object
        assert urljoin("http://a/b/", "c") == "http://a/b/c"
    """,
    "attrs": """
        import attr, attrs
        @attr.s
        class Point:
            x = attr.ib()
            y = attr.ib(default=0)
        @attrs.define
        class Box:
            size: int
            items: list = attrs.field(factory=list)
        assert attr.asdict(Point(1)) == {"x": 1, "y": 0}
        assert attrs.evolve(Box(2), size=3) == Box(3)
        assert repr(Box(2)) == "Box(size=2, items=[])"
        try:
            Box(2).missing = 1
        except AttributeError:
            pass
        else:
            raise AssertionError("slots class accepted a new attribute")
    """,
    "click": """
        import click
        from click.testing import CliRunner
        @click.command()
        @click.option("--count", type=int, default=1)
        @click.argument("name")
        def hello(count, name):
            for _ in range(count):
                click.echo("Hello %s" % name)
        result = CliRunner().invoke(hello, ["--count", "2", "Ann"])
        assert result.exit_code == 0, result.output
        assert result.output == "Hello Ann\\nHello Ann\\n", result.output
    """,
    "packaging": """
        from packaging.version import Version
        from packaging.specifiers import SpecifierSet
        from packaging.requirements import Requirement
        assert Version("1.0") < Version("2.0rc1") < Version("2.0")
        assert SpecifierSet(">=1.0,<3").contains("2.5")
        req = Requirement('name[extra]>=1.0; python_version > "3"')
        assert req.name == "name" and req.extras == {"extra"} and str(req.specifier) == ">=1.0"
        assert req.marker.evaluate()
    """,
    "idna": """
        import idna
        assert idna.encode("\\u30c9\\u30e1\\u30a4\\u30f3.\\u30c6\\u30b9\\u30c8") == b"xn--eckwd4c7c.xn--zckzah"
        assert idna.decode("xn--eckwd4c7c.xn--zckzah") == "\\u30c9\\u30e1\\u30a4\\u30f3.\\u30c6\\u30b9\\u30c8"
        try:
            idna.encode("a..b")
        except idna.IDNAError:
            pass
        else:
            raise AssertionError("empty label accepted")
    """,
    "more-itertools": """
        import more_itertools as mi
        assert list(mi.chunked(range(5), 2)) == [[0, 1], [2, 3], [4]]
        assert list(mi.windowed([1, 2, 3], 2)) == [(1, 2), (2, 3)]
        assert mi.first([], default=7) == 7
        assert mi.first([5, 6]) == 5
    """,
}

#: module -> qualname -> exact number of calls made by the use above (functions it calls
#: directly, that nothing else in the package calls during the use).
EXACT_CALLS = {
    "six": {"six": {"ensure_str": 1, "iteritems": 1, "with_metaclass": 1}},
    "attrs": {
        "attr._funcs": {"evolve": 1},
        "attr._next_gen": {"define": 1, "field": 1},
    },
    "click": {
        "click.decorators": {"command": 1, "option": 1, "argument": 1},
        "click.testing": {"CliRunner.invoke": 1},
        "click.core": {"Command.invoke": 1},
        "click.utils": {"echo": 2},
    },
    "packaging": {
        "packaging.specifiers": {"SpecifierSet.contains": 1},
        "packaging.requirements": {"Requirement.__init__": 1},
        "packaging.markers": {"Marker.evaluate": 1},
    },
    "idna": {"idna.core": {"encode": 2, "decode": 1}},
    "more-itertools": {"more_itertools.more": {"chunked": 1, "windowed": 1, "first": 2}},
}

#: module -> qualnames that ran inside the package (called by other package code): their
#: count must be at least the given number.
AT_LEAST_CALLS = {
    "six": {"six": {"with_metaclass.<locals>.metaclass.__new__": 1}},
    "attrs": {
        "attr._make": {"_ClassBuilder.__init__": 2, "_ClassBuilder.build_class": 2},
        "attr._funcs": {"asdict": 1},
    },
    "click": {"click.core": {"BaseCommand.main": 1, "Context.__init__": 1}},
    "packaging": {
        "packaging.version": {"Version.__init__": 3, "_BaseVersion.__lt__": 2},
        "packaging._parser": {"parse_requirement": 1},
    },
    "idna": {"idna.core": {"alabel": 2, "ulabel": 2, "check_label": 1}},
    "more-itertools": {},
}


@pytest.fixture(scope="session")
def installed_venv(instrumented_wheels, tmp_path_factory):
    """``get(minor, installer) -> Venv``: a fresh venv with all six instrumented wheels
    installed by ``installer`` (pip or uv) in one command, made once per session."""
    made: dict[tuple[str, str], Venv | BaseException] = {}

    def get(minor: str, installer: str) -> Venv:
        key = (minor, installer)
        if key not in made:
            python = harness.require_python(minor)
            path = tmp_path_factory.mktemp(f"{installer}-{minor}") / "venv"
            try:
                if installer == "pip":
                    venv = Venv.create(python, path)
                    venv.pip_install("--no-index", *instrumented_wheels.values())
                else:
                    venv = Venv.create_with_uv(python, path)
                    venv.uv_install("--no-index", *instrumented_wheels.values())
                made[key] = venv
            except BaseException as exc:  # one failure, reported by every test using it
                made[key] = exc
        value = made[key]
        if isinstance(value, BaseException):
            raise AssertionError(
                f"installing the instrumented wheels with {installer} on {minor} failed"
            ) from value
        return value

    return get


@pytest.mark.parametrize("name", NAMES)
def test_output_passes_verifiers(name, real_wheels, instrumented_wheels):
    """equip-wheel verify, installer's validate_record with contents, wheel's hash-checked
    read of every member; and the output is the input plus the hooks module and the
    provenance file, with instrumented modules changed and every other member unchanged."""
    original, output = real_wheels[name], instrumented_wheels[name]

    proc = harness.run_equip("verify", output, check=False)
    assert proc.returncode == 0, f"equip-wheel verify {output.name}:\n{proc.stdout}\n{proc.stderr}"

    from installer.sources import WheelFile as InstallerWheelFile

    with InstallerWheelFile.open(output) as source:
        source.validate_record(validate_contents=True)

    from wheel.wheelfile import WheelFile

    with WheelFile(output) as wf:
        for info in wf.infolist():
            wf.read(info)  # raises WheelError on a hash or size mismatch

    before, after = harness.wheel_members(original), harness.wheel_members(output)
    dist_info = next(n.split("/")[0] for n in before if n.split("/")[0].endswith(".dist-info"))
    hooks = [
        n for n in after if n.startswith("_equip_hooks_") and n.endswith(".py") and "/" not in n
    ]
    assert len(hooks) == 1, f"expected one _equip_hooks_*.py at the root, got {hooks}"
    signatures = {f"{dist_info}/RECORD.jws", f"{dist_info}/RECORD.p7s"}
    assert set(after) == (set(before) - signatures) | {hooks[0], f"{dist_info}/equip-wheel.json"}
    changed = sorted(n for n in before if n in after and before[n] != after[n])
    assert f"{dist_info}/RECORD" in changed
    modules_changed = [n for n in changed if n.endswith(".py")]
    assert modules_changed, f"{output.name}: no module was instrumented"
    metadata = f"{dist_info}/METADATA"
    not_py = [
        n for n in changed if not n.endswith(".py") and n not in (f"{dist_info}/RECORD", metadata)
    ]
    assert not_py == [], f"{output.name}: non-module members changed: {not_py}"
    provenance = json.loads(after[f"{dist_info}/equip-wheel.json"])
    # METADATA changes only where Requires-Python admitted Pythons older than 3.8, and only
    # in that header.
    raised = provenance["requires_python"]
    assert (metadata in changed) == (raised is not None)
    if raised is not None:
        assert raised["output"].startswith(">=3.8")

        def without_requires_python(text: bytes) -> list[bytes]:
            return [line for line in text.splitlines() if not line.startswith(b"Requires-Python:")]

        assert without_requires_python(before[metadata]) == without_requires_python(after[metadata])
        assert f"Requires-Python: {raised['output']}".encode() in after[metadata].splitlines()
    assert provenance["input"] == {
        "filename": original.name,
        "sha256": hashlib.sha256(original.read_bytes()).hexdigest(),
    }
    assert provenance["hooks_module"] + ".py" == hooks[0]
    listed = sorted(entry["member"] for entry in provenance["instrumented"])
    assert listed == sorted(modules_changed), "provenance and the changed modules disagree"


def _calls_file_of(run_dir: Path, pid: int) -> dict:
    path = run_dir / f"calls-{pid}.json"
    files = sorted(p.name for p in run_dir.iterdir())
    assert path.exists(), f"no calls file for pid {pid} in {run_dir}: {files}"
    return json.loads(path.read_text())


def _use(venv: Venv, name: str, run_dir: Path) -> tuple[int, dict]:
    """Runs the use of ``name`` in ``venv`` (cwd ``run_dir``, where the calls file goes);
    returns the pid and the calls JSON it wrote at exit."""
    run_dir.mkdir(parents=True, exist_ok=True)
    modules = IMPORT_NAMES[name]
    script = textwrap.dedent(USES[name]) + textwrap.dedent(f"""
        import os, sys, sysconfig
        for _name in {modules!r}:
            _file = os.path.realpath(sys.modules[_name].__file__)
            _site = os.path.realpath(sysconfig.get_paths()["purelib"])
            assert _file.startswith(_site + os.sep), (_name, _file, _site)
        print("ok", os.getpid())
    """)
    proc = venv.run(
        "-c",
        script,
        cwd=run_dir,
        env={"EQUIP_CALLS_FILE": str(run_dir / "calls-{pid}.json"), "PYTHONWARNINGS": "error"},
    )
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert last.startswith("ok "), f"unexpected output:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stderr == "", f"the use of {name} wrote to stderr:\n{proc.stderr}"
    pid = int(last.split()[1])
    return pid, _calls_file_of(run_dir, pid)


@pytest.mark.parametrize("installer", INSTALLERS)
@pytest.mark.parametrize("minor", INSTALL_PYTHONS)
@pytest.mark.parametrize("name", NAMES)
def test_installed_package_works_and_counts_calls(name, minor, installer, installed_venv, tmp_path):
    """The instrumented package, installed by pip / uv, imports from site-packages, works,
    and the calls file written at exit counts exactly the calls the use made."""
    venv = installed_venv(minor, installer)
    pid, data = _use(venv, name, tmp_path)

    assert data["format"] == "equip-calls/1"
    assert data["pid"] == pid
    calls = data["calls"]
    foreign = [m for m in calls if m.split(".")[0] not in IMPORT_NAMES[name]]
    assert foreign == [], f"modules outside {name} in its calls file: {foreign}"
    problems = []
    for module, expected in EXACT_CALLS[name].items():
        for qualname, count in expected.items():
            actual = calls.get(module, {}).get(qualname)
            if actual != count:
                problems.append(f"{module} {qualname}: {actual} calls, expected exactly {count}")
    for module, expected in AT_LEAST_CALLS[name].items():
        for qualname, count in expected.items():
            actual = calls.get(module, {}).get(qualname, 0)
            if actual < count:
                problems.append(f"{module} {qualname}: {actual} calls, expected at least {count}")
    bad = [
        f"{m} {q}"
        for m, fs in calls.items()
        for q, n in fs.items()
        if not (isinstance(n, int) and n >= 0)
    ]
    problems += [f"{b}: recorded with a count that is not a non-negative integer" for b in bad]
    # Functions the use did not call are listed too, with 0 (dead-code discovery).
    if not any(n == 0 for fs in calls.values() for n in fs.values()):
        problems.append("no function is listed with 0 calls")
    assert not problems, "\n".join(problems) + "\n" + json.dumps(calls, indent=1, sort_keys=True)


@pytest.mark.parametrize("installer", INSTALLERS)
@pytest.mark.parametrize("minor", INSTALL_PYTHONS)
def test_all_packages_share_one_calls_file(minor, installer, installed_venv, tmp_path):
    """Six packages instrumented with the preset in one process write one file holding the
    calls of all of them, and nothing is written by a process that imported none."""
    venv = installed_venv(minor, installer)
    script = (
        "\n".join(textwrap.dedent(USES[name]) for name in NAMES)
        + "\nimport os\nprint('ok', os.getpid())\n"
    )
    proc = venv.run(
        "-c", script, cwd=tmp_path, env={"EQUIP_CALLS_FILE": str(tmp_path / "calls-{pid}.json")}
    )
    pid = int(proc.stdout.split()[-1])
    calls = _calls_file_of(tmp_path, pid)["calls"]
    tops = {m.split(".")[0] for m in calls}
    expected = {top for name in NAMES for top in IMPORT_NAMES[name]} - {
        "attrs"
    }  # attrs/ only re-exports
    assert expected <= tops, f"missing {sorted(expected - tops)} in {sorted(tops)}"
    for name in NAMES:
        for module, functions in EXACT_CALLS[name].items():
            for qualname, count in functions.items():
                assert calls[module][qualname] == count, (module, qualname, calls[module])

    quiet = tmp_path / "quiet"
    quiet.mkdir()
    venv.run(
        "-c", "import json", cwd=quiet, env={"EQUIP_CALLS_FILE": str(quiet / "calls-{pid}.json")}
    )
    assert list(quiet.iterdir()) == [], (
        "a process that imported no instrumented package wrote a calls file"
    )


@pytest.mark.parametrize("installer", INSTALLERS)
def test_default_calls_file_name(installer, installed_venv, tmp_path):
    """Without EQUIP_CALLS_FILE the preset writes equip-calls-<pid>.json in the cwd."""
    venv = installed_venv("3.11", installer)
    proc = subprocess.run(
        [
            str(venv.python),
            "-c",
            "import os, more_itertools as mi; mi.first([1]); print(os.getpid())",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "EQUIP_CALLS_FILE"},
    )
    pid = int(proc.stdout.strip())
    data = json.loads((tmp_path / f"equip-calls-{pid}.json").read_text())
    assert data["calls"]["more_itertools.more"]["first"] == 1
