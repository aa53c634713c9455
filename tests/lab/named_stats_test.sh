#!/usr/bin/env bash
# named's own zone list as a source (issue 19): dnswashd finds the statistics channel in
# named.conf and reads /json/v1/zones. A zone added with `rndc addzone` passes within 2 s and
# one removed with `rndc delzone` is dropped within 2 s; named stopped and started again while
# dnswashd runs drops no zone from the allowlist (the failed reads keep the set). A query stream
# for a configured zone runs throughout and nothing of it is dropped by the filter.
# shellcheck source=../support/netns.sh
source "$(dirname "$0")/../support/netns.sh"

STATS_PORT=8053
RNDC_PORT=953
RNDC_CONF=$LAB_DIR/rndc.conf
lab_setup
lab_named_write_conf keep.test other.test
key='key "lab" { algorithm hmac-sha256; secret "ZG5zd2FzaC1sYWItcm5kYy1rZXktMzItYnl0ZXMhIQ=="; };'
# Options for rndc addzone; the control channel and the statistics channel on the namespace's
# loopback only.
sed -i "s|^  recursion no;|  recursion no;\n  allow-new-zones yes;|; s|^controls { };|$key\ncontrols { inet 127.0.0.1 port $RNDC_PORT allow { 127.0.0.1; } keys { \"lab\"; }; };\nstatistics-channels { inet 127.0.0.1 port $STATS_PORT allow { 127.0.0.1; }; };|" "$LAB_NAMED_CONF"
grep -q statistics-channels "$LAB_NAMED_CONF" || lab_fail "test setup: sed"
printf '%s\noptions { default-key "lab"; default-server 127.0.0.1; default-port %s; };\n' "$key" "$RNDC_PORT" >"$RNDC_CONF"
named-checkconf "$LAB_NAMED_CONF" || lab_fail "the lab's named.conf does not check"
chown -R bind: "$LAB_NAMED_DIR"
named_up() {
  netns_named_start "$LAB_NS_S" "$LAB_NAMED_CONF" "$LAB_DIR/named-$1.log"
  lab_wait_until 30 "named answers" lab_s dig +time=1 +tries=1 +norec @"$LAB_S4" keep.test SOA
}
named_up first
rndc_() { lab_s rndc -c "$RNDC_CONF" "$@"; }

lab_daemon_start --mode native --zones-poll-ms 500
grep -q "statistics channel: reading http://127.0.0.1:$STATS_PORT" "$LAB_DAEMON_LOG" ||
  lab_fail "dnswashd did not take the statistics channel from named.conf"
lab_stream_start "www.keep.test,keep.test" "junk.example"

# 1. rndc addzone: passes within 2 s, listed by named.conf's NZD and by named itself.
netns_zone_file "$LAB_NAMED_DIR/added.test.zone" added.test "$LAB_S4"
chown bind: "$LAB_NAMED_DIR/added.test.zone"
lab_dropped www.added.test || lab_fail "added.test passes before it is added"
rndc_ addzone added.test "{ type primary; file \"$LAB_NAMED_DIR/added.test.zone\"; };"
lab_expect_within_2s passes www.added.test "rndc addzone"
# The NZD (inotify) usually lets the zone through before the next statistics-channel read
# (every 500 ms here): named-stats joins the zone's sources by then.
listed_json() { lab_s "$DNSWASHCTL" --iface "$LAB_IF" zones list --json | jq -c .; }
stats_lists_added() { grep -q '"added.test":\[[^]]*"named-stats"' <<<"$(listed_json)"; }
netns_poll 2 stats_lists_added ||
  lab_fail "zones list --json does not name named-stats as a source of added.test: $(listed_json)"
listed=$(listed_json)
grep -q '"keep.test":\["named.conf","named-stats"\]' <<<"$listed" ||
  lab_fail "zones list --json: keep.test should come from named.conf and named-stats: $listed"

# 2. rndc delzone: dropped within 2 s.
rndc_ delzone added.test
lab_expect_within_2s dropped www.added.test "rndc delzone"

# 3. named stopped and started again: the allowlist never loses a zone meanwhile.
zones_now() { lab_s "$DNSWASHCTL" --iface "$LAB_IF" zones list | tr '\n' ' '; }
before=$(zones_now)
[[ $before == "keep.test other.test " ]] || lab_fail "zones before the restart: $before"
kill -TERM "$NETNS_NAMED_PID"
lab_wait_pid_gone "$NETNS_NAMED_PID" 20 || lab_fail "named did not stop"
wait "$NETNS_NAMED_PID" || true
NETNS_NAMED_PID=
failed_reads() { lab_ctl --field sync.sources.0.reads_failed '{"cmd":"status"}'; }
f0=$(failed_reads)
reads_fail() { (($(failed_reads) >= f0 + 2)); }
lab_wait_until 10 "dnswashd sees named's statistics channel fail" reads_fail
[[ $(zones_now) == "$before" ]] || lab_fail "zones while named is down: $(zones_now)"
named_up again
ok_again() { [[ $(lab_ctl --field sync.sources.0.failing '{"cmd":"status"}') == false ]]; }
lab_wait_until 10 "named's statistics channel read again" ok_again
[[ $(zones_now) == "$before" ]] || lab_fail "zones after named came back: $(zones_now)"
lab_passes www.keep.test || lab_fail "keep.test does not pass after the restart"

lab_stream_stop
r=$LAB_STREAM_REPORT
(($(lab_json_field "$r" junk_answered) == 0)) || lab_fail "junk passed: $r"
# While named was down nothing answered; the filter itself must never have dropped keep.test.
na=$(lab_counter not-authoritative)
ja=$(lab_json_field "$r" junk_sent)
((na <= ja + 10)) || lab_fail "not-authoritative drops ($na) beyond the junk sent ($ja) and the probes"

lab_daemon_stop TERM
lab_expect_nothing_left
lab_log "PASS"
