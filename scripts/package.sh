#!/usr/bin/env bash
# Builds the Debian package (debian/, debhelper) from a clean copy of this tree:
#   bash scripts/package.sh [OUTDIR]      -> OUTDIR/dnswash_<version>_<arch>.deb
# OUTDIR defaults to ./build-deb; the copy is built in OUTDIR/src, so the tree itself stays
# clean. Install the result with `apt-get install ./build-deb/dnswash_*.deb`.
# Needs the build dependencies (scripts/install-deps.sh) but not root.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mkdir -p "${1:-$SRC/build-deb}" && cd "${1:-$SRC/build-deb}" && pwd)

rm -rf "${OUT:?}/src" "$OUT"/dnswash_* "$OUT"/dnswash-dbgsym_*
mkdir -p "$OUT/src"
if git -C "$SRC" rev-parse --show-toplevel >/dev/null 2>&1; then
  # Tracked and new files, without build directories or anything else .gitignore names (a
  # file deleted but not yet committed is listed too: copy only what exists).
  (cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
    xargs -0 cp --parents -t "$OUT/src")
else
  tar -C "$SRC" --exclude='./build*' --exclude='./obj-*' -cf - . | tar -C "$OUT/src" -xf -
fi

: "${DEB_BUILD_OPTIONS:=parallel=$(nproc)}"
export DEB_BUILD_OPTIONS
if command -v ccache >/dev/null && [[ -z ${CMAKE_CXX_COMPILER_LAUNCHER:-} ]]; then
  # Rebuilds in the same OUTDIR reuse the objects (CCACHE_BASEDIR makes paths relative).
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
  export CCACHE_BASEDIR=$OUT/src CCACHE_NOHASHDIR=1
fi
(cd "$OUT/src" && dpkg-buildpackage -us -uc -b)
ls "$OUT"/dnswash_*.deb
