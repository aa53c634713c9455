#!/usr/bin/env bash
# Knot DNS or NSD as the protected server (issue 19): dnswashd --zones-from knot|nsd reads the
# zones through the server's own control tool (knotc zone-status, nsd-control zonestatus). A
# zone added with the control tool passes within 2 s, a zone removed with it is dropped within
# 2 s, and a query stream for a zone that stays loses nothing meanwhile.
#   knot_nsd_test.sh knot|nsd
# shellcheck source=../support/netns.sh
source "$(dirname "$0")/../support/netns.sh"

SERVER=${1:?usage: knot_nsd_test.sh knot|nsd}
[[ $SERVER == knot || $SERVER == nsd ]] || lab_fail "unknown server $SERVER"
lab_setup
DIR=$LAB_DIR/$SERVER
mkdir -p "$DIR"
for z in keep.test other.test added.test; do netns_zone_file "$DIR/$z.zone" "$z" "$LAB_S4"; done

if [[ $SERVER == knot ]]; then
  SOCK=$DIR/knot.sock
  cat >"$DIR/knot.conf" <<EOF
server:
    rundir: "$DIR"
    pidfile: "$DIR/knot.pid"
    listen: [ $LAB_S4@53, $LAB_S6@53 ]
control:
    listen: "$SOCK"
database:
    storage: "$DIR/db"
template:
  - id: default
    storage: "$DIR"
    file: "%s.zone"
zone:
  - domain: keep.test
  - domain: other.test
EOF
  NETNS_LOGS+=("$LAB_DIR/knotd.log")
  ip netns exec "$LAB_NS_S" knotd -c "$DIR/knot.conf" >"$LAB_DIR/knotd.log" 2>&1 &
  LAB_BG_PIDS+=($!)
  ctl() { knotc -s "$SOCK" "$@"; }
  add_zone() { ctl conf-begin && ctl conf-set "zone[$1]" && ctl conf-commit; }
  remove_zone() { ctl conf-begin && ctl conf-unset "zone[$1]" && ctl conf-commit; }
  DAEMON_ARGS=(--zones-from knot --knot-socket "$SOCK")
else
  CONF=$DIR/nsd.conf
  cat >"$CONF" <<EOF
server:
    ip-address: $LAB_S4
    ip-address: $LAB_S6
    port: 53
    zonesdir: "$DIR"
    pidfile: "$DIR/nsd.pid"
    database: ""
    zonelistfile: "$DIR/zone.list"
    xfrdfile: "$DIR/xfrd.state"
    xfrdir: "$DIR"
    username: ""
    chroot: ""
    logfile: "$LAB_DIR/nsd.log"
remote-control:
    control-enable: yes
    control-interface: "$DIR/nsd.sock"
pattern:
    name: "lab"
    zonefile: "%s.zone"
zone:
    name: keep.test
    include-pattern: "lab"
zone:
    name: other.test
    include-pattern: "lab"
EOF
  nsd-checkconf "$CONF" || lab_fail "the lab's nsd.conf does not check"
  # -d: stay in the foreground, so the pid is nsd's and the cleanup ends it.
  NETNS_LOGS+=("$LAB_DIR/nsd.log")
  ip netns exec "$LAB_NS_S" nsd -d -c "$CONF" >"$LAB_DIR/nsd.out" 2>&1 &
  LAB_BG_PIDS+=($!)
  ctl() { nsd-control -c "$CONF" "$@"; }
  add_zone() { ctl addzone "$1" lab; }
  remove_zone() { ctl delzone "$1"; }
  DAEMON_ARGS=(--zones-from nsd --nsd-conf "$CONF")
fi
lab_wait_until 30 "$SERVER answers for keep.test" lab_s dig +time=1 +tries=1 +norec @"$LAB_S4" keep.test SOA

lab_daemon_start --mode native --zones-poll-ms 500 "${DAEMON_ARGS[@]}"
grep -q "zone source $SERVER: " "$LAB_DAEMON_LOG" || lab_fail "no log line of the $SERVER source"
[[ $(lab_s "$DNSWASHCTL" --iface "$LAB_IF" zones list | tr '\n' ' ') == "keep.test other.test " ]] ||
  lab_fail "zones at start: $(lab_s "$DNSWASHCTL" --iface "$LAB_IF" zones list)"
listed=$(lab_s "$DNSWASHCTL" --iface "$LAB_IF" zones list --json | jq -c .)
grep -q "\"keep.test\":\[\"$SERVER\"\]" <<<"$listed" || lab_fail "zones list --json: $listed"
lab_stream_start "www.keep.test,keep.test" "junk.example"

lab_dropped www.added.test || lab_fail "added.test passes before it is added"
add_zone added.test >/dev/null || lab_fail "$SERVER: adding added.test failed"
lab_expect_within_2s passes www.added.test "$SERVER: zone added with its control tool"

# The zone just added: nsd-control delzone removes only zones added with addzone.
remove_zone added.test >/dev/null || lab_fail "$SERVER: removing added.test failed"
lab_expect_within_2s dropped www.added.test "$SERVER: zone removed with its control tool"

lab_stream_expect_clean "during the zone additions and removals"

lab_daemon_stop TERM
lab_expect_nothing_left
lab_log "PASS"
