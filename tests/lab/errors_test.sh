#!/usr/bin/env bash
# Every start-up error exits non-zero with one clear sentence, and leaves nothing behind:
# unknown interface, not root, a kernel without bpf(), an unreadable or invalid named.conf
# (file:line:column), a pin dir not on a bpffs, a foreign XDP program on the interface, bad
# options. Plus --help documenting every option with its default.
# shellcheck source=../support/netns.sh
source "$(dirname "$0")/../support/netns.sh"
: "${NO_BPF_EXEC:?set NO_BPF_EXEC to the no_bpf_exec binary}"

lab_setup
lab_named_write_conf a.test
common=(--named-conf "$LAB_NAMED_CONF" --pin-dir "$LAB_BPFFS")

# expect_error EXIT_CODE PATTERN ARGS...: dnswashd ARGS fails with that code and message.
expect_error() {
  local code=$1 pattern=$2
  shift 2
  lab_daemon_run "$@"
  ((LAB_RC == code)) || lab_fail "dnswashd $*: exit $LAB_RC, wanted $code: $LAB_OUT"
  grep -Eq -- "$pattern" <<<"$LAB_OUT" || lab_fail "dnswashd $*: message not matching '$pattern': $LAB_OUT"
  lab_expect_nothing_left
  lab_log "ok: $(grep -E -- "$pattern" <<<"$LAB_OUT" | head -1)"
}

expect_error 1 "unknown interface 'nosuch0' in this network namespace" --iface nosuch0 "${common[@]}"

LAB_RC=0
LAB_OUT=$(lab_s setpriv --reuid=65534 --regid=65534 --clear-groups "$DNSWASHD" --iface "$LAB_IF" \
  "${common[@]}" 2>&1) || LAB_RC=$?
((LAB_RC == 1)) || lab_fail "as nobody: exit $LAB_RC: $LAB_OUT"
grep -q "dnswashd needs root (or CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN); this process (uid 65534) lacks CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN" <<<"$LAB_OUT" || lab_fail "as nobody: $LAB_OUT"
lab_expect_nothing_left

# Root, but without CAP_BPF and CAP_SYS_ADMIN (e.g. a container or a unit's bounding set).
LAB_RC=0
LAB_OUT=$(lab_s setpriv --bounding-set=-bpf,-sys_admin "$DNSWASHD" --iface "$LAB_IF" \
  "${common[@]}" 2>&1) || LAB_RC=$?
((LAB_RC == 1)) || lab_fail "without CAP_BPF: exit $LAB_RC: $LAB_OUT"
grep -q "this process lacks CAP_BPF, CAP_SYS_ADMIN: start it as root" <<<"$LAB_OUT" ||
  lab_fail "without CAP_BPF: $LAB_OUT"
lab_expect_nothing_left

LAB_RC=0
LAB_OUT=$(lab_s "$NO_BPF_EXEC" "$DNSWASHD" --iface "$LAB_IF" "${common[@]}" 2>&1) || LAB_RC=$?
((LAB_RC == 1)) || lab_fail "without bpf(): exit $LAB_RC: $LAB_OUT"
grep -q "this kernel has no bpf() system call" <<<"$LAB_OUT" || lab_fail "without bpf(): $LAB_OUT"
lab_expect_nothing_left

expect_error 1 "$LAB_DIR/missing.conf" --iface "$LAB_IF" --named-conf "$LAB_DIR/missing.conf" \
  --pin-dir "$LAB_BPFFS"

printf 'options { directory "%s"; };\nzone "a.test" {\n  type primary\n  file "a.test.zone";\n};\n' \
  "$LAB_NAMED_DIR" >"$LAB_DIR/broken.conf"
expect_error 1 "$LAB_DIR/broken.conf:4:3: " --iface "$LAB_IF" --named-conf "$LAB_DIR/broken.conf" \
  --pin-dir "$LAB_BPFFS"

mkdir -p "$LAB_DIR/plain"
expect_error 1 "pin dir $LAB_DIR/plain/x is not on a bpf filesystem" --iface "$LAB_IF" \
  --named-conf "$LAB_NAMED_CONF" --pin-dir "$LAB_DIR/plain/x"
# /sys/fs/bpf under `ip netns exec` is the fresh sysfs's empty directory, not a bpffs.
expect_error 1 "pin dir /sys/fs/bpf/dnswash is not on a bpf filesystem" --iface "$LAB_IF" \
  --named-conf "$LAB_NAMED_CONF"

expect_error 1 "needs a --pin-dir" --iface "$LAB_IF" --named-conf "$LAB_NAMED_CONF" --pin-dir "" \
  --keep-on-exit

expect_error 2 "mode: .*not in" --iface "$LAB_IF" "${common[@]}" --mode bogus
expect_error 2 "iface is required" "${common[@]}"

# Somebody else's XDP program on the interface is never replaced.
xdp_obj=${XDP_DROP_OBJ:?set XDP_DROP_OBJ to xdp_drop.bpf.o}
ip -n "$LAB_NS_S" link set dev "$LAB_IF" xdpgeneric obj "$xdp_obj" sec xdp.frags ||
  lab_fail "cannot attach the foreign test program $xdp_obj"
lab_daemon_run --iface "$LAB_IF" "${common[@]}"
((LAB_RC == 1)) || lab_fail "with a foreign XDP program: exit $LAB_RC: $LAB_OUT"
grep -q "is already attached to $LAB_IF.*dnswashd does not replace it" <<<"$LAB_OUT" ||
  lab_fail "foreign program message: $LAB_OUT"
ip -n "$LAB_NS_S" -d link show dev "$LAB_IF" | lab_has 'name xdp_drop' || lab_fail "the foreign program was touched"
ip -n "$LAB_NS_S" link set dev "$LAB_IF" xdpgeneric off
lab_expect_nothing_left

# --help: every option, with its default.
help=$("$DNSWASHD" --help)
for opt in --iface --named-conf --chroot --zone --zones-file --mode --dry-run --allow-chaos \
  --pin-dir --state-dir --keep-on-exit --on-abi-mismatch --queues --fail-closed --config --verbose; do
  grep -q -- "$opt" <<<"$help" || lab_fail "--help does not document $opt"
done
for default in /etc/bind/named.conf /sys/fs/bpf/dnswash /run/dnswash auto replace; do
  grep -q -- "$default" <<<"$help" || lab_fail "--help does not show the default $default"
done
lab_log "PASS"
