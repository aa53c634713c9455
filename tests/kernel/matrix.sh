#!/usr/bin/env bash
# The kernel matrix: boots each Debian kernel of the matrix under QEMU (TCG: no KVM here) with a
# small initramfs (busybox-static, the test binaries and their shared libraries, the BPF
# objects, xdp-filter with libxdp's objects, the kernel's own veth/tc modules) and runs tests/kernel/guest_tests.list inside.
# Prints per kernel the programs, their verified_insns and the tests passed/failed. Exit 1 if
# any kernel fails to be fetched, to boot, to load a program or to pass a test: never a skip.
#
#   matrix.sh BUILD_DIR [KERNEL...]      KERNEL: bookworm, trixie (default: both)
#
# Kernels come from Debian's archive through apt (`apt-get download` of the package the suite's
# linux-image-amd64 depends on, then `dpkg -x`): nothing is installed as the host's kernel. They
# are cached under BUILD_DIR/kernel-matrix/ (one package per suite, ~100 MB). The guest has no
# network device (-nic none); its only output is the serial console.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: matrix.sh BUILD_DIR [KERNEL...]}" && pwd)
shift
kernels=("$@")
((${#kernels[@]})) || kernels=(bookworm trixie)
cache=$build/kernel-matrix
list=${KM_LIST:-$here/guest_tests.list} # KM_LIST: another list (e.g. verify only)
timeout_s=${KM_TIMEOUT:-300} # per guest; a 6.1 boot plus the list takes ~2 min here
mkdir -p "$cache"

work=$(mktemp -d "$cache/run.XXXXXX")
# shellcheck disable=SC2317 # called by the trap
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
trap 'echo "kernel-matrix: FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR

log() { echo "kernel-matrix: $*" >&2; }

# apt options for a suite: bookworm is the host's own sources; any other suite gets a private
# sources list and lists/cache under the cache dir (the host's apt state is never touched).
apt_opts() {
  local suite=$1
  [[ $suite == bookworm ]] && return 0
  local d=$cache/apt-$suite
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" >"$d/sources.list"
  printf '%s\n' -o "Dir::Etc::sourcelist=$d/sources.list" -o Dir::Etc::sourceparts=/dev/null \
    -o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" -o APT::Sandbox::User=root
}

# fetch_kernel SUITE: extracts the suite's current kernel package into $cache/SUITE/root and
# prints that dir. Re-downloads only when the suite's linux-image-amd64 names another package.
fetch_kernel() {
  local suite=$1 pkg deb dir
  dir=$cache/$suite
  local -a opts
  mapfile -t opts < <(apt_opts "$suite")
  if [[ $suite != bookworm ]]; then
    # A day-old list is fine; refresh otherwise (a fresh cache has none).
    if [[ -z $(find "$cache/apt-$suite/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null) ]]; then
      apt-get "${opts[@]}" -qq update >&2 || { log "$suite: apt-get update failed"; return 1; }
    fi
  fi
  pkg=$(apt-cache "${opts[@]}" depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
  [[ -n $pkg ]] || { log "$suite: no linux-image-amd64 dependency in apt's lists"; return 1; }
  if [[ ! -f $dir/$pkg.done ]]; then
    rm -rf "$dir"
    mkdir -p "$dir/root"
    (cd "$dir" && apt-get "${opts[@]}" -qq download "$pkg" >&2) || { log "$suite: cannot download $pkg"; return 1; }
    deb=$(ls "$dir"/"$pkg"_*.deb)
    dpkg -x "$deb" "$dir/root"
    rm -f "$deb"
    touch "$dir/$pkg.done"
  fi
  echo "$dir/root"
}

# The binaries the list names: "target path" lines written by CMake.
declare -A bin
while read -r name path; do bin[$name]=$path; done <"$build/tests/kernel/binaries.txt"

# copy_with_libs FILE DEST_ROOT NAME: the file (stripped) as /usr/bin/NAME (first in the guest's
# PATH, before busybox's applets in /bin) plus its shared libraries at their paths.
copy_with_libs() {
  local f=$1 root=$2 name=$3 lib
  mkdir -p "$root/usr/bin"
  strip --strip-debug -o "$root/usr/bin/$name" "$f" 2>/dev/null || cp "$f" "$root/usr/bin/$name"
  while read -r lib; do
    [[ -e $root$lib ]] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done < <(ldd "$f" | grep -oE '/[^ ]+\.so[^ ]*' || true)
}

# add_module ROOT MODDIR NAME: the module and what it depends on, decompressed, plus a line in
# /modules.order (dependencies first) for the guest's insmod.
add_module() {
  local root=$1 moddir=$2 name=$3 f dep
  grep -qx "$name" "$root/modules.order" 2>/dev/null && return 0
  grep -q "/$name.ko" "$moddir/modules.builtin" && return 0
  f=$(find "$moddir/kernel" -name "$name.ko*" | head -n1)
  [[ -n $f ]] || { log "module $name not in $moddir"; return 1; }
  mkdir -p "$root/modules"
  case $f in
  *.xz) xz -dc "$f" >"$root/modules/$name.ko" ;;
  *.zst) zstd -qdc "$f" >"$root/modules/$name.ko" ;;
  *) cp "$f" "$root/modules/$name.ko" ;;
  esac
  for dep in $(strings -a "$root/modules/$name.ko" | sed -n 's/^depends=//p' | tr ',' ' '); do
    add_module "$root" "$moddir" "${dep//-/_}"
  done
  echo "$name" >>"$root/modules.order"
}

# build_initramfs KROOT OUT: busybox, the list's binaries, the BPF objects, modules, /init.
build_initramfs() {
  local kroot=$1 out=$2 root=$work/initramfs moddir name b xdpobj
  rm -rf "$root"
  mkdir -p "$root"/{bin,dev,proc,sys,run,tmp,objects}
  cp /bin/busybox "$root/bin/busybox"
  for b in "${!bin[@]}"; do copy_with_libs "${bin[$b]}" "$root" "$b"; done
  copy_with_libs "$(command -v ip)" "$root" ip
  # NIC sharing (guest_share.sh): xdp-filter, and the BPF objects libxdp and it load by path.
  copy_with_libs "$(command -v xdp-filter)" "$root" xdp-filter
  xdpobj=$(dirname "$(dpkg -L libxdp1 | grep '/xdp-dispatcher\.o$')")
  mkdir -p "$root$xdpobj"
  cp "$xdpobj"/xdp-dispatcher.o "$xdpobj"/xdpfilt_*.o "$root$xdpobj/"
  cp "$build"/bpf/gen/*.bpf.o "$root/objects/"
  cp "$here/guest_init.sh" "$root/init"
  cp "$here"/guest_*.sh "$root/usr/bin/"
  cp "$list" "$root/usr/bin/guest_tests.list"
  chmod +x "$root/init" "$root"/usr/bin/guest_*.sh
  moddir=$(find "$kroot/lib/modules" "$kroot/usr/lib/modules" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -n1 || true)
  : >"$root/modules.order"
  for name in veth sch_ingress cls_bpf; do add_module "$root" "$moddir" "$name"; done
  (cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$out"
}

# boot KROOT LOG: runs the guest to its poweroff (or the timeout); the serial console in LOG.
boot() {
  local kroot=$1 logf=$2 vmlinuz
  vmlinuz=$(ls "$kroot"/boot/vmlinuz-*)
  build_initramfs "$kroot" "$work/initrd.gz"
  timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 -machine q35 -cpu max -smp 1 -m 1536 \
    -nographic -no-reboot -nic none -monitor none -serial stdio \
    -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
    -append "console=ttyS0 panic=-1 oops=panic no_timer_check quiet loglevel=3" </dev/null >"$logf" 2>&1 || true
}

rc=0
summary=()
for k in "${kernels[@]}"; do
  t0=$SECONDS
  if ! kroot=$(fetch_kernel "$k"); then
    summary+=("$k: FAIL: kernel package could not be fetched")
    rc=1
    continue
  fi
  logf=$cache/$k.console.log
  boot "$kroot" "$logf"
  # The guest's reports: console lines with "KM " (after any terminal escapes the BIOS left).
  tr -d '\r' <"$logf" | sed -n 's/^.*\(KM \)/\1/p' >"$work/km"
  release=$(sed -n 's/^KM release \([^ ]*\).*/\1/p' "$work/km" | head -n1)
  grep -E '^KM (prog|test|FAIL|note)' "$work/km" | sed "s/^KM /  [$k] /" >&2 || true
  passed=$(grep -c '^KM test .* pass' "$work/km" || true)
  failed=$(grep -c '^KM test .* FAIL' "$work/km" || true)
  expected=$(grep -cvE '^[[:space:]]*(#|$)' "$list")
  progs=$(grep '^KM prog ' "$work/km" | awk '{printf "%s%s=%s", (n++ ? ", " : ""), $3, $7}' || true)
  if ! grep -q '^KM done' "$work/km"; then
    summary+=("$k (${release:-no boot}): FAIL: the guest did not finish (boot, panic or ${timeout_s}s timeout); console: $logf")
    tail -n 40 "$logf" | tr -d '\r' >&2
    rc=1
  elif ((failed > 0 || passed != expected)); then
    summary+=("$k ($release): FAIL: tests passed $passed, failed $failed of $expected; programs: $progs")
    rc=1
  else
    summary+=("$k ($release): ok: tests passed $passed of $expected; programs: $progs")
  fi
  log "$k done in $((SECONDS - t0))s"
done
printf 'kernel-matrix: %s\n' "${summary[@]}"
exit $rc
