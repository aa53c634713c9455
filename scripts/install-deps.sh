#!/usr/bin/env bash
# Installs every Debian 12 package dnswash needs to build, test and benchmark.
# Idempotent; safe to re-run. Must run as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

pkgs=(
  # build
  build-essential cmake pkg-config clang llvm
  libbpf-dev bpftool libelf-dev zlib1g-dev linux-libc-dev
  libxdp-dev  # loader/xdp_share.cc: sharing the XDP hook through libxdp's dispatcher
  libnetfilter-queue-dev libmnl-dev
  libcli11-dev nlohmann-json3-dev libspdlog-dev liblmdb-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  pandoc                      # man pages from docs/*.md (packaging/)
  debhelper lintian dpkg-dev  # the Debian package (scripts/package.sh, tests/packaging)
  libcurl4-openssl-dev  # sync/named_stats.cc: GET of named's statistics channel
  # labs, oracles and benchmarks
  iproute2 iptables nftables bind9 bind9-utils bind9-dnsutils tshark
  jq iputils-ping  # the NFQUEUE lab test and benchmark; ping in tests/lab
  ethtool          # bench/flood_bench.sh: GRO (NAPI) on the receiving veth
  dnsperf          # legitimate query load of bench/attack_bench.sh
  curl python3-prometheus-client  # tests/lab/ctl_test.sh: /metrics over HTTP, the reference exposition parser
  nats-server libnats-dev  # the fleet (fleet/, docs/fleet.md): its C client, and the server its tests run
  # tests/kernel/matrix.sh: Debian's kernels under QEMU (TCG) with a busybox initramfs
  qemu-system-x86 busybox-static cpio binutils xz-utils
  xdp-tools  # xdp-filter, the other program of the NIC-sharing test (tests/kernel)
  # style (scripts/check-style.sh, run by .ci/run)
  clang-format shellcheck
  knot nsd         # tests/lab/knot_nsd_test.sh: Knot DNS and NSD as zone sources
  python3-dnspython knot-dnsutils unbound knot-resolver  # tests/interop, tests/support/resolvers.sh: resolvers
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Installing nats-server enables its unit, listening on every address; dnswash's tests run
# their own in their namespaces. Only the one this script just installed is stopped.
if [[ " ${missing[*]} " == *" nats-server "* && -d /run/systemd/system ]]; then
  systemctl disable --now nats-server.service >/dev/null 2>&1 || true
fi
