#!/usr/bin/env bash
# Live zone sync (issue 3) against a running filter: named.conf is edited while a query
# stream for an unchanged zone flows. Each step waits (bounded) for the filter to follow:
# a zone added in place, a zone removed by an editor-style rename-replace (and gone within
# 1 s), a broken edit (old set kept, the error counted with file:line:column), an include added
# and then edited, SIGHUP, and the QR=1 switch following named.conf's source port 53. The
# unchanged zone never misses a query; junk never passes.
# "Passes" means any answer: named REFUSES the zones it has not loaded, but the query got
# through the filter.
# shellcheck source=../support/netns.sh
source "$(dirname "$0")/../support/netns.sh"

lab_setup
lab_named_start keep.test gone.test
lab_daemon_start --mode native
LAB_DROP_MS=300
passes() { lab_passes "$1"; }
dropped() { lab_dropped "$1"; }
sync_ok() { lab_status sync.ok; }
sync_failed() { lab_status sync.failed; }

lab_stream_start "www.keep.test,keep.test" "junk.example,www.new.test.invalid"

conf_with() { # conf_with ZONE... : named.conf text with the lab options and these zones
  sed -n '1,/^controls/p' "$LAB_NAMED_CONF"
  local z
  for z in "$@"; do lab_zone_stanza "$z"; done
}

# 1. A zone added by an in-place append.
dropped www.new.test || lab_fail "new.test passes before it is configured"
lab_zone_stanza new.test >>"$LAB_NAMED_CONF"
lab_wait_until 5 "new.test passes after an append" passes www.new.test

# 2. A zone removed by rename-replace (write a temp file, rename it over named.conf).
passes www.gone.test || lab_fail "gone.test does not pass before its removal"
conf_with keep.test new.test >"$LAB_NAMED_DIR/named.conf.new"
t0=$(lab_now_ms)
mv "$LAB_NAMED_DIR/named.conf.new" "$LAB_NAMED_CONF"
while :; do
  t=$(lab_now_ms)
  dropped www.gone.test && break
  ((t - t0 < 5000)) || lab_fail "gone.test still passes 5 s after its removal"
done
((t - t0 < 1000)) || lab_fail "gone.test stopped passing only after $((t - t0)) ms (limit 1000)"
lab_log "removed zone stopped passing after <= $((t - t0)) ms"
passes www.new.test || lab_fail "new.test lost by the rename-replace"

# 3. A broken edit: the error is counted and names file:line:column; the set stays as it was.
failed0=$(sync_failed)
{ conf_with keep.test new.test; echo 'zone "broken.test" { type primary file "x"; };'; } \
  >"$LAB_NAMED_DIR/named.conf.new"
mv "$LAB_NAMED_DIR/named.conf.new" "$LAB_NAMED_CONF"
more_failures() { (($(sync_failed) > failed0)); }
lab_wait_until 5 "the broken edit counted as a failed sync" more_failures
[[ $(lab_status sync.failing) == true ]] || lab_fail "status does not say the sync is failing"
err=$(lab_status sync.last_error)
[[ $err =~ named\.conf:[0-9]+:[0-9]+: ]] || lab_fail "sync error without file:line:column: $err"
lab_log "broken edit reported: $err"
passes www.new.test || lab_fail "the broken edit dropped new.test"
passes www.keep.test || lab_fail "the broken edit dropped keep.test"
dropped www.broken.test || lab_fail "a zone from the broken file got in"
dropped www.gone.test || lab_fail "the broken edit brought gone.test back"
[[ $(lab_status zones) == 2 ]] || lab_fail "zone count after the broken edit: $(lab_status zones)"

# 4. An include added (fixing the file), then the included file edited.
lab_zone_stanza inc.test >"$LAB_NAMED_DIR/extra.conf"
{ conf_with keep.test new.test; echo "include \"$LAB_NAMED_DIR/extra.conf\";"; } \
  >"$LAB_NAMED_DIR/named.conf.new"
mv "$LAB_NAMED_DIR/named.conf.new" "$LAB_NAMED_CONF"
lab_wait_until 5 "inc.test (from a new include) passes" passes www.inc.test
[[ $(lab_status sync.failing) == false ]] || lab_fail "still failing after the fix"
lab_zone_stanza inc2.test >>"$LAB_NAMED_DIR/extra.conf"
lab_wait_until 5 "inc2.test (appended to the included file) passes" passes www.inc2.test
[[ $(lab_status zones) == 4 ]] || lab_fail "zone count with the include: $(lab_status zones)"

# 5. SIGHUP re-reads.
ok0=$(sync_ok)
kill -HUP "$LAB_DAEMON_PID"
more_ok() { (($(sync_ok) > ok0)); }
lab_wait_until 5 "a sync after SIGHUP" more_ok

# 6. The QR=1 switch follows named.conf: `notify-source ... port 53` makes named send from port
# 53, so responses to port 53 must pass; removing it turns the switch off again.
[[ $(lab_status allow_responses) == false ]] || lab_fail "allow-responses on without port 53"
sed 's/^  notify no;$/  notify no;\n  notify-source * port 53;/' "$LAB_NAMED_CONF" >"$LAB_NAMED_DIR/named.conf.new"
grep -q 'notify-source \* port 53' "$LAB_NAMED_DIR/named.conf.new" || lab_fail "test setup: sed"
cp "$LAB_NAMED_CONF" "$LAB_DIR/named.conf.before-port53"
mv "$LAB_NAMED_DIR/named.conf.new" "$LAB_NAMED_CONF"
responses_allowed() { [[ $(lab_status allow_responses) == "$1" ]]; }
lab_wait_until 5 "allow-responses on after notify-source port 53" responses_allowed true
cp "$LAB_DIR/named.conf.before-port53" "$LAB_NAMED_DIR/named.conf.new"
mv "$LAB_NAMED_DIR/named.conf.new" "$LAB_NAMED_CONF"
lab_wait_until 5 "allow-responses off again" responses_allowed false

lab_stream_expect_clean "during the edits"

lab_daemon_stop TERM
lab_expect_nothing_left
lab_log "PASS"
