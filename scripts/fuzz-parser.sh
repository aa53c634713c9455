#!/usr/bin/env bash
# Fuzzes the named.conf reader with libFuzzer (ASan + UBSan).
#   scripts/fuzz-parser.sh [SECONDS]   default 600
# Builds tests/zones/fuzz_named_conf in build-fuzz/ with clang, then runs it over the seed
# corpus tests/zones/corpus/ (seed-*.conf by hand, min/ minimized; read recursively); new
# inputs go to build-fuzz/corpus/. With MERGE=1, afterwards minimizes everything into
# tests/zones/corpus/min/ (keep the corpus well under 1 MB).
# FUZZ_BUILD_DIR overrides the build directory, JOBS the build parallelism.
# Exit status is libFuzzer's: non-zero when it found a crash (artifact in build-fuzz/).
set -euo pipefail
seconds="${1:-600}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${JOBS:-2}"

cmake -S "$root" -B "$build" -DDNSWASH_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDNSWASH_WERROR=ON \
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
  # Keep the hand-written seeds; replace corpus/min/ with the minimized set of everything.
  # set_cover_merge keeps a minimal set covering the same features (a third of -merge=1's);
  # inputs over 1 KiB are truncated, which costs no coverage here.
  tmp="$(mktemp -d)"
  ./tests/zones/fuzz_named_conf -set_cover_merge=1 -max_len=1024 "$tmp" \
    "$root/tests/zones/corpus" "$build/corpus"
  rm -rf "$root/tests/zones/corpus/min"
  mkdir -p "$root/tests/zones/corpus/min"
  cp "$tmp"/* "$root/tests/zones/corpus/min/"
  rm -rf "$tmp"
  du -sh "$root/tests/zones/corpus"
fi
