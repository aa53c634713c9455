#!/bin/busybox sh
# shellcheck shell=dash
# NIC sharing inside a kernel-matrix guest (docs/nic-sharing.md): dnswashd and xdp-filter
# (xdp-tools) in one libxdp dispatcher on a veth, native mode. In order:
#  1. dnswashd alone through libxdp: its dispatcher keeps xdp.frags.
#  2. xdp-filter joins, denying UDP port 5353: dnswash runs first (priority 5, xdp-filter 10).
#     Verdicts: a junk name to port 53 dropped by dnswash, a served name to 53 answered, a
#     served name to 5353 dropped by xdp-filter (answered before its rule).
#  3. With a paced stream of served and junk queries running, dnswashd stops with
#     --keep-on-exit and a new one takes over: no served query lost, no junk answered, and
#     xdp-filter still in the dispatcher (and still dropping 5353).
#  4. The new dnswashd stops without --keep-on-exit: only xdp-filter stays (junk answered now,
#     5353 still dropped).
# A stand-in server (dwq serve, REFUSED to everything) answers on ports 53 and 5353 behind
# the filters. Everything runs in two namespaces, as on the host. Exit 0 only if all held.
set -u
S=km-xs C=km-xc D=/run/km-share
IP=/usr/bin/ip # iproute2's, by path (busybox's ip has no netns)
# libxdp's state (and xdp-filter's) on the test's own bpffs: `ip netns exec` hides /sys/fs/bpf.
export LIBXDP_BPFFS=$D/bpffs
pid=""
XA=libxdp # --xdp-attach of start_daemon
fail() {
  echo "share FAIL: $*"
  for f in $D/d0.log $D/d1.log $D/d2.log $D/stream.out; do
    [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }
  done
  $IP netns exec $S xdp-filter status 2>&1 | tail -n 20
  exit 1
}
# shellcheck source=guest_netns.sh
. /usr/bin/guest_netns.sh
guest_pair
$IP netns exec $S dwq serve 192.0.2.1 --stop-file $D/stop >/dev/null 2>&1 &
$IP netns exec $S dwq serve 192.0.2.1 --port 5353 --stop-file $D/stop >/dev/null 2>&1 &

ctl() { $IP netns exec $S lab_ctl --iface s0 "$@"; }
counter() { ctl --field "counters.$1" '{"cmd":"counters"}'; }
# ask PORT NAME: 0 if answered. An answer is awaited long (TCG is slow), silence is judged after
# 500 ms: a drop that is not one would be answered in a few ms.
ask() { $IP netns exec $C dwq probe 192.0.2.1 "$2" --port "$1" --timeout-ms 2000 >/dev/null 2>&1; }
silent() { ! $IP netns exec $C dwq probe 192.0.2.1 "$2" --port "$1" --timeout-ms 500 >/dev/null 2>&1; }
# start_daemon LOG [ARGS...]: dnswashd through libxdp; returns once its control socket answers.
start_daemon() {
  log=$1
  shift
  $IP netns exec $S dnswashd --iface s0 --mode native --xdp-attach "$XA" --named-conf $D/named.conf \
    --pin-dir $D/bpffs/dnswash --state-dir $D/state --ban-state-dir $D/bans "$@" >"$log" 2>&1 &
  pid=$!
  i=0
  until ctl '{"cmd":"status"}' >/dev/null 2>&1; do
    kill -0 $pid 2>/dev/null || fail "dnswashd exited before it was ready"
    i=$((i + 1))
    [ $i -le 1200 ] || fail "dnswashd not ready after 120 s"
    sleep 0.1
  done
}
stop_daemon() {
  kill -TERM $pid
  i=0
  while kill -0 $pid 2>/dev/null; do
    i=$((i + 1))
    [ $i -le 300 ] || fail "dnswashd still running 30 s after SIGTERM"
    sleep 0.1
  done
  wait $pid || fail "dnswashd exited $?"
}

# 0. Kernels from 6.12.y on (and 6.13) refuse an freplace program that may change packet data
# (dnswash's truncated and REFUSED replies) in place of one that does not, and the slots of the
# dispatcher of libxdp before 1.5.5 (Debian 12: 1.3.1, 13: 1.5.4) do not. There, auto must
# fall back to a direct link, say why, and filter.
XA=auto
start_daemon $D/d0.log
XA=libxdp
if grep -q 'Extension program changes packet data, while original does not' $D/d0.log; then
  grep -q "native XDP through libxdp on s0 failed: .*libxdp before 1.5.5.*; attaching directly instead" $D/d0.log ||
    grep -q "attaching directly instead: no other XDP program can share s0" $D/d0.log ||
    fail "refused component: no fallback line"
  [ "$(ctl --field xdp_attach '{"cmd":"status"}')" = direct ] || fail "refused component: not direct"
  ask 53 www.a.test || fail "refused component: served name not answered"
  silent 53 www.junk.example || fail "refused component: junk answered"
  stop_daemon
  $IP -n $S -d link show dev s0 | grep -q 'prog/xdp' && fail "refused component: XDP left after the stop"
  touch $D/stop
  $IP netns del $S
  $IP netns del $C
  umount $D/bpffs
  echo "note share: $(uname -r) refuses dnswash in libxdp 1.3.1's dispatcher (changes packet data): auto fell back to a direct link, filtering"
  echo "share ok (fallback only)"
  exit 0
fi
[ "$(ctl --field xdp_attach '{"cmd":"status"}')" = libxdp ] || fail "auto did not use libxdp: $(grep -i libxdp $D/d0.log)"
stop_daemon

# 1. Alone: the dispatcher carries xdp.frags (dnswash's program is xdp.frags).
start_daemon $D/d1.log --keep-on-exit
[ "$(ctl --field xdp_attach '{"cmd":"status"}')" = libxdp ] || fail "not attached through libxdp"
[ "$(ctl --field mode '{"cmd":"status"}')" = native ] || fail "not native"
grep -q 'dispatcher id [0-9]* (native, xdp.frags): dnswash_xdp\[id [0-9]*, priority 5\]$' $D/d1.log ||
  fail "alone, the dispatcher is not native with xdp.frags"

# 2. xdp-filter joins (its rule only after a first answer on 5353: the drop is its own).
$IP netns exec $S xdp-filter load -m native -f udp s0 >$D/xf.log 2>&1 || fail "xdp-filter load: $(cat $D/xf.log)"
ask 5353 www.a.test || fail "port 5353 not answered before xdp-filter's rule"
$IP netns exec $S xdp-filter port -p udp 5353 >>$D/xf.log 2>&1 || fail "xdp-filter port: $(cat $D/xf.log)"
a0=$(counter allowed) n0=$(counter not-authoritative)
ask 53 www.a.test || fail "served name on 53 not answered with xdp-filter loaded"
silent 53 www.junk.example || fail "junk name on 53 answered with both loaded"
silent 5353 www.a.test || fail "port 5353 answered: xdp-filter's rule does not hold"
[ "$(counter allowed)" -gt "$a0" ] || fail "dnswash counted no allowed query"
[ "$(counter not-authoritative)" -gt "$n0" ] || fail "dnswash counted no junk drop"
[ "$(ctl --field attached '{"cmd":"status"}')" = true ] || fail "status: not attached"

# 3. Takeover with the stream running: SIGTERM (--keep-on-exit), a new dnswashd, no window.
rm -f $D/stopstream
$IP netns exec $C dwq stream 192.0.2.1 --served www.a.test,a.test --junk www.junk.example,x.junk.example \
  --rate 200 --timeout-ms 2000 --stop-file $D/stopstream >$D/stream.out 2>&1 &
spid=$!
sleep 0.5 # let the stream run before the restart (not a synchronisation: it only adds queries)
stop_daemon
grep -q 'left program id [0-9]* in libxdp' $D/d1.log || fail "the component was not left in place"
start_daemon $D/d2.log
[ "$(ctl --field took_over '{"cmd":"status"}')" = true ] || fail "the new dnswashd did not take over"
grep -q 'took over in libxdp.s dispatcher: .*dnswash_xdp\[id [0-9]*, priority 5\] xdpfilt_[a-z_]*\[id [0-9]*, priority 10\]$' $D/d2.log ||
  fail "after the takeover the dispatcher is not dnswash then xdp-filter"
sleep 0.5
touch $D/stopstream
wait $spid || fail "dwq stream failed"
out=$(cat $D/stream.out)
echo "note share: takeover under a stream: $out"
ss=$(echo "$out" | sed -n 's/.*"served_sent":\([0-9]*\).*/\1/p')
sa=$(echo "$out" | sed -n 's/.*"served_answered":\([0-9]*\).*/\1/p')
js=$(echo "$out" | sed -n 's/.*"junk_sent":\([0-9]*\).*/\1/p')
ja=$(echo "$out" | sed -n 's/.*"junk_answered":\([0-9]*\).*/\1/p')
if [ -z "$ss" ] || [ "$ss" -lt 50 ] || [ "$js" -lt 50 ]; then fail "stream too short: $out"; fi
[ "$sa" = "$ss" ] || fail "served queries lost across the takeover: $out"
[ "$ja" = 0 ] || fail "junk answered across the takeover: $out"
silent 5353 www.a.test || fail "port 5353 answered after the takeover: xdp-filter lost"

# 4. Stop without --keep-on-exit: dnswash leaves, xdp-filter stays.
stop_daemon
grep -q 'detached from libxdp.s dispatcher' $D/d2.log || fail "no detach on stop"
ask 53 www.junk.example || fail "junk not answered after dnswashd stopped: still filtering"
silent 5353 www.a.test || fail "port 5353 answered after dnswashd stopped: xdp-filter lost"
[ -z "$(ls $D/bpffs/dnswash/s0 2>/dev/null)" ] || fail "pins left after the stop: $(ls -R $D/bpffs/dnswash)"

$IP netns exec $S xdp-filter unload s0 >/dev/null 2>&1 || fail "xdp-filter unload"
touch $D/stop
$IP netns del $S
$IP netns del $C
umount $D/bpffs
echo "note share: $(grep -o 'libxdp dispatcher id.*' $D/d1.log | head -n1) (dnswashd alone)"
echo "note share: $(grep -o 'libxdp dispatcher id.*' $D/d2.log | head -n1) (after the takeover)"
echo "share ok: dnswash first in libxdp's dispatcher with xdp-filter, both verdicts, takeover without a window ($ss served, $js junk), detach leaves xdp-filter"
