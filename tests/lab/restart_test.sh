#!/usr/bin/env bash
# Restart and upgrade without a window. A query stream runs from the client throughout while
# dnswashd is stopped with --keep-on-exit, handed over with SIGUSR2, and replaced across a map
# ABI change; each new daemon takes over the same bpf_link (same link id, program swapped with
# bpf_link_update). Not one served query may go unanswered and not one junk query answered,
# also while no daemon runs at all, nor when a hand-over switches to NFQUEUE mode. A final
# SIGTERM leaves nothing.
# shellcheck source=../support/netns.sh
source "$(dirname "$0")/../support/netns.sh"

lab_setup
lab_named_start a.test b.test
lab_daemon_start --mode native --keep-on-exit
link=$(lab_status link_id)
prog1=$(lab_status prog_id)
zones_map=$(lab_status maps.zones)
abi=$(lab_status abi)
old_abi=$((abi - 1))
allowed0=$(lab_counter allowed)
notauth0=$(lab_counter not-authoritative)
extra_allowed=0 extra_junk=0 # probes outside the stream, counted by the filter too

LAB_STREAM_RATE=200
lab_stream_start "www.a.test,b.test,deep.name.in.a.test" "junk.example,a.test.invalid"
counted_at_least() { (($(lab_counter allowed) >= $1)); }
lab_wait_until 20 "the stream is flowing" counted_at_least $((allowed0 + 50))

# 1. SIGTERM with --keep-on-exit: the daemon goes, the filter stays (pinned), and keeps working.
lab_daemon_stop TERM
((LAB_DAEMON_RC == 0)) || lab_fail "exit $LAB_DAEMON_RC on SIGTERM with --keep-on-exit"
ip -n "$LAB_NS_S" -d link show dev "$LAB_IF" | lab_has "prog/xdp id $prog1" ||
  lab_fail "the filter was not left attached"
[[ -e $LAB_BPFFS/$LAB_IF/abi-$abi/link ]] || lab_fail "the link pin is gone"
lab_s grep -q '@dnswash/' /proc/net/unix && lab_fail "the control socket outlived the daemon"
lab_dropped junk.example || lab_fail "junk answered while no daemon ran"
lab_passes www.b.test || lab_fail "served name dropped while no daemon ran"
((extra_junk += 1, extra_allowed += 1))

lab_daemon_start --mode native
[[ $(lab_status link_id) == "$link" ]] || lab_fail "link id changed: $link -> $(lab_status link_id)"
[[ $(lab_status took_over) == true ]] || lab_fail "the new daemon did not take over"
[[ $(lab_status maps.zones) == "$zones_map" ]] || lab_fail "the zone map was not shared"
prog2=$(lab_status prog_id)
[[ $prog2 != "$prog1" ]] || lab_fail "the program was not replaced"
ip -n "$LAB_NS_S" -d link show dev "$LAB_IF" | lab_has "prog/xdp id $prog2" ||
  lab_fail "the interface does not run the new program $prog2"
lab_wait_until 20 "the stream is counted by the new program" counted_at_least $(($(lab_counter allowed) + 50))

# 2. SIGUSR2: hand-over exit (code 75) whatever --keep-on-exit says.
lab_daemon_stop USR2
((LAB_DAEMON_RC == 75)) || lab_fail "exit $LAB_DAEMON_RC on SIGUSR2, wanted 75"
# A successor that cannot start (broken named.conf, and --dry-run it never gets to apply)
# changes nothing: the filter left behind keeps filtering with its zones.
printf 'zone "a.test" { type primary file "a.test.zone"; };\n' >"$LAB_DIR/broken.conf"
lab_daemon_run --iface "$LAB_IF" --named-conf "$LAB_DIR/broken.conf" --pin-dir "$LAB_BPFFS" --dry-run
((LAB_RC == 1)) || lab_fail "a broken named.conf on takeover: exit $LAB_RC: $LAB_OUT"
grep -q "broken.conf:1:" <<<"$LAB_OUT" || lab_fail "broken named.conf message: $LAB_OUT"
ip -n "$LAB_NS_S" -d link show dev "$LAB_IF" | lab_has "prog/xdp id $prog2" ||
  lab_fail "a failed successor changed the attached program"
[[ -e $LAB_BPFFS/$LAB_IF/abi-$abi/link ]] || lab_fail "a failed successor removed the pins"
lab_dropped junk.example || lab_fail "junk answered after a failed successor (dry-run leaked?)"
((extra_junk += 1))

lab_daemon_start --mode native
[[ $(lab_status link_id) == "$link" ]] || lab_fail "link id changed after SIGUSR2"
lab_wait_until 20 "the stream is counted again" counted_at_least $(($(lab_counter allowed) + 50))

lab_stream_stop
r=$LAB_STREAM_REPORT
served_sent=$(lab_json_field "$r" served_sent)
(($(lab_json_field "$r" served_answered) == served_sent)) || lab_fail "served queries lost: $r"
(($(lab_json_field "$r" junk_answered) == 0)) || lab_fail "junk answered: $r"
# The counters live in the shared maps: across both takeovers they count every query once.
d_allowed=$(($(lab_counter allowed) - allowed0 - extra_allowed))
d_notauth=$(($(lab_counter not-authoritative) - notauth0 - extra_junk))
((d_allowed == served_sent)) || lab_fail "allowed +$d_allowed across restarts, sent $served_sent"
((d_notauth == $(lab_json_field "$r" junk_sent))) || lab_fail "not-authoritative +$d_notauth: $r"

# 3. Pins from another map ABI version are never reused silently: refused on request...
lab_daemon_stop USR2
mv "$LAB_BPFFS/$LAB_IF/abi-$abi" "$LAB_BPFFS/$LAB_IF/abi-$old_abi" # what an older dnswashd would have left
lab_daemon_run --iface "$LAB_IF" --named-conf "$LAB_NAMED_CONF" --pin-dir "$LAB_BPFFS" \
  --on-abi-mismatch refuse
((LAB_RC == 1)) || lab_fail "refuse: exit $LAB_RC: $LAB_OUT"
grep -q "map ABI version $old_abi (this dnswashd uses $abi)" <<<"$LAB_OUT" || lab_fail "refuse message: $LAB_OUT"
[[ -e $LAB_BPFFS/$LAB_IF/abi-$old_abi/link ]] || lab_fail "refusing must leave the old pins alone"
lab_dropped junk.example || lab_fail "junk answered after a refused start"
# ... or replaced (the default): fresh maps, but still swapped into the same link.
lab_stream_start "www.a.test,b.test" "junk.example"
lab_daemon_start
[[ $(lab_status link_id) == "$link" ]] || lab_fail "link id changed on an ABI replace"
[[ $(lab_status maps.zones) != "$zones_map" ]] || lab_fail "maps of another ABI were reused"
[[ -e $LAB_BPFFS/$LAB_IF/abi-$abi/link && ! -e $LAB_BPFFS/$LAB_IF/abi-$old_abi ]] ||
  lab_fail "pins not moved to abi-$abi: $(find "$LAB_BPFFS/$LAB_IF")"
grep -q "map ABI version $old_abi.*replacing it" "$LAB_DAEMON_LOG" || lab_fail "no warning for the ABI replace"
lab_wait_until 20 "the fresh maps count" counted_at_least 20
lab_stream_expect_clean "across the ABI replace"

# 4. From XDP to NFQUEUE across a hand-over: NFQUEUE starts first, then the XDP link goes.
lab_daemon_stop USR2
lab_stream_start "www.a.test,b.test" "junk.example"
lab_daemon_start --mode nfqueue
[[ $(lab_status mode) == nfqueue ]] || lab_fail "mode $(lab_status mode) after switching to nfqueue"
ip -n "$LAB_NS_S" -d link show dev "$LAB_IF" | lab_has 'prog/xdp' && lab_fail "XDP still attached"
[[ ! -e $LAB_BPFFS/$LAB_IF ]] || lab_fail "XDP pins left after switching to NFQUEUE"
nfq_judged() { (($(lab_counter allowed) >= $1)); }
lab_wait_until 20 "NFQUEUE judges the stream" nfq_judged $(($(lab_counter allowed) + 20))
lab_stream_expect_clean "switching to NFQUEUE"

# 5. A plain stop after all that still leaves nothing.
lab_daemon_stop TERM
((LAB_DAEMON_RC == 0)) || lab_fail "exit $LAB_DAEMON_RC on the final SIGTERM"
lab_expect_nothing_left
lab_log "PASS"
