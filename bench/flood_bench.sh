#!/usr/bin/env bash
# Junk-flood throughput at the receiver of a veth pair, filters side by side (issue 9, section
# "junk flood"), and the live per-packet cost of the XDP programs from the kernel's BPF
# run-time statistics during that flood. Needs root; builds the tools if missing.
#
# Usage: bash bench/flood_bench.sh [--markdown FILE] [--live-markdown FILE] [--seconds S]
#                                  [--build DIR] [--zones '2 100 1000'] [--live-zones '1000000']
# --live-zones: extra zone counts for dnswash native XDP only (no string chain, no generic or
# NFQUEUE run), for the live per-packet cost with a big zone set (issue 2's 1M-zone case).
# --live-allowed: one more native run whose names are all allowed, spread over 2^20 zones
# (dnswash-xdp-flood --allowed / --allowed-zones), for the live cost of allowed traffic.
# --live-markdown: the live per-packet cost table goes to its own file instead of after the
# throughput table.
#
# Setup: namespaces dwflood-g-PID (generator) and dwflood-r-PID (receiver) joined by a veth
# pair, nothing in the root namespace. The generator is dnswash-xdp-flood (bench/xdp_flood.cc)
# on CPU 0: BPF_PROG_TEST_RUN live frames, a tiny XDP program gives each copy of a junk query
# (<10 random bytes>.attack.test) a fresh random label and redirects it into the veth, about
# 5 Mpps from one CPU. The receiver's veth has GRO on (a NAPI context without XDP too, which
# XDP redirect into a veth needs) and its NAPI runs threaded, pinned to CPU 1: every receiver
# (no filter, netfilter, generic or native XDP) runs alone on CPU 1 and what it cannot take
# is dropped at the veth's ring. NFQUEUE's verdicts are made by dnswashd's thread, which
# shares the CPUs with both.
# Why not trafgen (netsniff-ng): with the receiver on its own CPU, the veth pushes back when
# its ring is full and trafgen exits ("Flushing TX_RING failed: Resource temporarily
# unavailable"); it also costs about 1 us a frame, so with a trivial receiver it, not the
# receiver, would set the rate.
# The figure is what the receiver processed per second: the median of S 1-s windows after a
# 1 s warm-up, each window counted by:
#   no filter        UDP NoPorts (the queries went through IP and UDP to a closed port 53)
#   XDP programs     the program's run_cnt (kernel.bpf_stats_enabled=1 during the bench)
#   dnswash          its own verdict counters (not-authoritative), for every mode
#   string chain     the packet counters of the chain's rules
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

markdown=
live_markdown=
seconds=5
build=build
zone_counts=(2 100 1000)
live_zone_counts=()
live_allowed=0
gen_args=() # extra dnswash-xdp-flood options for the next measure
while (($#)); do
  case $1 in
    --markdown) markdown=$2; shift 2 ;;
    --markdown=*) markdown=${1#*=}; shift ;;
    --live-markdown) live_markdown=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --zones) read -r -a zone_counts <<<"$2"; shift 2 ;;
    --live-zones) read -r -a live_zone_counts <<<"$2"; shift 2 ;;
    --live-allowed) live_allowed=1; shift ;;
    *) echo "usage: $0 [--markdown FILE] [--live-markdown FILE] [--seconds S] [--build DIR] [--zones '2 100 1000'] [--live-zones '1000000']" >&2; exit 2 ;;
  esac
done
daemon=$root/$build/daemon/dnswashd
ctl=$root/$build/tests/lab/lab_ctl
xdp_drop=$root/$build/bpf/gen/xdp_drop.bpf.o
flood=$root/$build/bench/dnswash-xdp-flood
if [[ ! -x $daemon || ! -x $ctl || ! -f $xdp_drop || ! -x $flood ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDNSWASH_WERROR=ON >/dev/null
  make -C "$build" -j2 dnswashd lab_ctl dnswash-xdp-flood >/dev/null
fi
for t in ethtool bpftool jq iptables-nft-restore taskset; do
  command -v "$t" >/dev/null || { echo "flood_bench: $t missing: bash scripts/install-deps.sh" >&2; exit 1; }
done
(($(nproc) >= 2)) || { echo "flood_bench: needs 2 CPUs (generator and receiver apart)" >&2; exit 1; }

# shellcheck source=../tests/support/netns.sh
source "$root/tests/support/netns.sh"
id=$NETNS_ID
gen=dwflood-g-$id rcv=dwflood-r-$id vg=vfg$id vr=vfr$id # namespaces, veth ends
tmp=$(mktemp -d /tmp/dnswash-flood-bench.XXXXXX) && NETNS_DIRS+=("$tmp")
gen_pid=
daemon_pid=
reader_pid=
netns_track_pids gen_pid daemon_pid reader_pid
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
NETNS_ON_EXIT+=("sysctl -q kernel.bpf_stats_enabled=$stats_was")
R() { ip netns exec "$rcv" "$@"; }

netns_add "$gen" "$rcv"
netns_veth "$gen" "$vg" "$rcv" "$vr"
netns_addr "$gen" "$vg" 192.0.2.1/24
netns_addr "$rcv" "$vr" 192.0.2.53/24
R ethtool -K "$vr" gro on >/dev/null
R sh -c "echo 1 > /sys/class/net/$vr/threaded"
sysctl -q kernel.bpf_stats_enabled=1

# The receiver's NAPI thread (napi/<iface>-<id>) on CPU 1, checked before every run (an XDP
# attach may re-create the NAPI context).
pin_napi() {
  R sh -c "echo 1 > /sys/class/net/$vr/threaded"
  local p found=0
  for p in $(ps -eo pid=,comm= | awk -v n="napi/$vr-" 'index($2, n) == 1 {print $1}'); do
    taskset -p -c 1 "$p" >/dev/null
    found=1
  done
  ((found)) || { echo "flood_bench: no NAPI thread for $vr" >&2; exit 1; }
}

mac_r=$(ip -j -n "$rcv" link show "$vr" | jq -r '.[0].address')
mac_g=$(ip -j -n "$gen" link show "$vg" | jq -r '.[0].address')
# Zones zNNNN<6 random letters>.com (as in bench/nfqueue_bench.sh).
for n in "${zone_counts[@]}" "${live_zone_counts[@]}"; do netns_random_zones "$n" "$tmp/zones-$n"; done

now_ns() { date +%s%N; }
# measure COUNTER_FN: flood, warm up 1 s, read COUNTER_FN at both ends of $seconds s. Sets pps,
# and (if PROG_ID is set) ns_per_run from that program's run_time_ns/run_cnt over the interval.
prog_stat() { bpftool prog show id "$PROG_ID" --json | jq -r "\"\(.run_cnt // 0) \(.run_time_ns // 0)\""; }
measure() {
  local fn=$1 c0 c1 t0 t1 r0 r1
  pin_napi
  ip netns exec "$gen" taskset -c 0 "$flood" --dev "$vg" --dst-mac "$mac_r" --src-mac "$mac_g" \
    --seconds 3600 "${gen_args[@]}" >"$tmp/flood.log" 2>&1 &
  gen_pid=$!
  local v0 deadline=$((SECONDS + 10))
  v0=$($fn)
  until (($($fn) > v0 + 1000)); do
    kill -0 "$gen_pid" 2>/dev/null || { cat "$tmp/flood.log"; exit 1; }
    ((SECONDS < deadline)) || { echo "flood_bench: the receiver counted nothing" >&2; exit 1; }
    sleep 0.05
  done
  sleep 1 # warm-up: rings full, NAPI busy
  [[ -n ${PROG_ID:-} ]] && r0=$(prog_stat)
  # One rate per 1-s window; the figure is their median (others' load on a shared machine
  # comes and goes; the median keeps a burst of it from deciding the figure).
  local rates=() i
  c0=$($fn)
  t0=$(now_ns)
  for ((i = 0; i < seconds; i++)); do
    sleep 1
    c1=$($fn)
    t1=$(now_ns)
    rates+=($(((c1 - c0) * 1000000000 / (t1 - t0))))
    c0=$c1
    t0=$t1
  done
  [[ -n ${PROG_ID:-} ]] && r1=$(prog_stat)
  kill -TERM "$gen_pid"
  wait "$gen_pid" 2>/dev/null || true
  gen_pid=
  pps=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  ns_per_run=-
  if [[ -n ${PROG_ID:-} ]]; then
    read -r rc0 rt0 <<<"$r0"
    read -r rc1 rt1 <<<"$r1"
    ((rc1 > rc0)) && ns_per_run=$(jq -n "($rt1 - $rt0) / ($rc1 - $rc0) * 10 | round / 10")
  fi
}

rows=()
declare -A res
row() { # row KEY LABEL ZONES
  res[$1]=$pps
  rows+=("$1|$2|$3|$pps|$ns_per_run")
  printf '%-34s %5s zones: %9s pps  %s ns/run  (at %d s)\n' "$2" "$3" "$pps" "$ns_per_run" "$SECONDS"
}

# --- no filter: the kernel's UDP layer counts the queries to a closed port ---------------------
# shellcheck disable=SC2016 # awk's $3, not the shell's
udp_noports() { R awk '/^Udp:/ && ++n == 2 {print $3}' /proc/net/snmp; }
PROG_ID="" measure udp_noports
row none "no filter (IP + UDP, closed port)" -

# --- trivial XDP_DROP, native: first, and again right before each dnswash native run (others'
# load on a shared machine drifts: each native run is compared with the trivial run next to
# it; other rows with the mean of all trivial runs) -------------------------------------------
triv_pps=()
triv_ns=()
run_cnt() { bpftool prog show id "$PROG_ID" --json | jq '.run_cnt // 0'; }
trivial() { # trivial KEY LABEL
  ip -n "$rcv" link set dev "$vr" xdpdrv obj "$xdp_drop" sec xdp.frags
  PROG_ID=$(ip -j -n "$rcv" link show "$vr" | jq '.[0].xdp.prog.id')
  measure run_cnt
  row "$1" "$2" -
  res[$1-ns]=$ns_per_run
  triv_pps+=("$pps")
  [[ $ns_per_run != - ]] && triv_ns+=("$ns_per_run")
  ip -n "$rcv" link set dev "$vr" xdpdrv off
  PROG_ID=
}
trivial trivial1 "trivial XDP_DROP (native)"

# --- XDP_DROP after reading the frame's first two cache lines (dnswash-xdp-flood --reader-on):
# the trivial program touches no packet byte; on the receiving CPU the frame is cold (the
# generator's CPU wrote it), a cost every filter pays. ----------------------------------------
ip netns exec "$rcv" "$flood" --reader-on "$vr" >"$tmp/reader.log" 2>&1 &
reader_pid=$!
deadline=$((SECONDS + 10))
until grep -q attached "$tmp/reader.log"; do
  if ! kill -0 "$reader_pid" 2>/dev/null || ((SECONDS >= deadline)); then cat "$tmp/reader.log"; exit 1; fi
  sleep 0.05
done
PROG_ID=$(ip -j -n "$rcv" link show "$vr" | jq '.[0].xdp.prog.id')
measure run_cnt
row reader "XDP_DROP after reading 2 cache lines of the frame (native)" -
res[reader-ns]=$ns_per_run
kill -TERM "$reader_pid"
wait "$reader_pid" || true
reader_pid=
PROG_ID=

# daemon_start ZONES_FILE MODE: dnswashd on the receiver, ready (a million zones take a few
# seconds to load); daemon_stop: SIGTERM and a clean exit.
daemon_start() {
  ip netns exec "$rcv" "$daemon" --iface "$vr" --named-conf "" --zones-file "$1" --mode "$2" \
    --pin-dir "" --state-dir "$tmp" --ban-state-dir "" >"$tmp/dnswashd.log" 2>&1 &
  daemon_pid=$!
  local deadline=$((SECONDS + 60))
  until R "$ctl" --iface "$vr" '{"cmd":"status"}' >/dev/null 2>&1; do
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$tmp/dnswashd.log"; exit 1; }
    ((SECONDS < deadline)) || { cat "$tmp/dnswashd.log"; exit 1; }
    sleep 0.05
  done
}
daemon_stop() {
  kill -TERM "$daemon_pid"
  wait "$daemon_pid" || { cat "$tmp/dnswashd.log"; exit 1; }
  daemon_pid=
}

# --- dnswash: native XDP, generic XDP, NFQUEUE at each zone count -----------------------------
notauth() { R "$ctl" --iface "$vr" --field counters.not-authoritative '{"cmd":"counters"}'; }
for mode in native generic nfqueue; do
  counts=("${zone_counts[@]}")
  [[ $mode == native ]] && counts+=("${live_zone_counts[@]}")
  for n in "${counts[@]}"; do
    [[ $mode == native ]] && trivial "trivial/$n" "trivial XDP_DROP (native), paired with the next row"
    daemon_start "$tmp/zones-$n" "$mode"
    PROG_ID=
    [[ $mode != nfqueue ]] && PROG_ID=$(R "$ctl" --iface "$vr" --field prog_id '{"cmd":"status"}')
    measure notauth
    row "$mode/$n" "dnswash $mode$([[ $mode == nfqueue ]] && echo ', 1 queue')" "$n"
    res["$mode-ns/$n"]=$ns_per_run
    daemon_stop
  done
done
# --- dnswash native, allowed names over 2^20 zones (live cost of allowed traffic) -------------
if ((live_allowed)); then
  "$flood" --allowed-zones >"$tmp/zones-allowed"
  n_allowed=$(wc -l <"$tmp/zones-allowed")
  trivial "trivial/allowed" "trivial XDP_DROP (native), paired with the next row"
  daemon_start "$tmp/zones-allowed" native
  PROG_ID=$(R "$ctl" --iface "$vr" --field prog_id '{"cmd":"status"}')
  allowed_count() { R "$ctl" --iface "$vr" --field counters.allowed '{"cmd":"counters"}'; }
  gen_args=(--allowed)
  measure allowed_count
  gen_args=()
  row "allowed/$n_allowed" "dnswash native, allowed names" "$n_allowed"
  res["allowed-ns"]=$ns_per_run
  daemon_stop
  # The same names against the same number of zones under another TLD: every packet probes a
  # random bucket and misses (junk, dropped), so the kernel stack's work on allowed packets
  # does not enter the figure.
  sed 's/\.test$/.tesx/' "$tmp/zones-allowed" >"$tmp/zones-randmiss"
  trivial "trivial/randmiss" "trivial XDP_DROP (native), paired with the next row"
  daemon_start "$tmp/zones-randmiss" native
  PROG_ID=$(R "$ctl" --iface "$vr" --field prog_id '{"cmd":"status"}')
  gen_args=(--allowed)
  measure notauth
  gen_args=()
  row "randmiss/$n_allowed" "dnswash native, junk names probing random buckets" "$n_allowed"
  res["randmiss-ns"]=$ns_per_run
  daemon_stop
fi
PROG_ID=
mean() { printf '%s\n' "$@" | awk '{s += $1} END {if (NR) printf "%.1f", s / NR; else print "-"}'; }
res[trivial]=$(mean "${triv_pps[@]}" | cut -d. -f1)
trivial_ns=$(mean "${triv_ns[@]}")

# --- the write-up's iptables string chain ------------------------------------------------------
chain_pkts() { R iptables-nft -t filter -L netdnswash -v -x -n | awk 'NR > 2 {s += $1} END {print s + 0}'; }
for n in "${zone_counts[@]}"; do
  {
    echo "*filter"
    echo ":netdnswash - [0:0]"
    tac "$tmp/zones-$n" | while read -r z; do
      echo "-A netdnswash -i $vr -p udp -m udp --dport 53 -m string --algo bm --icase --to 255 --string '${z%%.*}' -m comment --comment \"$z\" -j RETURN"
    done
    echo "-A netdnswash -j DROP"
    echo "-I INPUT 1 -i $vr -p udp -m udp --dport 53 -j netdnswash"
    echo "COMMIT"
  } >"$tmp/chain-$n.rules"
  R iptables-nft-restore --noflush <"$tmp/chain-$n.rules"
  measure chain_pkts
  row "chain/$n" "iptables string chain" "$n"
  R iptables-nft -t filter -F
  R iptables-nft -t filter -X netdnswash
done

# --- tables ----------------------------------------------------------------------------------
ratio() { jq -n "if $2 == 0 then 0 else $1 / $2 * 100 | round / 100 end"; }
{
  echo "Reproduce: \`bash bench/flood_bench.sh --markdown FILE --seconds $seconds\`"
  echo
  echo "Junk queries (\`<10 random bytes>.attack.test\`, a new name every packet) over a veth pair"
  echo "between two network namespaces, from dnswash-xdp-flood on CPU 0 (bench/xdp_flood.cc: an XDP"
  echo "program run in BPF_PROG_TEST_RUN's live-frames mode redirects copies of the query, each"
  echo "with a fresh random label, into the veth: several Mpps from one CPU; trafgen gives up on"
  echo "the veth's back-pressure and costs about 1 us a frame, so it would set the rate itself)."
  echo "The receiving veth has GRO on and threaded NAPI pinned to CPU 1: every receiver runs alone"
  echo "on CPU 1, the generator saturates it, and the excess is dropped at the veth's ring."
  echo "(NFQUEUE's verdicts come from dnswashd's thread, which shares the CPUs with both.) On"
  echo "veth, native XDP runs in the veth's NAPI poll on an xdp_buff; generic XDP after an skb"
  echo "is built. \"Processed pps\" is what the receiver handled per second, the median of"
  echo "${seconds} 1-s windows after a 1 s warm-up: the UDP layer's NoPorts count with no filter (port"
  echo "53 closed), the program's"
  echo "run_cnt for trivial XDP_DROP, dnswash's own not-authoritative counter (every mode), the"
  echo "chain's rule counters for the string chain. $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
  echo "kernel $(uname -r), $(date -u +%Y-%m-%d)."
  echo
  echo "Baseline \"trivial XDP_DROP\": each dnswash native row is compared with the trivial run"
  echo "right before it; every other row with the mean of all ${#triv_pps[@]} trivial runs, ${res[trivial]} pps."
  echo
  echo "| receiver | zones | processed pps | x no filter | x trivial XDP_DROP | x string chain (same zones) |"
  echo "|---|---:|---:|---:|---:|---:|"
  for r in "${rows[@]}"; do
    IFS='|' read -r key label z p _ <<<"$r"
    vs_chain=-
    [[ $z != - && $key != chain/* && -n ${res[chain/$z]:-} ]] && vs_chain=$(ratio "$p" "${res[chain/$z]}")x
    base=${res[trivial]}
    [[ $key == native/* ]] && base=${res[trivial/$z]}
    echo "| $label | $z | $p | $(ratio "$p" "${res[none]}")x | $(ratio "$p" "$base")x | $vs_chain |"
  done
  echo
  echo "The spread of the trivial XDP_DROP runs shows how much the machine's other load moved"
  echo "the figures during this run."
  echo
  echo "Goals (issue 9): dnswash native within 10% of trivial XDP_DROP at every zone count (x"
  echo "trivial >= 0.90, against the paired trivial run), and at least 20x the string chain at 100 zones:"
  for n in "${zone_counts[@]}"; do
    r=$(ratio "${res[native/$n]}" "${res[trivial/$n]}")
    echo "- $n zones: native $r x trivial ($(jq -n "if $r >= 0.9 then \"met\" else \"not met\" end" -r)); $(ratio "${res[native/$n]}" "${res[reader]}") x the read-then-drop program; $(ratio "${res[native/$n]}" "${res[chain/$n]}") x the string chain$( ((n == 100)) && jq -n -r "if ${res[native/$n]} >= 20 * ${res[chain/$n]} then \" (>= 20x: met)\" else \" (>= 20x: not met)\" end")"
  done
} >"$tmp/table.md"
{
  echo "Reproduce: \`bash bench/flood_bench.sh --markdown FILE --seconds $seconds\` (this table is"
  echo "measured during its floods)."
  echo
  echo "\`sysctl kernel.bpf_stats_enabled=1\`; run_time_ns / run_cnt of the attached program over"
  echo "the same ${seconds} s (\`bpftool prog show id N --json\`). The kernel times each run with two"
  echo "clock reads, which it adds to every program alike."
  echo
  echo "| program | zones | ns/packet | x trivial XDP_DROP |"
  echo "|---|---:|---:|---:|"
  echo "| XDP_DROP after reading 2 cache lines of the frame (native) | - | ${res[reader-ns]} | $(ratio "${res[reader-ns]}" "$trivial_ns")x |"
  echo "| trivial XDP_DROP (native), mean of its ${#triv_ns[@]} runs ($(IFS=,; s="${triv_ns[*]}"; echo "${s//,/, }")) | - | $trivial_ns | 1x |"
  for mode in native generic; do
    counts=("${zone_counts[@]}")
    [[ $mode == native ]] && counts+=("${live_zone_counts[@]}")
    for n in "${counts[@]}"; do
      v=${res[$mode-ns/$n]}
      echo "| dnswash $mode | $n | $v | $([[ $v == - || $trivial_ns == - ]] && echo - || echo "$(ratio "$v" "$trivial_ns")x") |"
    done
  done
  if ((live_allowed)); then
    v=${res[allowed-ns]}
    echo "| dnswash native, allowed names (each under one of the zones, at random) | $n_allowed | $v | $([[ $v == - || $trivial_ns == - ]] && echo - || echo "$(ratio "$v" "$trivial_ns")x") |"
    v=${res[randmiss-ns]}
    echo "| dnswash native, junk names whose 2-label suffix probes a random bucket | $n_allowed | $v | $([[ $v == - || $trivial_ns == - ]] && echo - || echo "$(ratio "$v" "$trivial_ns")x") |"
  fi
} >"$tmp/live.md"
echo
cat "$tmp/table.md"
echo
cat "$tmp/live.md"
if [[ -z $live_markdown ]]; then
  { echo; echo "### Live per-packet cost during the flood (kernel BPF run-time statistics)"; echo; cat "$tmp/live.md"; } >>"$tmp/table.md"
else
  cp "$tmp/live.md" "$live_markdown"
  echo "wrote $live_markdown"
fi
if [[ -n $markdown ]]; then
  cp "$tmp/table.md" "$markdown"
  echo "wrote $markdown"
fi
