#!/usr/bin/env bash
# dnswashd in native XDP, generic XDP or NFQUEUE mode in front of a real BIND: served names
# are answered, junk names get no answer at all (not REFUSED), the counters match what was
# sent, ping and DNS over TCP are untouched, runtime switches work, a second instance is
# refused, SIGTERM leaves nothing behind, and `dnswashctl top` shows the dropped names (the
# XDP program's sampler, or in NFQUEUE mode the queue threads').
# Usage: filter_test.sh native|generic|nfqueue
# shellcheck source=../support/netns.sh
source "$(dirname "$0")/../support/netns.sh"
MODE=${1:?native, generic or nfqueue}

lab_setup
lab_named_start a.test b.test sub.c.test
lab_daemon_start --mode "$MODE" --sample-every 1  # every drop sampled: `top` counts are exact

[[ $(lab_status mode) == "$MODE" ]] || lab_fail "mode is $(lab_status mode), wanted $MODE"
[[ $(lab_status zones) == 3 ]] || lab_fail "zone count $(lab_status zones), wanted 3"
[[ $(lab_status attached) == true ]] || lab_fail "status says not attached"
if [[ $MODE == nfqueue ]]; then
  ip -n "$LAB_NS_S" -d link show dev "$LAB_IF" | lab_has 'prog/xdp' && lab_fail "XDP attached in NFQUEUE mode"
  lab_ctl --field nfqueue.backend '{"cmd":"status"}' >/dev/null || lab_fail "no nfqueue status"
  rules=$(lab_s nft list ruleset 2>/dev/null; lab_s iptables-save 2>/dev/null)
  grep -q "dnswash:$LAB_IF" <<<"$rules" || lab_fail "no NFQUEUE rule tagged dnswash:$LAB_IF"
else
  ip -n "$LAB_NS_S" -d link show dev "$LAB_IF" | lab_has "prog/xdp id $(lab_status prog_id)" ||
    lab_fail "the interface does not run program $(lab_status prog_id)"
  want_attach=$([[ $MODE == native ]] && echo xdp || echo xdpgeneric)
  ip -n "$LAB_NS_S" link show dev "$LAB_IF" | lab_has -w "$want_attach" ||
    lab_fail "not attached as $want_attach: $(ip -n "$LAB_NS_S" link show dev "$LAB_IF")"
  [[ -e $LAB_BPFFS/$LAB_IF/abi-$(lab_status abi)/link ]] || lab_fail "the link is not pinned"
fi

# dig itself: served names (at and below the zones, v4 and v6) answered; junk gets nothing.
lab_expect_answered www.a.test
lab_expect_answered b.test
lab_expect_answered www.sub.c.test "$LAB_S6"
lab_expect_dropped junk.example
lab_expect_dropped c.test            # the parent of a served zone is not served
lab_expect_dropped www.example.org "$LAB_S6"

# Counters: a measured stream of queries, then the per-reason counter deltas must equal it.
allowed0=$(lab_counter allowed)
notauth0=$(lab_counter not-authoritative)
LAB_STREAM_RATE=300
lab_stream_start "www.a.test,b.test,x.y.sub.c.test" "junk.example,a.test.example,xn--n3h.example"
counted_at_least() { (($(lab_counter allowed) >= $1)); }
lab_wait_until 20 "150 served stream queries counted" counted_at_least $((allowed0 + 150))
lab_stream_stop
report=$LAB_STREAM_REPORT
served_sent=$(lab_json_field "$report" served_sent)
served_ans=$(lab_json_field "$report" served_answered)
junk_sent=$(lab_json_field "$report" junk_sent)
junk_ans=$(lab_json_field "$report" junk_answered)
((served_sent >= 150)) || lab_fail "stream too short: $report"
((served_ans == served_sent)) || lab_fail "served queries lost: $report"
((junk_ans == 0)) || lab_fail "junk answered: $report"
# NFQUEUE adds its counts every 100 ms: wait (bounded) until they are in, then compare.
counters_in() { (($(lab_counter allowed) - allowed0 >= served_sent && \
  $(lab_counter not-authoritative) - notauth0 >= junk_sent)); }
lab_wait_until 5 "the counters reach what was sent" counters_in
d_allowed=$(($(lab_counter allowed) - allowed0))
d_notauth=$(($(lab_counter not-authoritative) - notauth0))
((d_allowed == served_sent)) || lab_fail "allowed counter +$d_allowed, sent $served_sent served queries"
((d_notauth == junk_sent)) || lab_fail "not-authoritative counter +$d_notauth, sent $junk_sent junk"
# dnswashctl stats shows the same counters and state in every mode (NFQUEUE included).
stats=$(lab_s "$DNSWASHCTL" --iface "$LAB_IF" stats --json) || lab_fail "dnswashctl stats failed"
for r in allowed not-authoritative; do
  [[ $(jq -r ".packets[\"$r\"]" <<<"$stats") == "$(lab_counter "$r")" ]] ||
    lab_fail "stats: $r $(jq -r ".packets[\"$r\"]" <<<"$stats"), counters say $(lab_counter "$r")"
done
jq -e --arg m "$MODE" '.mode == $m and .zones == 3 and .attached and (.dry_run | not)' <<<"$stats" >/dev/null ||
  lab_fail "stats state: $stats"
lab_s "$DNSWASHCTL" --iface "$LAB_IF" stats | grep -Eiq "^filter +$LAB_IF, $MODE" ||
  lab_fail "human stats: $(lab_s "$DNSWASHCTL" --iface "$LAB_IF" stats)"
# dnswashctl top: every drop so far was sampled (one in 1, far below the per-second cap), so
# the samples are the not-authoritative drops, each stream junk name is among the top names,
# and the client is the top source.
top=$(lab_s "$DNSWASHCTL" --iface "$LAB_IF" top names --n 20 --json) || lab_fail "top names failed"
jq -e --argjson n "$(lab_counter not-authoritative)" '.samples == $n' <<<"$top" >/dev/null ||
  lab_fail "top names: samples $(jq .samples <<<"$top"), not-authoritative $(lab_counter not-authoritative)"
for n in junk.example a.test.example xn--n3h.example; do
  jq -e --arg n "$n" '[.entries[] | select(.name == $n and .count > 0 and .reason == "not-authoritative")] | length == 1' \
    <<<"$top" >/dev/null || lab_fail "top names lacks $n: $top"
done
top=$(lab_s "$DNSWASHCTL" --iface "$LAB_IF" top sources --json) || lab_fail "top sources failed"
jq -e --arg c "$LAB_C4" '.entries[0].source == $c' <<<"$top" >/dev/null ||
  lab_fail "top sources: $LAB_C4 not first: $top"

# The interface's other traffic: ping both ways, and DNS over TCP even for a junk name (the
# filter judges UDP only; named answers REFUSED over TCP).
lab_c ping -c 3 -i 0.2 -W 2 "$LAB_S4" >/dev/null || lab_fail "IPv4 ping failed"
lab_c ping -c 3 -i 0.2 -W 2 "$LAB_S6" >/dev/null || lab_fail "IPv6 ping failed"
lab_s ping -c 2 -i 0.2 -W 2 "$LAB_C4" >/dev/null || lab_fail "ping from the server failed"
out=$(lab_c dig +tcp +time=2 +tries=1 @"$LAB_S4" junk.example A) || lab_fail "TCP/53 failed: $out"
grep -q 'status: REFUSED' <<<"$out" || lab_fail "TCP/53 junk query: expected REFUSED: $out"
out=$(lab_c dig +tcp +time=2 +tries=1 @"$LAB_S6" www.a.test A) || lab_fail "TCP/53 v6 failed: $out"
grep -q 'status: NOERROR' <<<"$out" || lab_fail "TCP/53 served query: $out"

# Runtime switches through the control socket: dry-run passes junk (and counts it).
dry0=$(lab_counter dry-run-passed)
lab_ctl '{"cmd":"set-flag","flag":"dry-run","value":true}' >/dev/null
[[ $(lab_status dry_run) == true ]] || lab_fail "dry-run did not switch on"
lab_passes junk.example || lab_fail "dry-run on, but junk still dropped"
dry_counted() { (($(lab_counter dry-run-passed) == dry0 + 1)); }
lab_wait_until 5 "dry-run-passed counted once" dry_counted
lab_ctl '{"cmd":"set-flag","flag":"dry-run","value":false}' >/dev/null
lab_dropped junk.example || lab_fail "dry-run off, but junk answered"
# allow-chaos: version.bind CH TXT passes only when switched on.
chaos() { lab_c dig +time=1 +tries=1 @"$LAB_S4" version.bind CH TXT >/dev/null 2>&1; }
chaos && lab_fail "CHAOS query passed without allow-chaos"
lab_ctl '{"cmd":"set-flag","flag":"allow-chaos","value":true}' >/dev/null
chaos || lab_fail "CHAOS query dropped with allow-chaos on"
lab_ctl '{"cmd":"set-flag","flag":"nonsense","value":true}' >/dev/null &&
  lab_fail "an unknown flag was accepted"
# Anyone may read, only root may switch (SO_PEERCRED).
as_nobody() { lab_s setpriv --reuid=65534 --regid=65534 --clear-groups "$LAB_CTL" --iface "$LAB_IF" "$@"; }
as_nobody '{"cmd":"status"}' >/dev/null || lab_fail "status refused to a non-root reader"
out=$(as_nobody '{"cmd":"set-flag","flag":"dry-run","value":true}') && lab_fail "nobody switched dry-run"
[[ $out == *"only root"* ]] || lab_fail "non-root set-flag: $out"
[[ $(lab_status dry_run) == false ]] || lab_fail "dry-run changed by a non-root request"
zones=$(lab_ctl '{"cmd":"zones"}')
[[ $zones == *'"a.test","b.test","sub.c.test"'* ]] || lab_fail "zones listing: $zones"

# A second instance on the same interface is refused, and changes nothing.
lab_daemon_run --iface "$LAB_IF" --named-conf "$LAB_NAMED_CONF" --pin-dir "$LAB_BPFFS" --mode "$MODE"
((LAB_RC != 0)) || lab_fail "a second dnswashd on $LAB_IF started"
grep -q "another dnswashd is already running on $LAB_IF" <<<"$LAB_OUT" ||
  lab_fail "unclear second-instance message: $LAB_OUT"
lab_expect_dropped junk.example
lab_expect_answered www.a.test

# SIGTERM: a clean stop leaves nothing, and traffic flows unfiltered again.
lab_daemon_stop TERM
((LAB_DAEMON_RC == 0)) || lab_fail "dnswashd exited $LAB_DAEMON_RC on SIGTERM"
lab_expect_nothing_left
out=$(lab_c dig +time=2 +tries=1 @"$LAB_S4" junk.example A) || lab_fail "junk unanswered after stop"
grep -q 'status: REFUSED' <<<"$out" || lab_fail "after stop, junk should reach named: $out"
lab_log "PASS ($MODE)"
