#!/usr/bin/env bash
# Interop with real resolvers: Unbound, Knot Resolver and BIND, each in its own namespace,
# resolving from a lab root (tests/support/resolvers.sh) that delegates the interop zones to
# BIND behind dnswashd. The same lookups (existing, nonexistent, DS/DNSKEY, wildcard, deep
# name, CNAME, SRV, ANY, mixed case) through each resolver, with cold caches, must give the
# same answers with and without dnswashd. Then a lame delegation (gone.lab: delegated here,
# not served): with --refuse known every resolver gives up with the same rcode as with BIND
# alone, because of the REFUSED that XDP sent (counted `refused`), not by waiting out a
# silent server (bench/lame_bench.sh measures how long each takes).
#
#   resolvers_test.sh MODE      native | generic
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MODE=${1:?usage: resolvers_test.sh native|generic}
# shellcheck source=../support/netns.sh
source "$HERE/../support/netns.sh"
# shellcheck source=interop_lab.sh
source "$HERE/interop_lab.sh"
RL_FAIL=lab_fail
# shellcheck source=../support/resolvers.sh
source "$HERE/../support/resolvers.sh"

RESOLVERS=(unb kres bind)
LOOKUPS=(
  "www.sig.lab A" "sig.lab DNSKEY" "sig.lab DS" "www.sig.lab RRSIG" "nx.sig.lab A"
  "www.plain.lab AAAA" "nx.plain.lab A" "x.wild.plain.lab TXT" "y.z.wild.plain.lab TXT"
  "a.b.c.d.e.f.deep.plain.lab A" "c.d.e.f.deep.plain.lab A" "alias.plain.lab A"
  "_sip._udp.plain.lab SRV" "plain.lab MX" "plain.lab ANY" "WwW.PlAiN.LaB A"
  "www.dyn.lab A" "dyn.lab SOA" "plain.lab NSEC"
)

# lookups OUT: every lookup through every resolver, caches emptied first; rcode and the
# answer section without TTLs, sorted.
lookups() {
  local out=$1 id l
  : >"$out"
  for id in "${RESOLVERS[@]}"; do rl_flush "$id"; done
  for id in "${RESOLVERS[@]}"; do
    for l in "${LOOKUPS[@]}"; do
      # shellcheck disable=SC2086 # name and type
      set -- $l
      local ans rc
      ans=$(lab_c dig +time=5 +tries=1 +nottlid +noall +answer +comments @"$(rl_addr "$id")" "$1" "$2" 2>&1 || true)
      rc=$(sed -n 's/.*status: \([A-Z]*\).*/\1/p' <<<"$ans")
      printf '%s\t%s\t%s\t%s\n' "$id" "$l" "${rc:-TIMEOUT}" \
        "$(grep -v '^;' <<<"$ans" | grep -v '^$' | sort | tr '\n' '|')" >>"$out"
    done
  done
}

# lame ID: seconds (ms precision) until the resolver gives up on gone.lab, and its rcode.
lame() {
  local t0 t1 rc
  t0=$(date +%s%N)
  rc=$(rl_query "$1" www.gone.lab A +time=30)
  t1=$(date +%s%N)
  echo "$rc $(((t1 - t0) / 1000000))"
}

lab_setup
# The REFUSED from XDP_TX reaches the client's veth end (where the resolvers' traffic is
# forwarded) only if that end runs an XDP program (see tests/lab/slip_test.sh).
xdp_pass_obj=${XDP_PASS_OBJ:?set XDP_PASS_OBJ to xdp_pass.bpf.o}
ip -n "$LAB_NS_C" link set dev "$LAB_IF_C" xdpdrv obj "$xdp_pass_obj" sec xdp ||
  lab_fail "cannot attach xdp_pass to $LAB_IF_C"
interop_named_start
rl_setup "$LAB_NS_C" "$LAB_C4" "$LAB_NS_S" "$LAB_S4"
rl_root_start sig.lab plain.lab dyn.lab gone.lab
rl_resolver_start unb unbound
rl_resolver_start kres kresd
rl_resolver_start bind named

alone=$LAB_DIR/lookups-alone.txt
filtered=$LAB_DIR/lookups-filtered.txt
lookups "$alone"
grep -P '\tTIMEOUT\t' "$alone" >&2 && lab_fail "a lookup timed out with BIND alone: the lab is broken"
grep -qP '\tNXDOMAIN\t' "$alone" || lab_fail "no NXDOMAIN among the lookups"
declare -A LAME_RC=()
for id in "${RESOLVERS[@]}"; do
  rl_flush "$id"
  read -r rc ms < <(lame "$id")
  lab_log "lame delegation, BIND alone: $id $rc after $ms ms"
  [[ $rc != TIMEOUT ]] || lab_fail "$id: gone.lab timed out with BIND alone"
  LAME_RC[$id]=$rc
done

lab_daemon_start --mode "$MODE" --refuse known
lookups "$filtered"
if ! diff -u "$alone" "$filtered" >"$LAB_DIR/diff.txt"; then
  cat "$LAB_DIR/diff.txt" >&2
  lab_fail "lookups through dnswash differ from BIND alone"
fi
lab_log "all $(wc -l <"$filtered") lookups identical through dnswash ($MODE)"
# The lookups made every resolver a known source; its lame lookup now meets a REFUSED.
ref0=$(lab_counter refused)
for id in "${RESOLVERS[@]}"; do
  rl_flush "$id"
  read -r rc ms < <(lame "$id")
  lab_log "lame delegation, dnswash --refuse known: $id $rc after $ms ms"
  [[ $rc == "${LAME_RC[$id]}" ]] ||
    lab_fail "$id: gone.lab gave $rc through dnswash --refuse known, ${LAME_RC[$id]} alone"
done
ref=$(($(lab_counter refused) - ref0))
lab_log "refused from XDP: $ref"
((ref >= ${#RESOLVERS[@]})) || lab_fail "only $ref REFUSED sent for ${#RESOLVERS[@]} resolvers"
lab_daemon_stop TERM
lab_log PASS
