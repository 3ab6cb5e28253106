"""The exceptions equip-wheel raises.

Every error of the Python API derives from :class:`EquipWheelError`; ``str(error)`` is the
one-line message the command line prints (after ``equip-wheel: error:``). The classes mirror
the error families of the Rust library and the CLI's exit codes:

- :class:`ConfigError` (exit code 2): a configuration file, preset or argument is invalid;
- :class:`WheelError` (exit code 1): an input wheel is broken, hostile or already instrumented;
- :class:`InstrumentError` (exit code 1): a module of a valid wheel could not be instrumented
  under the configured policies (e.g. ``on-syntax-error = "fail"``);
- :class:`FileError` (exit code 1; also an :class:`OSError`): reading or writing a file failed.

Ctrl-C during the work raises the ordinary :class:`KeyboardInterrupt`, after the work has
stopped and without leaving a partial wheel behind.
"""

from __future__ import annotations

from typing import Optional

__all__ = ["ConfigError", "EquipWheelError", "FileError", "InstrumentError", "WheelError"]


class EquipWheelError(Exception):
    """Base class of every equip-wheel error. ``str(error)`` is the full message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        #: The full one-line message.
        self.message: str = message

    def __str__(self) -> str:
        return self.message


class ConfigError(EquipWheelError):
    """The configuration is invalid.

    The message reads ``FILE:LINE:COLUMN: [KEY] REASON``, omitting the unknown parts.

    Attributes:
        file: the config file, ``preset:NAME``, ``<string>`` (text given to
            :func:`equip_wheel.load_config`) or ``<arguments>``.
        key: the dotted TOML key the error is about (e.g. ``hooks.function-enter``), or None.
        line: 1-based line in ``file``, or None.
        column: 1-based column (in characters) in ``file``, or None.
        reason: what is wrong, without the location.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str = "",
        key: Optional[str] = None,
        line: Optional[int] = None,
        column: Optional[int] = None,
        reason: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.file: str = file
        self.key: Optional[str] = key
        self.line: Optional[int] = line
        self.column: Optional[int] = column
        self.reason: str = message if reason is None else reason


class WheelError(EquipWheelError):
    """An input wheel is invalid (bad name, zip, RECORD, metadata) or already instrumented.
    Nothing is written.

    Attributes:
        wheel: path of the wheel.
        member: the archive member involved, or None for the wheel as a whole.
        reason: what is wrong, without the wheel and member names.
    """

    def __init__(
        self,
        message: str,
        *,
        wheel: str = "",
        member: Optional[str] = None,
        reason: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.wheel: str = wheel
        self.member: Optional[str] = member
        self.reason: str = message if reason is None else reason


class InstrumentError(EquipWheelError):
    """A member of a valid wheel could not be instrumented. Nothing is written.

    Attributes:
        wheel: path of the input wheel.
        member: the archive member (e.g. ``pkg/mod.py``).
        reason: what went wrong.
    """

    def __init__(
        self,
        message: str,
        *,
        wheel: str = "",
        member: str = "",
        reason: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.wheel: str = wheel
        self.member: str = member
        self.reason: str = message if reason is None else reason


class FileError(EquipWheelError, OSError):
    """A file or directory could not be read or written (e.g. the output directory).
    Also an :class:`OSError`: ``errno`` and ``filename`` are set when known.

    Attributes:
        path: the file or directory involved.
    """

    def __init__(self, message: str, *, path: str = "", errno: Optional[int] = None) -> None:
        OSError.__init__(self, message)
        self.message = message
        self.path: str = path
        self.filename = path
        self.errno = errno

    def __str__(self) -> str:
        return self.message
