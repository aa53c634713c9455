#include "attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <spdlog/spdlog.h>

#include "error.h"
#include "logging.h"

namespace dnswash::daemon {

const char *mode_name(Mode m) {
  switch (m) {
    case Mode::kAuto:
      return "auto";
    case Mode::kNative:
      return "native";
    case Mode::kGeneric:
      return "generic";
    case Mode::kNfqueue:
      return "nfqueue";
  }
  return "?";
}

Mode parse_mode(const std::string &s) {
  if (s == "auto") return Mode::kAuto;
  if (s == "native") return Mode::kNative;
  if (s == "generic") return Mode::kGeneric;
  if (s == "nfqueue") return Mode::kNfqueue;
  throw Error("unknown --mode '" + s + "': use auto, native, generic or nfqueue");
}

std::string XdpAttempt::describe() const {
  std::string d = std::strerror(err);
  if (!kernel_msg.empty()) d += " (kernel: " + kernel_msg + ")";
  return d;
}

XdpAttempt attach_xdp_link(int prog_fd, int ifindex, bool native) {
  const uint32_t mode_flag = native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  XdpAttempt a;
  LIBBPF_OPTS(bpf_link_create_opts, lopts, .flags = mode_flag);
  int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lopts);
  if (fd >= 0) {
    a.ok = true;
    a.link.reset(fd);
    return a;
  }
  a.err = errno;
  {
    KernelMessageCapture capture;
    int rc = bpf_xdp_attach(ifindex, prog_fd, mode_flag | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr);
    a.kernel_msg = capture.text();
    if (rc == 0) {
      // The netlink path worked where the link did not: undo it, only ever our own program.
      LIBBPF_OPTS(bpf_xdp_attach_opts, dopts, .old_prog_fd = prog_fd);
      bpf_xdp_detach(ifindex, mode_flag | XDP_FLAGS_REPLACE, &dopts);
    }
  }
  return a;
}

XdpState query_xdp(int ifindex) {
  XdpState st;
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  if (bpf_xdp_query(ifindex, 0, &q) != 0) return st;
  st.prog_id = q.prog_id;
  st.attach_mode = q.attach_mode;
  if (st.prog_id) {
    int fd = bpf_prog_get_fd_by_id(st.prog_id);
    if (fd >= 0) {
      bpf_prog_info info{};
      uint32_t len = sizeof info;
      if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) st.prog_name = info.name;
      close(fd);
    }
  }
  return st;
}

LinkInfo link_info(int link_fd) {
  bpf_link_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(link_fd, &info, &len) != 0)
    throw Error(errno_text("reading the XDP link's info", errno));
  LinkInfo li;
  li.id = info.id;
  li.prog_id = info.prog_id;
  li.type = info.type;
  if (info.type == BPF_LINK_TYPE_XDP) li.ifindex = info.xdp.ifindex;
  return li;
}

}  // namespace dnswash::daemon
