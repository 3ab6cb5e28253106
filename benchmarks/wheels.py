"""The real wheels the tool benchmarks run on (downloaded at run time, pinned, cached), and
sub-wheels of them for the scaling benchmark."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import zipfile
from pathlib import Path

from common import WORK, download_wheel

#: (name, version) of the large wheels the benchmarks instrument.
SYMPY = ("sympy", "1.13.3")
DJANGO = ("Django", "5.1.4")


def get(spec: tuple[str, str]) -> Path:
    return download_wheel(*spec)


def uncompressed_size(wheel: Path) -> int:
    with zipfile.ZipFile(wheel) as z:
        return sum(i.file_size for i in z.infolist())


def py_count(wheel: Path) -> int:
    with zipfile.ZipFile(wheel) as z:
        return sum(n.endswith(".py") for n in z.namelist())


def sub_wheel(wheel: Path, keep_one_in: int) -> Path:
    """A valid wheel with one in ``keep_one_in`` of ``wheel``'s package members (spread over
    the whole package, so each part looks like the whole), all of its .dist-info, and RECORD
    regenerated. Cached under .cache/bench/subwheels/1-in-N/."""
    dest = WORK / "subwheels" / f"1-in-{keep_one_in}" / wheel.name
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(".part")
    rows = []
    with zipfile.ZipFile(wheel) as zin, zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as zout:
        record = next(n for n in zin.namelist() if n.endswith(".dist-info/RECORD"))
        package = [i for i in zin.infolist() if ".dist-info/" not in i.filename]
        dist_info = [
            i for i in zin.infolist() if ".dist-info/" in i.filename and i.filename != record
        ]
        for info in package[::keep_one_in] + dist_info:
            data = zin.read(info)
            zout.writestr(info, data, zipfile.ZIP_DEFLATED)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            rows.append((info.filename, f"sha256={digest}", len(data)))
        rows.append((record, "", ""))
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        zout.writestr(record, text.getvalue())
    part.replace(dest)
    return dest
