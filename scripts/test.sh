#!/usr/bin/env bash
# Runs every test of equip-wheel. Installs what it needs on a fresh machine: the Python test
# tools (into .venv-test), cargo-nextest if missing, the equip-wheel package itself.
# Extra arguments go to pytest, e.g. `scripts/test.sh -k calls`. The end-to-end tests run in
# parallel, one worker per core (PYTEST_WORKERS=N to choose, 0 to run them in this process).
#
# `scripts/test.sh --quick` is the everyday tier (a few minutes once built): the Rust tests
# except the standard-library corpora, and the end-to-end tests not marked slow or upstream,
# on CPython 3.11 only (EQUIP_PYTHONS=3.11: the other versions are skipped with that reason).
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
if [ "${1:-}" = "--quick" ]; then
    QUICK=1
    shift
    export EQUIP_PYTHONS=${EQUIP_PYTHONS:-3.11}
fi

PYTHON=${PYTHON:-python3}
VENV=.venv-test
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r tests/requirements.txt
export PATH="$PWD/$VENV/bin:$PATH"

scripts/install_pythons.sh
# Graphviz: tests/python/test_cfg.py renders `equip-wheel cfg --format dot` with `dot`.
if ! command -v dot >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        { apt-get update -qq >/dev/null && apt-get install -y -qq graphviz >/dev/null; } >&2 \
            || echo "warning: installing Graphviz with apt-get failed" >&2
    else
        echo "warning: Graphviz (dot) is missing and cannot be installed here: install it," \
            "or set EQUIP_SKIP_GRAPHVIZ=1 to skip the test that needs it" >&2
    fi
fi
python3 scripts/pythons.py --all | sed 's/^/interpreter /'

if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install --locked cargo-nextest
fi

echo "== Rust: unit and integration tests"
cargo build --release --bin equip-wheel
if [ "$QUICK" = 1 ]; then
    cargo nextest run --release --no-fail-fast -E 'not binary(/^pyc_(roundtrip|inject_corpus)$/)'
else
    cargo nextest run --release --no-fail-fast
fi

echo "== Python package: build and install equip-wheel"
rm -rf target/wheels
maturin build --release --out target/wheels
"$VENV/bin/python" -m pip install --quiet --force-reinstall --no-deps target/wheels/equip_wheel-*.whl

echo "== Python: end-to-end tests"
if [ "$QUICK" = 1 ]; then
    "$VENV/bin/python" -m pytest -n "${PYTEST_WORKERS:-auto}" -m "not slow and not upstream" \
        tests/python "$@"
else
    "$VENV/bin/python" -m pytest -n "${PYTEST_WORKERS:-auto}" tests/python "$@"
fi
