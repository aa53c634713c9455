#!/usr/bin/env bash
# The dnswash demo lab: the scenario part of scripts/demo.sh (no install, no build), also run by
# ctest as lab_demo. Needs root, and the binaries of a build directory.
#
#   bash scripts/demo/scenario.sh [--build DIR]
#
# Lab (all in network namespaces named dwdemo-*-PID; no address or program on the root
# namespace's interfaces, no default route, documentation addresses only):
#
#   client 198.51.100.10 ──┐
#   attacker 198.51.100.66 ─┼─ br0 (namespace "wan") ── net0 198.51.100.53 ┐ server: BIND
#                           │                          (dnswashd, XDP)       │ + dnswashd
#   internal 203.0.113.10 ──┴──────────────────────────── int0 203.0.113.1 ──┘ (unfiltered)
#
# BIND is authoritative for example.com, example.net and dnswash.test (recursion no). Its
# files live where Debian's AppArmor profile for named lets it read and write:
# /etc/bind/dnswash-demo-PID/ (config, zones) and /var/cache/bind/dnswash-demo-PID/ (working
# directory). Everything the lab makes is removed on every exit path, Ctrl-C included.
#
# Every step checks what it shows: the script exits non-zero if the filter does not behave as
# printed (the roller must be banned by the detector within 300 names, and so on).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

build=$root/build
while (($#)); do
  case $1 in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --build=*) build=$(cd "${1#*=}" && pwd); shift ;;
    *) echo "usage: $0 [--build DIR]" >&2; exit 2 ;;
  esac
done

DNSWASHD=$build/daemon/dnswashd
DNSWASHCTL=$build/ctl/dnswashctl
LAB_CTL=$build/tests/lab/lab_ctl
DWQ=$build/tests/lab/dwq
UDP_LOAD=$build/bench/dnswash-udp-load
for b in "$DNSWASHD" "$DNSWASHCTL" "$LAB_CTL" "$DWQ" "$UDP_LOAD"; do
  [[ -x $b ]] || { echo "demo: $b is missing: build first (bash scripts/build.sh)" >&2; exit 1; }
done
[[ $(id -u) -eq 0 ]] || { echo "demo: run as root (network namespaces, BPF)" >&2; exit 1; }
for t in named dig ip jq bpftool; do
  command -v "$t" >/dev/null || { echo "demo: $t not found: run bash scripts/install-deps.sh" >&2; exit 1; }
done

# shellcheck source=../../tests/support/netns.sh
source "$root/tests/support/netns.sh"
NETNS_FAIL_PREFIX="demo: UNEXPECTED: "
id=$NETNS_ID
NS_WAN=dwdemo-wan-$id
NS_SRV=dwdemo-srv-$id
NS_CLI=dwdemo-cli-$id
NS_ATK=dwdemo-atk-$id
NS_INT=dwdemo-int-$id
SRV=198.51.100.53
CLI=198.51.100.10
ATK=198.51.100.66
SRV_INT=203.0.113.1
INT=203.0.113.10
CONF_DIR=/etc/bind/dnswash-demo-$id       # named reads here (AppArmor: /etc/bind/** r)
WORK_DIR=/var/cache/bind/dnswash-demo-$id # named writes here (AppArmor: /var/cache/bind/** rw)
RUN_DIR=/run/dnswash-demo-$id             # logs, dnswashd's state file
ZONES=(example.com example.net dnswash.test)
NETNS_DIRS+=("$CONF_DIR" "$WORK_DIR" "$RUN_DIR")
NETNS_LOGS+=("$RUN_DIR/dnswashd.log")

daemon_pid=
bg_pids=()
netns_track_pids bg_pids daemon_pid
t0=$SECONDS

netns_after_cleanup() {
  if (($1 == 0)); then
    echo
    echo "== cleaned up: namespaces, dnswashd, named and the lab files are gone ($((SECONDS - t0)) s in all)"
  fi
}
trap 'echo; echo "demo: interrupted, cleaning up" >&2; exit 130' INT TERM

fail() {
  echo "demo: UNEXPECTED: $*" >&2
  exit 1
}
step() {
  echo
  echo "== $*"
}
# say HOST TEXT: prints the command line as the operator would type it in that host's shell.
say() { printf '%s$ %s\n' "$1" "$2"; }
in_ns() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}
wait_until() { netns_wait_until "$@"; }

# dig_show HOST NS SERVER NAME [DIG ARGS]: runs dig like an operator (one try, one second),
# prints the lines that matter, sets DIG_STATUS to the rcode or "timeout".
dig_show() {
  local host=$1 ns=$2 server=$3 name=$4
  shift 4
  local out t=${DIG_TIME:-1}
  LAST_DIG=("$host" "$ns" "$server" "$name" "$@")
  say "$host" "dig +tries=1 +time=$t ${*:+$* }@$server $name"
  out=$(in_ns "$ns" dig +tries=1 +time="$t" "$@" @"$server" "$name" A 2>&1) || true
  if ! grep -q -- '->>HEADER<<-' <<<"$out"; then
    DIG_STATUS=timeout
    grep -m1 -E 'timed out|no servers' <<<"$out" | sed 's/^/  /'
    return 0
  fi
  DIG_STATUS=$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$out")
  {
    grep -- '->>HEADER<<-' <<<"$out" || true
    sed -n '/ANSWER SECTION:/,/^$/p' <<<"$out" | grep -v -e '^;' -e '^$' || true
    grep 'Query time' <<<"$out" || true
  } | sed 's/^/  /'
}
expect_status() { # expect_status WANT WHAT
  if [[ $DIG_STATUS == timeout && $1 != timeout ]]; then
    # An answer was expected: on a loaded machine (CI) named may need more than a second.
    echo "  (no answer within 1 s: asking once more with a longer timeout)"
    DIG_TIME=3 dig_show "${LAST_DIG[@]}"
  fi
  [[ $DIG_STATUS == "$1" ]] || fail "$2: expected $1, got $DIG_STATUS"
}

ctl() { in_ns "$NS_SRV" "$LAB_CTL" --iface net0 "$@"; }
counter() { ctl --field "counters.$1" '{"cmd":"counters"}'; }
# show_counters: what the filter counted, as the operator sees it.
show_counters() {
  say server "dnswashctl stats"
  in_ns "$NS_SRV" "$DNSWASHCTL" stats | sed 's/^/  /'
}

# ---------------------------------------------------------------------------------------------
step "Lab: server (BIND + dnswashd), client, attacker, internal network — namespaces dwdemo-*-$id"
mkdir -p "$CONF_DIR" "$WORK_DIR" "$RUN_DIR/state"
netns_add "$NS_WAN" "$NS_SRV" "$NS_CLI" "$NS_ATK" "$NS_INT"
ip -n "$NS_WAN" link add br0 type bridge
ip -n "$NS_WAN" link set br0 up
wan_port() { # wan_port NS IFACE ADDR PORT: NS's IFACE on the wan bridge
  netns_veth "$1" "$2" "$NS_WAN" "$4"
  netns_addr "$1" "$2" "$3/24"
  ip -n "$NS_WAN" link set "$4" master br0
}
wan_port "$NS_SRV" net0 "$SRV" p-srv
wan_port "$NS_CLI" eth0 "$CLI" p-cli
wan_port "$NS_ATK" eth0 "$ATK" p-atk
netns_veth "$NS_SRV" int0 "$NS_INT" eth0
netns_addr "$NS_SRV" int0 "$SRV_INT/24"
netns_addr "$NS_INT" eth0 "$INT/24"

# An authoritative-only BIND on the public and the internal network.
netns_named_conf "$CONF_DIR/named.conf" "$WORK_DIR" "$SRV; $SRV_INT" none "$CONF_DIR" "${ZONES[@]}"
chown -R bind: "$WORK_DIR"
chgrp -R bind "$CONF_DIR"
netns_named_start "$NS_SRV" "$CONF_DIR/named.conf" "$RUN_DIR/named.log"
wait_until 30 "named answers" in_ns "$NS_CLI" dig +time=1 +tries=1 +norec @"$SRV" example.com SOA
echo "  BIND serves ${ZONES[*]} on $SRV (net0, public) and $SRV_INT (int0, internal)"
echo "  client $CLI and attacker $ATK reach net0 through a bridge; the internal host $INT is on int0"

# ---------------------------------------------------------------------------------------------
step "Before dnswash: named answers everything it gets, junk included (REFUSED costs it work)"
dig_show attacker "$NS_ATK" "$SRV" x7k2q9.www.example.org +norec
expect_status REFUSED "junk before the filter"

# ---------------------------------------------------------------------------------------------
step "Start dnswashd on the public interface net0 (native XDP); zones come from named.conf"
# The rolling-subdomain detector (docs/detector.md), with its defaults (NXDOMAIN answers
# counted on egress); a short ban, and no ban state file (the lab leaves nothing behind).
detector_args=(--detector --ban-time 1m --ban-state-dir "")
say server "dnswashd --iface net0 --named-conf $CONF_DIR/named.conf --mode native${detector_args[*]:+ ${detector_args[*]}}"
ip netns exec "$NS_SRV" "$DNSWASHD" --iface net0 --named-conf "$CONF_DIR/named.conf" --mode native \
  --pin-dir "" --state-dir "$RUN_DIR/state" "${detector_args[@]}" >"$RUN_DIR/dnswashd.log" 2>&1 &
daemon_pid=$!
deadline=$((SECONDS + 30))
until ctl '{"cmd":"status"}' >/dev/null 2>&1; do
  kill -0 "$daemon_pid" 2>/dev/null || { daemon_pid=; fail "dnswashd exited before it was ready"; }
  ((SECONDS < deadline)) || fail "dnswashd not ready after 30 s"
  sleep 0.05
done
grep -E 'attached|zones|sync' "$RUN_DIR/dnswashd.log" | head -4 | sed 's/^/  /'
[[ $(ctl --field mode '{"cmd":"status"}') == native ]] || fail "not in native XDP mode"
[[ $(ctl --field zones '{"cmd":"status"}') == "${#ZONES[@]}" ]] || fail "zone count"
say server "ip link show net0"
ip -n "$NS_SRV" link show net0 | sed 's/^/  /'

# ---------------------------------------------------------------------------------------------
step "The client asks for served names: answered as before"
dig_show client "$NS_CLI" "$SRV" www.example.com +norec
expect_status NOERROR "www.example.com"
dig_show client "$NS_CLI" "$SRV" MAIL.Example.NET +norec
expect_status NOERROR "MAIL.Example.NET"
dig_show client "$NS_CLI" "$SRV" nosuchhost.dnswash.test +norec
expect_status NXDOMAIN "a name below a served zone (NXDOMAIN is named's answer)"

# ---------------------------------------------------------------------------------------------
step "The attacker asks for names this server does not serve: dropped in XDP, no answer at all"
dig_show attacker "$NS_ATK" "$SRV" x7k2q9.www.example.org +norec
expect_status timeout "junk with the filter on"
dig_show attacker "$NS_ATK" "$SRV" example.com.evil.test +norec
expect_status timeout "a served zone as a prefix of a junk name"
dig_show attacker "$NS_ATK" "$SRV" . +norec
expect_status timeout "the root"

step "A junk flood: 40,000 random names at 20,000 queries/s from the attacker, while the client asks"
notauth0=$(counter not-authoritative)
say attacker "dnswash-udp-load send --dst $SRV --suffix junk.example --count 40000 --pps 20000"
ip netns exec "$NS_ATK" "$UDP_LOAD" send --dst "$SRV" --suffix junk.example --count 40000 --pps 20000 \
  --sockets 4 >"$RUN_DIR/flood.json" &
flood_pid=$!
bg_pids+=("$flood_pid")
dig_show client "$NS_CLI" "$SRV" www.example.com +norec
expect_status NOERROR "www.example.com during the flood"
wait "$flood_pid" || fail "the flood generator failed"
sent=$(jq .sent "$RUN_DIR/flood.json")
flood_in() { (($(counter not-authoritative) - notauth0 >= sent)); }
wait_until 10 "the filter counted the flood" flood_in
echo "  attacker sent $sent junk queries; dropped by dnswash (not-authoritative): $(($(counter not-authoritative) - notauth0)); named saw none of them"

# ---------------------------------------------------------------------------------------------
step "A roller: www999, www998, ... under a served zone (each name new, so named has no cache)"
banned0=$(counter banned)
# Roll until the detector bans the source (its next name gets no answer), at most 300 names.
detected=0
for ((n = 999; n > 699; n--)); do
  if ! out=$(in_ns "$NS_ATK" "$DWQ" probe "$SRV" "www$n.example.com" --timeout-ms 1000); then
    detected=1
    break
  fi
  ((n > 996)) && echo "  attacker: www$n.example.com -> $out (rcode 3: NXDOMAIN)"
done
((detected)) || fail "the detector did not ban the roller within 300 names"
echo "  ... $((999 - n)) names answered NXDOMAIN; www$n.example.com got no answer: dnswashd's"
echo "  detector banned $ATK"
dig_show attacker "$NS_ATK" "$SRV" "www$((n - 1)).example.com" +norec
expect_status timeout "the banned roller's next name"
dig_show attacker "$NS_ATK" "$SRV" www.example.com +norec
expect_status timeout "a served name from the banned source"
banned_in() { (($(counter banned) > banned0)); }
wait_until 5 "the banned counter moves" banned_in
echo "  dropped in XDP as 'banned': $(($(counter banned) - banned0)) queries"
dig_show client "$NS_CLI" "$SRV" www.example.com +norec
expect_status NOERROR "the client while the attacker is banned"
say server "dnswashctl bans list"
in_ns "$NS_SRV" "$DNSWASHCTL" bans list | sed 's/^/  /'
in_ns "$NS_SRV" "$DNSWASHCTL" bans list --json |
  jq -e --arg a "$ATK" '.bans | any((.prefix == $a or .prefix == $a + "/32") and .origin == "detector" and .zone == "example.com")' >/dev/null ||
  fail "bans list does not show the detector's ban of $ATK"

# ---------------------------------------------------------------------------------------------
step "The internal network (int0) is not filtered: named answers it as it always did"
dig_show internal "$NS_INT" "$SRV_INT" www.example.com +norec
expect_status NOERROR "www.example.com from the internal network"
dig_show internal "$NS_INT" "$SRV_INT" www.example.org
expect_status REFUSED "an unserved name from the internal network (named's own REFUSED)"
ip -n "$NS_SRV" link show int0 | grep -q xdp && fail "an XDP program is on int0"
echo "  (a resolver-like query for a name not served still reaches named, which REFUSES it:"
echo "   no program on int0)"

# ---------------------------------------------------------------------------------------------
step "What the operator sees"
show_counters
say server "dnswashctl zones parse --named-conf $CONF_DIR/named.conf"
in_ns "$NS_SRV" "$DNSWASHCTL" zones parse --named-conf "$CONF_DIR/named.conf" 2>&1 | head -5 | sed 's/^/  /'

step "Stop dnswashd (SIGTERM): the program is detached, junk reaches named again"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || fail "dnswashd exited non-zero on SIGTERM"
daemon_pid=
ip -n "$NS_SRV" link show net0 | grep -q xdp && fail "XDP still attached after stop"
dig_show client "$NS_CLI" "$SRV" x7k2q9.www.example.org +norec
expect_status REFUSED "junk after stop"
echo
echo "demo: every step behaved as shown ($((SECONDS - t0)) s)"
