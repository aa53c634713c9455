#!/usr/bin/env bash
# Issue 20, against a running filter (native XDP, real BIND): hostile clients and a full disk.
#  1. An unprivileged user (nobody) holds 1,000 idle connections and 60 clients that pipeline
#     requests and never read on the control socket: root's status, ban-add and dry-run on all
#     succeed (5 s deadline each), a zone added to named.conf is let through within 1.2 s, and
#     SIGTERM ends the daemon within 1 s. 500 slowloris connections on the metrics port from the
#     client namespace: 50 of 50 scrapes (2 s timeout each) from another address succeed.
#  2. The ban state on a full filesystem (a 64 KiB tmpfs mounted in a mount namespace of the
#     test's own, held by a sleeping process, so nothing is mounted where the host sees it):
#     `dnswashctl bans add` fails loudly once the disk is full, `stats` and the metrics say so,
#     and after a restart every ban that was acknowledged as saved is back.
# The 1.2 s and 1 s are the issue's acceptance figures, measured from the script (process
# start-up of the probes included); bench/hostile_bench.sh measures the latencies in detail.
# shellcheck source=../support/netns.sh
source "$(dirname "$0")/../support/netns.sh"
# shellcheck source=hostile_flood.sh
source "$(dirname "$0")/hostile_flood.sh"
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
hostile_control_flood 30 120
r=$HOSTILE_REPORT
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

# The loop still runs the zone sync: a zone added now is let through within 1.2 s.
hostile_zone_add_ms new.test
zone_ms=$ZONE_MS
((zone_ms <= 1200)) || lab_fail "new.test let through after $zone_ms ms under the flood (> 1.2 s)"
lab_log "under the flood a zone added to named.conf passed after $zone_ms ms"

# The metrics port: 500 slowloris connections from the client namespace while a scraper in
# the server namespace (another source address) scrapes 50 times with a 2 s timeout.
hostile_slowloris_start 500
ok=0
for i in $(seq 1 50); do
  t0=$(lab_now_ms)
  # The whole body first: `curl | grep -q` fails under pipefail when grep stops reading early.
  if body=$(lab_s curl -sf --max-time 2 "http://$LAB_S4:$PORT/metrics") &&
    grep -q '^dnswash_zones ' <<<"$body"; then
    ok=$((ok + 1))
  else
    lab_log "scrape $i failed after $(($(lab_now_ms) - t0)) ms"
  fi
done
m=$(lab_ctl '{"cmd":"status"}' | jq -c '.metrics_http')
hostile_slowloris_stop
((ok == 50)) || lab_fail "only $ok of 50 scrapes answered under slowloris (metrics: $m)"
lab_log "metrics under slowloris: 50 of 50 scrapes answered ($m)"

# SIGTERM with the control flood still there: gone within 1 s.
t0=$(lab_now_ms)
lab_daemon_stop TERM
term_ms=$(($(lab_now_ms) - t0))
[[ $LAB_DAEMON_RC -eq 0 ]] || lab_fail "dnswashd exited $LAB_DAEMON_RC on SIGTERM under the flood"
((term_ms <= 1000)) || lab_fail "dnswashd took $term_ms ms to exit on SIGTERM under the flood (> 1 s)"
lab_log "SIGTERM under the flood: gone after $term_ms ms"
hostile_control_release

# ---- 2. a full state filesystem, in a mount namespace of our own: a process holds it (and
# with it the tmpfs) across the daemon's restart; the tmpfs goes when the holder does.
mkdir -p "$LAB_BANS_DIR"
rm -rf "${LAB_BANS_DIR:?}"/*
unshare --mount --propagation private sleep infinity &
MNT_HOLDER=$!
LAB_BG_PIDS+=("$MNT_HOLDER")
own_mntns() { [[ $(readlink "/proc/$MNT_HOLDER/ns/mnt") != "$(readlink /proc/self/ns/mnt)" ]]; }
lab_wait_until 10 "the mount namespace holder" own_mntns
nsenter -t "$MNT_HOLDER" -m mount -t tmpfs -o size=64k tmpfs "$LAB_BANS_DIR"
! mountpoint -q "$LAB_BANS_DIR" || lab_fail "the small tmpfs is visible outside the test's mount namespace"
LAB_DAEMON_WRAP=(nsenter -t "$MNT_HOLDER" -m)
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
# Whole outputs first (`cmd | grep -q` fails under pipefail when grep stops reading early).
out=$(ctl stats)
grep -q "NOT SAVING" <<<"$out" || lab_fail "human stats do not say the bans are not saved"
out=$(ctl metrics)
grep -q '^dnswash_ban_store_ok 0$' <<<"$out" || lab_fail "metrics do not say the store fails"

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
