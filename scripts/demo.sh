#!/usr/bin/env bash
# The demo: installs what is missing (scripts/install-deps.sh), builds (scripts/build.sh), then
# plays the built-in lab scenario (scripts/demo/scenario.sh): BIND and dnswashd in network
# namespaces, a client, an attacker and an internal network; served names answered, junk and a
# banned roller dropped in XDP, the internal side untouched; then everything is removed (also
# on Ctrl-C). The scenario alone, on an existing build: bash scripts/demo/scenario.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec bash scripts/demo/scenario.sh --build build
