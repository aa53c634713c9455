#!/usr/bin/env bash
# dnswashctl against a running filter (native XDP, real BIND): stats (once and --watch), zones
# list, check (and that it changes no counter), top names/sources from the sampled drops (IPv4
# and IPv6 sources, case folding, \DDD escapes), dry-run on/off (root only), metrics through
# the control socket and over --metrics-listen HTTP, both checked with the Prometheus
# reference parser; --iface handling and the not-running line. Assertions on --json with jq.
# shellcheck source=../support/netns.sh
source "$(dirname "$0")/../support/netns.sh"
: "${DNSWASHCTL:?set DNSWASHCTL to the dnswashctl binary}"
PARSE_METRICS="/usr/bin/python3 $(dirname "$0")/../ctl/metrics_parse.py"
PORT=9553

lab_setup
lab_named_start a.test b.test sub.c.test
# Every drop sampled (the rate is far above what the test sends): counts are exact.
lab_daemon_start --mode native --sample-every 1 --sample-rate 100000 --metrics-listen "$LAB_S4:$PORT"

ctl() { lab_s "$DNSWASHCTL" "$@"; }
# jqt JSON FILTER: the filter must be true.
jqt() { jq -e "$2" >/dev/null <<<"$1" || lab_fail "jq '$2' is false on: $1"; }

# ---- stats (every verdict reason of the ABI, as many as the metrics list)
nreasons=$(ctl metrics --json | jq '[.metrics[] | select(.name == "dnswash_packets_total")] | length')
((nreasons >= 14)) || lab_fail "only $nreasons reasons in the metrics"
s=$(ctl stats --json)
jqt "$s" '.iface == "s0" and .mode == "native" and .attached and (.dry_run | not) and .zones == 3'
jqt "$s" '.bans == 0 and .sync_errors == 0 and (.sync_failing | not)'
jqt "$s" "(.packets | keys | length) == $nreasons and (.packets | has(\"not-authoritative\"))"
jqt "$s" '(.detector == null) == (.caps_hit == null)'
jqt "$s" '.counters["samples-lost"] == 0 and .counters["dry-run-passed"] == 0'
ctl stats | grep -Eq '^not-authoritative +drop +[0-9,]+ ' || lab_fail "human stats: $(ctl stats)"

# ---- traffic: served names answered, junk dropped (5 + 3 + 2 from v4, 1 from v6)
lab_expect_answered www.a.test
probe_drop() { lab_c "$DWQ" probe "$1" "$2" --timeout-ms 300 >/dev/null && lab_fail "$2 via $1 was answered"; return 0; }
for _ in 1 2 3 4 5; do probe_drop "$LAB_S4" junk.example; done
for _ in 1 2 3; do probe_drop "$LAB_S4" OTHER.Example; done
for _ in 1 2; do probe_drop "$LAB_S4" $'x\x07y.example'; done
probe_drop "$LAB_S6" v6.example

sampled() { (($(ctl top sources --json | jq '.samples') >= 11)); }
lab_wait_until 10 "11 drop samples read by dnswashd" sampled

# ---- top
t=$(ctl top names --json)
jqt "$t" '.what == "names" and .n == 10 and .since_s == 600 and .sample_every == 1 and .samples == 11'
jqt "$t" '.entries[0] == (.entries[0] + {"name":"junk.example","count":5,"reason":"not-authoritative"})'
jqt "$t" '[.entries[] | select(.name == "other.example")][0].count == 3'
jqt "$t" '[.entries[] | select(.name == "x\\007y.example")][0].count == 2'
jqt "$t" '[.entries[] | select(.name == "v6.example")][0].count == 1'
jqt "$t" '(.entries | length) == 4 and all(.entries[]; .last_unix_ms >= .first_unix_ms and .error == 0)'
jqt "$(ctl top names --n 1 --since 1m --json)" '(.entries | length) == 1 and .since_s == 60'
t=$(ctl top sources --json)
jqt "$t" '.entries[0].source == "192.0.2.2" and .entries[0].count == 10'
jqt "$t" '.entries[1].source == "2001:db8::2" and .entries[1].count == 1'
out=$(ctl top names)
grep -Eq '^ *1 +5 +45\.5% .*junk\.example$' <<<"$out" || lab_fail "human top: $out"
grep -qF 'x\007y.example' <<<"$out" || lab_fail "human top without the escaped name: $out"

# ---- stats after the traffic, and --watch
s=$(ctl stats --json)
jqt "$s" '.packets["not-authoritative"] == 11 and .packets.allowed >= 1 and .dropped == 11'
w=$(ctl stats --watch 0.2 --count 2 --json)
[[ $(wc -l <<<"$w") -eq 2 ]] || lab_fail "stats --watch --count 2 printed: $w"
jqt "$(tail -n1 <<<"$w")" ".interval_s > 0.1 and (.rates | length) == $nreasons and .rates.allowed >= 0"

# ---- check: verdicts, zones, and no counter moves (not-dns excepted: ND/MLD on the veth)
before=$(ctl stats --json | jq -c '.packets | del(.["not-dns"])')
c=$(ctl check www.a.test --src 192.0.2.2 --json)
jqt "$c" '.verdict == "pass" and .reason == "allowed" and .zone == "a.test" and .qtype == "A" and .action == "pass"'
c=$(ctl check X.Sub.C.Test --src 2001:db8::2 --type aaaa --json)
jqt "$c" '.name == "x.sub.c.test" and .zone == "sub.c.test" and .qtype == "AAAA" and .src == "2001:db8::2"'
c=$(ctl check junk.example --json)
jqt "$c" '.verdict == "drop" and .reason == "not-authoritative" and .zone == null and .action == "drop" and .src == "0.0.0.0"'
jqt "$(ctl check c.test --type TYPE65 --json)" '.verdict == "drop" and .qtype == "HTTPS"'
jqt "$(ctl check 'x\000y.a.test' --json)" '.name == "x\\000y.a.test" and .zone == "a.test"'
[[ $(ctl check www.b.test --src 192.0.2.2) == "www.b.test A from 192.0.2.2: pass (allowed, zone b.test)" ]] ||
  lab_fail "human check: $(ctl check www.b.test --src 192.0.2.2)"
after=$(ctl stats --json | jq -c '.packets | del(.["not-dns"])')
[[ $before == "$after" ]] || lab_fail "check changed counters: $before -> $after"

# ---- dry-run
jqt "$(ctl dry-run on --json)" '.dry_run == true and .iface == "s0"'
jqt "$(ctl stats --json)" '.dry_run'
jqt "$(ctl check junk.example --json)" '.verdict == "drop" and .action == "pass" and .dry_run'
lab_passes junk.example || lab_fail "dry-run on, but junk still dropped"
[[ $(ctl dry-run off) == "dry-run off on s0: drop verdicts are enforced" ]] || lab_fail "human dry-run off"
jqt "$(ctl stats --json)" '(.dry_run | not)'
rc=0
out=$(lab_s setpriv --reuid=65534 --regid=65534 --clear-groups "$DNSWASHCTL" dry-run on 2>&1) || rc=$?
{ ((rc == 1)) && [[ $out == *"only root"* ]]; } || lab_fail "non-root dry-run on: rc $rc: $out"
jqt "$(ctl stats --json)" '(.dry_run | not)'

# ---- zones list
z=$(ctl zones list --json)
jqt "$z" '.total == 3 and .zones == ["a.test","b.test","sub.c.test"]'
[[ $(ctl zones list) == $'a.test\nb.test\nsub.c.test' ]] || lab_fail "human zones list: $(ctl zones list)"

# ---- metrics: control socket and HTTP, through the reference parser
m=$(ctl metrics | $PARSE_METRICS) || lab_fail "dnswashctl metrics does not parse"
jqt "$m" '.["dnswash_packets_total{reason=not-authoritative}"] == 12 and .dnswash_zones == 3'
jqt "$m" '.dnswash_bans == 0 and .dnswash_dry_run == 0 and .dnswash_samples_lost_total == 0'
jqt "$m" '.dnswash_sync_errors_total == 0 and .["dnswash_dry_run_passed_total"] == 1'
h=$(lab_s curl -sf --max-time 5 "http://$LAB_S4:$PORT/metrics" | $PARSE_METRICS) ||
  lab_fail "HTTP /metrics does not parse"
jqt "$h" '.["dnswash_packets_total{reason=not-authoritative}"] == 12 and .dnswash_zones == 3'
code=$(lab_s curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$LAB_S4:$PORT/other")
[[ $code == 404 ]] || lab_fail "GET /other: HTTP $code"
jqt "$(ctl metrics --json)" '[.metrics[] | select(.name == "dnswash_zones")][0].value == 3'

# ---- --iface and the not-running line
jqt "$(ctl --iface s0 stats --json)" '.iface == "s0"'
jqt "$(ctl stats --iface s0 --json)" '.iface == "s0"'
rc=0
out=$(ctl --iface nope0 stats 2>&1) || rc=$?
{ ((rc == 1)) && [[ $out == "dnswashctl: no dnswash filter is running on nope0"* ]] &&
  [[ $(wc -l <<<"$out") -eq 1 ]]; } || lab_fail "wrong --iface: rc $rc: $out"
rc=0
out=$(lab_c "$DNSWASHCTL" stats 2>&1) || rc=$?
{ ((rc == 1)) && [[ $out == "dnswashctl: no dnswash filter is running in this network namespace"* ]] &&
  [[ $(wc -l <<<"$out") -eq 1 ]]; } || lab_fail "client namespace (no filter): rc $rc: $out"

# A stop turns sampling off in the shared config (a successor sets its own) and leaves nothing.
lab_daemon_stop TERM
((LAB_DAEMON_RC == 0)) || lab_fail "dnswashd exited $LAB_DAEMON_RC"
lab_expect_nothing_left
rc=0
out=$(ctl stats 2>&1) || rc=$?
{ ((rc == 1)) && [[ $(wc -l <<<"$out") -eq 1 ]]; } || lab_fail "after stop: rc $rc: $out"
lab_log "PASS"
