#!/usr/bin/env bash
# The lint gates CI runs before the tests: rustfmt, clippy (warnings are errors), ruff (lint
# and format) on the Python code, the generated opcode tables against the interpreters, and
# the repository's own rules on docs and comments (scripts/check_repo_docs.py).
# Installs ruff into .venv-test from tests/requirements.txt, like scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv-test
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet -r tests/requirements.txt

# src/hooks_runtime.py and src/patch_runtime.py: static Python text of generated hooks modules.
PY_DIRS=(python tests/python benchmarks scripts src/hooks_runtime.py src/patch_runtime.py)

echo "== lint: cargo fmt"
cargo fmt --all -- --check
echo "== lint: cargo clippy (with and without the python feature)"
cargo clippy --release --all-targets --locked -- -D warnings
cargo clippy --release --lib --features python --locked -- -D warnings
echo "== lint: ruff"
"$VENV/bin/ruff" check "${PY_DIRS[@]}"
# --force-exclude: a file named on the command line still honours `exclude`.
"$VENV/bin/ruff" format --check --force-exclude "${PY_DIRS[@]}"
echo "== lint: generated opcode tables match the interpreters"
scripts/install_pythons.sh
"$VENV/bin/python" scripts/gen_bytecode_tables.py --check
echo "== lint: repository docs and comments"
"$VENV/bin/python" scripts/check_repo_docs.py
echo "== lint: all gates passed"
