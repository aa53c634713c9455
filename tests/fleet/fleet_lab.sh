#!/usr/bin/env bash
# The fleet's acceptance lab (docs/fleet.md): a real nats-server with JetStream and three
# dnswash nodes, each a namespace with BIND and dnswashd --detector --fleet, joined by a bridge
# in a hub namespace; rollers in a client namespace (tests/support/netns.sh).
#   1. a roller against node 1 is banned on nodes 2 and 3 within 1 s, and dropped there;
#   2. nats-server is stopped for 10 s while node 2 bans a second roller, then started:
#      nodes 1 and 3 get that ban within 2 s of the restart, node 2 dropped nothing;
#   3. node 3 is stopped, nodes 1 and 2 ban a third roller, node 3 starts with
#      --fleet-quorum 2: it drops that roller as soon as it answers on its control socket
#      (before it reports ready), and no longer bans the rollers only one node reported;
#   4. the local never-ban list of node 3 wins over a ban both other nodes report;
#   5. forged messages (bad JSON, huge, a /8, host bits) are rejected and counted, nothing
#      changes;
#   6. (run after 1, while every node has quorum 1) `dnswashctl zones shield a.test on` on node
#      1: nodes 2 and 3 shield a.test within 1 s, a missing name under it is answered by XDP on
#      node 2 (its named never sees it); `off` on node 1: off everywhere within 1 s.
# All traffic is generated and stays in the lab's namespaces (192.0.2.0/24).
source "$(dirname "$0")/../support/netns.sh"
: "${DNSWASHD:?}" "${DNSWASHCTL:?}" "${DETQ:?}" "${LAB_CTL:?}" "${FLEET_PUB:?}" "${XDP_PASS_OBJ:?}"
[[ $(id -u) -eq 0 ]] || netns_fail "the fleet lab needs root"
command -v nats-server >/dev/null || netns_fail "nats-server is not installed (scripts/install-deps.sh)"

ID=$NETNS_ID
HUB=dwfl-hub-$ID CLI=dwfl-c-$ID
DIR=/run/dnswash-fleet-$ID
NATS_ADDR=192.0.2.100 URL=nats://192.0.2.100:4222
ROLLER1=192.0.2.51 ROLLER2=192.0.2.52 ROLLER3=192.0.2.53 NEVER=192.0.2.54 FORGED=192.0.2.55
CLIENT=192.0.2.60 # never rolls: shows a node still answers
NATS_PID=
NOTIFY_PID=
LOG_FROM=
NODE_PIDS=(x "" "" "")
NAMED_PIDS=()
netns_track_pids NATS_PID NOTIFY_PID NODE_PIDS NAMED_PIDS

log() { echo "fleet-lab[$ID]: $*" >&2; }
ns() { echo "dwfl-n$1-$ID"; }
nctl() { # nctl NODE ARGS...: dnswashctl on a node
  local n=$1
  shift
  ip netns exec "$(ns "$n")" "$DNSWASHCTL" "$@" --iface e0
}
nfield() { ip netns exec "$(ns "$1")" "$LAB_CTL" --iface e0 --field "$2" '{"cmd":"status"}'; }
# ban_origin NODE ADDR: the origin of the ban on ADDR listed on NODE ("" = none).
ban_origin() {
  nctl "$1" bans list --json | python3 -c '
import json, sys
for b in json.load(sys.stdin)["bans"]:
    if b["prefix"] == sys.argv[1]: print(b["origin"])' "$2"
}
banned_on() { [[ -n $(ban_origin "$1" "$2") ]]; }
all_banned() { # all_banned ADDR NODE...
  local a=$1 n
  shift
  for n in "$@"; do banned_on "$n" "$a" || return 1; done
}
# answered / dropped NODE FROM: one query for www.a.test from FROM to NODE's BIND.
dig_rc() {
  local rc=0
  ip netns exec "$CLI" dig +time=1 +tries=1 +norec -b "$2" @"192.0.2.$1" www.a.test A >/dev/null 2>&1 || rc=$?
  echo "$rc"
}
expect_answered() { [[ $(dig_rc "$1" "$2") == 0 ]] || netns_fail "node $1 did not answer $2"; }
expect_dropped() { [[ $(dig_rc "$1" "$2") == 9 ]] || netns_fail "node $1 answered $2 (expected dropped)"; }
roll() { # roll NODE SOURCE: a www roller until its queries are dropped
  ip netns exec "$CLI" "$DETQ" roll "192.0.2.$1" a.test --source "$2" --count 10 --timeout-ms 300 \
    --stop-after-drops 1 >/dev/null
}

start_nats() {
  ip netns exec "$HUB" nats-server -js -sd "$DIR/nats" -a $NATS_ADDR -p 4222 -l "$DIR/nats.log" &
  NATS_PID=$!
  netns_wait_until 20 "nats-server accepts connections" ip netns exec "$HUB" bash -c "exec 3<>/dev/tcp/$NATS_ADDR/4222"
}
stop_nats() {
  kill -TERM "$NATS_PID"
  netns_wait_pid_gone "$NATS_PID" 20 || netns_fail "nats-server did not stop"
  wait "$NATS_PID" || true
  NATS_PID=
}
# start_node N [ARGS...]: dnswashd on node N, started as systemd's Type=notify starts it;
# returns once READY=1 has arrived on its notify socket (sent after the fleet replay, docs/fleet.md
# "Startup").
start_node() {
  local n=$1 d=$DIR/n$1
  shift
  rm -f "$d/notify.sock"
  touch "$d/dnswashd.log"
  LOG_FROM=$(($(wc -l <"$d/dnswashd.log") + 1)) # this start's first line
  "$LAB_CTL" --notify-listen "$d/notify.sock" >"$d/notify.out" &
  NOTIFY_PID=$!
  netns_wait_until 10 "the notify socket of node $n" test -S "$d/notify.sock"
  NOTIFY_SOCKET=$d/notify.sock ip netns exec "$(ns "$n")" "$DNSWASHD" --iface e0 \
    --named-conf "$d/named/named.conf" --pin-dir "$DIR/bpffs-n$n" --state-dir "$d/state" \
    --ban-state-dir "$d/bans" --mode native --detector --ban-time 60s --detector-window 60s \
    --fleet "$URL" --fleet-node-id "node$n" "$@" >>"$d/dnswashd.log" 2>&1 &
  NODE_PIDS[n]=$!
  netns_wait_pid_gone "$NOTIFY_PID" 40 || netns_fail "no READY=1 from node $n within 40 s"
  wait "$NOTIFY_PID" || netns_fail "node $n: the notify listener failed (dnswashd exited?)"
  NOTIFY_PID=
  grep -q '^READY=1$' "$d/notify.out" || netns_fail "node $n notify: $(cat "$d/notify.out")"
}
stop_node() {
  kill -TERM "${NODE_PIDS[$1]}"
  netns_wait_pid_gone "${NODE_PIDS[$1]}" 20 || netns_fail "dnswashd on node $1 did not stop"
  wait "${NODE_PIDS[$1]}" || netns_fail "dnswashd on node $1 exited non-zero"
  NODE_PIDS[$1]=
}
ms_now() { date +%s%3N; }
# zone_field NODE FIELD: a.test's FIELD in NODE's `zones shield --json` ("" = no entry yet).
zone_field() {
  nctl "$1" zones shield --json | python3 -c '
import json, sys
for z in json.load(sys.stdin)["zones"]:
    if z["zone"] == "a.test": print(json.dumps(z[sys.argv[1]]))' "$2"
}
shield_is() { # shield_is true|false NODE...: a.test shielded or not on every NODE
  local want=$1 n
  shift
  for n in "$@"; do [[ $(zone_field "$n" shielded) == "$want" ]] || return 1; done
}
# log_ms NODE REGEX: the time (epoch ms) of NODE's last dnswashd log line matching REGEX: the
# daemons' own clock (one machine), as dnswashctl polls lag on a loaded machine.
log_ms() {
  local line
  line=$(grep -E "$2" "$DIR/n$1/dnswashd.log" | tail -n1)
  [[ -n $line ]] || netns_fail "node $1 logged no line matching '$2'"
  echo $(($(date -d "$(cut -c1-23 <<<"$line")" +%s%N) / 1000000))
}
drops_above() { (($(zone_field "$1" drops) > $2)); }
named_saw() { grep -q "query: $2 IN A" "$DIR/n$1/named/named.log"; }
# shield_or_named NODE DROPS0 NAME: the shield counted a drop since DROPS0, or named logged NAME.
shield_or_named() { drops_above "$1" "$2" || named_saw "$1" "$3"; }

# ---- the lab ----------------------------------------------------------------------------------
NETNS_DIRS+=("$DIR")
mkdir -p "$DIR/nats"
NETNS_LOGS+=("$DIR/nats.log")
netns_add "$HUB" "$CLI" "$(ns 1)" "$(ns 2)" "$(ns 3)"
ip -n "$HUB" link add br0 type bridge
ip -n "$HUB" link set br0 up
netns_addr "$HUB" br0 $NATS_ADDR/24
for n in 1 2 3; do
  netns_veth "$(ns $n)" e0 "$HUB" "h$n"
  ip -n "$HUB" link set "h$n" master br0
  netns_addr "$(ns $n)" e0 "192.0.2.$n/24"
  d=$DIR/n$n
  mkdir -p "$d/state" "$d/named"
  NETNS_LOGS+=("$d/dnswashd.log")
  netns_mount_bpffs "$DIR/bpffs-n$n"
  netns_named_conf "$d/named/named.conf" "$d/named" "192.0.2.$n" none "$d/named" a.test
  # The shield transfers the zone from the node's own named (127.0.0.1); querylog shows which
  # queries named saw (step 6).
  sed -i "s|listen-on port 53 { 192.0.2.$n; };|listen-on port 53 { 192.0.2.$n; 127.0.0.1; };\n  allow-transfer { 127.0.0.1; };\n  querylog yes;|" "$d/named/named.conf"
  chown -R bind: "$d/named"
  netns_named_start "$(ns $n)" "$d/named/named.conf" "$d/named/named.log"
  NAMED_PIDS+=("$NETNS_NAMED_PID")
done
# The shield's NXDOMAIN leaves node 2 by XDP_TX: a native veth delivers it only if the peer
# runs an XDP program (tests/lab/slip_test.sh), here node 2's bridge port.
[[ -f $XDP_PASS_OBJ ]] || netns_fail "no $XDP_PASS_OBJ (build the xdp_pass_skel target)"
ip -n "$HUB" link set dev h2 xdpdrv obj "$XDP_PASS_OBJ" sec xdp || netns_fail "cannot attach xdp_pass to h2"
netns_veth "$CLI" c0 "$HUB" hc
ip -n "$HUB" link set hc master br0
netns_addr "$CLI" c0 $ROLLER1/24 $ROLLER2/24 $ROLLER3/24 $NEVER/24 $FORGED/24 $CLIENT/24
for n in 1 2 3; do
  netns_wait_until 30 "named on node $n answers" ip netns exec "$CLI" dig +time=1 +tries=1 +norec -b $CLIENT @"192.0.2.$n" a.test SOA
done
start_nats
for n in 1 2 3; do start_node $n; done
for n in 1 2 3; do
  [[ $(nfield $n fleet.connected) == true ]] || netns_fail "node $n not connected to NATS"
  [[ $(nfield $n fleet.replayed) == true ]] || netns_fail "node $n did not finish its replay"
done

# 1. A roller against node 1: banned there by the detector, on 2 and 3 by the fleet, within 1 s.
roll 1 $ROLLER1
[[ $(ban_origin 1 $ROLLER1) == detector ]] || netns_fail "node 1 did not ban the roller"
netns_wait_until 5 "nodes 2 and 3 ban $ROLLER1" all_banned $ROLLER1 2 3
for n in 2 3; do
  [[ $(ban_origin $n $ROLLER1) == fleet ]] || netns_fail "node $n: origin $(ban_origin $n $ROLLER1)"
  # The delay of node 1's last message as node N saw it (one clock: the lab's machine).
  delay=$(nfield $n fleet.peers.node1.last_delay_ms)
  log "node $n applied node 1's ban ${delay} ms after it was made"
  ((delay <= 1000)) || netns_fail "node $n got the ban after ${delay} ms (> 1 s)"
  expect_dropped $n $ROLLER1
  expect_answered $n $CLIENT
done
nctl 2 fleet | grep -q 'node1' || netns_fail "dnswashctl fleet on node 2 does not show node1: $(nctl 2 fleet)"

# 6. The zone shield, shared (here: every node still has quorum 1).
pub2=$(nfield 2 fleet.local_changes)
t0=$(ms_now)
nctl 1 zones shield a.test on >/dev/null
netns_wait_until 10 "a.test shielded on nodes 1, 2 and 3" shield_is true 1 2 3
log "shield on: nodes 1-3 report a.test shielded $(($(ms_now) - t0)) ms after the command (dnswashctl polls)"
t_cmd=$(log_ms 1 "shield a\.test on$")
log "node 1 shielded a.test $(($(log_ms 1 "shield: a\.test ON \(") - t_cmd)) ms after its command (names loaded first)"
for n in 2 3; do
  took=$(($(log_ms $n "shield: a\.test ON \(") - t_cmd))
  log "node $n shielded a.test $took ms after node 1's command (daemon logs)"
  ((took <= 1000)) || netns_fail "node $n shielded a.test $took ms after node 1 (> 1 s)"
  [[ $(zone_field $n fleet) == true && $(zone_field $n local) == false ]] ||
    netns_fail "node $n: a.test not shielded for the fleet: $(nctl $n zones shield --json)"
done
[[ $(zone_field 1 fleet) == false ]] || netns_fail "node 1 applied its own shield message"
[[ $(nfield 2 fleet.local_changes) == "$pub2" ]] || netns_fail "node 2 re-published the fleet's shield"
# A missing name under a.test, to node 2: stopped by XDP (the shield's count grows), named never
# sees it. The NXDOMAIN leaves by XDP_TX through the hub's bridge. (It was once seen lost
# there: the frame, an skb's buffer, had no room to grow to the NXDOMAIN with its SOA; the
# shield now answers without the SOA then, counted shield-short.)
# The name set keeps 16-bit fingerprints, so about 1 missing name in 1,850 matches an existing
# one's and goes on to named (docs/detector.md). Such a name is told apart (named logs it, the
# shield's count stays) and the next one is asked: three in a row would be a broken shield.
miss=
for k in 1 2 3; do
  name=shielded$k-$ID.a.test
  drops0=$(zone_field 2 drops)
  ip netns exec "$CLI" dig +time=1 +tries=1 +norec -b $CLIENT @192.0.2.2 "$name" A >"$DIR/dig.out" ||
    netns_fail "node 2: no answer for $name under the shield"
  grep -q 'status: NXDOMAIN' "$DIR/dig.out" || netns_fail "node 2: $name: $(cat "$DIR/dig.out")"
  netns_poll 5 shield_or_named 2 "$drops0" "$name" ||
    netns_fail "node 2: $name answered, but neither the shield counted it nor named logged it"
  if drops_above 2 "$drops0"; then
    miss=$name
    break
  fi
  log "node 2: $name passed to named (a fingerprint match); asking another name"
done
[[ -n $miss ]] || netns_fail "node 2: three missing names in a row passed the shield to named"
log "node 2: $miss answered NXDOMAIN (from XDP)"
# Off on node 1: off everywhere.
t0=$(ms_now)
nctl 1 zones shield a.test off >/dev/null
netns_wait_until 10 "a.test open on nodes 1, 2 and 3" shield_is false 1 2 3
log "shield off: nodes 1-3 report a.test open $(($(ms_now) - t0)) ms after the command (dnswashctl polls)"
t_cmd=$(log_ms 1 "shield a\.test off$")
for n in 2 3; do
  took=$(($(log_ms $n "shield: a\.test off \(") - t_cmd))
  log "node $n released a.test $took ms after node 1's command (daemon logs)"
  ((took <= 1000)) || netns_fail "node $n released a.test $took ms after node 1 (> 1 s)"
done
nctl 1 zones shield a.test auto >/dev/null
# The same kind of query now reaches named, which logs it: it would have logged the first.
miss2=nosuch2-$ID.a.test
ip netns exec "$CLI" dig +time=1 +tries=1 +norec -b $CLIENT @192.0.2.2 "$miss2" A >/dev/null ||
  netns_fail "node 2 did not answer $miss2 once open"
netns_wait_until 5 "named on node 2 logs $miss2" named_saw 2 "$miss2"
named_saw 2 "$miss" && netns_fail "named on node 2 saw $miss, asked while a.test was shielded"

# 2. NATS down for 10 s while node 2 bans a second roller.
stop_nats
t_stop=$SECONDS
netns_wait_until 5 "node 2 sees NATS down" bash -c "[[ \$(ip netns exec $(ns 2) $LAB_CTL --iface e0 --field fleet.connected '{\"cmd\":\"status\"}') == false ]]"
roll 2 $ROLLER2
[[ $(ban_origin 2 $ROLLER2) == detector ]] || netns_fail "node 2 did not ban the second roller"
(($(nfield 2 fleet.queue.queued) >= 1)) || netns_fail "node 2 queued nothing while NATS was down"
expect_dropped 2 $ROLLER2 # enforcement goes on without NATS
# The outage's length is the scenario, not a synchronisation.
sleep $((10 - (SECONDS - t_stop) > 0 ? 10 - (SECONDS - t_stop) : 0))
t1=$(ms_now) # before the start: the figure below includes nats-server's own start-up
start_nats
netns_wait_until 10 "nodes 1 and 3 ban $ROLLER2" all_banned $ROLLER2 1 3
for n in 1 3; do
  # When node N received node 2's message and applied it, by the node's own clock: polling
  # with dnswashctl from the lab is slower than the fleet on a loaded machine.
  rx=$(nfield $n fleet.peers.node2.last_message_unix_ms)
  took=$((rx - t1))
  log "node $n applied node 2's queued ban $took ms after nats-server was started again"
  ((took <= 2000)) || netns_fail "node $n got the queued ban $took ms after the restart (> 2 s)"
done
[[ $(nfield 2 fleet.queue.dropped) == 0 ]] || netns_fail "node 2 dropped queued messages"
[[ $(nfield 2 fleet.queue.queued) == 0 ]] || netns_fail "node 2 still has messages queued"
expect_dropped 1 $ROLLER2
expect_dropped 3 $ROLLER2

# 3. Node 3 is away while a third roller (and the never-ban source of step 4) is banned by
#    node 1's detector and, by hand, on node 2 (the fleet's ban already drops it there, so
#    node 2's detector would never see it; a manual ban is published too); node 3 comes back
#    with --fleet-quorum 2 and --never-ban.
stop_node 3
for a in $ROLLER3 $NEVER; do
  roll 1 "$a"
  netns_wait_until 5 "node 2 has node 1's ban on $a" banned_on 2 "$a"
  nctl 2 bans add "$a" --for 60s >/dev/null
  [[ $(ban_origin 2 "$a") == operator ]] || netns_fail "node 2: manual ban on $a not listed"
done
start_node 3 --fleet-quorum 2 --never-ban $NEVER
# READY=1 came after the replay: the ban was put into the map before it (its log line comes
# before "ready:"), and it is in force now.
log3=$(tail -n +"$LOG_FROM" "$DIR/n3/dnswashd.log")
ban_line=$(grep -n "fleet: banned $ROLLER3 " <<<"$log3" | head -n1 | cut -d: -f1)
ready_line=$(grep -n 'ready: e0' <<<"$log3" | head -n1 | cut -d: -f1)
[[ -n $ban_line && -n $ready_line ]] || netns_fail "node 3's log lacks the fleet ban or ready: $log3"
((ban_line < ready_line)) || netns_fail "node 3 reported ready before it applied the fleet's ban"
[[ $(ban_origin 3 $ROLLER3) == fleet ]] || netns_fail "node 3 is ready without the fleet's ban on $ROLLER3"
expect_dropped 3 $ROLLER3
[[ $(nfield 3 fleet.replayed) == true ]] || netns_fail "node 3 did not finish its replay"
# Reported by one node only: not applied under quorum 2 (the bans saved before are dropped).
for a in $ROLLER1 $ROLLER2; do
  banned_on 3 "$a" && netns_fail "node 3 (quorum 2) bans $a, which one node reported"
  expect_answered 3 "$a"
done
(($(nfield 3 fleet.pending_quorum) >= 2)) || netns_fail "node 3 pending_quorum: $(nfield 3 fleet.pending_quorum)"

# 4. Never-ban on node 3 wins over the ban both other nodes report.
banned_on 3 $NEVER && netns_fail "node 3 banned its never-ban source"
(($(nfield 3 fleet.never_ban_refused) >= 1)) || netns_fail "node 3 counted no never-ban refusal"
expect_answered 3 $NEVER

# 5. Forged messages, straight into the stream: rejected, counted, nothing changes.
rej0=$(nfield 1 fleet.rejected.total)
bans0=$(nctl 1 bans list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
subj=dnswash.bans.mallory.prefix.00000000000000000000ffffc0000237_128 # 192.0.2.55
now=$(ms_now)
pub() { ip netns exec "$CLI" "$FLEET_PUB" "$URL" "$subj" "$@"; }
pub '{"v":1,"type":"ban","node":"mallory"'
pub --size 8000
for p in 192.0.0.0/8 192.0.2.55/24; do
  pub "{\"v\":1,\"node\":\"mallory\",\"seq\":1,\"at_ms\":$now,\"type\":\"ban\",\"prefix\":\"$p\",\"reason\":\"manual\",\"zone\":null,\"start_ms\":$now,\"expires_ms\":$((now + 60000)),\"offenses\":1}"
done
netns_wait_until 5 "node 1 rejects the 4 forged messages" bash -c "(( \$(ip netns exec $(ns 1) $LAB_CTL --iface e0 --field fleet.rejected.total '{\"cmd\":\"status\"}') >= $rej0 + 4 ))"
[[ $(nfield 1 fleet.rejected.malformed) -ge 1 && $(nfield 1 fleet.rejected.oversized) -ge 1 &&
  $(nfield 1 fleet.rejected.range) -ge 2 ]] || netns_fail "rejects by reason: $(nctl 1 fleet --json)"
bans1=$(nctl 1 bans list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
[[ $bans1 == "$bans0" ]] || netns_fail "forged messages changed node 1's bans ($bans0 -> $bans1)"
expect_answered 1 $FORGED
nctl 1 stats --json | python3 -c 'import json,sys; f=json.load(sys.stdin)["fleet"]; assert f["rejected"]["total"] >= 4, f' ||
  netns_fail "stats --json has no fleet section"
nctl 1 metrics | grep -q '^dnswash_fleet_rejected_total' || netns_fail "no dnswash_fleet_* metrics"

for n in 1 2 3; do stop_node $n; done
log "ok"
