#!/usr/bin/env bash
# Runs every test of equip-wheel. Installs what it needs on a fresh machine: the Python test
# tools (into .venv-test), cargo-nextest if missing, the equip-wheel package itself.
# Extra arguments go to pytest, e.g. `scripts/test.sh -k calls`. The end-to-end tests run in
# parallel, one worker per core (PYTEST_WORKERS=N to choose, 0 to run them in this process).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv-test
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r tests/requirements.txt
export PATH="$PWD/$VENV/bin:$PATH"

if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install --locked cargo-nextest
fi

echo "== Rust: unit and integration tests"
cargo build --release --bin equip-wheel
cargo nextest run --release --no-fail-fast

echo "== Python package: build and install equip-wheel"
rm -rf target/wheels
maturin build --release --out target/wheels
"$VENV/bin/python" -m pip install --quiet --force-reinstall --no-deps target/wheels/equip_wheel-*.whl

echo "== Python: end-to-end tests"
"$VENV/bin/python" -m pytest -n "${PYTEST_WORKERS:-auto}" tests/python "$@"
