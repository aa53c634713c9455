#!/usr/bin/env bash
# The style check CI runs before the tests (.ci/run): every C/C++ file (bpf/ included) must be
# clang-format clean against .clang-format, and every shell script shellcheck clean. Prints
# what is wrong and how to fix it, and exits 1 if anything is.
#
#   bash scripts/check-style.sh          # check
#   bash scripts/check-style.sh --fix    # clang-format -i the C/C++ files (shellcheck: by hand)
set -euo pipefail
cd "$(dirname "$0")/.."

fix=0
[[ ${1:-} == --fix ]] && fix=1
for t in clang-format shellcheck git; do
  command -v "$t" >/dev/null || {
    echo "check-style: $t missing: bash scripts/install-deps.sh" >&2
    exit 1
  }
done

mapfile -t sources < <(git ls-files -- '*.c' '*.cc' '*.h')
mapfile -t scripts < <(git ls-files -- '*.sh' .ci/run)
failed=0

if ((fix)); then
  clang-format -i "${sources[@]}"
fi
bad_format=()
for f in "${sources[@]}"; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad_format+=("$f")
done
if ((${#bad_format[@]})); then
  failed=1
  echo "check-style: FAIL: ${#bad_format[@]} file(s) not clang-format clean:" >&2
  printf '  %s\n' "${bad_format[@]}" >&2
  clang-format --dry-run -Werror "${bad_format[0]}" 2>&1 | head -20 >&2 || true
  echo "  fix: bash scripts/check-style.sh --fix (clang-format -i)" >&2
else
  echo "check-style: clang-format: ${#sources[@]} C/C++ files clean"
fi

# -x: follow `source` to the files the directives name (tests/support/netns.sh).
if ! shellcheck -x "${scripts[@]}" >&2; then
  failed=1
  echo "check-style: FAIL: shellcheck warnings above (${#scripts[@]} scripts checked)" >&2
else
  echo "check-style: shellcheck: ${#scripts[@]} scripts clean"
fi

if ((failed)); then
  echo "check-style: FAILED" >&2
  exit 1
fi
echo "check-style: ok"
