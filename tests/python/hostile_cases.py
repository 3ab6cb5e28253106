"""The hostile-input corpus of test_hostile_inputs.py, generated at test time.

Every :class:`Case` builds its inputs into a fresh directory (:meth:`Case.make`) and says
what equip-wheel must do with them: the exit code of ``equip-wheel instrument``, the names
(member, file, key) its one-line error must contain, the exception class of the Python API,
whether ``equip-wheel verify`` accepts the wheel, and which fronts (API, PEP 517 backend)
the case applies to. Nothing here is stored in the repository as a binary: wheels, ``.pyc``
files and configs are made from a small valid wheel by the functions below.

Families: ``zip/`` (the archive), ``wheel/`` (names, dist-info, RECORD, WHEEL, signatures),
``module/`` (``.py`` and ``.pyc`` members), ``config/`` (TOML, schema, snippets, config
files that are not regular files or include themselves), ``process/`` (environment,
arguments, paths that are devices, FIFOs or directories, an unwritable output directory).
"""

from __future__ import annotations

import importlib.util
import marshal
import os
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

from hostile_zip import (
    DEFLATED,
    STORED,
    Entry,
    Layout,
    build_zip,
    deflate,
    local_header,
    record_hash,
)

MB = 1 << 20
DIST_INFO = "demo-1.0.dist-info"
WHEEL_NAME = "demo-1.0-py3-none-any.whl"
WHEEL_TEXT = (
    b"Wheel-Version: 1.0\nGenerator: hostile-corpus\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
)
METADATA_TEXT = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
MOD_PY = b'''"""A small module."""


def add(a, b):
    total = a + b
    return total


class Counter:
    def __init__(self):
        self.n = 0

    def bump(self):
        self.n += 1
        return self.n
'''
INIT_PY = b"from .mod import add, Counter\n"
DATA_BIN = bytes(range(256)) * 16


def base_files() -> dict[str, bytes]:
    """The members of the valid base wheel, RECORD excluded."""
    return {
        "demo/__init__.py": INIT_PY,
        "demo/mod.py": MOD_PY,
        "demo/data.bin": DATA_BIN,
        f"{DIST_INFO}/METADATA": METADATA_TEXT,
        f"{DIST_INFO}/WHEEL": WHEEL_TEXT,
    }


def record_text(
    files: dict[str, bytes],
    dist_info: str = DIST_INFO,
    algorithm: str = "sha256",
    extra_rows: tuple[str, ...] = (),
    skip: tuple[str, ...] = (),
) -> bytes:
    """A RECORD listing ``files`` (minus ``skip``) with ``algorithm`` hashes, then
    ``extra_rows``, then its own row."""
    rows = []
    for name, data in files.items():
        if name in skip:
            continue
        quoted = f'"{name}"' if any(c in name for c in ',"\n\r') else name
        rows.append(f"{quoted},{record_hash(data, algorithm)},{len(data)}\n")
    rows.extend(r + "\n" for r in extra_rows)
    rows.append(f"{dist_info}/RECORD,,\n")
    return "".join(rows).encode("utf-8", "surrogateescape")


def wheel_bytes(
    files: dict[str, bytes] | None = None,
    *,
    record: bytes | None = None,
    dist_info: str = DIST_INFO,
    method: int = DEFLATED,
    **record_kw,
) -> bytes:
    """A wheel of ``files`` (default: the base wheel) with a RECORD computed for them
    (or ``record``)."""
    files = base_files() if files is None else files
    if record is None:
        record = record_text(files, dist_info, **record_kw)
    entries = [Entry(n, d, method=method) for n, d in files.items()]
    entries.append(Entry(f"{dist_info}/RECORD", record, method=method))
    return build_zip(entries)


def entries_of(files: dict[str, bytes], **record_kw) -> list[Entry]:
    """Base entries for hand-made archives: ``files`` plus their RECORD (last)."""
    out = [Entry(n, d) for n, d in files.items()]
    out.append(Entry(f"{DIST_INFO}/RECORD", record_text(files, **record_kw)))
    return out


# ---------------------------------------------------------------------------------------
# Cases


@dataclass
class Inputs:
    """What a case put on disk and how to run it."""

    root: Path
    #: Arguments of ``equip-wheel instrument`` before ``-o OUT`` (wheels, ``-c``, ``-j`` ...).
    args: list[str]
    #: The wheel given (for verify, the API and the backend), relative to ``root``.
    wheel: str | None = None
    #: The config file given (``-c``), relative to ``root`` or absolute.
    config: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    #: The output directory (``-o``); relative to ``root`` unless absolute.
    out: str = "out"
    #: ``[tool.equip-wheel]`` body for the backend's project (instrumentation settings).
    backend_settings: str = ""
    #: RLIMIT_FSIZE of the child in bytes (writes past it fail with EFBIG, as on a full
    #: disk), or None.
    file_size_limit: int | None = None


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], Inputs]
    #: Exit code of ``equip-wheel instrument`` (0, 1 or 2).
    code: int
    #: Substrings the one error line must contain (on success: stderr must mention them,
    #: e.g. the warning about a skipped member).
    names: tuple[str, ...] = ()
    #: API exception class names accepted (empty: the API call succeeds).
    api_errors: tuple[str, ...] = ()
    #: ``equip-wheel verify`` accepts the wheel (None: not a wheel verify can be given).
    verify_ok: bool | None = None
    api: bool = True
    backend: bool = True
    #: Also give the config to ``load_config`` (config cases).
    load_config: bool = False
    #: Extra check of a produced wheel: (path) -> None, raising AssertionError.
    check_output: Callable[[Path], None] | None = None
    #: The largest member a correct run may hold in memory (bytes), for the RSS bound.
    legit_member: int = 0
    #: Run through the command line (False: a case of the build backend only).
    cli: bool = True
    #: Wheels expected in the output directory afterwards (None: the input's name on
    #: success, nothing on failure).
    outputs: tuple[str, ...] | None = None

    def make(self, root: Path) -> Inputs:
        root.mkdir(parents=True, exist_ok=True)
        (root / "out").mkdir(exist_ok=True)
        return self.build(root)

    def __str__(self) -> str:
        return self.id


def _write(root: Path, name: str, data: bytes) -> str:
    (root / name).write_bytes(data)
    return name


def wheel_input(
    data: bytes | Callable[[], bytes], *, name: str = WHEEL_NAME, config: str | None = None
) -> Callable[[Path], Inputs]:
    """Inputs of a wheel case: the wheel ``name`` holding ``data``, an optional config."""

    def build(root: Path) -> Inputs:
        blob = data() if callable(data) else data
        wheel = _write(root, name, blob)
        args = [f"./{wheel}" if wheel.startswith("-") else wheel]
        cfg = None
        if config is not None:
            cfg = _write(root, "cfg.toml", config.encode())
            args += ["-c", cfg]
        return Inputs(root, args, wheel=args[0], config=cfg, backend_settings=config or "")

    return build


CASES: list[Case] = []


def case(id: str, build: Callable[[Path], Inputs], code: int, **kw) -> None:
    assert all(c.id != id for c in CASES), f"duplicate case id {id}"
    CASES.append(Case(id, build, code, **kw))


def bad_wheel(
    id: str, data: bytes | Callable[[], bytes], *names: str, name: str = WHEEL_NAME, **kw
) -> None:
    """A wheel both ``verify`` and ``instrument`` must refuse (exit 1, WheelError)."""
    kw.setdefault("api_errors", ("WheelError",))
    kw.setdefault("verify_ok", False)
    case(id, wheel_input(data, name=name), 1, names=names or (name,), **kw)


def good_wheel(
    id: str,
    data: bytes | Callable[[], bytes],
    *names: str,
    name: str = WHEEL_NAME,
    config: str | None = None,
    **kw,
) -> None:
    """A valid wheel: exit 0, output verified (controls that keep the corpus honest)."""
    case(id, wheel_input(data, name=name, config=config), 0, names=names, verify_ok=True, **kw)


# --- zip level -------------------------------------------------------------------------


def _zip_cases() -> None:
    valid = wheel_bytes()
    good_wheel("zip/control-valid-wheel", valid)
    good_wheel("zip/control-stored-members", wheel_bytes(method=STORED))

    # Truncations and things that are not zips.
    for label, cut in [
        ("1-byte", 1),
        ("4-bytes", 4),
        ("21-bytes", 21),
        ("30-bytes", 30),
        ("quarter", len(valid) // 4),
        ("half", len(valid) // 2),
        ("in-central-directory", len(valid) - 60),
        ("in-end-record", len(valid) - 10),
        ("last-byte", len(valid) - 1),
    ]:
        bad_wheel(f"zip/truncated-{label}", valid[:cut])
    bad_wheel("zip/empty-file", b"")
    bad_wheel("zip/not-a-zip-text", b"this is not a zip archive\n" * 40)
    bad_wheel("zip/not-a-zip-random", bytes((i * 7919 + 13) % 251 for i in range(1 << 16)))
    bad_wheel("zip/not-a-zip-gzip", b"\x1f\x8b\x08\x00" + bytes(200))
    bad_wheel("zip/not-a-zip-elf", b"\x7fELF\x02\x01\x01" + bytes(400))
    bad_wheel("zip/empty-archive", build_zip([]))
    bad_wheel("zip/end-record-only-garbage", b"PK\x05\x06" + b"\xff" * 18)
    bad_wheel(
        "zip/central-offset-past-eof", valid[:-6] + struct.pack("<I", len(valid) * 4) + valid[-2:]
    )
    bad_wheel(
        "zip/central-size-past-eof", valid[:-10] + struct.pack("<I", 10 * len(valid)) + valid[-6:]
    )
    bad_wheel("zip/entry-count-too-high", build_zip(entries_of(base_files()), count=60000))

    files = base_files()
    # A wrong CRC on each kind of member (RECORD hashes are right: only the CRC lies).
    for member in ["demo/mod.py", "demo/data.bin", f"{DIST_INFO}/METADATA"]:
        es = entries_of(files)
        for e in es:
            if e.name == member:
                e.crc = zlib.crc32(e.data) ^ 0x5A5A5A5A
        bad_wheel(f"zip/bad-crc-{member.split('/')[-1]}", build_zip(es), member)
    es = entries_of(files)
    es[-1].crc = 0
    bad_wheel("zip/bad-crc-RECORD", build_zip(es), "RECORD")

    # Sizes that lie.
    for member in ["demo/mod.py", "demo/data.bin"]:
        short = member.split("/")[-1]
        es = entries_of(files)
        e = next(e for e in es if e.name == member)
        e.compressed_size = 1 << 30
        bad_wheel(f"zip/compressed-size-past-eof-{short}", build_zip(es), member)
        es = entries_of(files)
        e = next(e for e in es if e.name == member)
        e.size = len(e.data) - 7
        bad_wheel(f"zip/declared-size-smaller-{short}", build_zip(es), member)
        es = entries_of(files)
        e = next(e for e in es if e.name == member)
        e.size = len(e.data) + 1000
        bad_wheel(f"zip/declared-size-larger-{short}", build_zip(es), member)
    es = entries_of(files)
    e = next(e for e in es if e.name == "demo/mod.py")
    e.payload = deflate(e.data)[:-5]
    bad_wheel("zip/deflate-stream-truncated", build_zip(es), "demo/mod.py")
    es = entries_of(files)
    e = next(e for e in es if e.name == "demo/mod.py")
    e.payload = b"\xff" * 64
    bad_wheel("zip/deflate-stream-invalid", build_zip(es), "demo/mod.py")

    # Local header vs central directory.
    for member, local in [
        ("demo/mod.py", "demo/other.py"),
        ("demo/mod.py", "../evil.py"),
        (f"{DIST_INFO}/RECORD", f"{DIST_INFO}/RECORD.bak"),
    ]:
        es = entries_of(files)
        next(e for e in es if e.name == member).local_name = local
        slug = local.replace("/", "-").replace(".", "")
        bad_wheel(f"zip/local-name-differs-{slug}", build_zip(es), member)
    es = entries_of(files)
    e = next(e for e in es if e.name == "demo/mod.py")
    e.local_extra = b"\x99\x99\x04\x00abcd"
    good_wheel("zip/control-local-extra-field", build_zip(es))

    # Duplicate names.
    for member, second in [
        ("demo/mod.py", MOD_PY),
        ("demo/mod.py", b"print('other')\n"),
        ("demo/data.bin", b"x"),
        (f"{DIST_INFO}/METADATA", METADATA_TEXT),
    ]:
        es = entries_of(files)
        es.insert(0, Entry(member, second))
        same = "same" if second == files[member] else "different"
        bad_wheel(f"zip/duplicate-{member.split('/')[-1]}-{same}-content", build_zip(es), member)
    es = entries_of(files)
    es.insert(0, Entry(es[-1].name, es[-1].data))
    bad_wheel("zip/duplicate-RECORD", build_zip(es), "RECORD")
    es = entries_of(files)
    es.append(Entry("demo/mod.py", MOD_PY, central_only=True))
    bad_wheel(
        "zip/duplicate-central-entry-same-local-header", lambda: _point_at(es, -1, 1), "demo/mod.py"
    )

    # Overlapping entries.
    bad_wheel("zip/overlap-two-names-one-local-header", lambda: _overlap_same_header(files), "demo")
    bad_wheel("zip/overlap-member-inside-another-stored", lambda: _overlap_nested(files), "demo")
    bad_wheel("zip/overlap-quoted-overlap-bomb", lambda: _overlap_bomb(files, 40), "demo")
    bad_wheel("zip/overlap-central-directory-inside-data", lambda: _overlap_central(files), "demo")

    # Encryption, compression methods, links.
    es = entries_of(files)
    next(e for e in es if e.name == "demo/mod.py").flags |= 1
    bad_wheel("zip/encrypted-member", build_zip(es), "demo/mod.py")
    es = entries_of(files)
    next(e for e in es if e.name == "demo/data.bin").flags |= 0x41
    bad_wheel("zip/strong-encryption-flag", build_zip(es), "demo/data.bin")
    for method, label in [
        (1, "shrink"),
        (6, "implode"),
        (9, "deflate64"),
        (12, "bzip2"),
        (14, "lzma"),
        (93, "zstd"),
        (95, "xz"),
        (99, "aes"),
        (0xFFFF, "65535"),
    ]:
        es = entries_of(files)
        e = next(e for e in es if e.name == "demo/mod.py")
        e.payload = deflate(e.data)
        e.method = method
        bad_wheel(f"zip/compression-method-{label}", build_zip(es), "demo/mod.py")
    for member, mode, label in [
        ("demo/mod.py", 0o120777, "symlink"),
        ("demo/data.bin", 0o120777, "symlink-data"),
    ]:
        es = entries_of(files)
        next(e for e in es if e.name == member).external_attr = mode << 16
        bad_wheel(f"zip/member-mode-{label}", build_zip(es), member)

    # Ratio and size bombs.
    bad_wheel("zip/huge-ratio-member-1gib", _ratio_bomb, "demo/zeros.bin", legit_member=MB)
    bad_wheel("zip/huge-ratio-module-256mib", _ratio_module, "demo/big.py", legit_member=MB)

    # ZIP64.
    bad_wheel("zip/zip64-locator-past-eof", lambda: _zip64_broken("locator"))
    bad_wheel("zip/zip64-record-garbage", lambda: _zip64_broken("record"))
    es = entries_of(files)
    e = next(e for e in es if e.name == "demo/mod.py")
    e.size = 0xFFFFFFFF
    e.compressed_size = 0xFFFFFFFF
    bad_wheel("zip/zip64-sizes-without-extra", build_zip(es), "demo/mod.py")
    es = entries_of(files)
    e = next(e for e in es if e.name == "demo/mod.py")
    e.size = 0xFFFFFFFF
    e.central_extra = struct.pack("<HHQ", 1, 8, 1 << 40)
    bad_wheel("zip/zip64-extra-size-1tib", build_zip(es), "demo/mod.py")


def _point_at(entries: list[Entry], index: int, target: int) -> bytes:
    """Archive where central entry ``index`` points at the local header of ``target``."""
    layout = Layout()
    build_zip(entries, layout=layout)
    entries[index if index >= 0 else len(entries) + index].offset = layout.local_offsets[target]
    return build_zip(entries)


def _overlap_same_header(files: dict[str, bytes]) -> bytes:
    """``demo/copy.py`` is a second central entry reading ``demo/mod.py``'s local header;
    RECORD lists both with the right hash."""
    files2 = dict(files)
    files2["demo/copy.py"] = files["demo/mod.py"]
    es = entries_of(files2)
    copy = next(e for e in es if e.name == "demo/copy.py")
    copy.central_only = True
    copy.local_name = "demo/mod.py"
    layout = Layout()
    build_zip(es, layout=layout)
    copy.offset = layout.local_offsets[[e.name for e in es].index("demo/mod.py")]
    return build_zip(es)


def _overlap_nested(files: dict[str, bytes]) -> bytes:
    """A stored member ``demo/outer.bin`` whose data is exactly the local header and data
    of ``demo/inner.py``, which the central directory also lists: both hash right in RECORD."""
    inner = Entry("demo/inner.py", b"x = 1\n", method=STORED)

    inner_bytes = local_header(inner, inner.data) + inner.data
    files2 = dict(files)
    files2["demo/outer.bin"] = inner_bytes
    files2["demo/inner.py"] = inner.data
    es = entries_of(files2)
    outer = next(e for e in es if e.name == "demo/outer.bin")
    outer.method = STORED
    nested = next(e for e in es if e.name == "demo/inner.py")
    nested.central_only = True
    nested.method = STORED
    layout = Layout()
    build_zip(es, layout=layout)
    outer_at = layout.local_offsets[[e.name for e in es].index("demo/outer.bin")]

    nested.offset = outer_at + len(local_header(outer, outer.stored_payload()))
    return build_zip(es)


def _overlap_bomb(files: dict[str, bytes], n: int) -> bytes:
    """The "overlapping files" construction (Fifield, 2019) with stored quoting: ``n``
    members, each one's data starting with the next one's local header, all sharing one
    kernel of zeros; RECORD lists each with its real content."""
    kernel = bytes(64 * 1024)
    names = [f"demo/bomb{i:03d}.bin" for i in range(n)]
    # Build from the last member backwards: member i's content = header(i+1) + content(i+1).
    contents: dict[str, bytes] = {}
    headers: dict[str, bytes] = {}

    following = kernel
    for name in reversed(names):
        contents[name] = following
        e = Entry(name, following, method=STORED)
        headers[name] = local_header(e, following)
        following = headers[name] + following
    files2 = dict(files)
    for name in names:
        files2[name] = contents[name]
    record = record_text(files2)
    # Local headers and data, written by hand; then a central directory listing every
    # member at the offsets recorded here (build_zip writes no local data for them).
    out = bytearray()
    central: list[Entry] = []
    for name, data in files.items():
        e = Entry(name, data, offset=len(out), central_only=True)
        out += local_header(e, e.stored_payload()) + e.stored_payload()
        central.append(e)
    offset = len(out)
    out += headers[names[0]] + contents[names[0]]
    for name in names:
        central.append(Entry(name, contents[name], method=STORED, offset=offset, central_only=True))
        offset += len(headers[name])
    rec = Entry(f"{DIST_INFO}/RECORD", record, offset=len(out), central_only=True)
    out += local_header(rec, rec.stored_payload()) + rec.stored_payload()
    central.append(rec)
    return build_zip(central, prefix=bytes(out))


def _overlap_central(files: dict[str, bytes]) -> bytes:
    """``demo/data.bin`` claims a compressed size running over the central directory."""
    es = entries_of(files)
    # Put data.bin last among data members and make it stored, its size reaching EOF - 22.
    data = next(e for e in es if e.name == "demo/data.bin")
    es.remove(data)
    es.insert(len(es) - 1, data)
    data.method = STORED
    layout = Layout()
    blob = build_zip(es, layout=layout)
    data_at = layout.local_offsets[es.index(data)]

    start = data_at + len(local_header(data, data.data))
    data.compressed_size = len(blob) - 22 - start
    return build_zip(es)


@lru_cache(maxsize=None)
def _zeros_deflated(total: int) -> tuple[bytes, int]:
    """Raw deflate of ``total`` zero bytes (made from one repeated fully flushed block),
    and the CRC-32 of those bytes."""
    chunk = 1 << 20
    assert total % chunk == 0
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(chunk)) + c.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    zeros = bytes(chunk)
    for _ in range(total // chunk):
        crc = zlib.crc32(zeros, crc)
    return block * (total // chunk) + b"\x03\x00", crc


@lru_cache(maxsize=None)
def _zeros_sha256(total: int) -> str:
    import base64
    import hashlib

    h = hashlib.sha256()
    zeros = bytes(1 << 20)
    for _ in range(total // len(zeros)):
        h.update(zeros)
    return "sha256=" + base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()


def _ratio_bomb() -> bytes:
    """``demo/zeros.bin``: 1 MiB of deflate that inflates to 1 GiB, listed right in RECORD."""
    total = 1 << 30
    payload, crc = _zeros_deflated(total)
    files = base_files()
    record = record_text(files, extra_rows=(f"demo/zeros.bin,{_zeros_sha256(total)},{total}",))
    es = [Entry(n, d) for n, d in files.items()]
    es.append(Entry("demo/zeros.bin", b"", payload=payload, crc=crc, size=total))
    es.append(Entry(f"{DIST_INFO}/RECORD", record))
    return build_zip(es)


def _ratio_module() -> bytes:
    """``demo/big.py``: a module of 256 MiB of blank lines, deflated to 256 KiB."""
    total = 256 << 20
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"\n" * (1 << 20)
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    payload = block * (total // len(chunk)) + b"\x03\x00"
    crc = 0
    import base64
    import hashlib

    h = hashlib.sha256()
    for _ in range(total // len(chunk)):
        crc = zlib.crc32(chunk, crc)
        h.update(chunk)
    digest = "sha256=" + base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()
    files = base_files()
    record = record_text(files, extra_rows=(f"demo/big.py,{digest},{total}",))
    es = [Entry(n, d) for n, d in files.items()]
    es.append(Entry("demo/big.py", b"", payload=payload, crc=crc, size=total))
    es.append(Entry(f"{DIST_INFO}/RECORD", record))
    return build_zip(es)


def _zip64_broken(what: str) -> bytes:
    layout = Layout()
    es = entries_of(base_files())
    blob = build_zip(es, layout=layout)
    end = blob.rfind(b"PK\x05\x06")
    central_size = end - layout.central_offset
    if what == "locator":
        z64 = struct.pack("<IIQI", 0x07064B50, 0, 1 << 40, 1)
    else:
        z64 = b"PK\x06\x06" + b"\xee" * 52 + struct.pack("<IIQI", 0x07064B50, 0, end, 1)
    end_record = bytearray(blob[end:])
    struct.pack_into("<HHII", end_record, 8, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    del central_size
    return blob[:end] + z64 + bytes(end_record)


# --- wheel level -----------------------------------------------------------------------

HOSTILE_PATHS = [
    ("dotdot", "../x.py", "x.py"),
    ("dotdot-inner", "demo/../../x.py", "x.py"),
    ("absolute", "/abs.py", "abs.py"),
    ("absolute-etc", "/etc/cron.d/x", "cron.d"),
    ("drive-relative", "C:evil.py", "evil.py"),
    ("drive-absolute", "C:/evil.py", "evil.py"),
    ("drive-backslash", "C:\\evil.py", "evil.py"),
    ("backslash", "demo\\evil.py", "evil.py"),
    ("unc", "\\\\server\\share\\evil.py", "evil.py"),
    ("nul", "demo/a\x00b.py", "b.py"),
    ("escape-sgr", "demo/\x1b[31mred.py", "red.py"),
    ("escape-osc", "demo/\x1b]0;pwned\x07title.py", "title.py"),
    ("newline", "demo/new\nline.py", "line.py"),
    ("carriage-return", "demo/carriage\rreturn.py", "return.py"),
    ("c1-csi", "demo/\u009b31mcsi.py", "csi.py"),
]


def _wheel_cases() -> None:
    files = base_files()
    valid = wheel_bytes()
    # File names.
    for label, name in [
        ("no-tags", "demo.whl"),
        ("too-few-parts", "demo-1.0-py3-none.whl"),
        ("zip-suffix", "demo-1.0-py3-none-any.zip"),
        ("txt-suffix", "demo-1.0-py3-none-any.whl.txt"),
        ("empty-name", "-1.0-py3-none-any.whl"),
        ("build-tag-not-digit", "demo-1.0-abc-py3-none-any.whl"),
        ("too-many-parts", "demo-1.0-1-2-py3-none-any.whl"),
        ("bad-version", "demo-1..0!!-py3-none-any.whl"),
        ("escape-in-name", "demo\x1b[2J-1.0-py3-none-any.whl"),
        ("newline-in-name", "demo\nx-1.0-py3-none-any.whl"),
    ]:
        visible = name.split("\x1b")[0].split("\n")[0] or name
        bad_wheel(f"wheel/file-name-{label}", valid, visible, name=name, backend=False)
    bad_wheel(
        "wheel/file-name-other-distribution", valid, "other", name="other-1.0-py3-none-any.whl"
    )
    bad_wheel("wheel/file-name-other-version", valid, "2.0", name="demo-2.0-py3-none-any.whl")
    good_wheel("wheel/control-build-tag", valid, name="demo-1.0-1-py3-none-any.whl")

    # dist-info.
    no_dist = {k: v for k, v in files.items() if not k.startswith(DIST_INFO)}
    bad_wheel(
        "wheel/missing-dist-info", lambda: build_zip([Entry(n, d) for n, d in no_dist.items()])
    )
    two = dict(files)
    two["other-1.0.dist-info/METADATA"] = METADATA_TEXT.replace(b"demo", b"other")
    two["other-1.0.dist-info/WHEEL"] = WHEEL_TEXT
    bad_wheel("wheel/two-dist-info", wheel_bytes(two), "dist-info")
    two_records = dict(two)
    two_records["other-1.0.dist-info/RECORD"] = record_text(files, "other-1.0.dist-info")
    bad_wheel("wheel/two-records-two-dist-info", wheel_bytes(two_records), "dist-info")
    nested = {("demo/" + k if k.startswith(DIST_INFO) else k): v for k, v in files.items()}
    bad_wheel(
        "wheel/dist-info-nested", wheel_bytes(nested, dist_info="demo/" + DIST_INFO), "dist-info"
    )
    for missing in ["METADATA", "WHEEL"]:
        fs = {k: v for k, v in files.items() if k != f"{DIST_INFO}/{missing}"}
        bad_wheel(f"wheel/missing-{missing}", wheel_bytes(fs), missing)
    bad_wheel("wheel/missing-RECORD", build_zip([Entry(n, d) for n, d in files.items()]), "RECORD")
    stray = dict(files)
    stray[f"{DIST_INFO}/sub/RECORD"] = b"x,,\n"
    good_wheel("wheel/control-nested-file-named-RECORD", wheel_bytes(stray))

    # RECORD contents.
    def rec(**kw) -> bytes:
        return wheel_bytes(files, record=record_text(files, **kw))

    bad_wheel("wheel/record-empty", wheel_bytes(files, record=b""), "RECORD")
    bad_wheel(
        "wheel/record-only-itself",
        wheel_bytes(files, record=f"{DIST_INFO}/RECORD,,\n".encode()),
        "RECORD",
    )
    bad_wheel("wheel/record-missing-row", rec(skip=("demo/data.bin",)), "demo/data.bin")
    bad_wheel(
        "wheel/record-extra-row",
        rec(extra_rows=("demo/ghost.py,sha256=" + "A" * 43 + ",3",)),
        "demo/ghost.py",
    )
    bad_wheel("wheel/record-md5", rec(algorithm="md5"), "demo")
    bad_wheel("wheel/record-sha1", rec(algorithm="sha1"), "demo")
    good_wheel("wheel/record-sha384", rec(algorithm="sha384"))
    good_wheel("wheel/record-sha512", rec(algorithm="sha512"))
    mixed = record_text(files).replace(
        f"demo/mod.py,{record_hash(MOD_PY)}".encode(),
        f"demo/mod.py,{record_hash(MOD_PY, 'sha512')}".encode(),
    )
    good_wheel("wheel/record-mixed-sha256-sha512", wheel_bytes(files, record=mixed))
    good_wheel(
        "wheel/record-crlf", wheel_bytes(files, record=record_text(files).replace(b"\n", b"\r\n"))
    )
    comma = dict(files)
    comma["demo/a,b.txt"] = b"comma\n"
    good_wheel("wheel/record-quoted-comma-path", wheel_bytes(comma))

    def edit(old: str, new: str, member: str, label: str) -> None:
        text = record_text(files).decode()
        assert old in text, old
        bad_wheel(
            f"wheel/record-{label}",
            wheel_bytes(files, record=text.replace(old, new, 1).encode()),
            member,
        )

    good = record_hash(MOD_PY)
    edit(good, "sha256=" + "A" * 43, "demo/mod.py", "wrong-hash")
    edit(good, good + "=", "demo/mod.py", "hash-with-padding")
    edit(good, "sha256=!!!not-base64!!!", "demo/mod.py", "hash-not-base64")
    edit(good, "sha256=" + good[7:20], "demo/mod.py", "hash-truncated")
    edit(good, "", "demo/mod.py", "hash-missing")
    edit(good, "sha3_256=" + good[7:], "demo/mod.py", "hash-unknown-algorithm")
    edit(good, good[7:], "demo/mod.py", "hash-without-algorithm")
    edit(f"{good},{len(MOD_PY)}", f"{good},{len(MOD_PY) + 1}", "demo/mod.py", "wrong-size")
    edit(f"{good},{len(MOD_PY)}", f"{good},-1", "demo/mod.py", "negative-size")
    edit(f"{good},{len(MOD_PY)}", f"{good},12abc", "demo/mod.py", "size-not-a-number")
    edit(f"{good},{len(MOD_PY)}", f"{good},99999999999999999999999", "demo/mod.py", "size-overflow")
    edit(f"{good},{len(MOD_PY)}", f"{good}", "RECORD", "two-columns")
    edit(f"{good},{len(MOD_PY)}", f"{good},{len(MOD_PY)},extra", "RECORD", "four-columns")
    edit(
        f"{DIST_INFO}/RECORD,,",
        f"{DIST_INFO}/RECORD,sha256={'A' * 43},100",
        "RECORD",
        "own-row-with-hash",
    )
    edit(
        "demo/mod.py,",
        "demo/mod.py,sha256=" + "B" * 43 + ",1\ndemo/mod.py,",
        "demo/mod.py",
        "duplicate-row",
    )
    edit("demo/mod.py,", '"demo/mod.py,', "RECORD", "unterminated-quote")
    bad_wheel(
        "wheel/record-not-utf8",
        wheel_bytes(files, record=record_text(files) + b"demo/\xff\xfe.py,,\n"),
        "RECORD",
    )
    bad_wheel(
        "wheel/record-nul-byte",
        wheel_bytes(
            files, record=record_text(files).replace(b"demo/mod.py", b"demo/mod\x00.py", 1)
        ),
        "RECORD",
    )
    bad_wheel(
        "wheel/record-directory-row",
        wheel_bytes(files, record=record_text(files, extra_rows=("demo/,,",))),
        "demo/",
    )

    # Hostile paths, as archive members (listed in RECORD) and as RECORD rows only.
    for label, path, visible in HOSTILE_PATHS:
        fs = dict(files)
        fs[path] = b"evil = 1\n"
        bad_wheel(f"wheel/member-path-{label}", wheel_bytes(fs), visible)
        row = '"' + path.replace('"', '""') + '"' if any(c in path for c in ',"\n\r') else path
        bad_wheel(
            f"wheel/record-path-{label}",
            wheel_bytes(
                files, record=record_text(files, extra_rows=(f"{row},sha256={'A' * 43},9",))
            ),
            visible,
        )
    bad_wheel(
        "wheel/record-quoted-newline-path-only",
        wheel_bytes(
            files, record=record_text(files).replace(b"demo/data.bin,", b'"demo/data\n.bin",', 1)
        ),
        ".bin",
    )

    # Already instrumented.
    prov = dict(files)
    prov[f"{DIST_INFO}/equip-wheel.json"] = b'{"tool": "equip-wheel"}\n'
    bad_wheel(
        "wheel/already-instrumented-provenance",
        wheel_bytes(prov),
        "already instrumented",
        verify_ok=True,
    )
    bad_wheel(
        "wheel/already-instrumented-real-output",
        _instrumented_twice,
        "already instrumented",
        verify_ok=True,
    )
    elsewhere = dict(files)
    elsewhere["demo/equip-wheel.json"] = b"{}\n"
    good_wheel("wheel/control-provenance-name-outside-dist-info", wheel_bytes(elsewhere))

    # WHEEL file.
    for label, text in [
        ("version-2", b"Wheel-Version: 2.0\n"),
        ("version-99", b"Wheel-Version: 99.1\n"),
        ("version-garbage", b"Wheel-Version: one\n"),
        ("version-missing", b""),
        ("version-empty", b"Wheel-Version:\n"),
    ]:
        fs = dict(files)
        fs[f"{DIST_INFO}/WHEEL"] = text + b"Root-Is-Purelib: true\nTag: py3-none-any\n"
        bad_wheel(f"wheel/WHEEL-{label}", wheel_bytes(fs), "WHEEL")
    fs = dict(files)
    fs[f"{DIST_INFO}/WHEEL"] = WHEEL_TEXT.replace(b"1.0", b"1.9")
    good_wheel("wheel/control-WHEEL-newer-minor", wheel_bytes(fs))

    # Signatures: dropped from the output (with a notice).
    for sig in ["RECORD.jws", "RECORD.p7s"]:
        fs = dict(files)
        fs[f"{DIST_INFO}/{sig}"] = b'{"signatures": []}\n'
        good_wheel(
            f"wheel/signature-{sig}",
            wheel_bytes(fs, skip=(f"{DIST_INFO}/{sig}",)),
            sig,
            check_output=_lacks(f"{DIST_INFO}/{sig}"),
        )


def _lacks(member: str) -> Callable[[Path], None]:
    def check(wheel: Path) -> None:
        import zipfile

        with zipfile.ZipFile(wheel) as z:
            assert member not in z.namelist(), f"{member} kept in {wheel.name}"

    return check


def _instrumented_twice() -> bytes:
    """The base wheel instrumented by the binary under test (made at test time)."""
    import tempfile

    import harness

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / WHEEL_NAME
        src.write_bytes(wheel_bytes())
        proc = subprocess.run(
            [equip_wheel_binary(), "instrument", "-q", str(src), "-o", str(Path(tmp) / "out")],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr
        del harness
        return (Path(tmp) / "out" / WHEEL_NAME).read_bytes()


def equip_wheel_binary() -> str:
    """The Rust binary under test: ``$EQUIP_WHEEL_EXE``, else ``target/release/equip-wheel``,
    else the installed console script."""
    import harness

    if os.environ.get("EQUIP_WHEEL_EXE"):
        return os.environ["EQUIP_WHEEL_EXE"]
    built = harness.REPO / "target" / "release" / "equip-wheel"
    if built.exists():
        return str(built)
    return harness.equip_wheel_exe()


# --- module level ----------------------------------------------------------------------

FAIL = 'preset = "calls"\non-syntax-error = "fail"\n'
#: A function, appended to each hostile source so that the module is one to instrument.
FUNCTION = b"\n\ndef f():\n    return 1\n"


def _module_case(id: str, member: str, source: bytes, *, bad: bool, legit_member: int = 0) -> None:
    """A wheel whose ``member`` holds ``source``. ``bad``: CPython refuses it, so the default
    policy skips it with a warning naming it, and ``on-syntax-error = "fail"`` fails the
    wheel naming it. Members are stored, not deflated: a source made of one repeated
    character would otherwise pass the compression-ratio limit and be refused as a bomb."""
    fs = base_files()
    fs[member] = source + FUNCTION
    data = lambda: wheel_bytes(fs, method=STORED)  # noqa: E731
    if bad:
        case(
            f"{id}-default-policy",
            wheel_input(data),
            0,
            names=(member,),
            verify_ok=True,
            legit_member=legit_member or len(source),
        )
        case(
            f"{id}-fail-policy",
            wheel_input(data, config=FAIL),
            1,
            names=(member,),
            api_errors=("InstrumentError",),
            verify_ok=True,
            legit_member=legit_member or len(source),
        )
    else:
        case(id, wheel_input(data), 0, verify_ok=True, legit_member=legit_member or len(source))


def _deep(n: int, kind: str) -> bytes:
    if kind == "plus":
        return b"x = " + b"+".join([b"1"] * n) + b"\n"
    if kind == "attr":
        return b"import os\nx = os" + b".a" * n + b"\n"
    if kind == "not":
        return b"x = " + b"not " * n + b"True\n"
    if kind == "parens":
        return b"x = " + b"(" * n + b"1" + b")" * n + b"\n"
    if kind == "lists":
        return b"x = " + b"[" * n + b"]" * n + b"\n"
    if kind == "unary-minus":
        return b"x = " + b"-" * n + b"1\n"
    if kind == "calls":
        return b"x = " + b"f(" * n + b")" * n + b"\n"
    if kind == "subscripts":
        return b"x = y" + b"[0]" * n + b"\n"
    if kind == "lambda":
        return b"x = " + b"lambda: " * n + b"1\n"
    if kind == "power":
        return b"x = " + b"2**" * n + b"1\n"
    if kind == "comparison":
        return b"x = " + b" < ".join([b"a"] * n) + b"\n"
    if kind == "ternary":
        return b"x = " + b"1 if a else " * n + b"0\n"
    if kind == "fstring":
        return b"x = " + b'f"{' * 4 + b"(" * n + b"1" + b")" * n + b'}"' * 4 + b"\n"
    if kind == "indent":
        lines = [b"def f():\n"]
        for i in range(1, n):
            lines.append(b"    " * i + b"if x:\n")
        lines.append(b"    " * n + b"pass\n")
        return b"".join(lines)
    raise ValueError(kind)


@lru_cache(maxsize=None)
def _letters(n: int) -> bytes:
    """``n`` pseudo-random lowercase letters (deflate gains little on them)."""
    import random

    rng = random.Random(n)
    return bytes(rng.choices(range(ord("a"), ord("z") + 1), k=n))


def _pyc(code_bytes: bytes, *, magic: bytes | None = None, flags: int = 0) -> bytes:
    magic = importlib.util.MAGIC_NUMBER if magic is None else magic
    return magic + struct.pack("<III", flags, 0, 0) + code_bytes


def _code(src: str) -> bytes:
    return marshal.dumps(compile(src, "demo/fast.py", "exec"))


def _marker_code(replacement: bytes, root_ref: bool = False) -> bytes:
    """Marshal data of a module whose constant ``b"MARKERMARKER"`` is replaced by
    ``replacement`` (a raw marshal object). With ``root_ref`` the module code object itself
    carries FLAG_REF (marshal flags objects held more than once), so it is reference 0."""
    src = 'def f():\n    return 1\n\n\nx = b"MARKERMARKER"\n'
    if root_ref:
        held = [compile(src, "demo/fast.py", "exec")]
        data = marshal.dumps(held[0])  # held twice (the list, the variable): FLAG_REF
    else:
        data = _code(src)
    assert (data[0] & 0x80 != 0) == root_ref, "module code object FLAG_REF not as asked"
    i = data.find(b"MARKERMARKER")
    assert data[i - 5] == ord("s"), "marker bytes object is not a plain 's' record"
    return data[: i - 5] + replacement + data[i + 12 :]


def _deepening_loop_code(nops: int) -> bytes | None:
    """Marshal data of a module whose ``f`` is ``nops`` NOPs and a ``LOAD_CONST`` in a loop
    that never pops: every pass leaves the stack one deeper (no compiler makes this). A
    stack-depth walk that follows each new depth would take ``nops`` steps per level up to
    its depth limit. Built for the running interpreter, 3.11+ (JUMP_BACKWARD, PEP 657
    location table); ``None`` before."""
    if sys.version_info < (3, 11):
        return None
    import opcode

    module = compile("def f():\n    return 1\n", "demo/fast.py", "exec")
    f = module.co_consts[0]
    op = opcode.opmap
    units = [(op["RESUME"], 0)] + [(op["NOP"], 0)] * nops + [(op["LOAD_CONST"], 0)]
    code = b"".join(bytes(u) for u in units)
    back = len(units) + 1  # from after the jump (EXTENDED_ARG + JUMP_BACKWARD) to unit 1
    code += bytes([op["EXTENDED_ARG"], back >> 8, op["JUMP_BACKWARD"], back & 0xFF])
    # One "no location" entry (code 15) per 8 code units covers the code exactly.
    total = len(code) // 2
    table = bytes(0xF8 | (min(8, total - i) - 1) for i in range(0, total, 8))
    loop = f.replace(co_code=code, co_linetable=table, co_exceptiontable=b"")
    return marshal.dumps(
        module.replace(co_consts=tuple(loop if c is f else c for c in module.co_consts))
    )


def _dag_code(depth: int) -> bytes:
    """Marshal data of code objects each holding the previous one twice in co_consts:
    2**depth paths, ``depth`` objects (marshal writes the repeats as back-references)."""
    prev = compile("def leaf(): return 1", "demo/fast.py", "exec").co_consts[0]
    template = compile("def f(): pass", "demo/fast.py", "exec").co_consts[0]
    for i in range(depth):
        prev = template.replace(
            co_consts=(None, prev, prev),
            co_name=f"f{i}",
            **({"co_qualname": f"f{i}"} if hasattr(template, "co_qualname") else {}),
        )
    module = compile("def f(): pass", "demo/fast.py", "exec")
    module = module.replace(
        co_consts=tuple(prev if isinstance(c, type(prev)) else c for c in module.co_consts)
    )
    return marshal.dumps(module)


def _small_output(factor: int) -> Callable[[Path], None]:
    def check(wheel: Path) -> None:
        import zipfile

        with zipfile.ZipFile(wheel) as z:
            size = z.getinfo("demo/fast.pyc").file_size
        assert size < factor, f"demo/fast.pyc grew to {size} bytes: shared code objects unshared"

    return check


def _module_cases() -> None:
    bad_sources = [
        ("undecodable-utf8", b"x = '\xff\xfe'\n"),
        ("coding-unknown", b"# -*- coding: no-such-codec -*-\nx = 1\n"),
        ("coding-utf8-bad-bytes", b"# coding: utf-8\nx = '\xc3\x28'\n"),
        ("bom-with-latin1-coding", b"\xef\xbb\xbf# coding: latin-1\nx = 1\n"),
        ("bom-then-bad-utf8", b"\xef\xbb\xbfx = '\xff'\n"),
        ("nul-byte", b"x = 1\x00\n"),
        ("python2-print", b"print 'hello'\n"),
        ("unterminated-triple-quote", b'x = """never closed\n'),
        ("utf16-bom", b"\xff\xfex\x00 \x00=\x00 \x001\x00\n\x00"),
    ]
    for label, src in bad_sources:
        _module_case(f"module/py-{label}", "demo/bad.py", src, bad=True)
    for kind in [
        "plus",
        "attr",
        "not",
        "parens",
        "lists",
        "unary-minus",
        "calls",
        "subscripts",
        "lambda",
        "power",
        "ternary",
        "fstring",
    ]:
        _module_case(f"module/py-deep-40000-{kind}", "demo/deep.py", _deep(40000, kind), bad=True)
    _module_case(
        "module/py-deep-1000000-parens", "demo/deep.py", _deep(1_000_000, "parens"), bad=True
    )
    # Valid sources that stress the reader (CPython compiles them).
    _module_case("module/py-control-deep-parens-150", "demo/ok.py", _deep(150, "parens"), bad=False)
    _module_case("module/py-control-plus-chain-500", "demo/ok.py", _deep(500, "plus"), bad=False)
    _module_case(
        "module/py-control-latin1-coding",
        "demo/ok.py",
        b"# -*- coding: latin-1 -*-\ndef f():\n    return '\xe9'\n",
        bad=False,
    )
    _module_case(
        "module/py-control-bom", "demo/ok.py", b"\xef\xbb\xbfdef f():\n    return 1\n", bad=False
    )
    _module_case(
        "module/py-control-huge-line-8mib",
        "demo/ok.py",
        b"def f():\n    return '" + _letters(8 * MB) + b"'\n",
        bad=False,
    )
    # The same line of one repeated letter: the rewritten module deflates more than 200:1, and
    # the output must still be a wheel that verify (and instrument) accept.
    _module_case(
        "module/py-control-huge-line-8mib-repetitive",
        "demo/ok.py",
        b"def f():\n    return '" + b"a" * (8 * MB) + b"'\n",
        bad=False,
    )
    _module_case(
        "module/py-control-100k-statements-one-line",
        "demo/ok.py",
        b"def f():\n    " + b"x = 1; " * 100_000 + b"return x\n",
        bad=False,
    )
    _module_case(
        "module/py-control-form-feed-crlf",
        "demo/ok.py",
        b"\x0cdef f():\r\n    return 1\r\n",
        bad=False,
    )

    # .pyc members (sourceless). Refused by default, naming the member.
    code = _code("def f():\n    return 1\n")
    pyc_bad = [
        ("magic-garbage", _pyc(code, magic=b"\x00\x00\x00\x00")),
        ("magic-no-crlf", _pyc(code, magic=importlib.util.MAGIC_NUMBER[:2] + b"\x00\x00")),
        ("flags-unknown", _pyc(code, flags=4)),
        ("flags-all-bits", _pyc(code, flags=0xFFFFFFFF)),
        ("header-only", _pyc(b"")),
        ("shorter-than-header", importlib.util.MAGIC_NUMBER + b"\x00\x00"),
        ("empty", b""),
        ("marshal-truncated-1", _pyc(code[:1])),
        ("marshal-truncated-half", _pyc(code[: len(code) // 2])),
        ("marshal-truncated-last-byte", _pyc(code[:-1])),
        ("marshal-not-code", _pyc(marshal.dumps(42))),
        ("marshal-unknown-type", _pyc(b"Q" + code[1:])),
        ("marshal-ref-out-of-range", _pyc(_marker_code(b"r" + struct.pack("<I", 10_000)))),
        # Reference 0 is the module code object being read: marshal.loads refuses it
        # ("bad marshal data (invalid reference)").
        (
            "marshal-self-reference-cycle",
            _pyc(_marker_code(b"r" + struct.pack("<I", 0), root_ref=True)),
        ),
        ("marshal-deep-tuple-100000", _pyc(_marker_code(b")\x01" * 100_000 + b"N"))),
        ("marshal-huge-length", _pyc(_marker_code(b"s" + struct.pack("<I", 0x7FFFFFFF)))),
        ("marshal-huge-tuple-count", _pyc(_marker_code(b"(" + struct.pack("<I", 0x7FFFFFFF)))),
        ("marshal-trailing-garbage", _pyc(code + b"garbage")),
    ]
    deepening = _deepening_loop_code(20_000)
    if deepening is not None:
        pyc_bad.append(("stack-deepening-loop", _pyc(deepening)))
    for label, data in pyc_bad:
        fs = base_files()
        fs["demo/fast.pyc"] = data
        case(
            f"module/pyc-{label}",
            wheel_input(lambda fs=fs: wheel_bytes(fs)),
            1,
            names=("demo/fast.pyc",),
            api_errors=("InstrumentError", "WheelError"),
            verify_ok=True,
        )
    for label, magic in [
        ("python-2.7", b"\x03\xf3\r\n"),
        ("python-3.6", struct.pack("<H", 3379) + b"\r\n"),
        ("python-3.7", struct.pack("<H", 3394) + b"\r\n"),
    ]:
        fs = base_files()
        fs["demo/fast.pyc"] = _pyc(code, magic=magic)
        case(
            f"module/pyc-unsupported-{label}",
            wheel_input(lambda fs=fs: wheel_bytes(fs)),
            1,
            names=("demo/fast.pyc",),
            api_errors=("InstrumentError", "WheelError"),
            verify_ok=True,
        )
        case(
            f"module/pyc-unsupported-{label}-skip",
            wheel_input(
                lambda fs=fs: wheel_bytes(fs),
                config='preset = "calls"\non-unsupported-pyc = "skip"\n',
            ),
            0,
            names=("demo/fast.pyc",),
            verify_ok=True,
        )
    for depth in [24, 40, 64]:
        fs = base_files()
        fs["demo/fast.pyc"] = _pyc(_dag_code(depth))
        case(
            f"module/pyc-marshal-dag-depth-{depth}",
            wheel_input(lambda fs=fs: wheel_bytes(fs)),
            0,
            verify_ok=True,
            check_output=_small_output(200 * depth + 20_000),
        )
    fs = base_files()
    fs["demo/fast.pyc"] = _pyc(code)
    case("module/pyc-control-valid", wheel_input(lambda: wheel_bytes(fs)), 0, verify_ok=True)


# --- config level ----------------------------------------------------------------------

#: Snippets that parse as Python but that CPython refuses to compile inside a function.
BAD_SNIPPETS = [
    ("break", "break"),
    ("continue", "continue"),
    ("async-for", "async for x in y:\n    pass"),
    ("async-with", "async with x:\n    pass"),
    ("await", "await x"),
    ("future-import-unknown", "from __future__ import x"),
    ("future-import-late", "from __future__ import annotations"),
    ("import-star", "from os import *"),
    ("global-after-use", "x = 1\nglobal x"),
    ("nonlocal-unbound", "nonlocal x"),
    ("comment-only", "# nothing here"),
    ("nul", "x = 1\u0000"),
    ("nested-brackets-5000", "(" * 5000 + ")" * 5000),
    ("duplicate-keyword", "print(sep=1, sep=2)"),
    ("assign-debug", "__debug__ = 1"),
    ("yield-from-in-comprehension", "[(yield x) for x in y]"),
    ("starred-assign-alone", "*x = y"),
]
SNIPPET_KEYS = ["function-enter", "function-exit", "function-error", "module-exit"]


def config_input(text: str | bytes, *, name: str = "cfg.toml") -> Callable[[Path], Inputs]:
    """Inputs of a config case: the valid base wheel and ``text`` as ``-c NAME``."""

    def build(root: Path) -> Inputs:
        wheel = _write(root, WHEEL_NAME, wheel_bytes())
        data = text.encode() if isinstance(text, str) else text
        cfg = _write(root, name, data)
        settings = data.decode("utf-8", "replace") if isinstance(text, str) else ""
        return Inputs(root, [wheel, "-c", cfg], wheel=wheel, config=cfg, backend_settings=settings)

    return build


def bad_config(id: str, text: str | bytes, *names: str, backend: bool = True, **kw) -> None:
    case(
        id,
        config_input(text),
        2,
        names=names or ("cfg.toml",),
        api_errors=("ConfigError",),
        load_config=True,
        backend=backend and isinstance(text, str),
        **kw,
    )


def good_config(id: str, text: str, **kw) -> None:
    case(id, config_input(text), 0, load_config=True, **kw)


def _config_cases() -> None:
    good_config("config/control-empty", "")
    good_config("config/control-hooks", '[hooks]\nfunction-enter = "print({qualname})"\n')
    good_config(
        "config/control-break-in-loop",
        '[hooks]\nfunction-enter = """\nfor i in range(1):\n    break\n"""\n',
    )
    good_config(
        "config/control-setup-import-star",
        '[hooks]\nimports = ["from os import *"]\nfunction-enter = "pass"\n',
    )
    # Unknown keys and wrong types.
    bad_config("config/unknown-top-level-key", "colour = 1\n", "colour")
    bad_config("config/unknown-select-key", '[select]\nmodulez = ["x"]\n', "modulez")
    bad_config("config/unknown-hooks-key", '[hooks]\nfunction-entry = "pass"\n', "function-entry")
    bad_config("config/unknown-output-key", '[output]\nname = "x"\n', "name")
    bad_config("config/unknown-table", "[hookz]\nx = 1\n", "hookz")
    bad_config("config/unknown-key-escape-sequence", '"\\u001b[31mred" = 1\n', "red")
    bad_config("config/unknown-key-newline", '"line1\\nline2" = 1\n', "line1")
    bad_config("config/unknown-key-nul", '"a\\u0000b" = 1\n', "cfg.toml")
    bad_config("config/unknown-key-bidi", '"\\u202eevil" = 1\n', "evil")
    bad_config("config/unknown-key-huge", f'"{"k" * 100_000}" = 1\n', "kkkk")
    for label, text, key in [
        ("select-modules-string", '[select]\nmodules = "demo"\n', "modules"),
        ("select-modules-int-item", "[select]\nmodules = [1]\n", "modules"),
        ("select-functions-table", "[select]\nfunctions = {a = 1}\n", "functions"),
        ("hooks-snippet-int", "[hooks]\nfunction-enter = 1\n", "function-enter"),
        ("hooks-imports-string", '[hooks]\nimports = "import os"\n', "imports"),
        ("hooks-on-hook-error-value", '[hooks]\non-hook-error = "explode"\n', "on-hook-error"),
        ("on-syntax-error-value", 'on-syntax-error = "maybe"\n', "on-syntax-error"),
        ("on-syntax-error-bool", "on-syntax-error = true\n", "on-syntax-error"),
        ("on-unsupported-pyc-value", 'on-unsupported-pyc = "ignore"\n', "on-unsupported-pyc"),
        ("preset-int", "preset = 3\n", "preset"),
        ("preset-unknown", 'preset = "nope"\n', "preset"),
        ("probes-not-array", '[probes]\nmodule = "demo.mod"\n', "probes"),
        (
            "probe-line-string",
            '[[probes]]\nmodule = "demo.mod"\nline = "5"\nsnippet = "pass"\n',
            "line",
        ),
        (
            "probe-line-zero",
            '[[probes]]\nmodule = "demo.mod"\nline = 0\nsnippet = "pass"\n',
            "line",
        ),
        (
            "probe-line-negative",
            '[[probes]]\nmodule = "demo.mod"\nline = -3\nsnippet = "pass"\n',
            "line",
        ),
        ("probe-missing-snippet", '[[probes]]\nmodule = "demo.mod"\nline = 5\n', "snippet"),
        ("output-local-version-bad", '[output]\nlocal-version = "bad version!"\n', "local-version"),
        ("output-local-version-empty", '[output]\nlocal-version = ""\n', "local-version"),
        ("output-build-tag-letter", '[output]\nbuild-tag = "abc"\n', "build-tag"),
        ("output-build-tag-dash", '[output]\nbuild-tag = "1-2"\n', "build-tag"),
        ("output-build-tag-slash", '[output]\nbuild-tag = "1/../../x"\n', "build-tag"),
        ("select-date", "[select]\nmodules = 1979-05-27\n", "modules"),
        ("hooks-as-array", "hooks = [1, 2]\n", "hooks"),
    ]:
        bad_config(f"config/type-{label}", text, key)
    # Globs.
    for label, glob in [
        ("unclosed-class", "[abc"),
        ("unclosed-brace", "{a,b"),
        ("unclosed-brace-nested", "{a,[b}"),
    ]:
        bad_config(f"config/glob-{label}", f'[select]\nmodules = ["{glob}"]\n', "modules")
    # TOML syntax and encoding.
    bad_config("config/toml-syntax", "[hooks\nx = 1\n", "cfg.toml")
    bad_config("config/toml-duplicate-key", 'preset = "calls"\npreset = "trace"\n', "preset")
    bad_config("config/toml-not-utf8", b'preset = "\xff\xfe"\n', "cfg.toml")
    bad_config("config/toml-nul-byte", b"preset = 1\x00\n", "cfg.toml")
    bad_config(
        "config/toml-deep-arrays-100000", "x = " + "[" * 100_000 + "]" * 100_000 + "\n", "cfg.toml"
    )
    bad_config(
        "config/toml-deep-inline-tables-50000",
        "x = " + "{a = " * 50_000 + "1" + "}" * 50_000 + "\n",
        "cfg.toml",
    )
    bad_config("config/toml-deep-dotted-key", "a" + ".a" * 50_000 + " = 1\n", "cfg.toml")
    bad_config(
        "config/toml-huge-integer",
        "[hooks]\nfunction-enter = 99999999999999999999999\n",
        "cfg.toml",
    )
    # Snippets and placeholders.
    for label, snippet in BAD_SNIPPETS:
        for key in SNIPPET_KEYS:
            text = f"[hooks]\n{key} = {_toml_str(snippet)}\n"
            bad_config(f"config/snippet-{label}-{key}", text, key)
    for label, snippet in [
        ("break", "break"),
        ("future-import-late", "from __future__ import annotations"),
        ("nul", "x = 1\u0000"),
        ("global-after-use", "x = 1\nglobal x"),
        ("nested-brackets-5000", "(" * 5000 + ")" * 5000),
    ]:
        bad_config(
            f"config/snippet-{label}-setup",
            f'[hooks]\nsetup = {_toml_str(snippet)}\nfunction-enter = "pass"\n',
            "setup",
        )
    bad_config(
        "config/snippet-import-future-in-imports",
        '[hooks]\nimports = ["from __future__ import annotations"]\n',
        "imports",
    )
    bad_config("config/snippet-imports-not-an-import", '[hooks]\nimports = ["break"]\n', "imports")
    bad_config(
        "config/snippet-probe-break",
        '[[probes]]\nmodule = "demo.mod"\nline = 5\nsnippet = "break"\n',
        "snippet",
    )
    bad_config(
        "config/snippet-syntax-error", '[hooks]\nfunction-enter = "print(("\n', "function-enter"
    )
    bad_config(
        "config/snippet-unknown-placeholder",
        '[hooks]\nfunction-enter = "print({qualnam})"\n',
        "function-enter",
    )
    bad_config(
        "config/snippet-placeholder-wrong-hook",
        '[hooks]\nfunction-enter = "print({return_value})"\n',
        "function-enter",
    )
    bad_config(
        "config/snippet-deep-40000",
        f'[hooks]\nfunction-enter = "x = {"+".join(["1"] * 40000)}"\n',
        "function-enter",
    )
    bad_config(
        "config/snippet-escape-sequence-syntax-error",
        '[hooks]\nfunction-enter = "\\u001b[2J("\n',
        "function-enter",
    )


def _toml_str(s: str) -> str:
    out = (
        s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\x00", "\\u0000")
    )
    return f'"{out}"'


def _config_file_cases() -> None:
    """Config files that are not regular files, or that include themselves."""

    def special(kind: str) -> Callable[[Path], Inputs]:
        def build(root: Path) -> Inputs:
            wheel = _write(root, WHEEL_NAME, wheel_bytes())
            if kind == "fifo":
                os.mkfifo(root / "cfg.toml")
                cfg = "cfg.toml"
            elif kind == "dev-zero":
                cfg = "/dev/zero"
            elif kind == "dev-zero-symlink":
                os.symlink("/dev/zero", root / "cfg.toml")
                cfg = "cfg.toml"
            elif kind == "dev-urandom":
                cfg = "/dev/urandom"
            elif kind == "directory":
                (root / "cfg.toml").mkdir()
                cfg = "cfg.toml"
            elif kind == "missing":
                cfg = "cfg.toml"
            elif kind == "symlink-loop":
                os.symlink("cfg.toml", root / "cfg.toml")
                cfg = "cfg.toml"
            elif kind == "proc-self-mem":
                cfg = "/proc/self/mem"
            else:
                raise ValueError(kind)
            return Inputs(root, [wheel, "-c", cfg], wheel=wheel, config=cfg)

        return build

    for kind, shown in [
        ("fifo", "cfg.toml"),
        ("dev-zero", "/dev/zero"),
        ("dev-zero-symlink", "cfg.toml"),
        ("dev-urandom", "/dev/urandom"),
        ("directory", "cfg.toml"),
        ("missing", "cfg.toml"),
        ("symlink-loop", "cfg.toml"),
        ("proc-self-mem", "/proc/self/mem"),
    ]:
        case(
            f"config/file-{kind}",
            special(kind),
            2,
            names=(shown,),
            api_errors=("ConfigError",),
            load_config=True,
            backend=False,
        )

    def pyproject(layout: str) -> Callable[[Path], Inputs]:
        def build(root: Path) -> Inputs:
            wheel = _write(root, WHEEL_NAME, wheel_bytes())
            table = "[tool.equip-wheel]\n"
            if layout == "self":
                (root / "pyproject.toml").write_text(table + 'config = "pyproject.toml"\n')
                cfg = "pyproject.toml"
            elif layout == "self-dotted":
                (root / "pyproject.toml").write_text(table + 'config = "./././pyproject.toml"\n')
                cfg = "pyproject.toml"
            elif layout == "pair":
                (root / "a").mkdir()
                (root / "b").mkdir()
                (root / "a" / "pyproject.toml").write_text(
                    table + 'config = "../b/pyproject.toml"\n'
                )
                (root / "b" / "pyproject.toml").write_text(
                    table + 'config = "../a/pyproject.toml"\n'
                )
                cfg = "a/pyproject.toml"
            elif layout == "chain-of-100":
                for i in range(100):
                    (root / f"c{i}").mkdir()
                    (root / f"c{i}" / "pyproject.toml").write_text(
                        table + f'config = "../c{(i + 1) % 100}/pyproject.toml"\n'
                    )
                cfg = "c0/pyproject.toml"
            elif layout == "symlink-to-self":
                (root / "real").mkdir()
                os.symlink("real", root / "link")
                (root / "real" / "pyproject.toml").write_text(
                    table + 'config = "../link/pyproject.toml"\n'
                )
                cfg = "real/pyproject.toml"
            elif layout == "config-fifo":
                os.mkfifo(root / "equip.toml")
                (root / "pyproject.toml").write_text(table + 'config = "equip.toml"\n')
                cfg = "pyproject.toml"
            elif layout == "config-dev-zero":
                (root / "pyproject.toml").write_text(table + 'config = "/dev/zero"\n')
                cfg = "pyproject.toml"
            else:
                raise ValueError(layout)
            return Inputs(root, [wheel, "-c", cfg], wheel=wheel, config=cfg)

        return build

    for layout, shown in [
        ("self", "pyproject.toml"),
        ("self-dotted", "pyproject.toml"),
        ("pair", "pyproject.toml"),
        ("chain-of-100", "pyproject.toml"),
        ("symlink-to-self", "pyproject.toml"),
        ("config-fifo", "equip.toml"),
        ("config-dev-zero", "/dev/zero"),
    ]:
        case(
            f"config/pyproject-{layout}",
            pyproject(layout),
            2,
            names=(shown,),
            api_errors=("ConfigError",),
            load_config=True,
            backend=False,
        )

    def found_in_cwd(root: Path) -> Inputs:
        wheel = _write(root, WHEEL_NAME, wheel_bytes())
        (root / "pyproject.toml").write_text('[tool.equip-wheel]\nconfig = "pyproject.toml"\n')
        return Inputs(root, [wheel], wheel=wheel)

    case(
        "config/pyproject-self-found-in-cwd",
        found_in_cwd,
        2,
        names=("pyproject.toml",),
        api_errors=("ConfigError",),
        backend=False,
    )


def _backend_config_cases() -> None:
    """The build backend's own ``[tool.equip-wheel] config = ...`` pointing at itself or at
    files that are not regular."""
    for label, value, shown in [
        ("self", "pyproject.toml", "pyproject.toml"),
        ("dev-zero", "/dev/zero", "/dev/zero"),
        ("directory", ".", ""),
        ("missing", "nope.toml", "nope.toml"),
    ]:
        case(
            f"config/backend-config-{label}",
            _backend_only(f'config = "{value}"\n'),
            1,
            names=(shown,),
            api=False,
            cli=False,
        )


def _backend_only(settings: str) -> Callable[[Path], Inputs]:
    def build(root: Path) -> Inputs:
        wheel = _write(root, WHEEL_NAME, wheel_bytes())
        return Inputs(root, [wheel, "-c", "pyproject.toml"], wheel=wheel, backend_settings=settings)

    return build


# --- process level ---------------------------------------------------------------------

#: An output directory nobody may write to: a mode 0555 directory, or for root (whom modes
#: do not stop) a sysfs directory.
READ_ONLY_DIR = "ro" if os.geteuid() != 0 else "/sys/kernel"


def _process_cases() -> None:
    def plain(*extra: str, env: dict[str, str] | None = None) -> Callable[[Path], Inputs]:
        def build(root: Path) -> Inputs:
            wheel = _write(root, WHEEL_NAME, wheel_bytes())
            return Inputs(root, [wheel, *extra], wheel=wheel, env=dict(env or {}))

        return build

    for label, value in [
        ("yesterday", "yesterday"),
        ("float", "1.5e9"),
        ("huge", "99999999999999999999"),
        ("hex", "0x10"),
    ]:
        case(
            f"process/source-date-epoch-{label}",
            plain(env={"SOURCE_DATE_EPOCH": value}),
            2,
            names=("SOURCE_DATE_EPOCH",),
            api_errors=("EquipWheelError",),
        )
    for label, value in [("zero", "0"), ("1980", "315532800"), ("2100", "4102444800")]:
        case(
            f"process/source-date-epoch-control-{label}",
            plain(env={"SOURCE_DATE_EPOCH": value}),
            0,
            api=False,
            backend=False,
        )
    case("process/jobs-10000", plain("-j", "10000"), 0, api=False, backend=False)
    case("process/jobs-max-u64", plain("-j", "18446744073709551615"), 0, api=False, backend=False)
    for label, value in [("negative", "-1"), ("text", "many"), ("overflow", "1" * 40)]:
        case(
            f"process/jobs-{label}",
            plain(f"--jobs={value}"),
            2,
            names=("--jobs",),
            api=False,
            backend=False,
        )
    case("process/in-place-and-out-dir", plain("--in-place"), 2, api=False, backend=False)
    case(
        "process/unknown-option",
        plain("--frobnicate"),
        2,
        names=("--frobnicate",),
        api=False,
        backend=False,
    )

    def wheel_path(kind: str) -> Callable[[Path], Inputs]:
        def build(root: Path) -> Inputs:
            target = root / WHEEL_NAME
            if kind == "fifo":
                os.mkfifo(target)
            elif kind in ("dev-zero", "dev-null", "dev-urandom"):
                os.symlink(f"/dev/{kind[4:]}", target)
            elif kind == "directory":
                target.mkdir()
                (target / "x").write_text("x")
            elif kind == "missing":
                pass
            elif kind == "symlink-loop":
                os.symlink(WHEEL_NAME, target)
            elif kind == "socket":
                import socket

                s = socket.socket(socket.AF_UNIX)
                s.bind(str(target))
                s.close()
            else:
                raise ValueError(kind)
            return Inputs(root, [WHEEL_NAME], wheel=WHEEL_NAME)

        return build

    for kind in [
        "fifo",
        "dev-zero",
        "dev-null",
        "dev-urandom",
        "directory",
        "missing",
        "symlink-loop",
        "socket",
    ]:
        case(
            f"process/wheel-path-{kind}",
            wheel_path(kind),
            1,
            names=(WHEEL_NAME,),
            api_errors=("FileError", "WheelError"),
            verify_ok=False,
            backend=False,
        )

    def out_dir(kind: str) -> Callable[[Path], Inputs]:
        def build(root: Path) -> Inputs:
            wheel = _write(root, WHEEL_NAME, wheel_bytes())
            if kind == "read-only":
                ro = root / "ro"
                ro.mkdir()
                ro.chmod(0o555)
                out = READ_ONLY_DIR
            elif kind == "is-a-file":
                (root / "file").write_text("x")
                out = "file"
            elif kind == "under-a-file":
                (root / "file").write_text("x")
                out = "file/sub"
            elif kind == "dev-null":
                out = "/dev/null"
            else:
                raise ValueError(kind)
            return Inputs(root, [wheel], wheel=wheel, out=out)

        return build

    for kind, shown in [
        ("read-only", READ_ONLY_DIR),
        ("is-a-file", "file"),
        ("under-a-file", "file/sub"),
        ("dev-null", "/dev/null"),
    ]:
        case(
            f"process/out-dir-{kind}",
            out_dir(kind),
            1,
            names=(shown,),
            api_errors=("FileError",),
            backend=False,
        )

    def full_disk(root: Path) -> Inputs:
        wheel = _write(root, WHEEL_NAME, wheel_bytes())
        return Inputs(root, [wheel], wheel=wheel, file_size_limit=2048)

    case(
        "process/output-write-fails-file-too-large",
        full_disk,
        1,
        names=("too large",),
        api_errors=("FileError",),
        backend=False,
    )

    def mixed(root: Path) -> Inputs:
        good = _write(root, WHEEL_NAME, wheel_bytes())
        bad = _write(root, "bad-1.0-py3-none-any.whl", b"not a zip")
        return Inputs(root, [good, bad], wheel=None)

    case(
        "process/one-good-one-bad-wheel",
        mixed,
        1,
        names=("bad-1.0-py3-none-any.whl",),
        api=False,
        backend=False,
        outputs=(WHEEL_NAME,),
    )


def all_cases() -> list[Case]:
    if not CASES:
        _zip_cases()
        _wheel_cases()
        _module_cases()
        _config_cases()
        _config_file_cases()
        _backend_config_cases()
        _process_cases()
    return CASES
