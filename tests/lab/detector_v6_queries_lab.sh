#!/usr/bin/env bash
# The detector's other two paths against real BIND (tests/support/netns.sh):
# 1. IPv6 clients are counted and banned per /64 (--detector-v6-prefix, default 64): a roller
#    that spreads its names over two addresses of one /64 is banned as that /64 after the third
#    distinct NXDOMAIN, the tc egress program reading named's IPv6 answers, and every address of
#    the /64 is then dropped in XDP while the same host's IPv4 queries are still answered.
# 2. The queries signal (--detector-signal queries): no tc program; XDP counts distinct allowed
#    query names, so a roller through names named would answer is banned after the threshold
#    (5 here) and gets no more answers, while a client repeating a few names never is.
# All traffic is generated (synthetic).
# shellcheck source=../support/netns.sh
source "$(dirname "$0")/../support/netns.sh"
: "${DETQ:?set DETQ to the detq binary}"
: "${DNSWASHCTL:?set DNSWASHCTL to the dnswashctl binary}"

V6A=2001:db8::10 V6B=2001:db8::11 QROLL=192.0.2.20 QREPEAT=192.0.2.21

lab_setup
for a in $V6A $V6B; do ip -n "$LAB_NS_C" addr add "$a/64" dev "$LAB_IF_C" nodad; done
for a in $QROLL $QREPEAT; do ip -n "$LAB_NS_C" addr add "$a/24" dev "$LAB_IF_C"; done
lab_named_start a.test
lab_daemon_start --mode native --detector --ban-time 1h --detector-window 60s

detq() { lab_c "$DETQ" "$@"; }
bans_json() { lab_s "$DNSWASHCTL" bans list --json --iface "$LAB_IF"; }
# ban_field PREFIX FIELD: a field of the ban on exactly PREFIX ("" = no such ban).
ban_field() {
  python3 -c "
import json,sys
for b in json.loads(sys.argv[1])['bans']:
    if b['prefix']==sys.argv[2]: print(b[sys.argv[3]])" "$(bans_json)" "$1" "$2"
}

# 1. IPv6: two distinct names from one address, then the rest from another of the same /64.
r=$(detq roll "$LAB_S6" a.test --source $V6A --count 2 --timeout-ms 1500)
lab_log "roller, first address: $r"
(($(lab_json_field "$r" answered) == 2 && $(lab_json_field "$r" nxdomain) == 2)) ||
  lab_fail "first two names not answered NXDOMAIN: $r"
r=$(detq roll "$LAB_S6" a.test --source $V6B --start 997 --count 10 --timeout-ms 500 --stop-after-drops 2)
lab_log "roller, second address: $r"
(($(lab_json_field "$r" answered_before_first_drop) == 1 && $(lab_json_field "$r" answered) == 1)) ||
  lab_fail "the /64 was not banned at its third distinct name: $r"
[[ $(ban_field 2001:db8::/64 origin) == detector ]] || lab_fail "no detector ban on 2001:db8::/64: $(bans_json)"
[[ $(ban_field 2001:db8::/64 zone) == a.test ]] || lab_fail "ban zone: $(bans_json)"
grep -q "detector: banned 2001:db8::/64 for 1h (offense 1)" "$LAB_DAEMON_LOG" || lab_fail "no ban log line"
lab_expect_dropped www.a.test "$LAB_S6" # any source address of the client's /64
lab_expect_answered www.a.test          # the same host over IPv4
[[ $(lab_status detector.detector_bans) == 1 ]] || lab_fail "detector_bans $(lab_status detector.detector_bans)"
lab_daemon_stop TERM
((LAB_DAEMON_RC == 0)) || lab_fail "exit $LAB_DAEMON_RC"

# 2. The queries signal. (The IPv6 ban is restored from the state file; IPv4 is not affected.)
lab_daemon_start --mode native --detector --detector-signal queries --detector-threshold 5 \
  --ban-time 1h --detector-window 60s
[[ $(lab_status detector.signal) == queries ]] || lab_fail "signal $(lab_status detector.signal)"
[[ $(lab_status detector.tc_attached) == false ]] || lab_fail "tc program attached with the queries signal"
lab_s tc filter show dev "$LAB_IF" egress | lab_has dnswash_det_tc && lab_fail "tc egress filter with the queries signal"
[[ $(ban_field 2001:db8::/64 origin) == detector ]] || lab_fail "IPv6 ban not restored: $(bans_json)"
r=$(detq roll "$LAB_S4" a.test --source $QROLL --count 12 --timeout-ms 500 --stop-after-drops 2)
lab_log "queries-signal roller: $r"
(($(lab_json_field "$r" answered_before_first_drop) == 5 && $(lab_json_field "$r" answered) == 5)) ||
  lab_fail "queries signal: want exactly 5 answers, then drops: $r"
[[ $(ban_field $QROLL origin) == detector ]] || lab_fail "queries-signal roller not banned: $(bans_json)"
r=$(detq resolver "$LAB_S4" a.test --source $QREPEAT --names www.a.test,a.test,ns.a.test \
  --count 300 --nx-permille 0 --inflight 4 --timeout-ms 2000)
lab_log "repeating client: $r"
(($(lab_json_field "$r" answered) == 300)) || lab_fail "repeating client lost answers: $r"
[[ -z $(ban_field $QREPEAT origin) ]] || lab_fail "a client repeating 3 names was banned"

lab_daemon_stop TERM
((LAB_DAEMON_RC == 0)) || lab_fail "exit $LAB_DAEMON_RC"
lab_expect_nothing_left
lab_log "PASS"
