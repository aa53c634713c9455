#!/usr/bin/env bash
# Interop: every genreport-style check and every odd query of tests/interop/compliance_probe.py,
# against BIND alone and through dnswashd (default options), over IPv4 and IPv6, must give the
# same normalised answer; plus an nsupdate and kdig round trip. The probe runs paced (below the
# default odd-query limit of 10/s, burst 20, per source prefix) in the filtered run; a second,
# unpaced run then shows the limit working (some odd queries time out and are counted).
#
#   compliance_test.sh MODE      native | generic | nfqueue
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MODE=${1:?usage: compliance_test.sh native|generic|nfqueue}
# shellcheck source=../support/netns.sh
source "$HERE/../support/netns.sh"
# shellcheck source=interop_lab.sh
source "$HERE/interop_lab.sh"

PROBE=(/usr/bin/python3 "$HERE/compliance_probe.py")
zones=()
for z in "${INTEROP_ZONES[@]}"; do zones+=(--zone "$z"); done

# probe_both OUT [ARGS...]: the probe over IPv4 and IPv6 at once (two source prefixes, two
# buckets), merged into OUT with the family in front.
probe_both() {
  local out=$1
  shift
  lab_c "${PROBE[@]}" --server "$LAB_S4" "${zones[@]}" "$@" | sed 's/^/v4\t/' >"$out.4" &
  local p4=$!
  lab_c "${PROBE[@]}" --server "$LAB_S6" "${zones[@]}" "$@" | sed 's/^/v6\t/' >"$out.6" ||
    lab_fail "probe (IPv6) failed"
  wait "$p4" || lab_fail "probe (IPv4) failed"
  cat "$out.4" "$out.6" >"$out"
}

counter() { lab_counter "$1"; }

lab_setup
interop_named_start

alone=$LAB_DIR/alone.txt
filtered=$LAB_DIR/filtered.txt
probe_both "$alone"
n=$(wc -l <"$alone")
lab_log "BIND alone: $n answers, $(grep -c TIMEOUT "$alone" || true) timeouts"
((n > 300)) || lab_fail "the probe ran only $n checks"
if grep -q TIMEOUT "$alone"; then
  grep TIMEOUT "$alone" >&2
  lab_fail "BIND alone left checks unanswered: the lab is broken"
fi

lab_daemon_start --mode "$MODE"
probe_both "$filtered" --pace-odd 0.12
if ! diff -u "$alone" "$filtered" >"$LAB_DIR/diff.txt"; then
  cat "$LAB_DIR/diff.txt" >&2
  lab_fail "answers through dnswash ($MODE) differ from BIND alone"
fi
lab_log "through dnswash ($MODE): all $n answers identical"
for k in opcode-passed qdcount-passed qclass-passed chaos-id-passed; do
  v=$(counter "$k")
  lab_log "$k: $v"
  ((v > 0)) || lab_fail "counter $k did not move: the odd queries did not take the new path"
done

# Dynamic update and kdig, through the filter.
lab_c nsupdate <<U || lab_fail "nsupdate through dnswash failed"
server $LAB_S4
zone dyn.lab
update add new.dyn.lab 300 IN A 192.0.2.123
send
U
got=$(lab_c dig +short +norec @"$LAB_S6" new.dyn.lab A)
[[ $got == 192.0.2.123 ]] || lab_fail "the update did not land (got '$got')"
got=$(lab_c kdig +short +norec @"$LAB_S4" www.sig.lab A)
[[ $got == 192.0.2.80 ]] || lab_fail "kdig through dnswash: got '$got'"

# Unpaced, the same odd queries meet the limit: some go unanswered and are counted as drops.
before=$(($(counter opcode) + $(counter qdcount) + $(counter qclass) + $(counter chaos)))
lab_c "${PROBE[@]}" --server "$LAB_S4" "${zones[@]}" --timeout 0.3 >"$LAB_DIR/unpaced.txt"
after=$(($(counter opcode) + $(counter qdcount) + $(counter qclass) + $(counter chaos)))
lab_log "unpaced run: $((after - before)) odd queries over the limit dropped"
((after > before)) || lab_fail "an unpaced burst of odd queries never met the limit"
lab_daemon_stop TERM
lab_log "PASS"
