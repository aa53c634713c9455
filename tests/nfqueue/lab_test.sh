#!/usr/bin/env bash
# End-to-end test of the NFQUEUE fallback with a real BIND, in two private network namespaces
# joined by a veth pair (client 192.0.2.1 / 2001:db8::1, server 192.0.2.53 / 2001:db8::53):
#   1. fail-open, one queue: served names answered over IPv4 and IPv6, junk names time out (no
#      answer, not REFUSED), a banned source and CHAOS time out, ping and TCP/53 untouched, a
#      query whose IPv6 headers are longer than the copy range judged whole, counters exact,
#      no rule left after SIGTERM
#   2. two queues: both serve traffic, counters exact
#   3. dry-run: junk answered, counted as not-authoritative and dry-run-passed
#   4. SIGKILL, fail-open: traffic flows (--queue-bypass); stale rules removed afterwards
#   5. SIGSTOP, fail-open: once the queue is full, queries pass (NFQA_CFG_F_FAIL_OPEN)
#   6. --fail-closed: SIGSTOP with a full queue and SIGKILL both drop everything
# Every rule lives in the server namespace only; everything is removed on any exit.
# Usage: lab_test.sh NFQ_LAB_DRIVER DNSWASH_UDP_LOAD
set -euo pipefail

driver=$(readlink -f "$1")
load=$(readlink -f "$2")
# shellcheck source=../support/netns.sh
source "$(dirname "$0")/../support/netns.sh"
id=$NETNS_ID
srv=dwnfq-s-$id cli=dwnfq-c-$id vs=vs$id vc=vc$id # namespaces, veth ends
tmp=$(mktemp -d /tmp/dnswash-nfq-lab.XXXXXX) && NETNS_DIRS+=("$tmp")
driver_pid=
netns_track_pids driver_pid

fail() { netns_fail "$@"; }
pass() { echo "ok: $*"; }

S() { ip netns exec "$srv" "$@"; }
C() { ip netns exec "$cli" "$@"; }

# --- network ---------------------------------------------------------------------------------
netns_add "$srv" "$cli"
netns_veth "$cli" "$vc" "$srv" "$vs"
netns_addr "$srv" "$vs" 192.0.2.53/24 2001:db8::53/64
netns_addr "$cli" "$vc" 192.0.2.1/24 192.0.2.9/24 2001:db8::1/64 # .9: the banned source
# more sources: --queue-balance spreads flows by address, not port
srcs4=() srcs6=()
for i in 2 3 4 5 6 7 8; do
  netns_addr "$cli" "$vc" "192.0.2.$i/24" "2001:db8::$i/64"
  srcs4+=(--src "192.0.2.$i")
  srcs6+=(--src "2001:db8::$i")
done

# --- BIND ------------------------------------------------------------------------------------
mkdir -p "$tmp/named"
netns_named_conf "$tmp/named/named.conf" "$tmp/named" 192.0.2.53 2001:db8::53 "$tmp/named" \
  example.com example.net
netns_named_start "$srv" "$tmp/named/named.conf" "$tmp/named.log" root

# status NAME TYPE [dig args...]: NOERROR, NXDOMAIN, REFUSED, ... or TIMEOUT. One try, one
# packet: a dropped query is exactly one count.
status() {
  local name=$1 type=$2 out
  shift 2
  # Options after the name: dig 9.18 sends a second query when -c comes before it.
  out=$(C dig +tries=1 +time=1 +norecurse "$name" "$type" "$@" 2>&1) || true
  if grep -q 'status: ' <<<"$out"; then
    sed -n 's/.*status: \([A-Z]*\).*/\1/p' <<<"$out" | head -1
  else
    echo TIMEOUT
  fi
}
expect() {  # expect WANT NAME TYPE [dig args...]
  local want=$1 got
  shift
  got=$(status "$@")
  [[ $got == "$want" ]] || fail "dig $* -> $got, want $want"
  pass "dig $* -> $got"
}
V4=(@192.0.2.53)
V6=(@2001:db8::53)

deadline=$((SECONDS + 30))
until [[ $(status example.com SOA "${V4[@]}") == NOERROR && $(status example.com SOA "${V6[@]}") == NOERROR ]]; do
  ((SECONDS < deadline)) || { cat "$tmp/named.log"; fail "named did not answer within 30 s"; }
done
pass "named answers"

rules_left() {  # how many dnswash rules/tables the server namespace holds
  local n=0
  n=$((n + $(S iptables-nft -w 5 -t raw -S 2>/dev/null | grep -c dnswash || true)))
  n=$((n + $(S ip6tables-nft -w 5 -t raw -S 2>/dev/null | grep -c dnswash || true)))
  n=$((n + $(S nft list ruleset 2>/dev/null | grep -c dnswash || true)))
  echo "$n"
}

# start_driver NAME ARGS...: runs the driver in the server namespace, waits until its rules are in.
start_driver() {
  local name=$1
  shift
  rm -f "$tmp/$name.ready"
  ip netns exec "$srv" "$driver" --iface "$vs" --zone example.com --zone example.net --ready-file "$tmp/$name.ready" \
    --out "$tmp/$name.json" "$@" >"$tmp/$name.log" 2>&1 &
  driver_pid=$!
  local deadline=$((SECONDS + 20))
  until [[ -s $tmp/$name.ready ]]; do
    kill -0 "$driver_pid" 2>/dev/null || { cat "$tmp/$name.log"; fail "driver $name exited"; }
    ((SECONDS < deadline)) || fail "driver $name not ready within 20 s"
    sleep 0.05
  done
  [[ $(rules_left) -ge 2 ]] || fail "driver $name: rules not visible"
  pass "driver $name up ($(cat "$tmp/$name.ready"))"
}
stop_driver() {  # SIGTERM and wait for the JSON
  kill -TERM "$driver_pid"
  wait "$driver_pid" || { cat "$tmp/$1.log"; fail "driver $1 exited with an error"; }
  driver_pid=
}
counter() { jq -r ".counters[\"$2\"]" "$tmp/$1.json"; }
expect_counter() {  # expect_counter RUN NAME WANT
  local got
  got=$(counter "$1" "$2")
  [[ $got == "$3" ]] || { cat "$tmp/$1.json"; fail "$1: counter $2 = $got, want $3"; }
  pass "$1: $2 = $got"
}
expect_zero_except() {  # every counter not named is 0
  local run=$1
  shift
  local names
  names=$(jq -r '.counters | to_entries[] | select(.value != 0) | .key' "$tmp/$run.json")
  for n in $names; do
    [[ " $* " == *" $n "* ]] || { cat "$tmp/$run.json"; fail "$run: unexpected counter $n"; }
  done
}

# --- 1. fail-open, one queue -----------------------------------------------------------------
start_driver one --ban 192.0.2.9
expect NOERROR www.example.com A "${V4[@]}"
expect NOERROR www.example.net AAAA "${V6[@]}"
expect NOERROR example.com SOA "${V4[@]}"
expect NOERROR WwW.ExAmPlE.CoM A "${V6[@]}"
expect TIMEOUT junk1.example.org A "${V4[@]}"
expect TIMEOUT junk2.invalid-zone.test AAAA "${V6[@]}"
expect TIMEOUT example.co A "${V4[@]}"
expect TIMEOUT www.example.com A "${V4[@]}" -b 192.0.2.9
expect TIMEOUT version.bind TXT "${V4[@]}" -c CH
# other traffic untouched: TCP/53 reaches BIND even for a junk name (it refuses it itself)
expect REFUSED junk3.example.org A "${V4[@]}" +tcp
expect REFUSED junk4.example.org A "${V6[@]}" +tcp
C ping -c1 -W2 192.0.2.53 >/dev/null || fail "ping over IPv4"
C ping -c1 -W2 2001:db8::53 >/dev/null || fail "ping over IPv6"
pass "ping over IPv4 and IPv6"
# headers longer than the copy range: judged on the whole-packet queue
C "$load" send --dst 2001:db8::53 --suffix example.com --count 1 --sockets 1 --dstopts 520 >/dev/null
C "$load" send --dst 2001:db8::53 --suffix junk.test --count 1 --sockets 1 --dstopts 520 >/dev/null
stop_driver one
expect_counter one allowed 5
expect_counter one not-authoritative 4
expect_counter one banned 1
expect_counter one chaos 1
expect_zero_except one allowed not-authoritative banned chaos
q=$(jq -c '.queues[0]' "$tmp/one.json")
[[ $(jq .requeued <<<"$q") == 2 && $(jq .packets <<<"$q") == 11 && $(jq .dropped <<<"$q") == 6 ]] ||
  fail "one: queue stats $q"
[[ $(jq .verdict_msgs <<<"$q") -le 13 && $(jq .errors <<<"$q") == 0 ]] || fail "one: queue stats $q"
pass "one: queue stats $q"
[[ $(rules_left) == 0 ]] || fail "rules left after SIGTERM"
pass "no rule left after SIGTERM"
expect REFUSED junk5.example.org A "${V4[@]}"

# --- 2. two queues ---------------------------------------------------------------------------
start_driver two --queues 2
expect NOERROR www.example.com A "${V4[@]}"
expect TIMEOUT junk6.example.org A "${V6[@]}"
C "$load" send --dst 192.0.2.53 --suffix example.net --count 2000 --sockets 16 --pps 20000 \
  "${srcs4[@]}" >/dev/null
# unpaced: packets arrive faster than one at a time, so verdicts go out in batches
C "$load" send --dst 2001:db8::53 --suffix junk.test --count 1000 --sockets 16 \
  "${srcs6[@]}" >/dev/null
stop_driver two
expect_counter two allowed 2001
expect_counter two not-authoritative 1001
expect_zero_except two allowed not-authoritative
[[ $(jq '.queues | length' "$tmp/two.json") == 2 ]] || fail "two: not two queues"
for i in 0 1; do
  p=$(jq ".queues[$i].packets" "$tmp/two.json")
  ((p > 100)) || fail "two: queue $i judged only $p packets"
done
pass "two: both queues served ($(jq -c '[.queues[].packets]' "$tmp/two.json"))"
msgs=$(jq '[.queues[].verdict_msgs] | add' "$tmp/two.json")
((msgs < 3002)) || fail "two: $msgs verdict messages for 3002 packets: no batching"
pass "two: $msgs verdict messages for 3002 packets"
[[ $(rules_left) == 0 ]] || fail "rules left after SIGTERM"

# --- 3. dry-run ------------------------------------------------------------------------------
start_driver dry --dry-run
expect REFUSED junk7.example.org A "${V4[@]}"
expect NOERROR www.example.com A "${V4[@]}"
stop_driver dry
expect_counter dry not-authoritative 1
expect_counter dry dry-run-passed 1
expect_counter dry allowed 1
expect_zero_except dry allowed not-authoritative dry-run-passed

# --- 4. SIGKILL, fail-open: --queue-bypass ---------------------------------------------------
start_driver kill
expect TIMEOUT junk8.example.org A "${V4[@]}"
kill -KILL "$driver_pid"
wait "$driver_pid" 2>/dev/null || true
driver_pid=
expect REFUSED junk9.example.org A "${V4[@]}"
expect NOERROR www.example.com A "${V6[@]}"
pass "killed: traffic flows through the stale rules (bypass)"
removed=$(S "$driver" --remove-stale "$vs")
[[ $removed == 2 && $(rules_left) == 0 ]] || fail "remove-stale removed $removed, $(rules_left) left"
pass "remove-stale removed the 2 stale rules"

# --- 5. SIGSTOP, fail-open: a full queue accepts ---------------------------------------------
start_driver stop --queue-maxlen 16
expect TIMEOUT junk10.example.org A "${V4[@]}"
kill -STOP "$driver_pid"
expect TIMEOUT junk11.example.org A "${V4[@]}"  # held: 1 of 16 in the queue
C "$load" send --dst 192.0.2.53 --suffix junk.test --count 64 --sockets 1 >/dev/null
expect REFUSED junk11.example.org A "${V4[@]}"
expect NOERROR www.example.net A "${V6[@]}"
pass "stopped with a full queue: traffic flows (NFQA_CFG_F_FAIL_OPEN)"
kill -CONT "$driver_pid"
stop_driver stop
# 1 junk before the stop, then the 16 the full queue held (junk11 among them), judged after
# SIGCONT
expect_counter stop not-authoritative 17
[[ $(rules_left) == 0 ]] || fail "rules left after SIGTERM"

# --- 6. --fail-closed ------------------------------------------------------------------------
start_driver closed --fail-closed --queue-maxlen 16
expect NOERROR www.example.com A "${V4[@]}"
expect TIMEOUT junk12.example.org A "${V4[@]}"
kill -STOP "$driver_pid"
C "$load" send --dst 192.0.2.53 --suffix example.com --count 64 --sockets 1 >/dev/null
expect TIMEOUT www.example.com A "${V4[@]}"
pass "fail-closed, stopped with a full queue: even served names are dropped"
kill -CONT "$driver_pid"
expect NOERROR www.example.com A "${V4[@]}"
kill -KILL "$driver_pid"
wait "$driver_pid" 2>/dev/null || true
driver_pid=
expect TIMEOUT www.example.com A "${V4[@]}"
pass "fail-closed, killed: everything to port 53 is dropped"
removed=$(S "$driver" --remove-stale "$vs")
[[ $removed == 2 && $(rules_left) == 0 ]] || fail "remove-stale removed $removed, $(rules_left) left"
expect NOERROR www.example.com A "${V4[@]}"

echo "PASS: nfqueue lab"
