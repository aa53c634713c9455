#!/usr/bin/env bash
# The fleet on a three-server NATS JetStream cluster (issue 21, docs/fleet.md "Operator's NATS
# setup"): three nats-servers with cluster routes in the hub namespace, two dnswash nodes (BIND
# and dnswashd --detector --fleet naming all three, --fleet-replicas 3). The streams are made
# with Replicas 3; the server node 1 is connected to is stopped, and a roller against node 1 is
# still banned on node 2 through the two servers left.
# All traffic is generated and stays in the lab's namespaces (192.0.2.0/24).
source "$(dirname "$0")/../support/netns.sh"
: "${DNSWASHD:?}" "${DNSWASHCTL:?}" "${DETQ:?}" "${LAB_CTL:?}"
[[ $(id -u) -eq 0 ]] || netns_fail "the fleet cluster lab needs root"
command -v nats-server >/dev/null || netns_fail "nats-server is not installed (scripts/install-deps.sh)"

ID=$NETNS_ID
HUB=dwfc-hub-$ID CLI=dwfc-c-$ID
DIR=/run/dnswash-fleetc-$ID
SRV=(x 192.0.2.101 192.0.2.102 192.0.2.103)
URLS=nats://${SRV[1]}:4222,nats://${SRV[2]}:4222,nats://${SRV[3]}:4222
ROLLER=192.0.2.51 CLIENT=192.0.2.60
NATS_PIDS=(x "" "" "")
NODE_PIDS=(x "" "")
NAMED_PIDS=()
netns_track_pids NATS_PIDS NODE_PIDS NAMED_PIDS

log() { echo "fleet-cluster-lab[$ID]: $*" >&2; }
ns() { echo "dwfc-n$1-$ID"; }
nfield() { ip netns exec "$(ns "$1")" "$LAB_CTL" --iface e0 --field "$2" '{"cmd":"status"}'; }
ban_origin() { # ban_origin NODE ADDR: the origin of the ban on ADDR listed on NODE ("" = none)
  ip netns exec "$(ns "$1")" "$DNSWASHCTL" bans list --json --iface e0 | python3 -c '
import json, sys
for b in json.load(sys.stdin)["bans"]:
    if b["prefix"] == sys.argv[1]: print(b["origin"])' "$2"
}
banned_on() { [[ -n $(ban_origin "$1" "$2") ]]; }
ms_now() { date +%s%3N; }

start_server() { # start_server N: nats-server N of the cluster, routes to the other two
  local n=$1 m routes=""
  for m in 1 2 3; do ((m == n)) || routes+="nats-route://${SRV[m]}:6222, "; done
  cat >"$DIR/s$n.conf" <<CONF
server_name: s$n
listen: ${SRV[n]}:4222
jetstream { store_dir: "$DIR/s$n" }
cluster {
  name: dwfc
  listen: ${SRV[n]}:6222
  routes: [ ${routes%, } ]
}
CONF
  ip netns exec "$HUB" nats-server -c "$DIR/s$n.conf" -l "$DIR/s$n.log" &
  NATS_PIDS[n]=$!
}
accepts() { ip netns exec "$HUB" bash -c "exec 3<>/dev/tcp/$1/4222"; }
# Every stream subscribed on every node: the cluster has a JetStream leader and the streams
# (made by the first node, Replicas 3) exist.
subscribed() {
  local n
  for n in 1 2; do
    [[ $(nfield $n fleet.replayed) == true ]] || return 1
  done
}
start_node() { # start_node N: dnswashd on node N; the caller polls for the fleet
  local n=$1 d=$DIR/n$1
  ip netns exec "$(ns "$n")" "$DNSWASHD" --iface e0 --named-conf "$d/named/named.conf" \
    --pin-dir "$DIR/bpffs-n$n" --state-dir "$d/state" --ban-state-dir "$d/bans" --mode native \
    --detector --ban-time 60s --detector-window 60s --fleet "$URLS" --fleet-node-id "node$n" \
    --fleet-replicas 3 --fleet-ready-timeout 20s >>"$d/dnswashd.log" 2>&1 &
  NODE_PIDS[n]=$!
}

# ---- the lab ----------------------------------------------------------------------------------
NETNS_DIRS+=("$DIR")
mkdir -p "$DIR"
netns_add "$HUB" "$CLI" "$(ns 1)" "$(ns 2)"
ip -n "$HUB" link add br0 type bridge
ip -n "$HUB" link set br0 up
netns_addr "$HUB" br0 "${SRV[1]}/24" "${SRV[2]}/24" "${SRV[3]}/24"
for n in 1 2; do
  netns_veth "$(ns $n)" e0 "$HUB" "h$n"
  ip -n "$HUB" link set "h$n" master br0
  netns_addr "$(ns $n)" e0 "192.0.2.$n/24"
  d=$DIR/n$n
  mkdir -p "$d/state" "$d/named"
  NETNS_LOGS+=("$d/dnswashd.log")
  netns_mount_bpffs "$DIR/bpffs-n$n"
  netns_named_conf "$d/named/named.conf" "$d/named" "192.0.2.$n" none "$d/named" a.test
  chown -R bind: "$d/named"
  netns_named_start "$(ns $n)" "$d/named/named.conf" "$d/named/named.log"
  NAMED_PIDS+=("$NETNS_NAMED_PID")
done
netns_veth "$CLI" c0 "$HUB" hc
ip -n "$HUB" link set hc master br0
netns_addr "$CLI" c0 $ROLLER/24 $CLIENT/24
for n in 1 2 3; do
  NETNS_LOGS+=("$DIR/s$n.log")
  start_server $n
done
for n in 1 2 3; do netns_wait_until 20 "nats-server $n accepts connections" accepts "${SRV[n]}"; done
for n in 1 2; do
  netns_wait_until 30 "named on node $n answers" ip netns exec "$CLI" dig +time=1 +tries=1 +norec -b $CLIENT @"192.0.2.$n" a.test SOA
done
t0=$(ms_now)
for n in 1 2; do start_node $n; done
netns_wait_until 60 "both nodes replayed the fleet's streams on the cluster" subscribed
log "cluster up, both nodes subscribed $(($(ms_now) - t0)) ms after they started"
grep -q 'created stream DNSWASH_KEEP (3 replica' "$DIR"/n*/dnswashd.log ||
  netns_fail "no node created the streams with 3 replicas"

# One server down: the one node 1 is connected to (its client must move to another).
srv=$(nfield 1 fleet.server)
for n in 1 2 3; do [[ $srv == *"${SRV[n]}"* ]] && down=$n; done
[[ -n ${down:-} ]] || netns_fail "node 1 is connected to '$srv', not a lab server"
kill -TERM "${NATS_PIDS[down]}"
netns_wait_pid_gone "${NATS_PIDS[down]}" 20 || netns_fail "nats-server $down did not stop"
NATS_PIDS[down]=
log "stopped nats-server $down (${SRV[down]}), node 1's server"

t1=$(ms_now)
ip netns exec "$CLI" "$DETQ" roll 192.0.2.1 a.test --source $ROLLER --count 10 --timeout-ms 300 \
  --stop-after-drops 1 >/dev/null
[[ $(ban_origin 1 $ROLLER) == detector ]] || netns_fail "node 1 did not ban the roller"
netns_wait_until 20 "node 2 bans $ROLLER through the two servers left" banned_on 2 $ROLLER
[[ $(ban_origin 2 $ROLLER) == fleet ]] || netns_fail "node 2: origin $(ban_origin 2 $ROLLER)"
rx=$(nfield 2 fleet.peers.node1.last_message_unix_ms)
log "node 2 applied node 1's ban $((rx - t1)) ms after the roller started (one of three servers down; node 1 reconnected to $(nfield 1 fleet.server))"
rc=0
ip netns exec "$CLI" dig +time=1 +tries=1 +norec -b $ROLLER @192.0.2.2 www.a.test A >/dev/null 2>&1 || rc=$?
[[ $rc == 9 ]] || netns_fail "node 2 answered the banned roller (dig rc $rc)"
for n in 1 2; do
  kill -TERM "${NODE_PIDS[n]}"
  netns_wait_pid_gone "${NODE_PIDS[n]}" 20 || netns_fail "dnswashd on node $n did not stop"
  wait "${NODE_PIDS[n]}" || netns_fail "dnswashd on node $n exited non-zero"
  NODE_PIDS[n]=
done
log "ok"
