#!/usr/bin/env bash
# Runs the benchmarks of equip-wheel against its peers and prints a verdict per target.
# Installs what it needs: the release binary and the floor (cargo example), a Python 3.11
# venv (.venv-bench) with the pinned driver requirements; the wheels and per-interpreter
# venvs are downloaded/created at run time into .cache/ (git-ignored).
# Arguments go to benchmarks/run.py; see `scripts/bench.sh --help`.
set -euo pipefail
cd "$(dirname "$0")/.."

case " $* " in
    *" -h "*|*" --help "*) exec "${PYTHON:-python3}" benchmarks/run.py --help ;;
esac

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
    # The ast reference and `wheel` run on CPython 3.11, found where the tests find their
    # interpreters (scripts/pythons.py).
    PYTHON=$(python3 scripts/pythons.py 3.11) || exit 1
fi
VENV=.venv-bench
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r benchmarks/requirements.txt

echo "== Building the release binary and the floor (examples/bench_floor.rs)" >&2
cargo build --release --quiet --bin equip-wheel --example bench_floor

exec "$VENV/bin/python" benchmarks/run.py "$@"
