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
- ``build_wheel`` has the real backend build into a private temporary directory, then
  instruments that wheel in-process (the Rust engine) and moves the instrumented wheel into
  ``wheel_directory``: exactly one new ``.whl`` appears there, never a partial or
  uninstrumented one.
- With ``output.local-version``, ``prepare_metadata_for_build_wheel`` renames the prepared
  ``.dist-info`` and sets ``Version:`` in its METADATA, so the prepared metadata, the wheel's
  metadata and its file name agree; ``build_wheel`` then lets the real backend prepare its
  own metadata again (it is given ``metadata_directory=None``). Whenever a
  ``metadata_directory`` is given, the built wheel is checked against it (name and version).
- ``build_sdist`` and the editable hooks (``build_editable`` ...) pass through: sdists and
  editable installs are not instrumented.

Switching instrumentation off for one build: ``EQUIP_WHEEL_DISABLE=1`` in the environment,
or ``--config-settings equip-wheel.enabled=false`` (pip; ``-C`` for build and uv), or
``enabled = false`` in ``[tool.equip-wheel]``. The environment variable wins over the config
setting, which wins over the table.

Errors of equip-wheel (configuration, instrumentation, mismatching metadata) print one line
``equip-wheel: error: ...`` to stderr and raise ``SystemExit(1)``; the real backend's own
errors propagate unchanged. Temporary files are removed in every case (also when the real
backend calls ``sys.exit``, as maturin does).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
import tempfile
import zipfile
from typing import Any, Callable, Dict, List, Mapping, NoReturn, Optional, Union

from equip_wheel import _native
from equip_wheel.errors import EquipWheelError

#: The ``config_settings`` key that switches instrumentation on or off for one build.
CONFIG_SETTING_ENABLED = "equip-wheel.enabled"
#: The environment variable that switches instrumentation off (``1``, ``true``, ``yes``, ``on``).
ENV_DISABLE = "EQUIP_WHEEL_DISABLE"

ConfigSettings = Optional[Mapping[str, Union[str, List[str]]]]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


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
        hint = (
            f" from backend-path {project.backend_path}"
            if search
            else "; list it in [build-system] requires"
        )
        _fail(f"cannot import the real build backend {module_name!r}{hint}: {e}")
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


def _parse_bool(value: str, what: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    _fail(f"{what} must be true or false (1/0, yes/no, on/off), not {value!r}")


def _enabled(config_settings: ConfigSettings) -> bool:
    """Whether this build instruments its wheel, announcing it when it does not."""
    env = os.environ.get(ENV_DISABLE, "")
    if env.strip() and _parse_bool(env, ENV_DISABLE):
        _say(f"instrumentation switched off by {ENV_DISABLE}={env}; the wheel is not instrumented")
        return False
    if config_settings and CONFIG_SETTING_ENABLED in config_settings:
        value = config_settings[CONFIG_SETTING_ENABLED]
        if isinstance(value, list):
            value = value[-1] if value else ""
        if not _parse_bool(str(value), f"config setting {CONFIG_SETTING_ENABLED}"):
            _say(
                f"instrumentation switched off by {CONFIG_SETTING_ENABLED}={value}; the wheel is not instrumented"
            )
            return False
        return True
    if _get_project().table_enabled is False:
        _say(
            "instrumentation switched off by enabled = false in [tool.equip-wheel]; the wheel is not instrumented"
        )
        return False
    return True


def _config() -> _native.NativeConfig:
    """The full, validated instrumentation config of the project (fails the build if invalid)."""
    try:
        return _native.load_config(path=_get_project().pyproject)
    except EquipWheelError as e:
        _fail(str(e))


# --- metadata ------------------------------------------------------------------------------


def _read_headers(text: str) -> Dict[str, str]:
    """The first value of each header of a METADATA text (keys lowercased)."""
    headers: Dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        if line[:1].isspace() or ":" not in line:
            continue
        key, _, value = line.partition(":")
        headers.setdefault(key.strip().lower(), value.strip())
    return headers


def _canonical(name: str) -> str:
    out = []
    for ch in name.lower():
        out.append("-" if ch in "-_." else ch)
    canon = "".join(out)
    while "--" in canon:
        canon = canon.replace("--", "-")
    return canon


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


def _check_against_metadata(wheel: str, metadata_directory: str) -> None:
    """Fail unless the wheel's name and version are those of the prepared metadata."""
    try:
        with open(os.path.join(metadata_directory, "METADATA"), encoding="utf-8") as f:
            prepared = _read_headers(f.read())
    except OSError:
        return  # Nothing to compare with (the frontend gave a directory without METADATA).
    with zipfile.ZipFile(wheel) as z:
        metadata = [
            n for n in z.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
        ]
        if len(metadata) != 1:
            _fail(f"{os.path.basename(wheel)}: expected exactly one .dist-info/METADATA")
        built = _read_headers(z.read(metadata[0]).decode("utf-8", "replace"))
    want = (_canonical(prepared.get("name", "")), prepared.get("version", ""))
    got = (_canonical(built.get("name", "")), built.get("version", ""))
    if want != got:
        _fail(
            f"the built wheel {os.path.basename(wheel)} is {got[0]} {got[1]}, but the prepared "
            f"metadata in {metadata_directory} says {want[0]} {want[1]}"
        )


# --- the hooks -----------------------------------------------------------------------------


def _get_requires_for_build_wheel(config_settings: ConfigSettings = None) -> List[str]:
    result: List[str] = _inner().get_requires_for_build_wheel(config_settings)
    return result


def _get_requires_for_build_sdist(config_settings: ConfigSettings = None) -> List[str]:
    result: List[str] = _inner().get_requires_for_build_sdist(config_settings)
    return result


def _get_requires_for_build_editable(config_settings: ConfigSettings = None) -> List[str]:
    result: List[str] = _inner().get_requires_for_build_editable(config_settings)
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
    name: str = _inner().prepare_metadata_for_build_editable(metadata_directory, config_settings)
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
        try:
            report = _native.instrument_wheel(built, config, out_dir)
        except EquipWheelError as e:
            _fail(str(e))
        data = json.loads(report)
        output = data["output"]
        if metadata_directory is not None:
            _check_against_metadata(output, metadata_directory)
        final = os.path.join(wheel_directory, data["output_name"])
        os.replace(output, final)
        totals = data["totals"]
        _say(
            f"instrumented {data['output_name']}: {totals['functions']} functions in "
            f"{totals['modules']} modules (config {config.origin})"
        )
        for line in data["warnings"]:
            _say(f"warning: {line}")
        for line in data["notices"]:
            _say(f"notice: {line}")
        result: str = data["output_name"]
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _build_sdist(sdist_directory: str, config_settings: ConfigSettings = None) -> str:
    name: str = _inner().build_sdist(sdist_directory, config_settings)
    return name


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
