"""Uses every public name of equip_wheel the way an application would; the test suite runs
``mypy --strict`` on it (test_python_api.py). Never executed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Optional

import equip_wheel
import equip_wheel.build
from equip_wheel import (
    Config,
    ConfigError,
    EquipWheelError,
    FileError,
    InstrumentError,
    ModuleReport,
    NotInstrumented,
    Report,
    Skipped,
    Totals,
    VerifyResult,
    WheelError,
    _native,
    cfg,
    instrument_wheel,
    load_config,
    verify_wheel,
)


def configs(path: os.PathLike[str]) -> List[Config]:
    found = [
        load_config(),
        load_config(path),
        load_config("equip.toml"),
        load_config(preset="calls"),
        load_config(text='preset = "calls"\n'),
    ]
    for c in found:
        origin: str = c.origin
        digest: str = c.sha256
        normalized: Dict[str, Any] = c.normalized
        label: Optional[str] = c.local_version
        tag: Optional[str] = c.build_tag
        backend: Optional[str] = c.build_backend
        paths: List[str] = c.backend_path
        enabled: Optional[bool] = c.enabled
        print(origin, digest, normalized, label, tag, backend, paths, enabled)
    return found


def summarize(report: Report) -> str:
    output: Optional[Path] = report.output
    sha: Optional[str] = report.output_sha256
    lines = [
        str(report.input),
        str(output),
        str(sha),
        report.output_name,
        report.distribution,
        report.version,
        report.output_version,
        report.hooks_module,
        str(report.dry_run),
    ]
    for m in report.modules:
        module: ModuleReport = m
        functions: List[str] = module.functions
        counts: int = module.probes + module.statements + module.statements_moved
        ni: NotInstrumented = module.not_instrumented
        lines.append(
            f"{module.member} {module.module} {module.kind} {functions} {counts} {ni.lambdas}"
        )
    for s in report.skipped:
        skipped: Skipped = s
        lines.append(f"{skipped.member}: {skipped.reason}")
    totals: Totals = report.totals
    lines.append(
        str(
            totals.modules
            + totals.functions
            + totals.probes
            + totals.statements
            + totals.statements_moved
            + totals.skipped
            + totals.not_instrumented.comprehensions
            + totals.not_instrumented.class_bodies
        )
    )
    warnings: List[str] = report.warnings + report.notices
    data: Dict[str, Any] = report.to_dict()
    return "\n".join(lines + warnings + [str(data)])


def run(wheels: List[str], config: Config) -> List[Report]:
    reports: List[Report] = []
    for wheel in wheels:
        try:
            reports.append(instrument_wheel(wheel, config, out_dir=Path("wheelhouse")))
            reports.append(instrument_wheel(Path(wheel), "equip.toml", dry_run=True))
            reports.append(instrument_wheel(wheel, preset="calls", in_place=True))
        except ConfigError as e:
            where: Optional[int] = e.line
            column: Optional[int] = e.column
            key: Optional[str] = e.key
            print(e.file, where, column, key, e.reason)
        except WheelError as e:
            member: Optional[str] = e.member
            print(e.wheel, member, e.reason)
        except InstrumentError as e:
            print(e.wheel, e.member, e.reason)
        except FileError as e:
            errno: Optional[int] = e.errno
            print(e.path, errno, e.filename)
        except EquipWheelError as e:
            print(e.message)
    return reports


def check(path: str) -> bool:
    result: VerifyResult = verify_wheel(path)
    problems: List[str] = result.problems
    members: int = result.members
    print(problems, members, result.wheel, result.to_dict())
    return result.ok


def control_flow(path: Path) -> int:
    doc: Dict[str, Any] = cfg(path, "pkg.mod:Class.method")
    other: Dict[str, Any] = cfg("x.whl", "pkg", python=Path("/usr/bin/python3"))
    text: str = _native.cfg("x.whl", "pkg", "/usr/bin/python3")
    print(other, text)
    return len(doc["code_objects"])


def native() -> None:
    config: _native.NativeConfig = _native.load_config(preset="calls")
    text: str = _native.instrument_wheel("x.whl", config, "out", dry_run=True)
    verified: str = _native.verify_wheel("x.whl")
    code: int = _native.main(["equip-wheel", "presets"])
    version: str = _native.with_local_label("1.0", "traced") + equip_wheel.__version__
    table: Optional[Dict[str, object]] = _native.read_backend_table("", "pyproject.toml")
    print(text, verified, code, version, table, _native.set_metadata_version("", "1"))


def backend() -> None:
    hooks: tuple[str, ...] = equip_wheel.build.HOOK_NAMES
    print(hooks, equip_wheel.build.CONFIG_SETTING_ENABLED, equip_wheel.build.ENV_DISABLE)
