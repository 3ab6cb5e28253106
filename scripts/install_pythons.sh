#!/usr/bin/env bash
# Makes sure the CPython interpreters the tests and gates use are there (used by scripts/test.sh
# and scripts/lint.sh).
set -euo pipefail
# CPython 3.14 and 3.15 (pyenv stops at 3.13): debian-cpython.sh, in the tools folder that
# sits beside the repository checkout, installs them into a private prefix where
# scripts/pythons.py finds them. Without it, tests needing them are skipped with a message.
cd "$(dirname "$0")/.."
DEBIAN_CPYTHON="$(dirname "$PWD")/shared/tools/debian-cpython.sh"
if [ -f "$DEBIAN_CPYTHON" ]; then
    bash "$DEBIAN_CPYTHON" 3.14 3.15 >/dev/null \
        || echo "warning: $DEBIAN_CPYTHON failed: CPython 3.14/3.15 tests may be skipped" >&2
else
    echo "note: $DEBIAN_CPYTHON not found: CPython 3.14/3.15 tests are skipped unless" \
        "scripts/pythons.py finds them (EQUIP_PYTHON_3_14, pyenv, PATH)" >&2
fi
