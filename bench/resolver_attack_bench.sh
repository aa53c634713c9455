#!/usr/bin/env bash
# A random-subdomain attack relayed by a resolver (issue 17): BIND authoritative for
# shop.example (200 hosts, TTL 2 s), a real Unbound 1.17 (qname minimisation, 0x20) in its own
# namespace as the only source the server sees (tests/support/resolvers.sh), a legitimate client
# asking it for existing hosts at 100 qps and an attacker asking it for random 12-character
# labels at 1,500 qps, for --seconds (20). Three runs in one lab: no filter, dnswashd (default),
# dnswashd --detector (bans and the zone shield, answering NXDOMAIN from XDP), and with the two
# other answers to a missing name (TC=1, drop). Per run: legitimate lookups answered NOERROR,
# NXDOMAIN answers named sent (BIND's statistics channel), named's CPU time, whether the
# resolver was banned, when the shield came on.
#
# Usage: bash bench/resolver_attack_bench.sh [--markdown FILE] [--seconds S] [--build DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
markdown='' seconds=20 build=build
while (($#)); do
  case $1 in
    --markdown) markdown=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "usage: $0 [--markdown FILE] [--seconds S] [--build DIR]" >&2; exit 2 ;;
  esac
done
export DNSWASHD=$root/$build/daemon/dnswashd DWQ=$root/$build/tests/lab/dwq \
  LAB_CTL=$root/$build/tests/lab/lab_ctl NO_BPF_EXEC=/bin/true
for t in "$DNSWASHD" "$DWQ" "$LAB_CTL"; do [[ -x $t ]] || { echo "build $t first" >&2; exit 1; }; done
# shellcheck source=tests/support/netns.sh
source "$root/tests/support/netns.sh"
# shellcheck source=tests/support/resolvers.sh
source "$root/tests/support/resolvers.sh"
RL_FAIL=lab_fail # read by resolvers.sh
export RL_FAIL
ZONE=shop.example

lab_setup
xdp_pass_obj=$root/$build/bpf/gen/xdp_pass.bpf.o
ip -n "$LAB_NS_C" link set dev "$LAB_IF_C" xdpdrv obj "$xdp_pass_obj" sec xdp
lab_named_write_conf "$ZONE"
{
  echo "\$TTL 2"
  echo "@ IN SOA ns.$ZONE. hostmaster.$ZONE. 1 3600 600 86400 2"
  echo "  IN NS ns.$ZONE."
  echo "ns IN A $LAB_S4"
  for i in $(seq 1 200); do echo "h$i IN A 192.0.2.$((i % 250 + 1))"; done
} >"$LAB_NAMED_DIR/$ZONE.zone"
sed -i "s|listen-on port 53 { $LAB_S4; };|listen-on port 53 { $LAB_S4; 127.0.0.1; };\n  allow-transfer { 127.0.0.1; };|" "$LAB_NAMED_CONF"
echo 'statistics-channels { inet 127.0.0.1 port 8053 allow { 127.0.0.1; }; };' >>"$LAB_NAMED_CONF"
chown -R bind: "$LAB_NAMED_DIR"
netns_named_start "$LAB_NS_S" "$LAB_NAMED_CONF" "$LAB_DIR/named.log"
lab_wait_until 30 "named answers" lab_s dig +time=1 +tries=1 +norec @"$LAB_S4" "$ZONE" SOA
rl_setup "$LAB_NS_C" "$LAB_C4" "$LAB_NS_S" "$LAB_S4"
rl_root_start "$ZONE"
rl_resolver_start ub unbound

for i in $(seq 1 200); do echo "h$i.$ZONE A"; done >"$LAB_DIR/legit.txt"
python3 -c "
import random, string
r = random.Random(17)
for _ in range(100000):
    print(''.join(r.choice(string.ascii_lowercase + string.digits) for _ in range(12)) + '.$ZONE A')" >"$LAB_DIR/attack.txt"

named_nx() {
  lab_s curl -s http://127.0.0.1:8053/json/v1/server |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("rcodes",{}).get("NXDOMAIN",0))'
}
named_cpu_ticks() { awk '{print $14 + $15}' "/proc/$NETNS_NAMED_PID/stat"; }
shielded() {
  lab_ctl '{"cmd":"status"}' 2>/dev/null | python3 -c "
import json,sys
z=[z for z in json.load(sys.stdin).get('shield',{}).get('zones',[]) if z['zone']=='$ZONE']
sys.exit(0 if z and z[0]['shielded'] else 1)"
}
rows=()
run() { # run LABEL [dnswashd args...] ("" = no dnswashd)
  local label=$1 first
  shift
  first=${1:-}
  if [[ $first != none ]]; then lab_daemon_start --mode native "$@"; fi
  rl_flush ub
  local nx0 cpu0 t0 on_ms=- ap lp
  nx0=$(named_nx) cpu0=$(named_cpu_ticks)
  ip netns exec "$LAB_NS_C" dnsperf -s "$(rl_addr ub)" -Q 100 -l "$seconds" -d "$LAB_DIR/legit.txt" -t 2 >"$LAB_DIR/legit.out" 2>&1 &
  lp=$!
  t0=$(date +%s%N)
  ip netns exec "$LAB_NS_C" dnsperf -s "$(rl_addr ub)" -Q 1500 -l "$seconds" -d "$LAB_DIR/attack.txt" -t 2 -q 500 >"$LAB_DIR/attack.out" 2>&1 &
  ap=$!
  while kill -0 "$ap" 2>/dev/null; do
    if [[ $on_ms == - && $first != none ]] && shielded; then on_ms=$((($(date +%s%N) - t0) / 1000000)); fi
    sleep 0.2
  done
  wait "$ap" "$lp"
  local sent ok nx cpu banned=-
  sent=$(sed -n 's/.*Queries sent: *\([0-9]*\).*/\1/p' "$LAB_DIR/legit.out")
  ok=$(sed -n 's/.*Response codes:.*NOERROR \([0-9]*\) .*/\1/p' "$LAB_DIR/legit.out")
  nx=$(($(named_nx) - nx0))
  cpu=$(awk -v a="$cpu0" -v b="$(named_cpu_ticks)" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", (b-a)/hz}')
  if [[ $first != none ]]; then
    banned=$([[ $(lab_status detector.bans 2>/dev/null || echo 0) -gt 0 ]] && echo yes || echo no)
    lab_daemon_stop TERM
  fi
  rows+=("| $label | ${ok:-0} of $sent ($(awk -v o="${ok:-0}" -v s="$sent" 'BEGIN{printf "%.1f", 100*o/s}') %) | $banned | $nx | $cpu s | $on_ms |")
  echo "${rows[-1]}"
}
run "none" none
run "dnswashd (default)"
run "dnswashd --detector" --detector
# The other answers to a missing name, measured the same way (docs/detector.md).
run "dnswashd --detector --shield-action tc" --detector --shield-action tc
run "dnswashd --detector --shield-action drop" --detector --shield-action drop

{
  echo "Reproduce: \`bash bench/resolver_attack_bench.sh --markdown FILE --seconds $seconds\`"
  echo
  echo "Unbound 1.17 (qname minimisation, 0x20) relays 100 qps of lookups for existing hosts and"
  echo "1,500 qps of random 12-character names under shop.example for $seconds s; BIND authoritative."
  echo
  echo "| filter | legit answered NOERROR | resolver banned | NXDOMAIN answers by named | named CPU | shield on after (ms) |"
  echo "|---|---:|---|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
} >"$LAB_DIR/table.md"
cat "$LAB_DIR/table.md"
[[ -z $markdown ]] || cp "$LAB_DIR/table.md" "$markdown"
