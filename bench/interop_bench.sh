#!/usr/bin/env bash
# Odd queries and --refuse under load (issue 18): the interop lab (tests/interop: BIND serving
# the lab zones, dnswashd native XDP on its veth) flooded from the client namespace with each
# kind of query that has no name to judge, 100,000 from one IPv4 source and 100,000 from random
# forged IPv6 sources (2001:db8::/32: nearly every query another /56). Reported: how many went
# to named (dnswash's *-passed counter) and how many answers came back, against the limit
# (default --odd-rate 10/s burst 20 per prefix, --odd-total-rate 1000/s burst 2000) over the
# flood's duration. Then --refuse known: a junk flood from forged sources (never sent an
# allowed query) and one from the client's own, known prefix; and the lame-delegation give-up
# time of Unbound, Knot Resolver and BIND as resolvers: BIND alone, dnswash default (silence),
# dnswash --refuse known.
#
# Usage: bash bench/interop_bench.sh [--markdown FILE] [--build DIR] [--count N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
md=
count=100000
while (($#)); do
  case $1 in
    --markdown) md=$2; shift 2 ;;
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --count) count=$2; shift 2 ;;
    *) echo "usage: $0 [--markdown FILE] [--build DIR] [--count N]" >&2; exit 2 ;;
  esac
done
export DNSWASHD=$build/daemon/dnswashd DWQ=$build/tests/lab/dwq LAB_CTL=$build/tests/lab/lab_ctl
xdp_pass_obj=$(find "$build" -name xdp_pass.bpf.o -print -quit)
for t in "$DNSWASHD" "$DWQ" "$LAB_CTL" "$xdp_pass_obj"; do [[ -e $t ]] || { echo "missing $t (build first)" >&2; exit 2; }; done
# shellcheck source=../tests/support/netns.sh
source "$root/tests/support/netns.sh"
# shellcheck source=../tests/interop/interop_lab.sh
source "$root/tests/interop/interop_lab.sh"
RL_FAIL=lab_fail
# shellcheck source=../tests/support/resolvers.sh
source "$root/tests/support/resolvers.sh"

FLOOD=(/usr/bin/python3 "$root/tests/interop/odd_flood.py")
KINDS=(cookie-only header-only qdcount2 status iquery opcode15 notify-bare update-bare class-any
  class-none class-hs id-server hostname-bind)
declare -A PASSED_OF=(
  [cookie-only]=qdcount-passed [header-only]=qdcount-passed [qdcount2]=qdcount-passed
  [notify-bare]=qdcount-passed [update-bare]=qdcount-passed [status]=opcode-passed
  [iquery]=opcode-passed [opcode15]=opcode-passed [class-any]=qclass-passed
  [class-none]=qclass-passed [class-hs]=qclass-passed [id-server]=chaos-id-passed
  [hostname-bind]=chaos-id-passed)

out=$(mktemp)
row() { echo "$*" | tee -a "$out"; }

lab_setup
# XDP_TX replies (--refuse) reach the client's veth end only if it runs an XDP program.
ip -n "$LAB_NS_C" link set dev "$LAB_IF_C" xdpdrv obj "$xdp_pass_obj" sec xdp
interop_named_start
# Replies to forged IPv6 sources go back through the client's veth (where the flood tool
# counts them), not into neighbour discovery for addresses nobody has.
ip -n "$LAB_NS_S" -6 route add 2001:db8::/32 via "$LAB_C6" dev "$LAB_IF"
ip -n "$LAB_NS_S" route add 203.0.113.0/24 via "$LAB_C4" dev "$LAB_IF"
mac_s=$(ip -n "$LAB_NS_S" -j link show dev "$LAB_IF" | jq -r '.[0].address')
mac_c=$(ip -n "$LAB_NS_C" -j link show dev "$LAB_IF_C" | jq -r '.[0].address')
# flood KIND SERVER (--src A | --random-v6): one JSON line
flood() {
  local kind=$1 server=$2
  shift 2
  lab_c "${FLOOD[@]}" --iface "$LAB_IF_C" --src-mac "$mac_c" --dst-mac "$mac_s" --server "$server" \
    --kind "$kind" --count "$count" "$@"
}
jf() { jq -r ".$2" <<<"$1"; }

row "## 7. Odd queries and --refuse (bench/interop_bench.sh)"
row
row "BIND 9.18 serving the interop lab zones, dnswashd native XDP on its veth (default options but"
row "\`--refuse known\` in the last part). Each flood: $count queries of one kind sent as fast as a"
row "Python packet-socket sender goes, from one IPv4 source (203.0.113.7) or from random forged"
row "IPv6 sources in 2001:db8::/32. *to named* is dnswash's \`*-passed\` counter, *answers* the"
row "replies seen on the client's veth; *limit* is what the default limits allow over the flood's"
row "duration (per prefix 10/s + burst 20; in all 1000/s + burst 2000)."
row
row "BIND alone (no filter), for scale:"
row
row "| kind | sources | sent | seconds | answers |"
row "|---|---|---:|---:|---:|"
for kind in cookie-only opcode15 class-any; do
  j=$(flood "$kind" "$LAB_S4" --src 203.0.113.7)
  row "| $kind | one | $count | $(jf "$j" seconds) | $(jf "$j" replies) |"
done
row
lab_daemon_start --mode native
row "Through dnswash:"
row
row "| kind | sources | seconds | to named | answers | limit |"
row "|---|---|---:|---:|---:|---:|"
for kind in "${KINDS[@]}"; do
  c=${PASSED_OF[$kind]}
  for src in one forged; do
    p0=$(lab_counter "$c")
    if [[ $src == one ]]; then
      j=$(flood "$kind" "$LAB_S4" --src 203.0.113.7)
    else
      j=$(flood "$kind" "$LAB_S6" --random-v6)
    fi
    p=$(($(lab_counter "$c") - p0))
    s=$(jf "$j" seconds)
    if [[ $src == one ]]; then
      lim=$(awk -v s="$s" 'BEGIN { printf "%d", 20 + 10 * (s + 1) }')
    else
      lim=$(awk -v s="$s" 'BEGIN { printf "%d", 2000 + 1000 * (s + 1) }')
    fi
    row "| $kind | $src | $s | $p | $(jf "$j" replies) | $lim |"
  done
done
row
lab_daemon_stop TERM

# --refuse known: forged junk gets nothing, the known prefix gets at most the slip rate.
lab_daemon_start --mode native --refuse known
lab_c dig +time=2 +tries=1 +norec @"$LAB_S4" www.plain.lab A >/dev/null # the client is known
lab_c dig +time=2 +tries=1 +norec @"$LAB_S6" www.plain.lab A >/dev/null
row "\`--refuse known\`, a flood of queries for names not served (default --slip-rate 5/s, burst"
row "10 per prefix, shared with the tc ban action):"
row
row "| sources | seconds | REFUSED from XDP | answers | refuse-limited |"
row "|---|---:|---:|---:|---:|"
r0=$(lab_counter refused) l0=$(lab_counter refuse-limited)
j=$(flood junk "$LAB_S6" --random-v6)
row "| forged (never asked for a served name) | $(jf "$j" seconds) | $(($(lab_counter refused) - r0)) | $(jf "$j" replies) | $(($(lab_counter refuse-limited) - l0)) |"
r0=$(lab_counter refused) l0=$(lab_counter refuse-limited)
j=$(flood junk "$LAB_S4" --src "$LAB_C4")
row "| the client's own known prefix | $(jf "$j" seconds) | $(($(lab_counter refused) - r0)) | $(jf "$j" replies) | $(($(lab_counter refuse-limited) - l0)) |"
row
lab_daemon_stop TERM

# Lame delegation: how long each resolver takes to give up on www.gone.lab (delegated to this
# server, not served), caches emptied first; the resolver has asked for a served name before.
rl_setup "$LAB_NS_C" "$LAB_C4" "$LAB_NS_S" "$LAB_S4"
rl_root_start sig.lab plain.lab dyn.lab gone.lab
rl_resolver_start unb unbound
rl_resolver_start kres kresd
rl_resolver_start bind named
RESOLVERS=(unb kres bind)
declare -A NAME_OF=([unb]="Unbound 1.17" [kres]="Knot Resolver 5.6" [bind]="BIND 9.18")
declare -A T_ALONE=() T_SILENT=() T_REFUSE=() RC_ALONE=() RC_SILENT=() RC_REFUSE=()
lame() { # ID -> "RCODE MS"
  local t0 t1 rc
  rl_flush "$1"
  rl_query "$1" www.plain.lab A >/dev/null
  t0=$(date +%s%N)
  rc=$(rl_query "$1" www.gone.lab A +time=60)
  t1=$(date +%s%N)
  echo "$rc $(((t1 - t0) / 1000000))"
}
for id in "${RESOLVERS[@]}"; do read -r "RC_ALONE[$id]" "T_ALONE[$id]" < <(lame "$id"); done
lab_daemon_start --mode native
for id in "${RESOLVERS[@]}"; do read -r "RC_SILENT[$id]" "T_SILENT[$id]" < <(lame "$id"); done
lab_daemon_stop TERM
lab_daemon_start --mode native --refuse known
for id in "${RESOLVERS[@]}"; do read -r "RC_REFUSE[$id]" "T_REFUSE[$id]" < <(lame "$id"); done
lab_daemon_stop TERM
row "Lame delegation: time until the resolver answers www.gone.lab (delegated to this server, not"
row "served) with cold caches (it asked for a served name just before), and its answer:"
row
row "| resolver | BIND alone (REFUSED) | dnswash default (silence) | dnswash --refuse known | --refuse / alone |"
row "|---|---:|---:|---:|---:|"
for id in "${RESOLVERS[@]}"; do
  ratio=$(awk -v a="${T_ALONE[$id]}" -v b="${T_REFUSE[$id]}" 'BEGIN { printf "%.2f", b / (a ? a : 1) }')
  row "| ${NAME_OF[$id]} | ${T_ALONE[$id]} ms ${RC_ALONE[$id]} | ${T_SILENT[$id]} ms ${RC_SILENT[$id]} | ${T_REFUSE[$id]} ms ${RC_REFUSE[$id]} | $ratio |"
done
row
[[ -n $md ]] && cp "$out" "$md"
rm -f "$out"
