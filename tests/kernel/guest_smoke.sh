#!/bin/busybox sh
# shellcheck shell=dash
# Daemon smoke test inside a kernel-matrix guest: dnswashd attaches natively (XDP on a veth, the
# tc detector on its egress) in a server namespace; from a client namespace a query for a junk
# name is dropped (counted not-authoritative) and one for a served name passes (counted
# allowed); dnswashd exits 0 on SIGTERM. The guest is its own machine, but the namespaces keep
# the test what it is on the host (nothing in the root namespace). Exit 0 only if all held.
set -u
S=km-s C=km-c D=/run/km-smoke
# iproute2's ip, by path: Debian's busybox-static shell runs its own applets (its ip has no
# netns nor veth) before anything in PATH.
IP=/usr/bin/ip
fail() {
  echo "smoke FAIL: $*"
  [ -f $D/dnswashd.log ] && tail -n 30 $D/dnswashd.log
  exit 1
}
# shellcheck source=guest_netns.sh
. /usr/bin/guest_netns.sh
guest_pair

$IP netns exec $S dnswashd --iface s0 --mode native --named-conf $D/named.conf --pin-dir $D/bpffs \
  --state-dir $D/state --ban-state-dir $D/bans --detector >$D/dnswashd.log 2>&1 &
pid=$!
# Ready = the control socket answers (bounded poll: TCG makes the verifier slow).
i=0
until $IP netns exec $S lab_ctl --iface s0 '{"cmd":"status"}' >/dev/null 2>&1; do
  kill -0 $pid 2>/dev/null || fail "dnswashd exited before it was ready"
  i=$((i + 1))
  [ $i -le 1200 ] || fail "dnswashd not ready after 120 s"
  sleep 0.1
done
mode=$($IP netns exec $S lab_ctl --iface s0 --field mode '{"cmd":"status"}')
[ "$mode" = native ] || fail "mode is '$mode', not native"
counter() { $IP netns exec $S lab_ctl --iface s0 --field "counters.$1" '{"cmd":"counters"}'; }
a0=$(counter allowed) n0=$(counter not-authoritative)
# No DNS server behind the filter: the counters tell the verdicts (dwq only sends here).
$IP netns exec $C dwq probe 192.0.2.1 www.junk.example --timeout-ms 200 >/dev/null 2>&1
$IP netns exec $C dwq probe 192.0.2.1 www.a.test --timeout-ms 200 >/dev/null 2>&1
i=0
until [ "$(counter not-authoritative)" -ge $((n0 + 1)) ] && [ "$(counter allowed)" -ge $((a0 + 1)) ]; do
  i=$((i + 1))
  [ $i -le 100 ] || fail "verdicts not counted: allowed $(counter allowed) (was $a0), not-authoritative $(counter not-authoritative) (was $n0)"
  sleep 0.1
done
kill -TERM $pid
i=0
while kill -0 $pid 2>/dev/null; do
  i=$((i + 1))
  [ $i -le 300 ] || fail "dnswashd still running 30 s after SIGTERM"
  sleep 0.1
done
wait $pid
rc=$?
[ $rc -eq 0 ] || fail "dnswashd exited $rc"
$IP netns del $S
$IP netns del $C
umount $D/bpffs
echo "smoke ok: junk dropped, served name allowed, dnswashd exited 0"
