#!/usr/bin/env bash
# Runs a lab test with /sys/fs/bpf in a given state, whatever the host's: a fresh machine has no
# bpffs there, many have one mounted at boot, and iproute2 picks its bpffs differently in each
# (lab.sh's TC_BPF_MNT). The state is set in a private mount namespace of this test only: the
# host's /sys/fs/bpf is never touched.
#
#   sys_bpffs.sh mounted|unmounted SCRIPT [ARGS...]
set -euo pipefail
state=${1:?usage: sys_bpffs.sh mounted|unmounted SCRIPT [ARGS...]}
shift
case $state in
mounted | unmounted) ;;
*)
  echo "sys_bpffs.sh: state must be mounted or unmounted, not $state" >&2
  exit 2
  ;;
esac
if [[ ${DW_SYS_BPFFS_INNER:-} != 1 ]]; then
  DW_SYS_BPFFS_INNER=1 exec unshare --mount --propagation private bash "$0" "$state" "$@"
fi
is_bpffs() { [[ $(stat -f -c %T /sys/fs/bpf 2>/dev/null) == bpf_fs ]]; }
if [[ $state == mounted ]]; then
  is_bpffs || mount -t bpf bpf /sys/fs/bpf
  is_bpffs || { echo "FAIL: cannot mount a bpffs on /sys/fs/bpf in the test's namespace" >&2; exit 1; }
else
  while is_bpffs; do umount /sys/fs/bpf; done
fi
echo "sys_bpffs: /sys/fs/bpf $state in this test's mount namespace" >&2
exec bash "$@"
