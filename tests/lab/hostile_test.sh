#!/usr/bin/env bash
# Issue 20, against a running filter (native XDP, real BIND): hostile clients and a full disk.
#  1. An unprivileged user (nobody) holds 1,000 idle connections and 60 clients that pipeline
#     requests and never read on the control socket: root's status, ban-add and dry-run on all
#     succeed (5 s deadline each), a zone added to named.conf is let through, and SIGTERM ends
#     the daemon. 500 slowloris connections on the metrics port from the client namespace:
#     50 of 50 scrapes succeed.
#  2. The ban state on a full filesystem (a 64 KiB tmpfs): `dnswashctl bans add` fails loudly
#     once the disk is full, `stats` and the metrics say so, and after a restart every ban that
#     was acknowledged as saved is back.
# Deadlines here are generous (functional); bench/hostile_bench.sh measures the latencies.
# shellcheck source=../support/netns.sh
source "$(dirname "$0")/../support/netns.sh"
: "${DNSWASHCTL:?set DNSWASHCTL to the dnswashctl binary}"
: "${HOSTILE:?set HOSTILE to the hostile binary}"
PORT=9553
HOSTILE_PID=
netns_track_pids HOSTILE_PID

ctl() { lab_s "$DNSWASHCTL" "$@"; }
jqt() { jq -e "$2" >/dev/null <<<"$1" || lab_fail "jq '$2' is false on: $1"; }

lab_setup
lab_named_start a.test
lab_daemon_start --mode native --metrics-listen "$LAB_S4:$PORT"

# ---- 1. the control socket under an unprivileged flood
fifo=$LAB_DIR/hold.fifo
mkfifo "$fifo"
out=$LAB_DIR/hostile.json
ip netns exec "$LAB_NS_S" "$HOSTILE" control --iface "$LAB_IF" --idle 1000 --pipe 60 \
  --requests 30 --hold-fifo "$fifo" >"$out" &
HOSTILE_PID=$!
have_result() { [[ -s $out ]]; }
lab_wait_until 120 "root's requests under the flood" have_result
r=$(cat "$out")
lab_log "under the flood: $r"
jqt "$r" '.hostile_idle_connected == 1000 and .hostile_pipelining_connected == 60'
for c in status ban-add dry-run; do
  jqt "$r" ".[\"$c\"].failed == 0 and .[\"$c\"].ok == 30"
done
s=$(ctl stats --json)
jqt "$s" '.dry_run == false'  # hostile turned it off again at the end
st=$(lab_ctl '{"cmd":"status"}')
jqt "$st" '.control.clients <= .control.limits.per_uid + .control.admin_clients + 1'
jqt "$st" '.control.evicted > 900'

# The loop still runs the zone sync: a zone added now is let through.
lab_expect_dropped www.new.test
lab_zone_stanza new.test >>"$LAB_NAMED_CONF"
lab_wait_until 10 "new.test passes while the flood holds" lab_passes www.new.test

# The metrics port: 500 slowloris connections from the client namespace while a scraper in
# the server namespace (another source address) scrapes 50 times.
ip netns exec "$LAB_NS_C" "$HOSTILE" http --connect "$LAB_S4:$PORT" --slow 500 --scrapes 400 \
  --timeout-ms 5000 >/dev/null &
SLOW_PID=$!
LAB_BG_PIDS+=("$SLOW_PID")
ok=0
for _ in $(seq 1 50); do
  lab_s curl -sf --max-time 5 "http://$LAB_S4:$PORT/metrics" | grep -q '^dnswash_zones ' && ok=$((ok + 1))
done
kill "$SLOW_PID" 2>/dev/null || true
((ok == 50)) || lab_fail "only $ok of 50 scrapes answered under slowloris"
lab_log "metrics under slowloris: 50 of 50 scrapes answered"

# SIGTERM with the flood still there.
lab_daemon_stop TERM
[[ $LAB_DAEMON_RC -eq 0 ]] || lab_fail "dnswashd exited $LAB_DAEMON_RC on SIGTERM under the flood"
echo release >"$fifo"
wait "$HOSTILE_PID" || true
HOSTILE_PID=

# ---- 2. a full state filesystem
mkdir -p "$LAB_BANS_DIR"
rm -rf "${LAB_BANS_DIR:?}"/*
mount -t tmpfs -o size=64k tmpfs "$LAB_BANS_DIR"
NETNS_MOUNTS+=("$LAB_BANS_DIR") # unmounted after the daemon (which holds the store) is gone
lab_daemon_start --mode native
acked=()
failed=0
for i in $(seq 1 3000); do
  p=2001:db8:77::$(printf '%x' "$i")
  if err=$(ctl bans add "$p" --permanent 2>&1 >/dev/null); then
    acked+=("$p")
  else
    grep -q "not saved" <<<"$err" || lab_fail "bans add failed without saying why: $err"
    failed=$((failed + 1))
    ((failed >= 5)) && break
  fi
done
((failed >= 5)) || lab_fail "the 64 KiB filesystem never filled (${#acked[@]} bans saved)"
lab_log "${#acked[@]} bans saved before the filesystem was full"
s=$(ctl stats --json)
jqt "$s" '.ban_store.ok == false and .ban_store.failures > 0 and .ban_store.unsaved > 0'
ctl stats | grep -q "NOT SAVING" || lab_fail "human stats do not say the bans are not saved"
ctl metrics | grep -q '^dnswash_ban_store_ok 0$' || lab_fail "metrics do not say the store fails"

lab_daemon_stop TERM
lab_daemon_start --mode native
listed=$(ctl bans list --json | jq -r '.bans[].prefix' | sort)
missing=0
for p in "${acked[@]}"; do
  grep -qxF "$p" <<<"$listed" || { lab_log "acknowledged and lost: $p"; missing=$((missing + 1)); }
done
((missing == 0)) || lab_fail "$missing acknowledged ban(s) gone after the restart"
lab_log "all ${#acked[@]} acknowledged bans back after the restart"
lab_daemon_stop TERM
