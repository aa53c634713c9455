#!/usr/bin/env bash
# The rolling-subdomain detector against real BIND (tests/support/netns.sh): a wwwNNN roller reaches
# named at most 3 times, is then dropped in XDP, released after the (short) ban time, and
# banned for good on its second offense; a Mirai-style flood from one source is banned; a
# resolver-like client (10,000 queries, 0x20 case randomisation, 3 % NXDOMAIN spread over the
# run), a never-ban source that rolls and a source looking up missing PTRs are never banned.
# Each scenario uses its own client address. All traffic is generated (synthetic).
# shellcheck source=../support/netns.sh
source "$(dirname "$0")/../support/netns.sh"
: "${DETQ:?set DETQ to the detq binary}"
: "${DNSWASHCTL:?set DNSWASHCTL to the dnswashctl binary}"

ROLLER=192.0.2.10 MIRAI=192.0.2.11 RESOLVER=192.0.2.12 NEVER=192.0.2.13 PTR=192.0.2.14

lab_setup
for a in $ROLLER $MIRAI $RESOLVER $NEVER $PTR; do ip -n "$LAB_NS_C" addr add "$a/24" dev "$LAB_IF_C"; done
lab_named_start a.test b.test 2.0.192.in-addr.arpa
lab_daemon_start --mode native --detector --ban-time 5s --ban-repeat permanent \
  --detector-window 60s --never-ban "$NEVER"

[[ $(lab_status detector.enabled) == true ]] || lab_fail "detector not enabled"
[[ $(lab_status detector.tc_attached) == true ]] || lab_fail "tc program not attached"
lab_s tc filter show dev "$LAB_IF" egress | lab_has dnswash_det_tc || lab_fail "no tc egress filter"

detq() { lab_c "$DETQ" "$@"; }
ctl() { lab_s "$DNSWASHCTL" bans "$@" --iface "$LAB_IF"; }
# snap_field JSON PREFIX FIELD: a field of one ban in a `bans list --json` snapshot ("" = none).
snap_field() {
  python3 -c "
import json,sys
for b in json.loads(sys.argv[1])['bans']:
    if b['prefix']=='$2': print(json.dumps(b['$3']) if not isinstance(b['$3'],str) else b['$3'])" "$1"
}
ban_field() { snap_field "$(ctl list --json)" "$1" "$2"; } # from a fresh listing
is_banned() { [[ -n $(ban_field "$1" origin) ]]; }
not_banned() { ! is_banned "$1"; }

# 1. The roller: www999, www998, ... one at a time. Ban time 5 s: long enough to inspect it on a
# loaded machine, short enough to wait out.
banned0=$(lab_counter banned)
t0=$SECONDS
r=$(detq roll "$LAB_S4" a.test --source $ROLLER --count 10 --timeout-ms 500 --stop-after-drops 2)
lab_log "roller: $r"
(($(lab_json_field "$r" answered_before_first_drop) == 3)) || lab_fail "roller got $(lab_json_field "$r" answered_before_first_drop) answers before the ban, want 3: $r"
(($(lab_json_field "$r" answered) == 3)) || lab_fail "roller answered after the ban: $r"
(($(lab_counter banned) >= banned0 + 2)) || lab_fail "banned counter did not move"
# One listing of each kind while the (5 s) ban holds; the checks read the snapshots.
snap=$(ctl list --json)
human=$(ctl list)
[[ $(snap_field "$snap" $ROLLER origin) == detector ]] || lab_fail "roller not listed: $snap"
[[ $(snap_field "$snap" $ROLLER offenses) == 1 ]] || lab_fail "offenses: $snap"
[[ $(snap_field "$snap" $ROLLER zone) == a.test ]] || lab_fail "zone: $snap"
snap_field "$snap" $ROLLER names | lab_has 'www999.a.test' || lab_fail "names: $snap"
grep -q "detector: banned $ROLLER for 5s (offense 1).*a.test.*www99" "$LAB_DAEMON_LOG" ||
  lab_fail "no ban log line"
grep -q "^$ROLLER *detector" <<<"$human" || lab_fail "human list: $human"

# Released after the ban time (5 s): the sweep takes it out of the list, queries pass again.
lab_wait_until 15 "the roller's ban expires" not_banned $ROLLER
lab_c dig +time=1 +tries=2 +norec -b $ROLLER @"$LAB_S4" www.a.test A | lab_has 'status: NOERROR' ||
  lab_fail "the roller is still dropped after its ban expired"
lab_log "released after $((SECONDS - t0))s"

# Second offense: permanent.
r=$(detq roll "$LAB_S4" a.test --source $ROLLER --count 10 --timeout-ms 500 --stop-after-drops 2)
lab_log "roller again: $r"
(($(lab_json_field "$r" answered) <= 3)) || lab_fail "second roll answered too often: $r"
snap=$(ctl list --json)
[[ $(snap_field "$snap" $ROLLER permanent) == true ]] || lab_fail "second offense not permanent: $snap"
[[ $(snap_field "$snap" $ROLLER offenses) == 2 ]] || lab_fail "offenses: $snap"
grep -q "detector: banned $ROLLER permanently (offense 2)" "$LAB_DAEMON_LOG" || lab_fail "no permanent log line"

# 2. Mirai: one random 12-character [a-w0-8] label per query.
r=$(detq roll "$LAB_S4" b.test --source $MIRAI --pattern mirai --count 20 --timeout-ms 500 --stop-after-drops 2)
lab_log "mirai: $r"
(($(lab_json_field "$r" answered) <= 3)) || lab_fail "mirai flood answered $(lab_json_field "$r" answered) times: $r"
[[ $(ban_field $MIRAI origin) == detector ]] || lab_fail "mirai source not banned"

# 3. Never-ban source rolling: answered throughout, never banned, logged.
r=$(detq roll "$LAB_S4" a.test --source $NEVER --count 10 --timeout-ms 1500)
(($(lab_json_field "$r" answered) == 10)) || lab_fail "never-ban source dropped: $r"
not_banned $NEVER || lab_fail "never-ban source banned"
lab_wait_until 5 "the never-ban log line" grep -q "detector: $NEVER is on the never-ban list" "$LAB_DAEMON_LOG"

# 4. Missing PTRs (in-addr.arpa zone served, exempt by default).
r=$(detq roll "$LAB_S4" 2.0.192.in-addr.arpa --source $PTR --pattern ptr --count 20 --timeout-ms 1500)
(($(lab_json_field "$r" answered) == 20 && $(lab_json_field "$r" nxdomain) == 20)) || lab_fail "PTR lookups: $r"
not_banned $PTR || lab_fail "PTR lookups banned"

# 5. A resolver: 10,000 queries over existing names with 0x20, 3 % NXDOMAIN spread evenly.
t1=$SECONDS
r=$(detq resolver "$LAB_S4" a.test --source $RESOLVER --names www.a.test,a.test,ns.a.test \
  --count 10000 --nx-permille 30 --inflight 16 --timeout-ms 2000)
lab_log "resolver: $r ($((SECONDS - t1))s)"
(($(lab_json_field "$r" sent) == 10000)) || lab_fail "resolver: $r"
(($(lab_json_field "$r" nxdomain) >= 250)) || lab_fail "resolver saw too few NXDOMAIN: $r"
(($(lab_json_field "$r" answered) >= 9990)) || lab_fail "resolver lost answers: $r"
not_banned $RESOLVER || lab_fail "resolver banned"

# The status section the ctl relies on. The Mirai source's 5 s ban ends; the roller's stays.
lab_wait_until 15 "the mirai source's ban expires" not_banned $MIRAI
[[ $(lab_status detector.detector_bans) == 1 ]] || lab_fail "detector_bans $(lab_status detector.detector_bans)"
[[ $(lab_status detector.operator_bans) == 0 ]] || lab_fail "operator_bans $(lab_status detector.operator_bans)"
[[ $(lab_status detector.signal) == answers && $(lab_status detector.threshold) == 3 ]] || lab_fail "status"

# dnswashctl bans: operator bans, bad input, flush.
ctl add 198.51.100.0/24 --for 1h >/dev/null || lab_fail "bans add"
[[ $(ban_field 198.51.100.0/24 origin) == operator ]] || lab_fail "operator ban not listed"
for bad in "198.51.100.1/24" "300.1.1.1" "192.0.2.0/33" "" "2001:db8::/129"; do
  rc=0; ctl add "$bad" --for 1h >/dev/null 2>&1 || rc=$?
  ((rc == 2)) || lab_fail "bans add '$bad': exit $rc, want 2"
done
rc=0; ctl add 198.51.100.9 --for 5x >/dev/null 2>&1 || rc=$?; ((rc == 2)) || lab_fail "bad duration: exit $rc"
rc=0; ctl add 198.51.100.9 >/dev/null 2>&1 || rc=$?; ((rc == 2)) || lab_fail "no length: exit $rc"
rc=0; ctl del 203.0.113.77 >/dev/null 2>&1 || rc=$?; ((rc == 1)) || lab_fail "del of no ban: exit $rc"
[[ $(lab_status detector.bans) == 2 ]] || lab_fail "bad input changed the bans: $(ctl list)"
[[ $(ctl flush --detector-only --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["removed"])') == 1 ]] ||
  lab_fail "flush --detector-only"
[[ $(ban_field 198.51.100.0/24 origin) == operator ]] || lab_fail "flush --detector-only removed an operator ban"
ctl del 198.51.100.0/24 >/dev/null || lab_fail "bans del"
[[ $(lab_status detector.bans) == 0 ]] || lab_fail "bans left: $(ctl list)"

lab_daemon_stop TERM
((LAB_DAEMON_RC == 0)) || lab_fail "exit $LAB_DAEMON_RC"
lab_s tc filter show dev "$LAB_IF" egress | lab_has dnswash_det_tc && lab_fail "tc filter left after stop"
lab_expect_nothing_left
lab_log "PASS"
