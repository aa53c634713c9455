#!/usr/bin/env bash
# Fuzzes the named.conf reader with libFuzzer (ASan + UBSan).
#   scripts/fuzz-parser.sh [SECONDS]   default 600
# Builds tests/zones/fuzz_named_conf in build-fuzz/ with clang, then runs it over the seed
# corpus tests/zones/corpus/ (read-only); new inputs go to build-fuzz/corpus/. With MERGE=1,
# afterwards minimizes everything into tests/zones/corpus/ (keep it well under 1 MB).
# Exit status is libFuzzer's: non-zero when it found a crash (artifact in build-fuzz/).
set -euo pipefail
seconds="${1:-600}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
jobs="${JOBS:-2}"

cmake -S "$root" -B "$build" -DDNSWASH_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$build" -j"$jobs" --target fuzz_named_conf

mkdir -p "$build/corpus"
cd "$build"
# -max_len covers a config with a few includes; -timeout flags any single input over 10 s
# as a hang; -rss_limit_mb catches runaway memory.
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ./tests/zones/fuzz_named_conf -max_total_time="$seconds" -max_len=4096 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/" \
  "$build/corpus" "$root/tests/zones/corpus"

if [[ "${MERGE:-0}" == 1 ]]; then
  tmp="$(mktemp -d)"
  ./tests/zones/fuzz_named_conf -merge=1 -max_len=4096 "$tmp" "$root/tests/zones/corpus" \
    "$build/corpus"
  rm -f "$root"/tests/zones/corpus/*
  cp "$tmp"/* "$root/tests/zones/corpus/"
  rm -rf "$tmp"
  du -sh "$root/tests/zones/corpus"
fi
