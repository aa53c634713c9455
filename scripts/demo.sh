#!/usr/bin/env bash
# The demo: installs, builds, and runs the datapath on a built-in scenario.
# (Until the network-namespace lab with BIND lands, the scenario runs through the kernel's
# BPF_PROG_TEST_RUN: the real XDP program, the real maps, crafted frames.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
./build/tests/datapath/dnswash-demo-replay
