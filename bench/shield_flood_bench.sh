#!/usr/bin/env bash
# The zone shield's per-packet cost in XDP during a live flood (issue 17's cost goal, beside
# shield_bench's BPF_PROG_TEST_RUN figures): bench/shield_flood_bench.cc measures, this script
# gives it a veth pair in two namespaces. Needs root and 2 CPUs; builds the tools if missing.
#
# Usage: bash bench/shield_flood_bench.sh [--markdown FILE] [--seconds S] [--rounds N]
#                                         [--sizes 'B ...'] [--build DIR]
# --sizes: the shielded zone's sizes for the by-size table, as powers of two (default
# '12 14 15 16 17 18'; the main table's zone is 2^17 = 131,072 names).
#
# Setup as in bench/flood_bench.sh: namespaces dwshf-g-PID (generator) and dwshf-r-PID
# (receiver) joined by a veth pair, nothing in the root namespace. dnswash-xdp-flood on CPU 0
# sends <5 random letters>.ZONE queries (BPF_PROG_TEST_RUN live frames); the receiver's veth
# has GRO on and threaded NAPI pinned to CPU 1, where dnswash runs in native mode.
# kernel.bpf_stats_enabled=1 during the run (restored after).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

markdown=
seconds=3
rounds=3
sizes='12 14 15 16 17 18'
build=build
while (($#)); do
  case $1 in
    --markdown) markdown=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "usage: $0 [--markdown FILE] [--seconds S] [--rounds N] [--sizes 'B ...'] [--build DIR]" >&2; exit 2 ;;
  esac
done
bench=$root/$build/bench/shield_flood_bench
flood=$root/$build/bench/dnswash-xdp-flood
if [[ ! -x $bench || ! -x $flood ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDNSWASH_WERROR=ON >/dev/null
  make -C "$build" -j2 shield_flood_bench dnswash-xdp-flood >/dev/null
fi
for t in ethtool jq taskset; do
  command -v "$t" >/dev/null || { echo "shield_flood_bench: $t missing: bash scripts/install-deps.sh" >&2; exit 1; }
done
(($(nproc) >= 2)) || { echo "shield_flood_bench: needs 2 CPUs (generator and receiver apart)" >&2; exit 1; }

# shellcheck source=../tests/support/netns.sh
source "$root/tests/support/netns.sh"
id=$NETNS_ID
gen=dwshf-g-$id rcv=dwshf-r-$id vg=vsg$id vr=vsr$id # namespaces, veth ends
tmp=$(mktemp -d /tmp/dnswash-shield-flood.XXXXXX) && NETNS_DIRS+=("$tmp")
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
NETNS_ON_EXIT+=("sysctl -q kernel.bpf_stats_enabled=$stats_was")

netns_add "$gen" "$rcv"
netns_veth "$gen" "$vg" "$rcv" "$vr"
netns_addr "$gen" "$vg" 192.0.2.1/24
netns_addr "$rcv" "$vr" 192.0.2.53/24
ip netns exec "$rcv" ethtool -K "$vr" gro on >/dev/null
sysctl -q kernel.bpf_stats_enabled=1
read -r -a size_args <<<"$sizes"

mac_r=$(ip -j -n "$rcv" link show "$vr" | jq -r '.[0].address')
mac_g=$(ip -j -n "$gen" link show "$vg" | jq -r '.[0].address')
# The NXDOMAIN answers come back to the generator's veth: a read-then-drop program there
# (dnswash-xdp-flood --reader-on) ends them at once.
sink_pid=
netns_track_pids sink_pid
ip netns exec "$gen" "$flood" --reader-on "$vg" >"$tmp/sink.log" 2>&1 &
# shellcheck disable=SC2034 # stopped on exit (netns_track_pids)
sink_pid=$!
netns_poll 10 grep -q attached "$tmp/sink.log" || { cat "$tmp/sink.log"; exit 1; }
ip netns exec "$rcv" "$bench" --dev "$vr" --seconds "$seconds" \
  --rounds "$rounds" --sizes "${size_args[@]}" --flood "ip netns exec $gen taskset -c 0 $flood --dev $vg --dst-mac $mac_r --src-mac $mac_g --seconds 3600" |
  tee "$tmp/out.md"
if [[ -n $markdown ]]; then cp "$tmp/out.md" "$markdown"; fi
