#!/usr/bin/env bash
# The whole test suite: installs, builds, runs every test with ctest and prints its summary.
# Needs root on a BPF-capable kernel: tests that need the kernel fail, never skip.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd build
ctest --output-on-failure --timeout 600 -j1
