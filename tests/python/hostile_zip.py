"""A byte-level ZIP writer for hostile test inputs (test_hostile_inputs.py).

Python's ``zipfile`` refuses to write most of what an attacker writes (two central entries
pointing at one local header, a local name that differs from the central one, a wrong CRC,
sizes that lie). :func:`build_zip` lays out local headers, data, central directory and
end-of-central-directory record (APPNOTE.TXT 4.3) exactly as each :class:`Entry` says,
overrides included.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from dataclasses import dataclass, field

STORED = 0
DEFLATED = 8
#: ``external_attr`` of a regular file with mode 0644 (Unix, high 16 bits).
REGULAR = 0o100644 << 16


def deflate(data: bytes, level: int = 6) -> bytes:
    """Raw deflate (no zlib header), as ZIP stores it."""
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def as_bytes(name: str | bytes) -> bytes:
    return name if isinstance(name, bytes) else name.encode("utf-8", "surrogateescape")


def record_hash(data: bytes, algorithm: str = "sha256") -> str:
    """A RECORD hash field: ``ALGO=urlsafe-b64(digest)`` without padding."""
    digest = hashlib.new(algorithm, data).digest()
    return f"{algorithm}=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Entry:
    """One archive member; every ``None`` override is computed from ``data``."""

    name: str | bytes
    data: bytes = b""
    method: int = DEFLATED
    #: The payload as stored (default: ``data`` compressed with ``method``).
    payload: bytes | None = None
    crc: int | None = None
    compressed_size: int | None = None
    size: int | None = None
    #: The local header's name, when it must differ from the central directory's.
    local_name: str | bytes | None = None
    flags: int = 0x800  # UTF-8 names
    external_attr: int = REGULAR
    local_extra: bytes = b""
    central_extra: bytes = b""
    #: Central directory offset of the local header (default: where this entry's is written).
    offset: int | None = None
    #: Write no local header and data for this entry (its central record points elsewhere).
    central_only: bool = False
    #: Bytes written right after the payload (e.g. a data descriptor).
    trailer: bytes = b""
    version_needed: int = 20

    def stored_payload(self) -> bytes:
        if self.payload is not None:
            return self.payload
        if self.method == DEFLATED:
            return deflate(self.data)
        return self.data


@dataclass
class Layout:
    """Where build_zip put things (offsets into the archive)."""

    local_offsets: list[int] = field(default_factory=list)
    central_offset: int = 0


def local_header(e: Entry, payload: bytes) -> bytes:
    name = as_bytes(e.local_name if e.local_name is not None else e.name)
    crc = e.crc if e.crc is not None else zlib.crc32(e.data)
    csize = e.compressed_size if e.compressed_size is not None else len(payload)
    size = e.size if e.size is not None else len(e.data)
    return (
        struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            e.version_needed,
            e.flags,
            e.method,
            0,
            0x21,
            crc,
            csize & 0xFFFFFFFF,
            size & 0xFFFFFFFF,
            len(name),
            len(e.local_extra),
        )
        + name
        + e.local_extra
    )


def build_zip(
    entries: list[Entry],
    *,
    comment: bytes = b"",
    prefix: bytes = b"",
    suffix: bytes = b"",
    layout: Layout | None = None,
    count: int | None = None,
) -> bytes:
    """The archive of ``entries`` in order; ``prefix`` before the first local header,
    ``suffix`` after the end record, ``count`` overrides the entry counts of the end record."""
    out = bytearray(prefix)
    offsets = []
    payloads = []
    for e in entries:
        payload = e.stored_payload()
        payloads.append(payload)
        if e.central_only:
            offsets.append(e.offset or 0)
            continue
        offsets.append(len(out))
        out += local_header(e, payload) + payload + e.trailer
    central_start = len(out)
    for e, payload, offset in zip(entries, payloads, offsets):
        name = as_bytes(e.name)
        crc = e.crc if e.crc is not None else zlib.crc32(e.data)
        csize = e.compressed_size if e.compressed_size is not None else len(payload)
        size = e.size if e.size is not None else len(e.data)
        out += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                0x031E,
                e.version_needed,
                e.flags,
                e.method,
                0,
                0x21,
                crc,
                csize & 0xFFFFFFFF,
                size & 0xFFFFFFFF,
                len(name),
                len(e.central_extra),
                0,
                0,
                0,
                e.external_attr,
                (e.offset if e.offset is not None else offset) & 0xFFFFFFFF,
            )
            + name
            + e.central_extra
        )
    central_size = len(out) - central_start
    n = len(entries) if count is None else count
    out += (
        struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, central_size, central_start, len(comment))
        + comment
    )
    out += suffix
    if layout is not None:
        layout.local_offsets = offsets
        layout.central_offset = central_start
    return bytes(out)


def zip64_end(
    central_offset: int,
    central_size: int,
    n: int,
    *,
    locator_offset: int | None = None,
    record_offset: int,
) -> bytes:
    """A ZIP64 end of central directory record and its locator (APPNOTE 4.3.14-15)."""
    record = struct.pack(
        "<IQHHIIQQQQ", 0x06064B50, 44, 0x031E, 45, 0, 0, n, n, central_size, central_offset
    )
    locator = struct.pack(
        "<IIQI", 0x07064B50, 0, record_offset if locator_offset is None else locator_offset, 1
    )
    return record + locator
