#!/usr/bin/env bash
# Installs the Debian packages dnswash needs, then configures and builds it in ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "dnswash: run as root (apt-get, and loading BPF programs, need it)" >&2
  exit 1
fi
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDNSWASH_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
