"""Builds the fixture wheels in this directory from src/, byte for byte reproducibly.

    python3 testwheels/build.py

Each directory src/NAME holds one distribution: its packages, plus METADATA fields in the
``FIXTURE`` table below. The wheels are committed; rerun this after changing a source.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: distribution -> (version, summary)
FIXTURES = {
    "demo": ("1.0", "A tiny package to try equip-wheel on"),
}

#: 2020-01-01, a fixed timestamp for reproducible archives.
DATE_TIME = (2020, 1, 1, 0, 0, 0)


def record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def build(name: str, version: str, summary: str) -> Path:
    src = HERE / "src" / name
    dist_info = f"{name}-{version}.dist-info"
    members: dict[str, bytes] = {}
    for path in sorted(src.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            members[path.relative_to(src).as_posix()] = path.read_bytes()
    members[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n"
    ).encode()
    members[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: equip-wheel testwheels/build.py\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n"
    ).encode()
    record = "".join(f"{n},{record_hash(d)},{len(d)}\n" for n, d in members.items())
    members[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    out = HERE / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in members.items():
            info = zipfile.ZipInfo(n, DATE_TIME)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return out


if __name__ == "__main__":
    for name, (version, summary) in FIXTURES.items():
        print(build(name, version, summary))
