"""The repository explains itself: a lint gate run by scripts/lint.sh.

1. Every repository path that docs/architecture.md names in backticks (``src/...``,
   ``python/...``, ``tests/...``, ``docs/...``, ``scripts/...``, ``fuzz/...``, ``benchmarks/...``;
   ``*`` globs allowed) exists.
2. No tracked text file points outside the repository: no design notes or reference files
   that are not in it, no issue numbers of an outside tracker.

Exit status 0 when both hold, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"
PATH_IN_BACKTICKS = re.compile(
    r"`((?:src|python|tests|docs|scripts|fuzz|benchmarks|testwheels)/[^`\s]*)`"
)
OUTSIDE_POINTERS = re.compile(
    r"DESIGN\.md|shared/reference|reference/(?:wheel-rules|pyc-format|pep517-wrapper)\.md"
    r"|\b[Ii]ssue \d+|\b[Aa]cceptance \d+|\bacc\. \d+"
)
CHECKED_SUFFIXES = {".rs", ".py", ".pyi", ".md", ".toml", ".sh", ".ini", ".txt", ""}


def architecture_problems() -> list[str]:
    problems = []
    for lineno, line in enumerate(ARCHITECTURE.read_text(encoding="utf-8").splitlines(), 1):
        for match in PATH_IN_BACKTICKS.finditer(line):
            named = match.group(1).rstrip("/")
            if not any(ROOT.glob(named)):
                problems.append(
                    f"docs/architecture.md:{lineno}: names `{named}`, which does not exist"
                )
    return problems


def outside_pointer_problems() -> list[str]:
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True)
        .stdout.decode()
        .split("\0")
    )
    problems = []
    for name in tracked:
        path = ROOT / name
        if not name or path.suffix not in CHECKED_SUFFIXES or not path.is_file():
            continue
        if name == "Cargo.lock" or name.startswith("fuzz/Cargo.lock"):
            continue
        if path == Path(__file__).resolve():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            match = OUTSIDE_POINTERS.search(line)
            if match:
                problems.append(
                    f"{name}:{lineno}: points outside the repository: {match.group(0)!r}"
                )
    return problems


def main() -> int:
    problems = architecture_problems() + outside_pointer_problems()
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
