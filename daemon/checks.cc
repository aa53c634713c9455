#include "checks.h"

#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "error.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

namespace dnswash::daemon {

namespace {
bool has_cap(const __user_cap_data_struct (&d)[2], int cap) {
  return (d[cap / 32].effective >> (cap % 32)) & 1;
}
}  // namespace

void check_privileges() {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2]{};
  if (syscall(SYS_capget, &h, d) != 0) throw Error(errno_text("capget", errno));
  // CAP_BPF loads programs and maps, CAP_NET_ADMIN attaches XDP and installs NFQUEUE rules, and
  // CAP_SYS_ADMIN opens a running filter's program and maps by id (the kernel allows
  // BPF_*_GET_FD_BY_ID to CAP_SYS_ADMIN only), which every restart does.
  std::string missing;
  for (auto [cap, name] : {std::pair{CAP_BPF, "CAP_BPF"}, std::pair{CAP_NET_ADMIN, "CAP_NET_ADMIN"},
                           std::pair{CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}}) {
    if (has_cap(d, cap) || (cap == CAP_BPF && has_cap(d, CAP_SYS_ADMIN))) continue;
    missing += std::string(missing.empty() ? "" : ", ") + name;
  }
  if (missing.empty()) return;
  throw Error("dnswashd needs root (or CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN); this process" +
              (geteuid() == 0 ? std::string() : " (uid " + std::to_string(geteuid()) + ")") +
              " lacks " + missing + ": start it as root");
}

void check_kernel_bpf() {
  // An all-zero BPF_MAP_CREATE is invalid on every kernel with bpf(): EINVAL there, ENOSYS on a
  // kernel built without CONFIG_BPF_SYSCALL, EPERM when a seccomp filter or lockdown forbids it.
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  long rc = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
  int err = rc < 0 ? errno : 0;
  if (rc >= 0) close(int(rc));
  if (err == ENOSYS)
    throw Error(
        "this kernel has no bpf() system call (built without CONFIG_BPF_SYSCALL): "
        "dnswashd needs a kernel with BPF and XDP (Debian 12's 6.1 has both)");
  if (err == EPERM)
    throw Error(
        "the bpf() system call is not permitted here (seccomp, a container, or "
        "kernel lockdown): dnswashd must run where it may load BPF programs");
  int xdp = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, nullptr);
  if (xdp != 1)
    throw Error("this kernel cannot load XDP programs (" +
                (xdp < 0 ? errno_text("probe", xdp) : std::string("not supported")) +
                "): dnswashd needs a kernel with CONFIG_XDP_SOCKETS/CONFIG_BPF (6.1 or newer); "
                "--mode nfqueue still needs bpf() for its maps");
}

int interface_index(const std::string &iface) {
  if (iface.empty() || iface.size() >= IF_NAMESIZE)
    throw Error("invalid interface name '" + iface + "'");
  unsigned idx = if_nametoindex(iface.c_str());
  if (idx == 0)
    throw Error("unknown interface '" + iface +
                "' in this network namespace (see `ip link show`; under `ip netns exec NS` "
                "only that namespace's interfaces exist)");
  return int(idx);
}

}  // namespace dnswash::daemon
