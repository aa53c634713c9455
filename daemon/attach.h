// Attaching the XDP program to an interface through a bpf_link (so a later daemon can swap the
// program with bpf_link_update instead of detaching), and the `auto` fallback order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "unique_fd.h"

namespace dnswash::daemon {

enum class Mode { kAuto, kNative, kGeneric, kNfqueue };
const char *mode_name(Mode m);
Mode parse_mode(const std::string &s);  // throws Error

struct XdpAttempt {
  bool ok = false;
  UniqueFd link;
  int err = 0;                   // errno of the failed bpf_link_create
  std::string kernel_msg;        // the kernel's extack message, verbatim ("" if it gave none)
  std::string describe() const;  // "Operation not supported (kernel: ...)"
};

// bpf_link_create(BPF_XDP) with XDP_FLAGS_DRV_MODE (native) or XDP_FLAGS_SKB_MODE (generic).
// Since 6.x the kernel reports an XDP link's extack only to a tracepoint, so after a failure
// this repeats the attach over netlink (XDP_FLAGS_UPDATE_IF_NOEXIST: never replaces a
// program) just to obtain the kernel's message through libbpf's log, and undoes it should it
// succeed.
XdpAttempt attach_xdp_link(int prog_fd, int ifindex, bool native);

// What is attached to the interface now (bpf_xdp_query).
struct XdpState {
  uint32_t prog_id = 0;     // 0 = nothing attached
  uint8_t attach_mode = 0;  // XDP_ATTACHED_*
  std::string prog_name;
};
XdpState query_xdp(int ifindex);

struct LinkInfo {
  uint32_t id = 0;
  uint32_t prog_id = 0;
  uint32_t ifindex = 0;  // 0 once the link was detached (device gone, bpftool link detach)
  uint32_t type = 0;
};
LinkInfo link_info(int link_fd);  // throws Error

}  // namespace dnswash::daemon
