#!/usr/bin/env bash
# Catalog zones (RFC 9432) with two BIND servers (issue 19): a primary on the server
# namespace's loopback holds catalog.test, and the protected server, a secondary with
# `catalog-zones`, serves the member zones it lists. Those zones are not in the secondary's
# named.conf: dnswashd learns them from its statistics channel. A member added to the catalog
# passes within 2 s of the secondary serving it, a removed member stops passing within 2 s of
# the secondary dropping it, and a query stream for other zones loses nothing meanwhile. Then
# the secondary is restarted while dnswashd runs: no member leaves the allowlist.
# shellcheck source=../support/netns.sh
source "$(dirname "$0")/../support/netns.sh"

PRIMARY=127.0.0.2
STATS_PORT=8053
lab_setup
lab_s ip addr add "$PRIMARY/32" dev lo
PDIR=$LAB_DIR/primary
mkdir -p "$PDIR"

# The primary: the catalog (dynamic, so members are added and removed with nsupdate) and the
# member zones.
{
  echo "options {"
  echo "  directory \"$PDIR\";"
  echo "  listen-on port 53 { $PRIMARY; };"
  echo "  listen-on-v6 { none; };"
  echo "  recursion no;"
  echo "  dnssec-validation no;"
  echo "  pid-file none;"
  echo "  session-keyfile none;"
  echo "  managed-keys-directory \"$PDIR\";"
  echo "  notify explicit;"
  echo "  also-notify { $LAB_S4; };"
  echo "  notify-source $PRIMARY;"
  echo "  allow-transfer { any; };"
  echo "};"
  echo "controls { };"
  echo 'zone "catalog.test" { type primary; file "catalog.test.zone"; allow-update { 127.0.0.0/8; }; };'
  for z in m1.test m2.test m3.test; do printf 'zone "%s" { type primary; file "%s.zone"; };\n' "$z" "$z"; done
} >"$PDIR/named.conf"
printf '%s\n' "\$TTL 60" '@ IN SOA invalid. invalid. 1 3600 600 86400 60' '@ IN NS invalid.' \
  'version IN TXT "2"' 'm1.zones IN PTR m1.test.' 'm2.zones IN PTR m2.test.' \
  >"$PDIR/catalog.test.zone"
for z in m1.test m2.test m3.test; do netns_zone_file "$PDIR/$z.zone" "$z" "$LAB_S4"; done
named-checkconf "$PDIR/named.conf" || lab_fail "the primary's named.conf does not check"
chown -R bind: "$PDIR"
NETNS_LOGS+=("$LAB_DIR/primary.log")
ip netns exec "$LAB_NS_S" named -g -u bind -c "$PDIR/named.conf" >"$LAB_DIR/primary.log" 2>&1 &
LAB_BG_PIDS+=($!)
lab_wait_until 30 "the primary answers" lab_s dig +time=1 +tries=1 +norec @"$PRIMARY" m1.test SOA

# The protected secondary: keep.test from named.conf, the rest from the catalog.
lab_named_write_conf keep.test
catz="catalog-zones { zone \"catalog.test\" default-primaries { $PRIMARY; } min-update-interval 1; };"
stats="statistics-channels { inet 127.0.0.1 port $STATS_PORT allow { 127.0.0.1; }; };"
catzone="zone \"catalog.test\" { type secondary; file \"catalog.db\"; primaries { $PRIMARY; }; };"
sed -i "s|^  recursion no;|  recursion no;\n  allow-new-zones yes;\n  $catz|; s|^controls { };|controls { };\n$stats\n$catzone|" "$LAB_NAMED_CONF"
grep -q 'catalog-zones' "$LAB_NAMED_CONF" || lab_fail "test setup: sed"
named-checkconf "$LAB_NAMED_CONF" || lab_fail "the secondary's named.conf does not check"
chown -R bind: "$LAB_NAMED_DIR"
secondary_up() { netns_named_start "$LAB_NS_S" "$LAB_NAMED_CONF" "$LAB_DIR/secondary-$1.log"; }
# serves ZONE: the secondary answers authoritatively for ZONE (asked inside the server
# namespace, so the filter is not in the way).
serves() { lab_s dig +time=1 +tries=1 +norec @"$LAB_S4" "$1" SOA | lab_has 'flags: qr aa'; }
serves_m1_m2() { serves m1.test && serves m2.test; }
secondary_up first
lab_wait_until 30 "the secondary serves m1.test and m2.test from the catalog" serves_m1_m2
grep -q '"m1.test"' "$LAB_NAMED_CONF" && lab_fail "test setup: m1.test is in named.conf"

lab_daemon_start --mode native --zones-poll-ms 500
lab_passes www.m1.test || lab_fail "catalog member m1.test does not pass"
lab_passes www.m2.test || lab_fail "catalog member m2.test does not pass"
lab_dropped www.m3.test || lab_fail "m3.test passes before it is in the catalog"
lab_stream_start "www.keep.test,www.m1.test" "junk.example"

update_catalog() { printf 'server %s\nzone catalog.test\n%s\nsend\n' "$PRIMARY" "$1" | lab_s nsupdate; }

# 1. A member added to the catalog.
update_catalog "update add m3.zones.catalog.test 60 IN PTR m3.test."
lab_wait_until 20 "the secondary serves m3.test" serves m3.test
lab_expect_within_2s passes www.m3.test "catalog member added"

# 2. A member removed from the catalog.
update_catalog "update delete m2.zones.catalog.test PTR"
not_served() { ! serves m2.test; }
lab_wait_until 20 "the secondary stops serving m2.test" not_served
lab_expect_within_2s dropped www.m2.test "catalog member removed"

lab_stream_expect_clean "during the catalog changes"

# 3. The secondary restarted while dnswashd runs: the members stay allowed throughout.
zones_now() { lab_s "$DNSWASHCTL" --iface "$LAB_IF" zones list | tr '\n' ' '; }
before=$(zones_now)
[[ $before == "catalog.test keep.test m1.test m3.test " ]] || lab_fail "zones before the restart: $before"
src() { lab_ctl --field "sync.sources.0.$1" '{"cmd":"status"}'; }
kill -TERM "$NETNS_NAMED_PID"
lab_wait_pid_gone "$NETNS_NAMED_PID" 20 || lab_fail "the secondary did not stop"
wait "$NETNS_NAMED_PID" || true
NETNS_NAMED_PID=
f0=$(src reads_failed)
reads_fail() { (($(src reads_failed) >= f0 + 2)); }
lab_wait_until 10 "dnswashd sees the statistics channel fail" reads_fail
[[ $(zones_now) == "$before" ]] || lab_fail "zones while the secondary is down: $(zones_now)"
secondary_up again
lab_wait_until 30 "the secondary serves m3.test again" serves m3.test
ok_again() { [[ $(src failing) == false ]]; }
lab_wait_until 10 "the statistics channel read again" ok_again
# A few more reads after the restart: none may shrink the set.
reads0=$(src reads_ok)
more_reads() { (($(src reads_ok) >= reads0 + 3)); }
lab_wait_until 10 "three more reads" more_reads
[[ $(zones_now) == "$before" ]] || lab_fail "zones after the restart: $(zones_now)"
lab_log "secondary restart: $(src drops_held) drops held back, zones kept: $(zones_now)"
lab_passes www.m3.test || lab_fail "m3.test does not pass after the restart"

lab_daemon_stop TERM
lab_expect_nothing_left
lab_log "PASS"
