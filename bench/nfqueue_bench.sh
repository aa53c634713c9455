#!/usr/bin/env bash
# Junk-query throughput of the NFQUEUE fallback (1 and 2 queues) beside the original write-up's
# iptables `-m string` allowlist chain (../shared/context/origin-dns-allowlist.txt) with 2, 100
# and 1000 zones, and beside no filter, in one run on one veth pair between two private
# network namespaces. Needs root; builds first if the tools are missing.
#
# Usage: bash bench/nfqueue_bench.sh [--markdown FILE] [--seconds S] [--build DIR]
#
# Traffic: dnswash-udp-load sends 65,536 precomputed distinct junk queries
# (<10 random chars>.attacked.test, never under a zone) with sendmmsg as fast as it can from
# 16 source addresses (NFQUEUE's queue-balance hashes addresses) for S seconds. At the server:
# a UDP sink on port 53 counts what the filter let through; the filter's own counters say
# what it dropped (the chain's final DROP rule; dnswash's not-authoritative counter).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

markdown=
seconds=5
build=build
while (($#)); do
  case $1 in
    --markdown) markdown=$2; shift 2 ;;
    --markdown=*) markdown=${1#*=}; shift ;;
    --seconds) seconds=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "usage: $0 [--markdown FILE] [--seconds S] [--build DIR]" >&2; exit 2 ;;
  esac
done
driver=$root/$build/tests/nfqueue/nfq-lab-driver
load=$root/$build/bench/dnswash-udp-load
if [[ ! -x $driver || ! -x $load ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDNSWASH_WERROR=ON >/dev/null
  make -C "$build" -j2 nfq-lab-driver dnswash-udp-load >/dev/null
fi

# shellcheck source=../tests/support/netns.sh
source "$root/tests/support/netns.sh"
id=$NETNS_ID
gen=dwbench-g-$id srv=dwbench-s-$id vg=vbg$id vs=vbs$id # namespaces, veth ends
tmp=$(mktemp -d /tmp/dnswash-nfq-bench.XXXXXX) && NETNS_DIRS+=("$tmp")
driver_pid=
sink_pid=
netns_track_pids driver_pid sink_pid
S() { ip netns exec "$srv" "$@"; }
G() { ip netns exec "$gen" "$@"; }

netns_add "$gen" "$srv"
netns_veth "$gen" "$vg" "$srv" "$vs"
netns_addr "$srv" "$vs" 192.0.2.53/24
srcs=()
for i in $(seq 1 16); do
  netns_addr "$gen" "$vg" "192.0.2.$i/24"
  srcs+=(--src "192.0.2.$i")
done

# Zones: zNNNN<6 random letters>.com; the string chain matches the first label, as the
# write-up's rules match 'computermedic' for computermedic.org.
for n in 2 100 1000; do netns_random_zones "$n" "$tmp/zones-$n"; done

send_cmd=("$load" send --dst 192.0.2.53 --suffix attacked.test --seconds "$seconds"
  --distinct 65536 --sockets 16 "${srcs[@]}")

# run LABEL: sink up, send for $seconds, sink down. Sets sent_pps and passed.
run_traffic() {
  # ip netns exec, not S: $! must be the process itself, not a subshell
  ip netns exec "$srv" "$load" sink --bind 192.0.2.53 --seconds $((seconds + 2)) >"$tmp/sink.out" &
  sink_pid=$!
  local deadline=$((SECONDS + 10))
  until grep -q listening "$tmp/sink.out" 2>/dev/null; do
    ((SECONDS < deadline)) || { echo "sink did not start" >&2; exit 1; }
    sleep 0.05
  done
  G "${send_cmd[@]}" >"$tmp/send.out"
  wait "$sink_pid"
  sink_pid=
  sent=$(jq .sent "$tmp/send.out")
  sent_secs=$(jq .seconds "$tmp/send.out")
  passed=$(tail -1 "$tmp/sink.out" | jq .received)
}

rows=()
declare -A judged_pps
# row FILTER ZONES DROPPED
row() {
  local filter=$1 zones=$2 dropped=$3
  local sp dp pp
  sp=$(jq -n "$sent / $sent_secs | floor")
  dp=$(jq -n "$dropped / $sent_secs | floor")
  pp=$(jq -n "$passed / $sent_secs | floor")
  judged_pps["$filter/$zones"]=$dp
  rows+=("$filter|$zones|$sp|$dp|$pp")
  printf '%-22s %5s zones: sent %8s pps, dropped by filter %8s pps, reached the server %8s pps\n' \
    "$filter" "$zones" "$sp" "$dp" "$pp"
}

# --- no filter -------------------------------------------------------------------------------
run_traffic
row "no filter" - 0
none_pps=$(jq -n "$passed / $sent_secs | floor")

# --- the write-up's string chain -------------------------------------------------------------
for n in 2 100 1000; do
  {
    echo "*filter"
    echo ":netdnswash - [0:0]"
    # -I inserts on top, so the script's last insert is first: same order, written as appends
    tac "$tmp/zones-$n" | while read -r z; do
      echo "-A netdnswash -i $vs -p udp -m udp --dport 53 -m string --algo bm --icase --to 255 --string '${z%%.*}' -m comment --comment \"$z\" -j RETURN"
    done
    echo "-A netdnswash -j DROP"
    echo "-I INPUT 1 -i $vs -p udp -m udp --dport 53 -j netdnswash"
    echo "COMMIT"
  } >"$tmp/chain-$n.rules"
  S iptables-nft-restore --noflush <"$tmp/chain-$n.rules"
  run_traffic
  dropped=$(S iptables-nft -t filter -L netdnswash -v -x -n | awk '$3 == "DROP" {print $1}')
  row "iptables string chain" "$n" "$dropped"
  S iptables-nft -t filter -F
  S iptables-nft -t filter -X netdnswash
done

# --- NFQUEUE ---------------------------------------------------------------------------------
for q in 1 2; do
  for n in 2 100 1000; do
    rm -f "$tmp/ready"
    ip netns exec "$srv" "$driver" --iface "$vs" --zones-file "$tmp/zones-$n" --queues "$q" --ready-file "$tmp/ready" \
      --out "$tmp/nfq.json" >"$tmp/driver.log" 2>&1 &
    driver_pid=$!
    deadline=$((SECONDS + 20))
    until [[ -s $tmp/ready ]]; do
      ((SECONDS < deadline)) || { cat "$tmp/driver.log"; exit 1; }
      sleep 0.05
    done
    run_traffic
    kill -TERM "$driver_pid"
    wait "$driver_pid"
    driver_pid=
    dropped=$(jq '.counters["not-authoritative"]' "$tmp/nfq.json")
    row "nfqueue, $q queue$([[ $q == 1 ]] || echo s)" "$n" "$dropped"
  done
done

# --- table -----------------------------------------------------------------------------------
{
  echo "Junk queries (names under no zone) sent as fast as one sender can for ${seconds} s over a"
  echo "veth pair between two network namespaces, $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
  echo "kernel $(uname -r), $(date -u +%Y-%m-%d). The sender shares the machine with the"
  echo "filter: the string chain runs in the sender's softirq; NFQUEUE's threads on the other CPU."
  echo "\"Dropped by filter\" is the filter's own count over the send time; \"reached the server\" is"
  echo "what a UDP sink on port 53 received (for NFQUEUE, packets a full queue let through:"
  echo "fail-open). Ratios compare dropped-by-filter pps with what reached the server with no"
  echo "filter, and with the string chain at the same zone count."
  echo
  echo "| filter | zones | sent pps | dropped by filter pps | reached the server pps | vs no filter | vs string chain |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for r in "${rows[@]}"; do
    IFS='|' read -r f z sp dp pp <<<"$r"
    vs_none=-
    vs_chain=-
    if [[ $f != "no filter" ]]; then
      vs_none=$(jq -n "$dp / $none_pps * 100 | round / 100")x
      if [[ $f == nfqueue* ]]; then
        vs_chain=$(jq -n "$dp / ${judged_pps["iptables string chain/$z"]} * 100 | round / 100")x
      fi
    else
      dp=-
    fi
    echo "| $f | $z | $sp | $dp | $pp | $vs_none | $vs_chain |"
  done
  echo
  echo "Reproduce: \`bash bench/nfqueue_bench.sh --markdown FILE --seconds $seconds\`. Sender:"
  echo "\`dnswash-udp-load send --dst 192.0.2.53 --suffix attacked.test --seconds $seconds --distinct 65536 --sockets 16 --src 192.0.2.1 ... --src 192.0.2.16\`."
  echo "String chain: the write-up's rules, \`-m string --algo bm --icase --to 255 --string '<first label>' -j RETURN\`"
  echo "per zone in chain netdnswash ending in DROP, jumped to from INPUT. NFQUEUE: \`nfq-lab-driver\`"
  echo "(nfqueue::Filter, fail-open, rules by $(jq -r .backend "$tmp/nfq.json"))."
} >"$tmp/table.md"
echo
cat "$tmp/table.md"
if [[ -n $markdown ]]; then
  cp "$tmp/table.md" "$markdown"
  echo "wrote $markdown"
fi
