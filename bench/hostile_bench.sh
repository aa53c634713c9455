#!/usr/bin/env bash
# Issue 20's figures, against a running dnswashd (native XDP on the lab's veth, real BIND):
#  - control socket: root's status, ban-add, dry-run latency (p50/p99/max over 200 each) with
#    no other client (baseline) and while an unprivileged user (nobody) holds 1,000 idle
#    connections and 60 pipelining clients that never read; under that flood, how long a zone
#    added to named.conf takes to pass, and how long SIGTERM takes to end the daemon;
#  - metrics port: 50 scrapes with a 2 s timeout, alone (baseline) and under 500 slowloris
#    connections from the client namespace;
#  - bans at scale: ban_store_bench (the BanManager over a 262,144-entry LPM map and the LMDB
#    store on this machine's /var/tmp filesystem: fsync baseline, restart, idle sweep, durable
#    ban-add rate at 1,000/s), and dnswashd started on a store of 250,000 bans: time until it
#    answers with all of them in the map, and its CPU use over 20 s idle.
# Needs root; builds what is missing. Prints a markdown section (also to --markdown FILE).
#
# Usage: bash bench/hostile_bench.sh [--markdown FILE] [--build DIR] [--bans N]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
markdown=
build=build
nbans=250000
while (($#)); do
  case $1 in
    --markdown) markdown=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --bans) nbans=$2; shift 2 ;;
    *) echo "usage: $0 [--markdown FILE] [--build DIR] [--bans N]" >&2; exit 2 ;;
  esac
done
export DNSWASHD=$root/$build/daemon/dnswashd
export DWQ=$root/$build/tests/lab/dwq
export LAB_CTL=$root/$build/tests/lab/lab_ctl
HOSTILE=$root/$build/tests/lab/hostile
STORE_BENCH=$root/$build/bench/ban_store_bench
if [[ ! -x $DNSWASHD || ! -x $DWQ || ! -x $LAB_CTL || ! -x $HOSTILE || ! -x $STORE_BENCH ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  make -C "$build" -j2 dnswashd dwq lab_ctl hostile ban_store_bench >/dev/null
fi
# shellcheck source=../tests/support/netns.sh
source "$root/tests/support/netns.sh"
# shellcheck source=../tests/lab/hostile_flood.sh
source "$root/tests/lab/hostile_flood.sh"
PORT=9553
HOSTILE_PID=
netns_track_pids HOSTILE_PID
store_dir=$(mktemp -d /var/tmp/dnswash-store-bench.XXXXXX)
NETNS_DIRS+=("$store_dir")
row() { printf '| %s | %s | %s |\n' "$1" "$2" "$3"; }
lat() { jq -r "\"\(.[\"$2\"].p50_ms | floor) / \(.[\"$2\"].p99_ms | floor) / \(.[\"$2\"].max_ms | floor) ms (\(.[\"$2\"].ok) ok, \(.[\"$2\"].failed) failed)\"" <<<"$1"; }

lab_setup
lab_named_start a.test
lab_daemon_start --mode native --metrics-listen "$LAB_S4:$PORT"
report=$(mktemp)
{
  echo "### Hostile clients and ban state at scale (bench/hostile_bench.sh)"
  echo
  echo "Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs."
  echo
  echo "| what | alone (baseline) | under the hostile clients |"
  echo "| --- | --- | --- |"
} >"$report"

# ---- control socket
base=$(lab_s "$HOSTILE" control --iface "$LAB_IF" --idle 0 --pipe 0 --requests 200)
hostile_control_flood 200 300
flood=$HOSTILE_REPORT
for c in status ban-add dry-run; do
  row "control \`$c\` p50 / p99 / max" "$(lat "$base" "$c")" "$(lat "$flood" "$c")" >>"$report"
done
# A zone added to named.conf, under the flood: ms until a query for it passes.
hostile_zone_add_ms new.test
zone_ms=$ZONE_MS
row "zone added to named.conf until it passes" "-" "$zone_ms ms (probe timeout 150 ms)" >>"$report"
# Metrics under slowloris (the control flood still on): 500 slowloris connections from the
# client namespace, the scraper in the server namespace (another source address).
mbase=$(lab_s "$HOSTILE" http --connect "$LAB_S4:$PORT" --slow 0 --scrapes 50 --timeout-ms 2000) || true
hostile_slowloris_start 500
mslow=$(lab_s "$HOSTILE" http --connect "$LAB_S4:$PORT" --slow 0 --scrapes 50 --timeout-ms 2000) || true
hostile_slowloris_stop
row "50 scrapes, 2 s timeout: p50 / p99 / max (500 slowloris)" "$(lat "$mbase" scrapes)" "$(lat "$mslow" scrapes)" >>"$report"
# SIGTERM under the flood.
t0=$(lab_now_ms)
lab_daemon_stop TERM
row "SIGTERM until the daemon is gone" "-" "$(($(lab_now_ms) - t0)) ms (exit $LAB_DAEMON_RC)" >>"$report"
hostile_control_release

# ---- bans at scale
s=$("$STORE_BENCH" "$store_dir" "$nbans")
{
  echo
  echo "Ban store, $nbans bans (\`ban_store_bench\`, LMDB on $(df --output=fstype "$store_dir" | tail -1), 262,144-entry LPM map):"
  echo
  echo "| what | figure |"
  echo "| --- | --- |"
  jq -r '"| fsync baseline (128-byte pwrite + fdatasync) p50 / p99 | \(.fsync_p50_ms * 10 | floor / 10) / \(.fsync_p99_ms * 10 | floor / 10) ms |",
         "| store read and checked | \(.store_read_s * 100 | floor / 100) s |",
         "| restart: store read, all bans into a fresh map | \(.restart_s * 100 | floor / 100) s (CPU \(.restart_cpu_s * 100 | floor / 100) s) |",
         "| idle sweep (once a second) | \(.sweep_idle_us * 10 | floor / 10) µs |",
         "| one record per durable LMDB commit (the floor under an ack) p50 / p99 | \(.commit_p50_ms * 10 | floor / 10) / \(.commit_p99_ms * 10 | floor / 10) ms |",
         "| ban-add until durable, 1,000/s offered for 5 s: p50 / p99 | \(.add_p50_ms * 10 | floor / 10) / \(.add_p99_ms * 10 | floor / 10) ms (p99: \(.add_p99_ms / .fsync_p99_ms * 10 | floor / 10)x the fsync p99, \(.add_p99_ms / .commit_p99_ms * 10 | floor / 10)x the commit p99) |",
         "| \(.bans) entries into a fresh map: one syscall each / batched | \(.put_single_s * 100 | floor / 100) / \(.put_batch_s * 100 | floor / 100) s |",
         "| bans applied and saved per second | \(.applied_per_s | floor) |"' <<<"$s"
} >>"$report"
# dnswashd on a store of N bans (on the same filesystem as above, not the lab's tmpfs): start
# until it answers with all of them, against a start on an empty store in the same run (BPF
# load and verification, attach, zone sync: the part that is not the bans); idle CPU.
LAB_BANS_DIR=$store_dir/daemon
mkdir -p "$LAB_BANS_DIR"
t0=$(lab_now_ms)
lab_daemon_start --mode native
empty_ms=$(($(lab_now_ms) - t0))
lab_daemon_stop TERM
"$STORE_BENCH" --fill "$LAB_BANS_DIR/bans-$LAB_IF.lmdb" "$nbans"
t0=$(lab_now_ms)
lab_daemon_start --mode native
start_ms=$(($(lab_now_ms) - t0))
entries=$(lab_status ban_map.entries)
ticks() { awk '{print $14 + $15}' "/proc/$LAB_DAEMON_PID/stat"; }
c0=$(ticks)
sleep 20
c1=$(ticks)
hz=$(getconf CLK_TCK)
cpu=$(awk -v d=$((c1 - c0)) -v hz="$hz" 'BEGIN { printf "%.2f", 100 * d / hz / 20 }')
t0=$(lab_now_ms)
lab_s "$LAB_CTL" --iface "$LAB_IF" '{"cmd":"status"}' >/dev/null
status_ms=$(($(lab_now_ms) - t0))
{
  echo "| dnswashd start until it answers, empty store (baseline) | $empty_ms ms |"
  echo "| dnswashd start on the store until it answers (bans in the map: $entries) | $start_ms ms ($((start_ms - empty_ms)) ms more than the baseline) |"
  echo "| dnswashd idle CPU with them in force, over 20 s | $cpu % of a core |"
  echo "| \`status\` request with them in force | $status_ms ms (lab_ctl, process start included) |"
} >>"$report"
lab_daemon_stop TERM
cat "$report"
[[ -z $markdown ]] || cp "$report" "$markdown"
rm -f "$report"
