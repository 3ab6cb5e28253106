"""``equip_wheel.build``: a PEP 517 / PEP 660 build backend that wraps the project's real
backend and instruments the wheels it builds.

A project opts in with::

    [build-system]
    requires = ["equip-wheel", "setuptools>=77"]
    build-backend = "equip_wheel.build"

    [tool.equip-wheel]
    build-backend = "setuptools.build_meta"   # the real backend ("module" or "module:object")
    # backend-path = ["_build"]               # optional, relative to the project, loaded first
    # config = "equip.toml"                   # or inline settings ([tool.equip-wheel.hooks] ...)

What each hook does (the contract is in docs/build-backend.md):

- The module has exactly the hooks the real backend has, with the PEP signatures: an
  optional hook (``prepare_metadata_for_build_wheel``, the editable hooks, the
  ``get_requires_*`` hooks) exists here only when the real backend has it, so frontends that
  probe with ``hasattr`` see the same backend. ``UnsupportedOperation`` is re-exported too.
- Every hook delegates to the real backend with ``config_settings`` passed through untouched.
- The first hooks a frontend calls (``get_requires_*``, ``prepare_metadata_*``,
  ``build_sdist``) load and validate the instrumentation settings, so their errors come
  before anything is built and name the project's own files (not those of an sdist unpacked
  in a temporary directory). A real backend that cannot be imported gets "did you mean" from
  :data:`KNOWN_BACKENDS`.
- ``build_wheel`` has the real backend build into a private temporary directory, then
  instruments that wheel in-process (the Rust engine) and moves the instrumented wheel into
  ``wheel_directory``: exactly one new ``.whl`` appears there, never a partial or
  uninstrumented one.
- With ``output.local-version``, ``prepare_metadata_for_build_wheel`` renames the prepared
  ``.dist-info`` and sets ``Version:`` in its METADATA, so the prepared metadata, the wheel's
  metadata and its file name agree; ``build_wheel`` then lets the real backend prepare its
  own metadata again (it is given ``metadata_directory=None``). Whenever a
  ``metadata_directory`` is given, the built wheel is checked against it (name and version).
- ``build_sdist`` has the real backend build into a private temporary directory, refuses an
  sdist that lacks a file named by ``config = FILE`` (a wheel built from it would miss its
  settings; the message says how the real backend includes the file) and, with
  ``output.local-version``, labels the sdist's file name, top directory and PKG-INFO
  ``Version:`` like the wheel (uv refuses a wheel whose version differs from its sdist's).
  Sdists are not instrumented, nor are editable installs (``build_editable`` passes
  through).

Switching instrumentation off for one build: ``EQUIP_WHEEL_DISABLE=1`` in the environment,
or ``--config-settings equip-wheel.enabled=false`` (pip; ``-C`` for build and uv), or
``enabled = false`` in ``[tool.equip-wheel]``. The environment variable wins over the config
setting, which wins over the table. Switched off, every hook passes straight through (the
instrumentation settings are not read): the sdist and the wheel are the real backend's.

Errors of equip-wheel (configuration, instrumentation, mismatching metadata) print one line
``equip-wheel: error: ...`` to stderr and raise ``SystemExit(1)``; the real backend's own
errors propagate unchanged. Temporary files are removed in every case (also when the real
backend calls ``sys.exit``, as maturin does).
"""

from __future__ import annotations

import difflib
import gzip
import importlib
import importlib.util
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import zipfile
from typing import Any, Callable, Dict, List, Mapping, NoReturn, Optional, Tuple, Union

from equip_wheel import _native
from equip_wheel._api import Report
from equip_wheel.errors import EquipWheelError

#: The ``config_settings`` key that switches instrumentation on or off for one build.
CONFIG_SETTING_ENABLED = "equip-wheel.enabled"
#: The environment variable that switches instrumentation off (``1``, ``true``, ``yes``, ``on``).
ENV_DISABLE = "EQUIP_WHEEL_DISABLE"

ConfigSettings = Optional[Mapping[str, Union[str, List[str]]]]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

#: Real backends a mistyped ``build-backend`` is compared with ("did you mean ...?").
KNOWN_BACKENDS = (
    "setuptools.build_meta",
    "setuptools.build_meta:__legacy__",
    "hatchling.build",
    "flit_core.buildapi",
    "pdm.backend",
    "poetry.core.masonry.api",
    "maturin",
    "scikit_build_core.build",
    "mesonpy",
    "uv_build",
    "sipbuild.api",
)

#: How to put a file in the sdist, per real backend (the top-level module of its name).
_SDIST_INCLUDE_HINTS = {
    "setuptools": 'add the line "include {path}" to MANIFEST.in',
    "flit_core": 'list it in [tool.flit.sdist] include = ["{path}"]',
    "hatchling": "list it in [tool.hatch.build.targets.sdist] include (and keep it out of .gitignore)",
    "pdm": 'list it in [tool.pdm.build] source-includes = ["{path}"]',
    "poetry": 'list it in [tool.poetry] include = [{{ path = "{path}", format = "sdist" }}]',
    "maturin": 'list it in [tool.maturin] include = [{{ path = "{path}", format = "sdist" }}]',
    "scikit_build_core": 'list it in [tool.scikit-build] sdist.include = ["{path}"]',
    "mesonpy": "commit it to git (meson dist archives the committed tree)",
}


def _fail(message: str) -> NoReturn:
    """Print one clear error line and stop the build."""
    sys.stderr.write(f"equip-wheel: error: {message}\n")
    sys.stderr.flush()
    raise SystemExit(1)


def _say(message: str) -> None:
    sys.stderr.write(f"equip-wheel: {message}\n")
    sys.stderr.flush()


class _Project:
    """The project being built (the current directory, as PEP 517 requires) and its
    ``[tool.equip-wheel]`` wrapper settings."""

    def __init__(self) -> None:
        self.root = os.path.abspath(os.getcwd())
        self.pyproject = os.path.join(self.root, "pyproject.toml")
        try:
            with open(self.pyproject, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            _fail(f"cannot read {self.pyproject}: {e.strerror or e}")
        try:
            table = _native.read_backend_table(text, self.pyproject)
        except EquipWheelError as e:
            _fail(str(e))
        if table is None:
            _fail(
                f"{self.pyproject} has no [tool.equip-wheel] table; equip_wheel.build needs "
                'one naming the real backend, e.g. build-backend = "setuptools.build_meta"'
            )
        backend = table.get("build-backend")
        if not isinstance(backend, str) or not backend.strip():
            _fail(
                f"{self.pyproject}: [tool.equip-wheel] build-backend is missing: name the real "
                'backend, e.g. build-backend = "setuptools.build_meta"'
            )
        if backend.strip().partition(":")[0] == __name__:
            _fail(f"{self.pyproject}: [tool.equip-wheel] build-backend cannot be {__name__} itself")
        self.backend_spec: str = backend.strip()
        paths = table.get("backend-path") or []
        assert isinstance(paths, list)
        self.backend_path: List[str] = [str(p) for p in paths]
        enabled = table.get("enabled")
        self.table_enabled: Optional[bool] = enabled if isinstance(enabled, bool) else None

    def config_files(self) -> List[Tuple[str, str, str]]:
        """The files the instrumentation settings are read from besides this pyproject.toml,
        following ``config = FILE`` (and a named pyproject.toml's own ``config``): a list of
        ``(absolute path, the value of config = ..., the file that names it)``. Stops at a file
        that cannot be read or parsed (loading the config reports that) and at a cycle."""
        files: List[Tuple[str, str, str]] = []
        seen = {os.path.realpath(self.pyproject)}
        naming = self.pyproject
        while naming.endswith("pyproject.toml"):
            try:
                with open(naming, encoding="utf-8") as f:
                    table = _native.read_backend_table(f.read(), naming)
            except (OSError, UnicodeDecodeError, EquipWheelError):
                break
            value = table.get("config") if table else None
            if not isinstance(value, str):
                break
            path = os.path.normpath(os.path.join(os.path.dirname(naming), value))
            files.append((path, value, naming))
            if os.path.realpath(path) in seen or len(files) > 16:
                break
            seen.add(os.path.realpath(path))
            naming = path
        return files


_project: Optional[_Project] = None
_backend: Any = None


def _get_project() -> _Project:
    global _project
    if _project is None:
        _project = _Project()
    return _project


def _inner() -> Any:
    """The real backend object, imported once (``backend-path`` entries first)."""
    global _backend
    if _backend is not None:
        return _backend
    project = _get_project()
    module_name, _, object_path = project.backend_spec.partition(":")
    search: List[str] = []
    for entry in project.backend_path:
        full = os.path.abspath(os.path.join(project.root, entry))
        if os.path.commonpath([full, project.root]) != project.root:
            _fail(f"{project.pyproject}: backend-path entry {entry!r} is outside the project")
        search.append(full)
    if search:
        sys.path[:0] = search
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        missing = getattr(e, "name", None) or ""
        itself = bool(missing) and (module_name == missing or module_name.startswith(missing + "."))
        suggestion = "" if search or not itself else _did_you_mean(project.backend_spec)
        if search:
            where = f" from backend-path {project.backend_path}"
        elif suggestion:
            where = ""
        else:
            where = " (list it in [build-system] requires)"
        _fail(
            f"{project.pyproject}: cannot import the real build backend {module_name!r} of "
            f"[tool.equip-wheel] build-backend{where}: {e}{suggestion}"
        )
    if search:
        location = os.path.abspath(getattr(obj, "__file__", None) or "")
        if not any(location.startswith(p + os.sep) for p in search):
            _fail(
                f"the real build backend {module_name!r} was loaded from {location or '?'}, "
                f"not from backend-path {project.backend_path}"
            )
    for part in filter(None, object_path.split(".")):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            _fail(f"the real build backend {project.backend_spec!r} has no attribute {part!r}")
    _backend = obj
    return obj


def _installed(spec: str) -> bool:
    """Whether the top-level package of backend ``spec`` is importable here (found without
    importing it)."""
    top = spec.partition(":")[0].partition(".")[0]
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def _did_you_mean(spec: str) -> str:
    """``"; did you mean 'setuptools.build_meta'?"`` for a mistyped backend: the closest of
    the installed :data:`KNOWN_BACKENDS`, else of all of them (saying it is not installed),
    else (also for a known backend spelled right) an empty string."""
    if spec in KNOWN_BACKENDS:
        return ""  # Spelled right, just not installed.
    installed = [b for b in KNOWN_BACKENDS if _installed(b)]
    close = difflib.get_close_matches(spec, installed, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    close = difflib.get_close_matches(spec, KNOWN_BACKENDS, n=1, cutoff=0.6)
    if close:
        return (
            f"; did you mean {close[0]!r}? (not installed here: list it in "
            "[build-system] requires too)"
        )
    return ""


def _parse_bool(value: str, what: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    _fail(f"{what} must be true or false (1/0, yes/no, on/off), not {value!r}")


def _enabled(config_settings: ConfigSettings, announce: bool = True) -> bool:
    """Whether this build instruments its wheel, announcing it (with ``announce``) when it
    does not."""
    say = _say if announce else (lambda message: None)
    env = os.environ.get(ENV_DISABLE, "")
    if env.strip() and _parse_bool(env, ENV_DISABLE):
        say(f"instrumentation switched off by {ENV_DISABLE}={env}; the wheel is not instrumented")
        return False
    if config_settings and CONFIG_SETTING_ENABLED in config_settings:
        value = config_settings[CONFIG_SETTING_ENABLED]
        if isinstance(value, list):
            value = value[-1] if value else ""
        if not _parse_bool(str(value), f"config setting {CONFIG_SETTING_ENABLED}"):
            say(
                f"instrumentation switched off by {CONFIG_SETTING_ENABLED}={value}; the wheel is not instrumented"
            )
            return False
        return True
    if _get_project().table_enabled is False:
        say(
            "instrumentation switched off by enabled = false in [tool.equip-wheel]; the wheel is not instrumented"
        )
        return False
    return True


def _include_hint(relpath: str) -> str:
    """How to get ``relpath`` (a file of the project) into the real backend's sdist."""
    top = _get_project().backend_spec.partition(":")[0].partition(".")[0]
    how = _SDIST_INCLUDE_HINTS.get(
        top, "include it in the sdist (see the real backend's documentation)"
    )
    return (
        f"{how.format(path=relpath)}, or move the settings inline into [tool.equip-wheel] of "
        "pyproject.toml"
    )


def _config() -> _native.NativeConfig:
    """The full, validated instrumentation config of the project (fails the build if invalid).

    Building from an unpacked sdist (``PKG-INFO`` next to ``pyproject.toml``) that lacks a
    config file named by ``config = FILE`` fails with how to include that file."""
    project = _get_project()
    if os.path.isfile(os.path.join(project.root, "PKG-INFO")):
        for path, value, naming in project.config_files():
            if not os.path.exists(path):
                relpath = os.path.relpath(path, project.root).replace(os.sep, "/")
                _fail(
                    f"{naming}: config = {value!r}: {relpath} is not in the sdist this wheel is "
                    f"built from; {_include_hint(relpath)}"
                )
    try:
        return _native.load_config(path=project.pyproject)
    except EquipWheelError as e:
        _fail(str(e))


def _check_config(config_settings: ConfigSettings) -> Optional[_native.NativeConfig]:
    """Loads and validates the instrumentation config before anything is built (the
    ``get_requires_*``, ``prepare_metadata_*`` and ``build_sdist`` hooks), so that its errors
    name the project's own files, not those of an sdist unpacked in a temporary directory.
    None (and nothing read) when instrumentation is switched off."""
    if not _enabled(config_settings, announce=False):
        return None
    return _config()


# --- metadata ------------------------------------------------------------------------------


def _relabel_metadata(metadata_directory: str, dist_info: str, label: str) -> str:
    """Give the prepared ``dist_info`` (in ``metadata_directory``) the local version label:
    rename the directory and set ``Version:`` in METADATA exactly as the instrumented wheel
    will have them. Returns the new directory name."""
    old_dir = os.path.join(metadata_directory, dist_info)
    stem = dist_info[: -len(".dist-info")] if dist_info.endswith(".dist-info") else ""
    name, sep, version = stem.rpartition("-")
    if not sep or not name:
        _fail(f"the real backend prepared metadata in {dist_info!r}, not NAME-VERSION.dist-info")
    metadata_path = os.path.join(old_dir, "METADATA")
    with open(metadata_path, encoding="utf-8", newline="") as f:
        text = f.read()
    # The version as the instrumented wheel will spell it (taken, like the engine does, from
    # the .dist-info directory name).
    new_version = _native.with_local_label(version, label)
    new_dir_name = f"{name}-{new_version}.dist-info"
    new_text = _native.set_metadata_version(text, new_version)
    with open(metadata_path, "w", encoding="utf-8", newline="") as f:
        f.write(new_text)
    # A RECORD here would list the old paths; frontends do not read it from prepared metadata.
    record = os.path.join(old_dir, "RECORD")
    if os.path.exists(record):
        os.remove(record)
    new_dir = os.path.join(metadata_directory, new_dir_name)
    if os.path.exists(new_dir):
        shutil.rmtree(new_dir)
    os.rename(old_dir, new_dir)
    return new_dir_name


def _name_and_version(metadata: str) -> Tuple[str, str]:
    """The normalized ``Name`` and the ``Version`` of a METADATA text (empty when absent)."""
    name = _native.metadata_header(metadata, "Name") or ""
    return _native.normalize_dist_name(name), _native.metadata_header(metadata, "Version") or ""


def _check_against_metadata(wheel: str, metadata_directory: str) -> None:
    """Fail unless the wheel's name and version are those of the prepared metadata."""
    try:
        with open(os.path.join(metadata_directory, "METADATA"), encoding="utf-8") as f:
            prepared = f.read()
    except OSError:
        return  # Nothing to compare with (the frontend gave a directory without METADATA).
    with zipfile.ZipFile(wheel) as z:
        metadata = [
            n for n in z.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
        ]
        if len(metadata) != 1:
            _fail(f"{os.path.basename(wheel)}: expected exactly one .dist-info/METADATA")
        built = z.read(metadata[0]).decode("utf-8", "replace")
    want = _name_and_version(prepared)
    got = _name_and_version(built)
    if want != got:
        _fail(
            f"the built wheel {os.path.basename(wheel)} is {got[0]} {got[1]}, but the prepared "
            f"metadata in {metadata_directory} says {want[0]} {want[1]}"
        )


# --- sdists ---------------------------------------------------------------------------------


def _member(name: str) -> str:
    """A tar member name without a leading ``./``."""
    return name[2:] if name.startswith("./") else name


def _sdist_top(names: List[str], sdist_name: str) -> str:
    """The one top-level directory every member of an sdist is in."""
    tops = {_member(n).partition("/")[0] for n in names}
    if len(tops) != 1:
        _fail(f"the real backend's sdist {sdist_name} has no single top-level directory")
    return tops.pop()


def _check_sdist_has_config(sdist: str) -> None:
    """Fail unless the sdist holds every config file the settings are read from: a wheel built
    from it (``uv build``, ``python -m build``) would not find them."""
    project = _get_project()
    files = project.config_files()
    if not files or not sdist.endswith(".tar.gz"):
        return
    sdist_name = os.path.basename(sdist)
    with tarfile.open(sdist, "r:gz") as t:
        names = [_member(n) for n in t.getnames()]
    top = _sdist_top(names, sdist_name)
    members = set(names)
    for path, value, naming in files:
        relpath = os.path.relpath(path, project.root)
        if relpath == os.pardir or relpath.startswith(os.pardir + os.sep):
            _fail(
                f"{naming}: config = {value!r} is outside the project ({path}): no sdist can "
                "contain it, and a wheel built from the sdist would have no settings; move the "
                "file into the project or the settings inline into [tool.equip-wheel] of "
                "pyproject.toml"
            )
        relpath = relpath.replace(os.sep, "/")
        if f"{top}/{relpath}" not in members:
            _fail(
                f"{naming}: config = {value!r}: the sdist {sdist_name} does not contain "
                f"{relpath}, so a wheel built from it (uv build, python -m build) would miss "
                f"its settings; {_include_hint(relpath)}"
            )


def _relabel_version(stem: str, label: str) -> str:
    """``name-1.0`` -> ``name-1.0+label``."""
    name, sep, version = stem.rpartition("-")
    if not sep or not name:
        _fail(f"the real backend's sdist {stem!r} is not named NAME-VERSION")
    return f"{name}-{_native.with_local_label(version, label)}"


def _relabel_sdist(directory: str, sdist_name: str, label: str) -> str:
    """Rewrites the real backend's sdist ``directory/sdist_name`` with the local version
    label: its file name, top-level directory and ``Version:`` of its PKG-INFO, exactly as the
    wheel built from it will spell its version (frontends such as uv compare the two). Member
    order, modes and times and the gzip header time are kept, so the result is as
    reproducible as the real backend's. Returns the new file name (the old file is removed).
    """
    if not sdist_name.endswith(".tar.gz"):
        _fail(f"the real backend built {sdist_name}, not a .tar.gz sdist: cannot label its version")
    source = os.path.join(directory, sdist_name)
    new_name = _relabel_version(sdist_name[: -len(".tar.gz")], label) + ".tar.gz"
    target = os.path.join(directory, new_name)
    with open(source, "rb") as f:
        gzip_mtime = int.from_bytes(f.read(8)[4:8], "little")
    relabelled = False
    with tarfile.open(source, "r:gz") as src, open(target + ".part", "wb") as raw:
        top = _sdist_top(src.getnames(), sdist_name)
        new_top = _relabel_version(top, label)
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=gzip_mtime) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as dst:
                for member in src.getmembers():
                    rest = _member(member.name).partition("/")[2]
                    member.name = f"{new_top}/{rest}" if rest else new_top
                    link = _member(member.linkname)
                    if member.islnk() and link.startswith(top + "/"):
                        member.linkname = new_top + link[len(top) :]
                    member.pax_headers = {
                        k: v
                        for k, v in member.pax_headers.items()
                        if k not in ("path", "linkpath", "size")
                    }
                    content = src.extractfile(member) if member.isfile() else None
                    if rest == "PKG-INFO" and content is not None:
                        text = content.read().decode("utf-8")
                        version = _native.metadata_header(text, "Version") or ""
                        data = _native.set_metadata_version(
                            text, _native.with_local_label(version, label)
                        ).encode("utf-8")
                        member.size = len(data)
                        content = io.BytesIO(data)
                        relabelled = True
                    dst.addfile(member, content)
    if not relabelled:
        os.remove(target + ".part")
        _fail(
            f"the real backend's sdist {sdist_name} has no {top}/PKG-INFO: cannot label its version"
        )
    os.replace(target + ".part", target)
    if target != source:
        os.remove(source)
    return new_name


def _check_not_labelled_twice(wheel_name: str, label: str) -> None:
    """Fail when building from a labelled sdist whose ``PKG-INFO`` version the real backend
    took as the wheel's (VCS-versioning plugins do so outside a checkout): the label would be
    added a second time and the wheel would not match its sdist."""
    try:
        with open(os.path.join(_get_project().root, "PKG-INFO"), encoding="utf-8") as f:
            declared = _native.metadata_header(f.read(), "Version") or ""
    except (OSError, UnicodeDecodeError):
        return  # Not built from an sdist.
    parts = _native.parse_wheel_name(wheel_name)
    built = parts[1] if parts is not None else ""
    if built and built == declared and declared.endswith(("+" + label, "." + label)):
        twice = _native.with_local_label(built, label)
        _fail(
            f"the real backend built version {built} from this sdist, whose PKG-INFO already "
            f"carries the local version label {label!r} (the backend takes its version from "
            f"PKG-INFO); the wheel would be {twice}, not the sdist's {declared}: build the "
            "wheel from the source tree (pip wheel ., uv build --wheel) or give the version "
            "statically in [project]"
        )


# --- the hooks -----------------------------------------------------------------------------


def _get_requires_for_build_wheel(config_settings: ConfigSettings = None) -> List[str]:
    backend = _inner()
    _check_config(config_settings)
    result: List[str] = backend.get_requires_for_build_wheel(config_settings)
    return result


def _get_requires_for_build_sdist(config_settings: ConfigSettings = None) -> List[str]:
    backend = _inner()
    _check_config(config_settings)
    result: List[str] = backend.get_requires_for_build_sdist(config_settings)
    return result


def _get_requires_for_build_editable(config_settings: ConfigSettings = None) -> List[str]:
    backend = _inner()
    _check_config(config_settings)
    result: List[str] = backend.get_requires_for_build_editable(config_settings)
    return result


def _prepare_metadata_for_build_wheel(
    metadata_directory: str, config_settings: ConfigSettings = None
) -> str:
    backend = _inner()
    if not _enabled(config_settings):
        name: str = backend.prepare_metadata_for_build_wheel(metadata_directory, config_settings)
        return name
    config = _config()
    name = backend.prepare_metadata_for_build_wheel(metadata_directory, config_settings)
    label = config.local_version
    if label is None:
        return name
    return _relabel_metadata(metadata_directory, name, label)


def _prepare_metadata_for_build_editable(
    metadata_directory: str, config_settings: ConfigSettings = None
) -> str:
    backend = _inner()
    _check_config(config_settings)
    name: str = backend.prepare_metadata_for_build_editable(metadata_directory, config_settings)
    return name


def _build_wheel(
    wheel_directory: str,
    config_settings: ConfigSettings = None,
    metadata_directory: Optional[str] = None,
) -> str:
    backend = _inner()
    if not _enabled(config_settings):
        name: str = backend.build_wheel(wheel_directory, config_settings, metadata_directory)
        return name
    config = _config()
    # Prepared metadata relabelled by us is not the real backend's own: let it redo it.
    inner_metadata = None if config.local_version is not None else metadata_directory
    wheel_directory = os.path.abspath(wheel_directory)
    os.makedirs(wheel_directory, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".equip-wheel-", dir=wheel_directory)
    try:
        built_dir = os.path.join(work, "built")
        out_dir = os.path.join(work, "out")
        os.mkdir(built_dir)
        built_name: str = backend.build_wheel(built_dir, config_settings, inner_metadata)
        built = os.path.join(built_dir, built_name)
        if config.local_version is not None:
            _check_not_labelled_twice(built_name, config.local_version)
        try:
            report = _native.instrument_wheel(built, config, out_dir)
        except EquipWheelError as e:
            _fail(str(e))
        data = Report._from_dict(json.loads(report))
        output = data.output
        assert output is not None, "not a dry run: the wheel is written"
        if metadata_directory is not None:
            _check_against_metadata(str(output), metadata_directory)
        final = os.path.join(wheel_directory, data.output_name)
        os.replace(output, final)
        _say(
            f"instrumented {data.output_name}: {data.totals.functions} functions in "
            f"{data.totals.modules} modules (config {config.origin})"
        )
        for line in data.warnings:
            _say(f"warning: {line}")
        for line in data.notices:
            _say(f"notice: {line}")
        return data.output_name
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _build_sdist(sdist_directory: str, config_settings: ConfigSettings = None) -> str:
    backend = _inner()
    config = _check_config(config_settings)
    if config is None:
        name: str = backend.build_sdist(sdist_directory, config_settings)
        return name
    sdist_directory = os.path.abspath(sdist_directory)
    os.makedirs(sdist_directory, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".equip-wheel-", dir=sdist_directory)
    try:
        name = backend.build_sdist(work, config_settings)
        _check_sdist_has_config(os.path.join(work, name))
        if config.local_version is not None:
            name = _relabel_sdist(work, name, config.local_version)
        os.replace(os.path.join(work, name), os.path.join(sdist_directory, name))
        return name
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _build_editable(
    wheel_directory: str,
    config_settings: ConfigSettings = None,
    metadata_directory: Optional[str] = None,
) -> str:
    name: str = _inner().build_editable(wheel_directory, config_settings, metadata_directory)
    _say(f"{name} is an editable install: not instrumented (only built wheels are)")
    return name


_HOOKS: Dict[str, Callable[..., Any]] = {}
for _fn in (
    _get_requires_for_build_wheel,
    _get_requires_for_build_sdist,
    _get_requires_for_build_editable,
    _prepare_metadata_for_build_wheel,
    _prepare_metadata_for_build_editable,
    _build_wheel,
    _build_sdist,
    _build_editable,
):
    _public = _fn.__name__[1:]
    _fn.__name__ = _fn.__qualname__ = _public
    _HOOKS[_public] = _fn
del _fn, _public

#: The hook names of PEP 517 and PEP 660 this module can expose.
HOOK_NAMES = tuple(sorted(_HOOKS))


def __getattr__(name: str) -> Any:
    """The hooks, present exactly when the real backend has them (PEP 562)."""
    if name in _HOOKS:
        backend = _inner()
        if hasattr(backend, name):
            return _HOOKS[name]
        raise AttributeError(
            f"module {__name__!r} has no attribute {name!r}: "
            f"the real backend {_get_project().backend_spec} has no such hook"
        )
    if name == "UnsupportedOperation":
        backend = _inner()
        try:
            return backend.UnsupportedOperation
        except AttributeError:
            pass
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> List[str]:
    names = set(globals())
    try:
        backend = _inner()
    except SystemExit:
        return sorted(names)
    names.update(n for n in _HOOKS if hasattr(backend, n))
    if hasattr(backend, "UnsupportedOperation"):
        names.add("UnsupportedOperation")
    return sorted(names)
