#!/usr/bin/env bash
# --xdp-attach on the host (docs/nic-sharing.md "When it falls back"); the dispatcher itself is
# tested inside the kernel matrix (tests/kernel/guest_share.sh), where Debian's kernels run it.
#  1. auto with libxdp's bpffs in place: on a kernel that refuses libxdp's dispatcher (this
#     project's build machine refuses every freplace program) dnswashd attaches its own link
#     natively and logs why; the filter works and a stop leaves nothing. On a kernel that runs
#     the dispatcher, the same start goes through libxdp (the other branch asserts that).
#  2. --xdp-attach libxdp where the dispatcher is refused: exit 1 with the reason.
#  3. auto without a bpffs where libxdp looks: direct attach, "no bpf filesystem" logged.
#  4. an interface holding a program that is no libxdp dispatcher: said so, then the refusal
#     dnswashd always gave (it never replaces somebody else's program).
#  5. --xdp-attach direct: no libxdp at all.
# shellcheck source=../support/netns.sh
source "$(dirname "$0")/../support/netns.sh"

lab_setup
lab_named_start a.test
XDPFS=$LAB_DIR/xdpfs # libxdp's bpffs (`ip netns exec` hides /sys/fs/bpf)
netns_mount_bpffs "$XDPFS"
refusal="the kernel refused an freplace (BPF_PROG_TYPE_EXT) program"

# 1. auto
export LIBXDP_BPFFS=$XDPFS
lab_daemon_start --mode native
if grep -q "libxdp's dispatcher cannot run here ($refusal" "$LAB_DAEMON_LOG"; then
  refused=1
  grep -q "$refusal, which libxdp's dispatcher needs: .*): attaching directly, so no other XDP program can share s0" \
    "$LAB_DAEMON_LOG" || lab_fail "the fallback line: $(grep -i libxdp "$LAB_DAEMON_LOG")"
  # The probe's refusal is an answer, not an error: no libbpf warnings about it.
  grep -q "libbpf: .*xdp-dispatcher\|libbpf: prog 'xdp_pass'" "$LAB_DAEMON_LOG" &&
    lab_fail "libbpf's warnings about the dispatcher probe reach the log"
  [[ $(lab_status xdp_attach) == direct ]] || lab_fail "status.xdp_attach: $(lab_status xdp_attach)"
  [[ $(lab_status link_id) -gt 0 ]] || lab_fail "no link of its own"
else
  refused=0
  grep -q "attached in native XDP mode through libxdp's dispatcher" "$LAB_DAEMON_LOG" ||
    lab_fail "neither refused nor attached through libxdp: $(cat "$LAB_DAEMON_LOG")"
  [[ $(lab_status xdp_attach) == libxdp ]] || lab_fail "status.xdp_attach: $(lab_status xdp_attach)"
fi
lab_log "kernel $(uname -r): dispatcher refused=$refused"
[[ $(lab_status mode) == native ]] || lab_fail "mode $(lab_status mode)"
[[ $(lab_status attached) == true ]] || lab_fail "status: not attached"
lab_passes www.a.test || lab_fail "served name not answered"
lab_dropped www.junk.example || lab_fail "junk name answered"
lab_daemon_stop TERM
((LAB_DAEMON_RC == 0)) || lab_fail "exit $LAB_DAEMON_RC on SIGTERM"
lab_expect_nothing_left
leftover=$(find "$XDPFS" -mindepth 1 ! -name maps.debug ! -name progs.debug ! -path "$XDPFS/xdp")
[[ -z $leftover ]] || lab_fail "libxdp state left: $leftover"

# 2. libxdp only
if ((refused)); then
  lab_daemon_run --iface s0 --named-conf "$LAB_NAMED_CONF" --pin-dir "$LAB_BPFFS" --mode native --xdp-attach libxdp
  ((LAB_RC == 1)) || lab_fail "--xdp-attach libxdp on a refusing kernel: exit $LAB_RC"
  grep -q -- "--xdp-attach libxdp: libxdp's dispatcher cannot run here: $refusal" <<<"$LAB_OUT" ||
    lab_fail "--xdp-attach libxdp failure message: $LAB_OUT"
  lab_expect_nothing_left
fi

# 3. no bpffs where libxdp looks
mkdir -p "$LAB_DIR/plain"
LIBXDP_BPFFS=$LAB_DIR/plain lab_daemon_start --mode native
grep -q "libxdp's dispatcher cannot run here (no bpf filesystem at $LAB_DIR/plain .*): attaching directly" \
  "$LAB_DAEMON_LOG" || lab_fail "no-bpffs fallback not logged"
[[ $(lab_status xdp_attach) == direct ]] || lab_fail "no bpffs: status.xdp_attach $(lab_status xdp_attach)"
lab_daemon_stop TERM
lab_expect_nothing_left

# 4. somebody else's program, not through libxdp
: "${XDP_PASS_OBJ:?set XDP_PASS_OBJ to xdp_pass.bpf.o}"
ip -n "$LAB_NS_S" link set dev s0 xdpgeneric obj "$XDP_PASS_OBJ" sec xdp
lab_daemon_run --iface s0 --named-conf "$LAB_NAMED_CONF" --pin-dir "$LAB_BPFFS"
((LAB_RC == 1)) || lab_fail "over another program: exit $LAB_RC"
grep -q "s0 holds program id [0-9]* 'xdp_pass' (not native, not a libxdp dispatcher): libxdp can share the interface only with programs attached through its dispatcher; falling back to a direct attach" <<<"$LAB_OUT" ||
  lab_fail "the non-libxdp program is not named: $LAB_OUT"
grep -q "is already attached to s0" <<<"$LAB_OUT" || lab_fail "not refused as before: $LAB_OUT"
ip -n "$LAB_NS_S" link set dev s0 xdpgeneric off

# 5. direct
: >"$LAB_DAEMON_LOG"
lab_daemon_start --mode native --xdp-attach direct
grep -qi "libxdp" "$LAB_DAEMON_LOG" && lab_fail "--xdp-attach direct used libxdp: $(grep -i libxdp "$LAB_DAEMON_LOG")"
[[ $(lab_status xdp_attach) == direct ]] || lab_fail "direct: status.xdp_attach $(lab_status xdp_attach)"
lab_daemon_stop TERM
lab_expect_nothing_left
lab_log "PASS"
