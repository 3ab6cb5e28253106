#!/usr/bin/env bash
# Coverage-guided fuzzing of the .pyc code and of the wheel reader with cargo fuzz (needs a
# nightly toolchain and `cargo install cargo-fuzz`). The .pyc corpora are seeded at run time
# from the stdlib .pyc corpus that tests/pyc_roundtrip.rs generates in .cache/pyc-corpus
# (nothing third-party is committed), a few hundred files per target; the wheel reader's
# from testwheels/ and the wheels in .cache/ (downloaded by the Python tests), if any; the
# .py rewriter's from testwheels/src and every 10th .py file of the running python3's stdlib.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]      (default 180 s, all four targets)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-180}
shift || true
TARGETS=${*:-marshal_read pyc_instrument py_rewrite wheel_read}
if [ ! -d .cache/pyc-corpus ]; then
    echo "no .cache/pyc-corpus: run 'cargo test --release --test pyc_roundtrip' first" >&2
    exit 1
fi
mkdir -p fuzz/corpus/marshal_read fuzz/corpus/pyc_instrument
# Seed: every 10th stdlib .pyc of each version; marshal_read gets the data without header.
find .cache/pyc-corpus -name '*.pyc' | sort | awk 'NR % 10 == 0' | while read -r f; do
    key=$(echo "$f" | sha1sum | cut -c1-16)
    cp "$f" "fuzz/corpus/pyc_instrument/$key"
    tail -c +17 "$f" > "fuzz/corpus/marshal_read/$key"
done
mkdir -p fuzz/corpus/wheel_read
for f in testwheels/*.whl $(find .cache -name '*.whl' -size -2M 2>/dev/null | sort | head -50); do
    cp "$f" "fuzz/corpus/wheel_read/$(basename "$f")"
done
mkdir -p fuzz/corpus/py_rewrite
stdlib=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
{ find testwheels/src -name '*.py'; find "$stdlib" -name '*.py' -size -256k | sort | awk 'NR % 10 == 0'; } |
    while read -r f; do
        cp "$f" "fuzz/corpus/py_rewrite/$(echo "$f" | sha1sum | cut -c1-16)"
    done
for target in $TARGETS; do
    echo "== cargo fuzz run $target for ${SECONDS_PER_TARGET}s"
    cargo +nightly fuzz run "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=4096 -max_len=1048576 -print_final_stats=1
done
