"""Type stubs for the ``equip_wheel._native`` extension module (built from src/python.rs).

These are the primitives under the public API (:mod:`equip_wheel`) and the PEP 517 wrapper
(:mod:`equip_wheel.build`); use those instead. Errors are raised as the classes of
:mod:`equip_wheel.errors`. Reports cross the boundary as JSON text.
"""

import os
from typing import Optional, Union, final

__version__: str

@final
class NativeConfig:
    """A validated configuration (wrapped by :class:`equip_wheel.Config`)."""

    @property
    def origin(self) -> str:
        """A file path, ``preset:NAME`` or the ``origin`` given with the text."""
    @property
    def sha256(self) -> str:
        """sha256 (hex) of the normalized configuration."""
    @property
    def normalized_json(self) -> str:
        """The normalized configuration as JSON text."""
    @property
    def local_version(self) -> Optional[str]: ...
    @property
    def build_tag(self) -> Optional[str]: ...
    @property
    def build_backend(self) -> Optional[str]: ...
    @property
    def backend_path(self) -> list[str]: ...
    @property
    def enabled(self) -> Optional[bool]: ...

def main(argv: list[str], exit_after: bool = False) -> int:
    """Run the equip-wheel command line (``argv[0]`` is the program name); return the exit
    code (0 ok, 1 a wheel failed, 2 usage or configuration error, 130 interrupted). Raises
    KeyboardInterrupt on Ctrl-C when the work stopped before every output was written (a
    run that had written them all returns its code). ``exit_after``: the caller exits right
    after; SIGINT and SIGTERM are ignored from the end of the work on."""

def load_config(
    path: Union[str, os.PathLike[str], None] = None,
    preset: Optional[str] = None,
    text: Optional[str] = None,
    origin: Optional[str] = None,
    cwd: Union[str, os.PathLike[str], None] = None,
) -> NativeConfig:
    """Load and validate a configuration from at most one of ``path``, ``preset``, ``text``
    (named ``origin`` in errors), else discover it in ``cwd``. Raises
    ``equip_wheel.errors.ConfigError``."""

def instrument_wheel(
    path: Union[str, os.PathLike[str]],
    config: NativeConfig,
    out_dir: Union[str, os.PathLike[str]],
    in_place: bool = False,
    dry_run: bool = False,
) -> str:
    """Instrument one wheel without holding the GIL; return the report as JSON text. Raises
    ``WheelError``, ``InstrumentError``, ``FileError`` (``equip_wheel.errors``) or
    ``KeyboardInterrupt``."""

def verify_wheel(path: Union[str, os.PathLike[str]]) -> str:
    """Verify one wheel without holding the GIL; return ``{"wheel", "members", "problems"}``
    as JSON text."""

def cfg(
    path: Union[str, os.PathLike[str]],
    target: str,
    python: Union[str, os.PathLike[str], None] = None,
) -> str:
    """The ``equip-cfg/1`` document (JSON text) of ``target`` (``MODULE`` or
    ``MODULE:QUALNAME``) in the wheel at ``path``; a ``.py`` member is compiled by ``python``
    (default ``sys.executable``). Raises ``ConfigError`` (no such module or qualname, no
    interpreter), ``WheelError``, ``FileError`` or ``InstrumentError`` (does not compile,
    unsupported bytecode)."""

def with_local_label(version: str, label: str) -> str:
    """``"1.0", "traced"`` -> ``"1.0+traced"``; ``"1.0+cpu", "traced"`` -> ``"1.0+cpu.traced"``."""

def set_metadata_version(text: str, version: str) -> str:
    """METADATA text with its ``Version:`` header set to ``version``."""

def read_backend_table(text: str, origin: str) -> Optional[dict[str, object]]:
    """The wrapper's keys of ``[tool.equip-wheel]`` in pyproject.toml ``text``, unvalidated
    otherwise: ``{"build-backend": str | None, "backend-path": list[str], "enabled": bool |
    None, "config": str | None}``; None without the table. Raises ``ConfigError`` for TOML
    syntax or wrongly typed keys."""

def normalize_dist_name(name: str) -> str:
    """PEP 503 normalized distribution name: ``"Zope...Interface"`` -> ``"zope-interface"``."""

def metadata_header(text: str, key: str) -> Optional[str]:
    """The trimmed value of the first header ``key`` (case-insensitive) in the header block
    of METADATA or PKG-INFO ``text``; None when absent."""

def parse_wheel_name(file_name: str) -> Optional[tuple[str, str, Optional[str], str]]:
    """``(distribution, version, build tag or None, "python-abi-platform")`` of a wheel file
    name; None when it is not ``NAME-VERSION(-BUILD)?-PY-ABI-PLATFORM.whl``."""
