"""equip-wheel: instrument built Python wheels.

Three ways in, one engine:

- the command line ``equip-wheel`` (also ``python -m equip_wheel``);
- the PEP 517 build backend wrapper :mod:`equip_wheel.build` (``build-backend =
  "equip_wheel.build"``; see docs/build-backend.md);
- this typed API: :func:`instrument_wheel`, :func:`verify_wheel`, :func:`load_config`
  (see docs/python-api.md), and :func:`cfg`, the control-flow analysis of a module's code
  objects (see docs/cfg.md).

Every error derives from :class:`EquipWheelError`.
"""

from equip_wheel._api import (
    Config,
    ModuleReport,
    NotInstrumented,
    Report,
    RequiresPythonChange,
    Skipped,
    Totals,
    VerifyResult,
    cfg,
    instrument_wheel,
    load_config,
    verify_wheel,
)
from equip_wheel._native import __version__
from equip_wheel.errors import (
    ConfigError,
    EquipWheelError,
    FileError,
    InstrumentError,
    WheelError,
)

__all__ = [
    "Config",
    "ConfigError",
    "EquipWheelError",
    "FileError",
    "InstrumentError",
    "ModuleReport",
    "NotInstrumented",
    "Report",
    "RequiresPythonChange",
    "Skipped",
    "Totals",
    "VerifyResult",
    "WheelError",
    "__version__",
    "cfg",
    "instrument_wheel",
    "load_config",
    "verify_wheel",
]
