#!/usr/bin/env bash
# Bans survive dnswashd restarts with their remaining time: a full stop (the filter, its maps and
# pins go away; the ban state file in --ban-state-dir brings the bans back) and a hand-over
# (SIGUSR2: the next daemon shares the ban map). A corrupt state file is moved aside and the
# daemon starts without it. And the per-minute ban cap, which needs a daemon of its own.
# shellcheck source=../support/netns.sh
source "$(dirname "$0")/../support/netns.sh"
: "${DETQ:?set DETQ to the detq binary}"
: "${DNSWASHCTL:?set DNSWASHCTL to the dnswashctl binary}"

ROLLER=192.0.2.10 ROLLER2=192.0.2.15
BANS_DIR=$LAB_BANS_DIR
STATE=$BANS_DIR/bans-$LAB_IF.lmdb  # the ban store (banstore/, LMDB)
LEGACY=$BANS_DIR/bans-$LAB_IF.json # the file older versions wrote, imported into an empty store

lab_setup
for a in $ROLLER $ROLLER2; do ip -n "$LAB_NS_C" addr add "$a/24" dev "$LAB_IF_C"; done
lab_named_start a.test
args=(--mode native --detector --ban-time 2m --detector-window 60s)
lab_daemon_start "${args[@]}"

ctl() { lab_s "$DNSWASHCTL" bans "$@" --iface "$LAB_IF"; }
ban_field() {
  ctl list --json | python3 -c "
import json,sys
for b in json.load(sys.stdin)['bans']:
    if b['prefix']=='$1': print(json.dumps(b['$2']) if not isinstance(b['$2'],str) else b['$2'])"
}
roller_dropped() { ! lab_c dig +time=1 +tries=1 +norec -b $ROLLER @"$LAB_S4" www.a.test A >/dev/null; }

r=$(lab_c "$DETQ" roll "$LAB_S4" a.test --source $ROLLER --count 5 --timeout-ms 500 --stop-after-drops 1)
(($(lab_json_field "$r" answered) == 3)) || lab_fail "roller: $r"
exp1=$(ban_field $ROLLER expires_unix_ms)
[[ -n $exp1 && $exp1 != null ]] || lab_fail "roller not banned: $(ctl list)"
ctl add 198.51.100.0/24 --permanent >/dev/null || lab_fail "bans add --permanent"
ctl add 203.0.113.0/24 --for 1h >/dev/null || lab_fail "bans add --for"
exp_op=$(ban_field 203.0.113.0/24 expires_unix_ms)
[[ -s $STATE ]] || lab_fail "no state file $STATE"

same_time() { (( ${1} - ${2} < 2000 && ${2} - ${1} < 2000 )); }

# 1. A full stop: map, link and pins go; the state file brings the bans back.
lab_daemon_stop TERM
lab_expect_nothing_left
lab_daemon_start "${args[@]}"
[[ $(ban_field $ROLLER origin) == detector ]] || lab_fail "detector ban lost in a restart: $(ctl list)"
same_time "$(ban_field $ROLLER expires_unix_ms)" "$exp1" ||
  lab_fail "remaining time changed: $exp1 -> $(ban_field $ROLLER expires_unix_ms)"
[[ $(ban_field $ROLLER offenses) == 1 ]] || lab_fail "offense history lost"
[[ $(ban_field 198.51.100.0/24 permanent) == true ]] || lab_fail "permanent operator ban lost"
same_time "$(ban_field 203.0.113.0/24 expires_unix_ms)" "$exp_op" || lab_fail "operator ban time changed"
roller_dropped || lab_fail "the roller is answered after the restart"
grep -q "bans: 3 restored" "$LAB_DAEMON_LOG" || lab_fail "no restore log line"

# 2. A hand-over (the ban map is shared, the file agrees), and the detector's counts carry over:
# two rolling names before it and one after ban the source.
r=$(lab_c "$DETQ" roll "$LAB_S4" a.test --source $ROLLER2 --count 2 --timeout-ms 1500)
(($(lab_json_field "$r" answered) == 2)) || lab_fail "second roller before the hand-over: $r"
lab_daemon_stop USR2
((LAB_DAEMON_RC == 75)) || lab_fail "exit $LAB_DAEMON_RC on SIGUSR2"
lab_daemon_start "${args[@]}"
r=$(lab_c "$DETQ" roll "$LAB_S4" a.test --source $ROLLER2 --start 500 --count 2 --timeout-ms 500)
(($(lab_json_field "$r" answered) == 1)) || lab_fail "counts lost in the hand-over: $r"
[[ $(ban_field $ROLLER2 origin) == detector ]] || lab_fail "second roller not banned: $(ctl list)"
lab_s "$DNSWASHCTL" bans del $ROLLER2 --iface "$LAB_IF" >/dev/null || lab_fail "bans del"
same_time "$(ban_field $ROLLER expires_unix_ms)" "$exp1" || lab_fail "hand-over changed the ban time"
[[ $(lab_status detector.bans) == 3 ]] || lab_fail "bans after hand-over: $(ctl list)"
roller_dropped || lab_fail "the roller is answered after the hand-over"

# 3. A corrupt state file of an older version: reported, moved aside, the daemon runs. (A bad
# record in the store itself is covered by ban_manager_test.)
lab_daemon_stop TERM
rm -f "$STATE"
echo '{"version":1,"bans":[{"prefix":' >"$LEGACY"
lab_daemon_start "${args[@]}"
grep -q "unreadable ban state.*moved aside" "$LAB_DAEMON_LOG" || lab_fail "corrupt file not reported"
compgen -G "$BANS_DIR/bans-$LAB_IF.json.corrupt-*" >/dev/null || lab_fail "corrupt file not moved aside: $(ls "$BANS_DIR")"
[[ $(lab_status detector.bans) == 0 ]] || lab_fail "bans from a corrupt file"
lab_daemon_stop TERM

# 4. The rate cap: one detector ban per minute. The second roller crosses the threshold but is
# not banned; the daemon raises an alarm and status counts the cap hit.
lab_daemon_start "${args[@]}" --detector-max-bans-per-min 1
r=$(lab_c "$DETQ" roll "$LAB_S4" a.test --source $ROLLER --start 300 --count 5 --timeout-ms 500 --stop-after-drops 1)
(($(lab_json_field "$r" answered) == 3)) || lab_fail "first roller under the cap: $r"
r=$(lab_c "$DETQ" roll "$LAB_S4" a.test --source $ROLLER2 --start 300 --count 5 --timeout-ms 1500)
(($(lab_json_field "$r" answered) == 5)) || lab_fail "second roller banned over the cap: $r"
caps_hit() { (($(lab_status detector.caps_hit.rate) >= 1)); }
lab_wait_until 5 "the cap hit in status" caps_hit
lab_wait_until 5 "the cap alarm" grep -q "ALARM detector: the ban cap is reached" "$LAB_DAEMON_LOG"
lab_daemon_stop TERM
lab_expect_nothing_left
lab_log "PASS"
