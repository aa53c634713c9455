#!/usr/bin/env bash
# Legitimate queries under a junk flood, with and without dnswash (issue 9, "under attack"):
# dnsperf from a client against BIND while a fixed-rate junk flood runs from an attacker.
# Needs root; builds the tools if missing.
#
# Usage: bash bench/attack_bench.sh [--markdown FILE] [--seconds S] [--flood-pps N] [--qps N]
#                                   [--build DIR]
#
# Namespaces dwatk-s-PID (BIND, dnswashd on its veth s0) and dwatk-n-PID (the network: the
# client 198.51.100.10 and the attacker 198.51.100.66 on one veth), nothing in the root
# namespace. BIND: authoritative for example.com and example.net, recursion no, 2 worker
# threads. Client: dnsperf at a fixed rate (-Q) over served names, 1 s timeout. Attacker:
# dnswash-udp-load, <10 random chars>.junk.example at a fixed rate in bursts from 64 source
# ports. Runs: no flood (baseline), flood without a filter, flood with dnswash in native XDP.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

markdown=
seconds=10
flood_pps=200000
qps=2000
build=build
while (($#)); do
  case $1 in
    --markdown) markdown=$2; shift 2 ;;
    --markdown=*) markdown=${1#*=}; shift ;;
    --seconds) seconds=$2; shift 2 ;;
    --flood-pps) flood_pps=$2; shift 2 ;;
    --qps) qps=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "usage: $0 [--markdown FILE] [--seconds S] [--flood-pps N] [--qps N] [--build DIR]" >&2; exit 2 ;;
  esac
done
daemon=$root/$build/daemon/dnswashd
ctl=$root/$build/tests/lab/lab_ctl
load=$root/$build/bench/dnswash-udp-load
if [[ ! -x $daemon || ! -x $ctl || ! -x $load ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDNSWASH_WERROR=ON >/dev/null
  make -C "$build" -j2 dnswashd lab_ctl dnswash-udp-load >/dev/null
fi
for t in dnsperf named dig jq; do
  command -v "$t" >/dev/null || { echo "attack_bench: $t missing: bash scripts/install-deps.sh" >&2; exit 1; }
done

# shellcheck source=../tests/support/netns.sh
source "$root/tests/support/netns.sh"
id=$NETNS_ID
srv=dwatk-s-$id
net=dwatk-n-$id
SRV=198.51.100.53
CLI=198.51.100.10
ATK=198.51.100.66
# named's files where Debian's AppArmor profile lets it read (/etc/bind) and write
# (/var/cache/bind).
conf_dir=/etc/bind/dnswash-bench-$id
work_dir=/var/cache/bind/dnswash-bench-$id
tmp=$(mktemp -d /tmp/dnswash-attack-bench.XXXXXX) && NETNS_DIRS+=("$tmp")
NETNS_DIRS+=("$conf_dir" "$work_dir")
daemon_pid=
flood_pid=
netns_track_pids flood_pid daemon_pid
S() { ip netns exec "$srv" "$@"; }
N() { ip netns exec "$net" "$@"; }

netns_add "$srv" "$net"
netns_veth "$srv" s0 "$net" n0
netns_addr "$srv" s0 "$SRV/24"
netns_addr "$net" n0 "$CLI/24" "$ATK/24"

mkdir -p "$conf_dir" "$work_dir"
netns_named_conf "$conf_dir/named.conf" "$work_dir" "$SRV" none "$conf_dir" example.com example.net
chown -R bind: "$work_dir"
chgrp -R bind "$conf_dir"
netns_named_start "$srv" "$conf_dir/named.conf" "$tmp/named.log"
netns_wait_until 30 "named answers" N dig +time=1 +tries=1 +norec @"$SRV" example.com SOA
printf '%s\n' "www.example.com A" "mail.example.com A" "example.net SOA" "www.example.net A" \
  "example.com NS" "nosuch.example.com A" >"$tmp/queries"

# run LABEL FLOOD(0|1): dnsperf for $seconds s (with the flood running if FLOOD=1); one row.
rows=()
run() {
  local label=$1 flood=$2
  if ((flood)); then
    ip netns exec "$net" "$load" send --dst "$SRV" --src "$ATK" --suffix junk.example \
      --seconds $((seconds + 3)) --pps "$flood_pps" --burst 32 --sockets 64 >"$tmp/flood.json" &
    flood_pid=$!
    sleep 1 # the flood is at full rate before the measurement starts
  fi
  N dnsperf -s "$SRV" -a "$CLI" -d "$tmp/queries" -l "$seconds" -Q "$qps" -q 500 -t 1 -c 4 -v \
    >"$tmp/dnsperf.out" 2>&1 || { cat "$tmp/dnsperf.out"; exit 1; }
  if ((flood)); then
    wait "$flood_pid" || { echo "flood generator failed" >&2; exit 1; }
    flood_pid=
    flood_sent=$(jq -n "$(jq .sent "$tmp/flood.json") / $(jq .seconds "$tmp/flood.json") | floor")
  else
    flood_sent=0
  fi
  local sent done_ p50 p90 p99 pmax
  sent=$(awk '/Queries sent:/ {print $3}' "$tmp/dnsperf.out")
  done_=$(awk '/Queries completed:/ {print $3}' "$tmp/dnsperf.out")
  # -v: one line per answered query, the latency in seconds last ("> NOERROR name A 0.000123").
  awk '/^> / {print $NF * 1000}' "$tmp/dnsperf.out" | sort -g >"$tmp/lat"
  pct() { awk -v p="$1" '{a[NR] = $1} END {if (NR == 0) {print "-"; exit} i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; printf "%.2f", a[i]}' "$tmp/lat"; }
  p50=$(pct 50)
  p90=$(pct 90)
  p99=$(pct 99)
  pmax=$(pct 100)
  local share
  share=$(jq -n "$done_ / $sent * 1000 | round / 10")
  rows+=("$label|$flood_sent|$sent|$done_|$share|$p50|$p90|$p99|$pmax")
  printf '%-34s flood %7s pps: sent %6s answered %6s (%5s%%)  p50 %s p90 %s p99 %s max %s ms\n' \
    "$label" "$flood_sent" "$sent" "$done_" "$share" "$p50" "$p90" "$p99" "$pmax"
}

run "no flood, no filter (baseline)" 0
run "junk flood, no filter" 1
ip netns exec "$srv" "$daemon" --iface s0 --named-conf "$conf_dir/named.conf" --mode native \
  --pin-dir "" --state-dir "$tmp" --ban-state-dir "" >"$tmp/dnswashd.log" 2>&1 &
daemon_pid=$!
deadline=$((SECONDS + 30))
until S "$ctl" --iface s0 '{"cmd":"status"}' >/dev/null 2>&1; do
  if ! kill -0 "$daemon_pid" 2>/dev/null || ((SECONDS >= deadline)); then cat "$tmp/dnswashd.log"; exit 1; fi
  sleep 0.05
done
run "junk flood, dnswash native XDP" 1
dropped=$(S "$ctl" --iface s0 --field counters.not-authoritative '{"cmd":"counters"}')

{
  echo "Reproduce: \`bash bench/attack_bench.sh --markdown FILE --seconds $seconds --flood-pps $flood_pps --qps $qps\`"
  echo
  echo "BIND 9 ($(named -v | awk '{print $2}'), authoritative only, recursion no) in a network namespace,"
  echo "client and attacker in another, one veth pair. Client: \`dnsperf -Q $qps -q 500 -t 1 -c 4 -l $seconds\`"
  echo "over six served names (one NXDOMAIN). Attacker: \`dnswash-udp-load send --pps $flood_pps --burst 32"
  echo "--sockets 64\`, a new random name under junk.example per query, started 1 s before"
  echo "dnsperf. Answered = dnsperf's completed / sent (a query unanswered within 1 s is lost);"
  echo "latency percentiles over the answered queries (dnsperf -v, one line per answer). Both"
  echo "share the machine's $(nproc) CPUs with named. With dnswash, its XDP program dropped $dropped junk"
  echo "queries as not-authoritative during that run. $(date -u +%Y-%m-%d), kernel $(uname -r)."
  echo
  echo "| run | junk flood pps | queries sent | answered | answered share | p50 ms | p90 ms | p99 ms | max ms |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for r in "${rows[@]}"; do
    IFS='|' read -r l f s d sh a b c m <<<"$r"
    echo "| $l | $f | $s | $d | $sh% | $a | $b | $c | $m |"
  done
} >"$tmp/table.md"
echo
cat "$tmp/table.md"
if [[ -n $markdown ]]; then
  cp "$tmp/table.md" "$markdown"
  echo "wrote $markdown"
fi
