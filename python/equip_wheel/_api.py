"""The typed Python API: :func:`instrument_wheel`, :func:`verify_wheel`, :func:`load_config`,
:func:`cfg`.

The work is done by the Rust engine (``equip_wheel._native``) on a worker thread, without the
GIL: other Python threads keep running, and Ctrl-C (``KeyboardInterrupt``) stops the work
between two wheel members, leaving no partial output.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Union

from equip_wheel import _native
from equip_wheel.errors import ConfigError

__all__ = [
    "Config",
    "ModuleReport",
    "NotInstrumented",
    "Report",
    "Skipped",
    "Totals",
    "VerifyResult",
    "cfg",
    "instrument_wheel",
    "load_config",
    "verify_wheel",
]

#: A file system path: ``str`` or any ``os.PathLike[str]`` (e.g. :class:`pathlib.Path`).
StrPath = Union[str, "os.PathLike[str]"]


class Config:
    """A loaded and validated configuration (see :func:`load_config`).

    Immutable; pass it to :func:`instrument_wheel` as often as needed (it is validated once).

    Attributes:
        origin: where it came from: a file path or ``preset:NAME`` (or ``<string>``).
        sha256: sha256 (hex) of the normalized configuration, as recorded in the provenance
            file ``*.dist-info/equip-wheel.json`` of every wheel it instruments.
        normalized: the effective configuration as a JSON-compatible dict (``select``,
            ``hooks``, ``probes``, ``output``, ``on-syntax-error``, ``on-unsupported-pyc``,
            ``on-shadowed-module``).
        local_version: ``output.local-version`` (e.g. ``"traced"``) or None.
        build_tag: ``output.build-tag`` (e.g. ``"1traced"``) or None.
        build_backend, backend_path, enabled: the PEP 517 wrapper's settings when loaded from
            a pyproject.toml's ``[tool.equip-wheel]`` (None, ``[]``, None otherwise).
    """

    __slots__ = ("_native", "_normalized")

    def __init__(self, native: _native.NativeConfig) -> None:
        """Wraps a native configuration; use :func:`load_config` to make one."""
        self._native = native
        self._normalized: Optional[Dict[str, Any]] = None

    @property
    def origin(self) -> str:
        return self._native.origin

    @property
    def sha256(self) -> str:
        return self._native.sha256

    @property
    def normalized(self) -> Dict[str, Any]:
        if self._normalized is None:
            self._normalized = json.loads(self._native.normalized_json)
        # A copy: the configuration stays immutable.
        result: Dict[str, Any] = json.loads(json.dumps(self._normalized))
        return result

    @property
    def local_version(self) -> Optional[str]:
        return self._native.local_version

    @property
    def build_tag(self) -> Optional[str]:
        return self._native.build_tag

    @property
    def build_backend(self) -> Optional[str]:
        return self._native.build_backend

    @property
    def backend_path(self) -> List[str]:
        return list(self._native.backend_path)

    @property
    def enabled(self) -> Optional[bool]:
        return self._native.enabled

    def __repr__(self) -> str:
        return f"<equip_wheel.Config from {self.origin} sha256={self.sha256[:12]}>"


@dataclass(frozen=True)
class NotInstrumented:
    """Constructs left alone by design (counted, never silently missed)."""

    #: ``lambda`` expressions.
    lambdas: int = 0
    #: List/set/dict comprehensions and generator expressions.
    comprehensions: int = 0
    #: ``class`` bodies.
    class_bodies: int = 0
    #: PEP 649/749 annotation functions (``__annotate__``, CPython 3.14+).
    annotate_functions: int = 0


@dataclass(frozen=True)
class ModuleReport:
    """One instrumented module file of the wheel."""

    #: Archive member path, e.g. ``"demo/greet.py"``.
    member: str
    #: Dotted module name, e.g. ``"demo.greet"``.
    module: str
    #: ``"py"`` (source) or ``"pyc"`` (bytecode).
    kind: Literal["py", "pyc"]
    #: Qualnames of the instrumented functions, e.g. ``["greet", "Greeter.hello"]``.
    functions: List[str]
    #: Number of line probes placed in this module.
    probes: int
    #: Number of original statements (``.py`` only; 0 for ``.pyc``).
    statements: int
    #: Of those, statements whose line number changed (``.py`` only).
    statements_moved: int
    #: Constructs of this module left alone.
    not_instrumented: NotInstrumented = field(default_factory=NotInstrumented)


@dataclass(frozen=True)
class RequiresPythonChange:
    """How ``Requires-Python`` was raised so that installers skip Pythons the instrumented
    code cannot run on (older than 3.8)."""

    #: The input's value; None when it declared none.
    input: Optional[str]
    #: The output's value, e.g. ``">=3.8"``.
    output: str


@dataclass(frozen=True)
class Skipped:
    """A member deliberately left unchanged."""

    #: Archive member path.
    member: str
    #: Why it was left unchanged.
    reason: str


@dataclass(frozen=True)
class Totals:
    """Totals over :attr:`Report.modules` (plus the number of skipped members)."""

    #: Module files changed.
    modules: int = 0
    #: Functions instrumented.
    functions: int = 0
    #: Probes placed.
    probes: int = 0
    #: Original statements in instrumented ``.py`` files.
    statements: int = 0
    #: Of those, statements whose line number changed.
    statements_moved: int = 0
    #: Members skipped (see :attr:`Report.skipped`).
    skipped: int = 0
    #: Constructs left alone.
    not_instrumented: NotInstrumented = field(default_factory=NotInstrumented)


@dataclass(frozen=True)
class Report:
    """What :func:`instrument_wheel` did to one wheel.

    ``to_dict()`` gives the same JSON shape as one entry of the CLI's ``--report FILE.json``.
    """

    #: The input wheel.
    input: Path
    #: The written wheel; None for a dry run.
    output: Optional[Path]
    #: sha256 (lowercase hex) of the written wheel; None for a dry run.
    output_sha256: Optional[str]
    #: File name the output has (or would have), e.g. ``"demo-1.0+traced-py3-none-any.whl"``.
    output_name: str
    #: Whether this was a dry run (nothing written).
    dry_run: bool
    #: Distribution name, as in the wheel file name (e.g. ``"demo"``).
    distribution: str
    #: Version of the input wheel.
    version: str
    #: Version of the output (differs from :attr:`version` with ``output.local-version``).
    output_version: str
    #: Member name of the generated hooks module, e.g. ``"_equip_hooks_demo.py"``.
    hooks_module: str
    #: How METADATA's ``Requires-Python`` was raised; None when the input's was kept.
    requires_python: Optional[RequiresPythonChange]
    #: One entry per instrumented module file, in archive order.
    modules: List[ModuleReport]
    #: Members left unchanged on purpose, with the reason.
    skipped: List[Skipped]
    #: Problems worth a look that did not stop the run.
    warnings: List[str]
    #: Things done that you should know about (e.g. a signature file dropped).
    notices: List[str]
    #: Totals over :attr:`modules`.
    totals: Totals

    @classmethod
    def _from_dict(cls, d: Dict[str, Any]) -> Report:
        output = d.get("output")
        return cls(
            input=Path(d["input"]),
            output=Path(output) if output is not None else None,
            output_sha256=d.get("output_sha256"),
            output_name=d["output_name"],
            dry_run=bool(d["dry_run"]),
            distribution=d["distribution"],
            version=d["version"],
            output_version=d["output_version"],
            hooks_module=d["hooks_module"],
            requires_python=(
                RequiresPythonChange(**d["requires_python"])
                if d.get("requires_python") is not None
                else None
            ),
            modules=[
                ModuleReport(
                    member=m["member"],
                    module=m["module"],
                    kind=m["kind"],
                    functions=list(m["functions"]),
                    probes=m["probes"],
                    statements=m["statements"],
                    statements_moved=m["statements_moved"],
                    not_instrumented=NotInstrumented(**m["not_instrumented"]),
                )
                for m in d["modules"]
            ],
            skipped=[Skipped(member=s["member"], reason=s["reason"]) for s in d["skipped"]],
            warnings=list(d["warnings"]),
            notices=list(d["notices"]),
            totals=Totals(
                **{k: v for k, v in d["totals"].items() if k != "not_instrumented"},
                not_instrumented=NotInstrumented(**d["totals"]["not_instrumented"]),
            ),
        )

    def to_dict(self) -> Dict[str, Any]:
        """The report as JSON-compatible data (paths as strings), as the CLI's ``--report``
        writes it."""
        result: Dict[str, Any] = dataclasses.asdict(self)
        result["input"] = str(self.input)
        result["output"] = None if self.output is None else str(self.output)
        return result


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify_wheel` found."""

    #: The wheel checked.
    wheel: Path
    #: Number of archive members checked (0 if the wheel could not be opened).
    members: int
    #: Every problem found, one line each; empty when the wheel is valid.
    problems: List[str]

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def to_dict(self) -> Dict[str, Any]:
        """The result as JSON-compatible data."""
        return {"wheel": str(self.wheel), "members": self.members, "problems": list(self.problems)}


def load_config(
    path: Optional[StrPath] = None,
    *,
    preset: Optional[str] = None,
    text: Optional[str] = None,
) -> Config:
    """Load and validate a configuration.

    Give at most one of:

    - ``path``: an ``equip.toml``-style file, or a ``pyproject.toml`` (its
      ``[tool.equip-wheel]`` table, which must exist; ``config = "FILE"`` in it is followed);
    - ``preset``: the name of an embedded preset (``calls``, ...; see ``equip-wheel presets``);
    - ``text``: the text of an ``equip.toml``-style document (named ``<string>`` in errors).

    With none of them the configuration is discovered in the current directory like the CLI
    does: ``[tool.equip-wheel]`` of ``./pyproject.toml``, else ``./equip.toml``, else the
    ``calls`` preset.

    Raises:
        ConfigError: the configuration is invalid (unknown key, bad glob, a snippet that does
            not parse, unknown placeholder, ...), or more than one source was given. The
            error's ``file``, ``key``, ``line`` and ``column`` locate the problem.
    """
    native = _native.load_config(
        path=os.fspath(path) if path is not None else None,
        preset=preset,
        text=text,
        origin="<string>" if text is not None else None,
        cwd=os.getcwd(),
    )
    return Config(native)


def instrument_wheel(
    path: StrPath,
    config: Union[Config, StrPath, None] = None,
    *,
    preset: Optional[str] = None,
    out_dir: StrPath = "wheelhouse",
    in_place: bool = False,
    dry_run: bool = False,
) -> Report:
    """Instrument the wheel at ``path`` and return the :class:`Report`.

    Args:
        path: the input wheel (``.whl``). It is never modified, except replaced as a whole
            with ``in_place=True``.
        config: a :class:`Config`, or the path of a config file (see :func:`load_config`).
        preset: an embedded preset name instead of ``config``. With neither, the
            configuration is discovered in the current directory (see :func:`load_config`).
        out_dir: directory for the output wheel, created if missing (ignored with
            ``in_place``). The output file name is :attr:`Report.output_name`.
        in_place: replace the input wheel atomically (if the output name differs, because
            of ``output.local-version`` or ``output.build-tag``, the input is removed).
        dry_run: plan and report only; write nothing (:attr:`Report.output` is None).

    The output is written to an unnamed temporary file and linked into place once complete:
    an error, Ctrl-C or a killed process never leaves a partial wheel. Its mode is that of
    any new file of the process (the umask decides); ``in_place`` keeps the input's.

    Raises:
        ConfigError: invalid configuration, or both ``config`` and ``preset`` given.
        WheelError: the input is not a valid wheel, or is already instrumented.
        InstrumentError: a module could not be instrumented (e.g. ``on-syntax-error =
            "fail"`` and a file that does not parse).
        FileError: the input is missing or cannot be read (``errno`` ``ENOENT`` or
            ``EACCES``), or the output could not be written.
        KeyboardInterrupt: Ctrl-C; the work stopped, and the output is absent unless it was
            already complete and in place.
    """
    if config is not None and preset is not None:
        reason = "give config or preset, not both"
        raise ConfigError(f"<arguments>: {reason}", file="<arguments>", reason=reason)
    if isinstance(config, Config):
        cfg = config
    elif config is not None:
        cfg = load_config(config)
    elif preset is not None:
        cfg = load_config(preset=preset)
    else:
        cfg = load_config()
    raw = _native.instrument_wheel(
        os.fspath(path),
        cfg._native,
        os.fspath(out_dir),
        in_place=in_place,
        dry_run=dry_run,
    )
    return Report._from_dict(json.loads(raw))


def verify_wheel(path: StrPath) -> VerifyResult:
    """Check a wheel: zip structure, member names, RECORD coverage, every member's sha256
    and size, zip header consistency.

    Problems are data, not exceptions: the result's :attr:`VerifyResult.problems` lists
    them (one line each) and :attr:`VerifyResult.ok` is True when there are none. A
    structural problem (not a zip, no RECORD, ...) is reported alone.

    Raises:
        FileError: the file is missing or cannot be read (there is nothing to verify).
        KeyboardInterrupt: Ctrl-C.
    """
    d = json.loads(_native.verify_wheel(os.fspath(path)))
    return VerifyResult(wheel=Path(d["wheel"]), members=d["members"], problems=list(d["problems"]))


def cfg(wheel: StrPath, target: str, python: Optional[StrPath] = None) -> Dict[str, Any]:
    """The control-flow analysis of one module of a wheel, or of its code objects with one
    qualname: the ``equip-cfg/1`` document that ``equip-wheel cfg --format json`` prints
    (every field is listed in docs/cfg.md).

    ``target`` is ``"MODULE"`` (every code object of the module: its body, classes,
    functions, nested functions, lambdas, comprehensions) or ``"MODULE:QUALNAME"``
    (``"pkg.mod:Class.method"``, ``"pkg.mod:outer.<locals>.inner"``). A ``.pyc`` member is
    read as it is; a ``.py`` member is compiled by ``python`` (default: this interpreter,
    ``sys.executable``), named with its version in the result's ``"python"``.

    Shape: ``{"schema": "equip-cfg/1", "wheel": str, "module": str, "member": str,
    "source": "py" | "pyc", "python": {"version": str, "executable": str | None},
    "code_objects": [{"qualname", "name", "kind", "firstlineno", "blocks": [{"index",
    "start", "end", "instructions": [{"offset", "extended_args", "opname", "arg", "target",
    "line"}]}], "edges": [{"from", "to", "kind"}], "entry", "unreachable", "traversal":
    {"preorder", "postorder", "reverse_postorder"}, "dominators": {"idom", "tree",
    "frontiers"}, "post_dominators": {"exit", "ipdom", "tree", "frontiers", "no_exit"}}]}``;
    blocks are numbered by their index in ``blocks``.

    Raises:
        ConfigError: the wheel has no such module or qualname (the message lists near
            names), or the interpreter cannot be run.
        WheelError: the wheel is invalid.
        FileError: the wheel cannot be read.
        InstrumentError: the member does not compile, or was compiled for a Python whose
            bytecode is not read (3.8 to 3.15 are).
        KeyboardInterrupt: Ctrl-C.
    """
    exe = None if python is None else os.fspath(python)
    result: Dict[str, Any] = json.loads(_native.cfg(os.fspath(wheel), target, exe))
    return result
