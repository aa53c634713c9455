#!/usr/bin/env bash
# --mode auto on an interface without native XDP (a bridge device: no ndo_bpf) falls back to generic XDP
# and logs why with the kernel's own message; --mode native there fails with that message.
# Then the last step of auto: on a port whose upper device (a bridge) has an XDP program of its
# own, the kernel refuses XDP on the port in both modes, and auto ends in NFQUEUE mode.
# The daemon is configured through a --config file here, with the same keys as the options.
# shellcheck source=../support/netns.sh
source "$(dirname "$0")/../support/netns.sh"

lab_setup
ip -n "$LAB_NS_S" link add dw0 type bridge
ip -n "$LAB_NS_S" link set dw0 up
LAB_IF=dw0
kernel_msg="Underlying driver does not support XDP in native mode"

cat >"$LAB_DIR/dnswashd.conf" <<EOF2
# dnswashd --config: the long option names as keys
iface = "dw0"
named-conf = ""
zone = ["a.test", "b.test"]
mode = "auto"
pin-dir = "$LAB_BPFFS"
state-dir = "$LAB_STATE_DIR"
allow-chaos = true
EOF2
# Started the way systemd's Type=notify starts it: READY=1 must arrive on $NOTIFY_SOCKET.
"$LAB_CTL" --notify-listen "$LAB_DIR/notify.sock" >"$LAB_DIR/notify.out" &
notify_pid=$!
LAB_BG_PIDS+=("$notify_pid")
lab_wait_until 10 "the notify socket" test -S "$LAB_DIR/notify.sock"
NOTIFY_SOCKET=$LAB_DIR/notify.sock ip netns exec "$LAB_NS_S" "$DNSWASHD" \
  --config "$LAB_DIR/dnswashd.conf" >>"$LAB_DAEMON_LOG" 2>&1 &
LAB_DAEMON_PID=$!
lab_wait_pid_gone "$notify_pid" 30 || lab_fail "no READY=1 from dnswashd within 30 s"
wait "$notify_pid" || lab_fail "the notify listener failed"
grep -q '^READY=1$' "$LAB_DIR/notify.out" || lab_fail "notify: $(cat "$LAB_DIR/notify.out")"
grep -q '^STATUS=filtering dw0 (generic, 2 zones)$' "$LAB_DIR/notify.out" ||
  lab_fail "notify STATUS: $(cat "$LAB_DIR/notify.out")"
lab_ctl '{"cmd":"status"}' >/dev/null || lab_fail "READY=1 sent, but the control socket does not answer"
[[ $(lab_status mode) == generic ]] || lab_fail "auto on a bridge gave mode $(lab_status mode)"
[[ $(lab_status zones) == 2 ]] || lab_fail "zones from the config file: $(lab_status zones)"
[[ $(lab_status allow_chaos) == true ]] || lab_fail "allow-chaos from the config file not applied"
grep -q "native XDP on dw0 failed: .*(kernel: $kernel_msg); trying generic XDP" "$LAB_DAEMON_LOG" ||
  lab_fail "the fallback is not logged with the kernel's message"
[[ $(lab_status mode_reason) == *"$kernel_msg"* ]] || lab_fail "status.mode_reason: $(lab_status mode_reason)"
[[ -s $LAB_STATE_DIR/dw0.json ]] || lab_fail "no state file"
[[ $(lab_s "$LAB_CTL" --list) == dw0 ]] || lab_fail "the filter is not found by listing sockets"
[[ $(lab_s "$LAB_CTL" --field iface '{"cmd":"status"}') == dw0 ]] ||
  lab_fail "the single filter was not found without --iface"
# The kernel letting go of the link (here `bpftool link detach`) shows in status, and the stop
# after it is still clean.
[[ $(lab_status attached) == true ]] || lab_fail "status says not attached"
bpftool link detach id "$(lab_status link_id)" || lab_fail "bpftool link detach"
[[ $(lab_status attached) == false ]] || lab_fail "status does not see the detached link"
lab_daemon_stop INT
((LAB_DAEMON_RC == 0)) || lab_fail "exit $LAB_DAEMON_RC on SIGINT"
lab_expect_nothing_left

lab_daemon_run --iface dw0 --named-conf "" --zone a.test --pin-dir "$LAB_BPFFS" --mode native
((LAB_RC == 1)) || lab_fail "--mode native on a bridge: exit $LAB_RC"
grep -q "native XDP on dw0 failed: Operation not supported (kernel: $kernel_msg)" <<<"$LAB_OUT" ||
  lab_fail "--mode native failure message: $LAB_OUT"
lab_expect_nothing_left

# A port under an upper device with an XDP program: native and generic both refused.
: "${XDP_DROP_OBJ:?set XDP_DROP_OBJ to xdp_drop.bpf.o}"
upper_msg="Cannot attach when an upper device already has a program"
ip -n "$LAB_NS_S" link add dw1 type bridge
ip -n "$LAB_NS_S" link add dwp0 type veth peer name dwp1
ip -n "$LAB_NS_S" link set dwp0 master dw1
ip -n "$LAB_NS_S" link set dw1 xdpgeneric obj "$XDP_DROP_OBJ" sec xdp.frags
for d in dw1 dwp0 dwp1; do ip -n "$LAB_NS_S" link set "$d" up; done
LAB_IF=dwp0
lab_named_write_conf a.test
lab_daemon_start --mode auto
[[ $(lab_status mode) == nfqueue ]] || lab_fail "auto under an XDP upper device gave mode $(lab_status mode)"
reason=$(lab_status mode_reason)
[[ $reason == *"native XDP on dwp0 failed"*"$upper_msg"*"generic XDP on dwp0 failed"*"$upper_msg"*"NFQUEUE mode" ]] ||
  lab_fail "status.mode_reason does not give both refusals and the fallback: $reason"
grep -q "generic XDP on dwp0 failed: .*$upper_msg.*; falling back to NFQUEUE" "$LAB_DAEMON_LOG" ||
  lab_fail "the fallback to NFQUEUE is not logged with the kernel's message"
lab_s iptables-save -t raw | lab_has 'dnswash:dwp0' || lab_fail "no NFQUEUE rule for dwp0"
lab_daemon_stop TERM
((LAB_DAEMON_RC == 0)) || lab_fail "exit $LAB_DAEMON_RC on SIGTERM"
lab_expect_nothing_left
lab_log "PASS"
