#!/usr/bin/env bash
# Ban action tc with real BIND: a banned client's dig gets a truncated reply from XDP, says so,
# retries over TCP and gets the answer (IPv4 and IPv6); a flood of big spoofed queries from
# banned addresses gets replies no larger than the queries, valid checksums, each counted as
# banned-tc, and the per-prefix rate limit holds (the rest counted slip-limited).
# Usage: slip_test.sh native|generic
# shellcheck source=../support/netns.sh
source "$(dirname "$0")/../support/netns.sh"
: "${SLIP_FLOOD:?set SLIP_FLOOD to the slip_flood binary}"
MODE=${1:?native or generic}

lab_setup
# veth delivers an XDP_TX frame promptly only if the peer runs an XDP program: without one
# it is dropped, and with GRO alone it waits in the peer's ring for other traffic. So the
# client's end gets an XDP_PASS program (generic XDP transmits through the stack and would
# not need it; the lab is the same for both modes).
xdp_pass_obj=${XDP_PASS_OBJ:?set XDP_PASS_OBJ to xdp_pass.bpf.o}
[[ -f $xdp_pass_obj ]] || lab_fail "no $xdp_pass_obj (build the xdp_pass_skel target)"
ip -n "$LAB_NS_C" link set dev "$LAB_IF_C" xdpdrv obj "$xdp_pass_obj" sec xdp ||
  lab_fail "cannot attach xdp_pass to $LAB_IF_C"
lab_named_start a.test
# Per-address buckets (/32, /128) so the flood's replies can be counted exactly.
lab_daemon_start --mode "$MODE" --ban-action tc --slip-rate 1 --slip-burst 10 \
  --slip-v4-prefix 32 --slip-v6-prefix 128
[[ $(lab_status mode) == "$MODE" ]] || lab_fail "mode is $(lab_status mode), wanted $MODE"
[[ $(lab_status ban_action.action) == tc ]] || lab_fail "status.ban_action.action is not tc"

# Not banned yet: an ordinary UDP answer.
out=$(lab_c dig +time=2 +tries=1 +norec @"$LAB_S4" www.a.test A 2>&1) || lab_fail "dig before the ban: $out"
grep -q 'Truncated' <<<"$out" && lab_fail "truncated before any ban: $out"

# ban PREFIX/LEN: straight into the ban map by id (the daemon has no ban command yet).
# Key: prefixlen (u32, host order) + 16 address bytes, IPv4 mapped; value: expiry 0
# (permanent), origin 1 (operator).
BANS_ID=$(lab_status maps.bans)
# ban A.B.C.D/LEN, or ban6 "16 hex bytes" LEN.
ban() {
  local addr=${1%/*} len=${1#*/}
  # shellcheck disable=SC2086
  ban_hex "00 00 00 00 00 00 00 00 00 00 ff ff $(printf '%02x %02x %02x %02x' ${addr//./ })" $((96 + len)) "$1"
}
ban6() { ban_hex "$1" "$2" "$1/$2"; }
ban_hex() {
  local hex=$1 plen=$2
  # shellcheck disable=SC2046,SC2086
  bpftool map update id "$BANS_ID" key hex $(printf '%02x 00 00 00' "$plen") $hex \
    value hex 00 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 || lab_fail "cannot ban $3"
}
ban "$LAB_C4/32"
ban6 "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02" 128 # LAB_C6 = 2001:db8::2

counter() { lab_counter "$1"; }
tc0=$(counter banned-tc)
for server in "$LAB_S4" "$LAB_S6"; do
  out=$(lab_c dig +time=2 +tries=1 +norec @"$server" www.a.test A 2>&1) || lab_fail "dig via $server (banned): $out"
  grep -q ';; Truncated, retrying in TCP mode' <<<"$out" || lab_fail "dig via $server did not see a truncated reply: $out"
  grep -q 'status: NOERROR' <<<"$out" || lab_fail "no NOERROR over TCP via $server: $out"
  grep -qE '^www\.a\.test\.[[:space:]].*A[[:space:]]+192\.0\.2\.80' <<<"$out" || lab_fail "no answer record via $server: $out"
done
(($(counter banned-tc) >= tc0 + 2)) || lab_fail "banned-tc counted $(($(counter banned-tc) - tc0)), wanted >= 2"

# flood FAMILY SERVER SRC SOURCES COUNT PAD: spoofed queries; waits (bounded) until the server
# counted all of them, hands the slip_flood its banned-tc count, and sets FLOOD (its report)
# and SLIPS (the server's count).
SERVER_MAC=$(ip -n "$LAB_NS_S" -br link show dev "$LAB_IF" | awk '{print $3}')
flood() {
  local server=$2 src=$3 sources=$4 count=$5 pad=$6 tc_0 banned_0 lim_0 pid
  tc_0=$(counter banned-tc)
  banned_0=$(counter banned)
  lim_0=$(counter slip-limited)
  rm -f "$LAB_DIR/flood.stop"
  ip netns exec "$LAB_NS_C" "$SLIP_FLOOD" --iface "$LAB_IF_C" --server-mac "$SERVER_MAC" \
    --server "$server" --src "$src" --sources "$sources" --count "$count" --pad "$pad" \
    --stop-file "$LAB_DIR/flood.stop" --timeout-ms 15000 >"$LAB_DIR/flood.json" &
  pid=$!
  LAB_BG_PIDS+=("$pid")
  all_counted() { (($(counter banned-tc) - tc_0 + $(counter banned) - banned_0 >= count)); }
  lab_wait_until 15 "the server counted all $count spoofed queries" all_counted
  SLIPS=$(($(counter banned-tc) - tc_0))
  LIMITED=$(($(counter slip-limited) - lim_0))
  echo "$SLIPS" >"$LAB_DIR/flood.stop"
  wait "$pid" || lab_fail "slip_flood did not get the $SLIPS replies the server sent: $(cat "$LAB_DIR/flood.json")"
  FLOOD=$(cat "$LAB_DIR/flood.json")
  lab_log "flood from $sources x $src: $FLOOD; server: banned-tc +$SLIPS, slip-limited +$LIMITED"
  for k in larger bad_checksum not_tc duplicates; do
    [[ $(lab_json_field "$FLOOD" $k) == 0 ]] || lab_fail "flood replies: $k != 0: $FLOOD"
  done
  (($(lab_json_field "$FLOOD" reply_bytes) <= $(lab_json_field "$FLOOD" sent_bytes))) ||
    lab_fail "more bytes back than sent: $FLOOD"
}

# 100 banned spoofed sources, 3 big queries each (inside each /32's burst): every query gets
# its small reply.
ban 192.0.2.128/25
flood 4 "$LAB_S4" 192.0.2.128 100 300 400
((SLIPS == 300 && LIMITED == 0)) || lab_fail "wanted 300 slips, 0 limited; got $SLIPS, $LIMITED"
[[ $(lab_json_field "$FLOOD" replies) == 300 ]] || lab_fail "replies: $FLOOD"
((($(lab_json_field "$FLOOD" max_reply)) <= 14 + 20 + 8 + 12 + 16 + 4)) || lab_fail "reply too big: $FLOOD"

ban6 "20 01 0d b8 00 00 00 00 00 00 00 00 00 01 00 00" 112 # 2001:db8::1:0/112
flood 6 "$LAB_S6" 2001:db8::1:0 20 60 600
((SLIPS == 60 && LIMITED == 0)) || lab_fail "wanted 60 IPv6 slips, 0 limited; got $SLIPS, $LIMITED"

# One spoofed source over its rate: the burst (10, one more per second) gets replies, the rest
# is dropped and counted slip-limited.
flood 4 "$LAB_S4" 192.0.2.250 1 60 200
((SLIPS >= 10 && SLIPS <= 12)) || lab_fail "one source: $SLIPS slips, wanted the burst of 10 (+1/s)"
((SLIPS + LIMITED == 60)) || lab_fail "one source: $SLIPS slips + $LIMITED limited != 60"

# TCP is never judged: the banned client is served over TCP directly too.
out=$(lab_c dig +tcp +time=2 +tries=1 @"$LAB_S4" www.a.test A 2>&1) || lab_fail "TCP from the banned client: $out"
grep -q 'status: NOERROR' <<<"$out" || lab_fail "TCP from the banned client: $out"

lab_daemon_stop TERM
((LAB_DAEMON_RC == 0)) || lab_fail "dnswashd exited $LAB_DAEMON_RC"
lab_expect_nothing_left
echo "PASS: slip_test $MODE"
