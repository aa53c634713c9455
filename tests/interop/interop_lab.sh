# shellcheck shell=bash disable=SC2153 # LAB_* belong to the harness (tests/support/netns.sh)
# The interop suite's server side, on top of tests/support/netns.sh (sourced after it): BIND serving
# a DNSSEC-signed zone, an unsigned one and a dynamic one (nsupdate), with server-id set so
# NSID and id.server answer, on the lab's server addresses.
#
#   interop_named_start         # writes the zones and named.conf, starts named, waits
#   INTEROP_ZONES               # the served zones

INTEROP_ZONES=(sig.lab plain.lab dyn.lab) # not .test: Unbound and kresd answer RFC 6761 names locally

interop_zone() { # NAME: SOA, NS, a few records, a wildcard and a deep name
  cat <<Z
\$TTL 300
@        IN SOA ns1.$1. hostmaster.$1. 1 3600 600 86400 300
         IN NS  ns1.$1.
         IN MX  10 mail.$1.
         IN TXT "interop lab zone $1"
         IN CAA 0 issue "ca.example"
ns1      IN A    $LAB_S4
ns1      IN AAAA $LAB_S6
www      IN A    192.0.2.80
www      IN AAAA 2001:db8::80
mail     IN A    192.0.2.25
alias    IN CNAME www
*.wild   IN TXT  "wildcard"
a.b.c.d.e.f.deep IN A 192.0.2.99
_sip._udp IN SRV 0 5 5060 www
Z
}

interop_named_start() {
  local d=$LAB_NAMED_DIR z
  for z in "${INTEROP_ZONES[@]}"; do interop_zone "$z" >"$d/$z.zone"; done
  # The signed zone: keys made and the zone signed once, offline (seconds), so both runs of
  # the probe see the very same signatures.
  dnssec-keygen -q -K "$d" -a ECDSAP256SHA256 -f KSK sig.lab >/dev/null
  dnssec-keygen -q -K "$d" -a ECDSAP256SHA256 sig.lab >/dev/null
  (cd "$d" && dnssec-signzone -q -S -K "$d" -o sig.lab -f sig.lab.signed sig.lab.zone) ||
    lab_fail "dnssec-signzone failed"
  {
    netns_named_options "$d" "$LAB_S4" "$LAB_S6" 'server-id "interop-ns1";'
    cat <<C
zone "sig.lab" { type primary; file "sig.lab.signed"; };
zone "plain.lab" { type primary; file "plain.lab.zone"; };
zone "dyn.lab" { type primary; file "dyn.lab.zone"; allow-update { any; }; };
C
  } >"$LAB_NAMED_CONF"
  chown -R bind: "$d"
  netns_named_start "$LAB_NS_S" "$LAB_NAMED_CONF" "$LAB_DIR/named.log"
  for z in "${INTEROP_ZONES[@]}"; do
    lab_wait_until 30 "named answers for $z" lab_s dig +time=1 +tries=1 +norec @"$LAB_S4" "$z" SOA
  done
}
