#!/usr/bin/env bash
# How soon a name added to a big shielded zone passes (issue 17: "a name added to the zone
# passes within 1 s of named serving it"), by the way the change reaches dnswashd:
#  - baseline: a zone from a file, reloaded with one more name: named keeps no history, so its
#    answer to dnswashd's IXFR is the whole zone (as AXFR was for every change before);
#  - IXFR: a dynamic zone of the same size, one name added with nsupdate: the difference alone.
# Each figure is from named's own log line (the reload's "loaded serial", the update's
# "adding an RR") to dnswashd's for the name set holding that serial, both stamped by the
# servers in ms; the median of --rounds changes. Real BIND and dnswashd (native XDP) in the
# lab's namespaces; both zones shielded by hand. Needs root; builds what is missing. Prints a
# markdown section (also to --markdown FILE).
#
# Usage: bash bench/shield_update_bench.sh [--markdown FILE] [--build DIR] [--names N]
#                                          [--rounds R]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
markdown=
build=build
names=500000
rounds=3
while (($#)); do
  case $1 in
    --markdown) markdown=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --names) names=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "usage: $0 [--markdown FILE] [--build DIR] [--names N] [--rounds R]" >&2; exit 2 ;;
  esac
done
export DNSWASHD=$root/$build/daemon/dnswashd
export LAB_CTL=$root/$build/tests/lab/lab_ctl DWQ=$root/$build/tests/lab/dwq
if [[ ! -x $DNSWASHD || ! -x $LAB_CTL || ! -x $DWQ ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  make -C "$build" -j2 dnswashd lab_ctl dwq >/dev/null
fi
# shellcheck source=../tests/support/netns.sh
source "$root/tests/support/netns.sh"

DYN=dyn.bench.test FILEZ=file.bench.test
lab_setup
lab_named_write_conf "$DYN" "$FILEZ"
for z in "$DYN" "$FILEZ"; do
  {
    echo "\$TTL 60"
    echo "@ IN SOA ns.$z. hostmaster.$z. 1 3600 600 86400 60"
    echo "  IN NS ns.$z."
    echo "ns IN A $LAB_S4"
    awk -v n="$names" 'BEGIN { for (i = 0; i < n; i++) printf "h%d IN A 198.51.100.%d\n", i, i % 250 + 1 }'
  } >"$LAB_NAMED_DIR/$z.zone"
done
sed -i "s|listen-on port 53 { $LAB_S4; };|listen-on port 53 { $LAB_S4; 127.0.0.1; };\n  allow-transfer { 127.0.0.1; };|" "$LAB_NAMED_CONF"
sed -i "s|zone \"$DYN\" { type primary; file \"$LAB_NAMED_DIR/$DYN.zone\"; };|zone \"$DYN\" { type primary; file \"$LAB_NAMED_DIR/$DYN.zone\"; allow-update { $LAB_C4; }; };|" "$LAB_NAMED_CONF"
named-checkconf "$LAB_NAMED_CONF" >/dev/null || lab_fail "named.conf does not check"
chown -R bind: "$LAB_NAMED_DIR"
netns_named_start "$LAB_NS_S" "$LAB_NAMED_CONF" "$LAB_DIR/named.log"
lab_wait_until 300 "named serves both zones" \
  bash -c "ip netns exec $LAB_NS_S dig +time=1 +tries=1 +norec @$LAB_S4 $DYN SOA | grep -q NOERROR &&
           ip netns exec $LAB_NS_S dig +time=1 +tries=1 +norec @$LAB_S4 $FILEZ SOA | grep -q NOERROR"
lab_daemon_start --mode native --detector
for z in "$DYN" "$FILEZ"; do
  lab_ctl "{\"cmd\":\"zones-shield\",\"zone\":\"$z\",\"mode\":\"on\"}" >/dev/null
done
in_kernel() { lab_has -E "shield: [0-9]+ names of $1 \\(serial $2\\) in the kernel" <"$LAB_DAEMON_LOG"; }
lab_wait_until 300 "both zones' names in the kernel" bash -c \
  "grep -qE 'names of $DYN \\(serial 1\\) in the kernel' '$LAB_DAEMON_LOG' &&
   grep -qE 'names of $FILEZ \\(serial 1\\) in the kernel' '$LAB_DAEMON_LOG'"

# ms since the epoch of a named log line / of dnswashd's line for ZONE's SERIAL in the kernel.
named_ms() { date -d "$(cut -c1-24 <<<"$1")" +%s%3N; }
kernel_ms() {
  local line
  line=$(grep -m1 -E "shield: [0-9]+ names of $1 \\(serial $2\\) in the kernel" "$LAB_DAEMON_LOG")
  date -d "$(cut -c1-23 <<<"$line")" +%s%3N
}
median() { tr ' ' '\n' <<<"$*" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

whole=() ixfr=()
for ((r = 1; r <= rounds; r++)); do
  s=$((r + 1))
  # Baseline: the file zone, one name more, reloaded (SIGHUP: named reloads its zones).
  sed -i "s/ $((s - 1)) 3600 600 86400 60/ $s 3600 600 86400 60/" "$LAB_NAMED_DIR/$FILEZ.zone"
  echo "new$r IN A 192.0.2.$r" >>"$LAB_NAMED_DIR/$FILEZ.zone"
  kill -HUP "$NETNS_NAMED_PID"
  lab_wait_until 120 "$FILEZ serial $s in the kernel" in_kernel "$FILEZ" "$s"
  line=$(grep -m1 "zone $FILEZ/IN: loaded serial $s" "$LAB_DIR/named.log") ||
    lab_fail "no reload line for $FILEZ serial $s in named's log"
  whole+=($(($(kernel_ms "$FILEZ" "$s") - $(named_ms "$line"))))
  # IXFR: the dynamic zone, one name added by UPDATE.
  printf 'server %s\nzone %s\nupdate add new%s.%s 60 IN A 192.0.2.%s\nsend\n' \
    "$LAB_S4" "$DYN" "$r" "$DYN" "$r" | lab_c nsupdate || lab_fail "nsupdate failed"
  lab_wait_until 120 "$DYN serial $s in the kernel" in_kernel "$DYN" "$s"
  line=$(grep -m1 "adding an RR at 'new$r.$DYN'" "$LAB_DIR/named.log") ||
    lab_fail "no update line for new$r.$DYN in named's log"
  ixfr+=($(($(kernel_ms "$DYN" "$s") - $(named_ms "$line"))))
  lab_has -E "shield: IXFR of $DYN from .*-> $s, 1 records added, 0 deleted" <"$LAB_DAEMON_LOG" ||
    lab_fail "round $r: the update did not come by IXFR"
  lab_has -E "shield: IXFR of $FILEZ from .*the whole zone \\(no history kept\\): serial $s," \
    <"$LAB_DAEMON_LOG" || lab_fail "round $r: the reload did not come as the whole zone"
done
mw=$(median "${whole[@]}") mi=$(median "${ixfr[@]}")
report=$(mktemp)
NETNS_DIRS+=("$report")
{
  echo "| $names names, one added | ms until it passes (median of $rounds) | vs. the whole zone | rounds (ms) |"
  echo "|---|---:|---:|---|"
  echo "| zone from a file, reloaded: the whole zone again (baseline) | $mw | 1.00x | ${whole[*]} |"
  echo "| dynamic zone, nsupdate: IXFR, the difference alone | $mi | $(awk -v a="$mi" -v b="$mw" 'BEGIN { printf "%.2f", a / b }')x | ${ixfr[*]} |"
  echo
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs."
} >"$report"
cat "$report"
[[ -z $markdown ]] || cp "$report" "$markdown"
