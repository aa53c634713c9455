// Sharing the interface's XDP hook with other programs through libxdp's dispatcher (what
// xdp-tools such as xdp-filter use). The dispatcher is one XDP program that calls its
// components in the order of their run priority; each component is an freplace (EXT) program
// loaded against it, and libxdp keeps them attached by pinning their links under
// <bpffs>/xdp/ (LIBXDP_BPFFS, default /sys/fs/bpf). A component returning XDP_PASS hands the
// packet to the next; any other verdict ends the chain. dnswash runs first (priority
// kXdpShareRunPrio, below libxdp's default 50): the junk it drops never reaches the rest.
//
// The component is a second instance of the dnswash BPF object that shares every map of the
// daemon's own (DnswashSkel): zones, bans, config, counters, rings, all of it. Only its XDP
// program differs: it is loaded as EXT for the dispatcher (xdp.frags when every component of
// the dispatcher takes frags; libxdp drops the flag for all of them otherwise).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dnswash_skel.h"

struct xdp_program;

namespace dnswash {

// Ahead of libxdp's default (50): dnswash's drops spare every program after it.
constexpr unsigned kXdpShareRunPrio = 5;

// "" when this kernel runs libxdp's dispatcher, otherwise why not. The same check as libxdp's
// own (an EXT program replacing a function of a loaded XDP program, then attached), done
// here because libxdp 1.3 answers a refusal by attaching a lone program without the
// dispatcher, which would share nothing. Needs libxdp's bpffs and xdp-dispatcher.o.
std::string dispatcher_refusal();

// "" when libxdp's bpffs (LIBXDP_BPFFS, else /sys/fs/bpf) is a bpf filesystem, else why not.
std::string libxdp_bpffs_problem();

// What holds the interface's XDP hook.
struct XdpHookHolder {
  enum Kind { kNone, kDispatcher, kOther } kind = kNone;
  uint32_t prog_id = 0;  // the program attached to the hook (the dispatcher's, for kDispatcher)
  std::string prog_name;
  bool native = false;  // the hook is the driver's (not generic, not offloaded)
  bool frags = false;   // the dispatcher runs with xdp.frags
  struct Component {
    uint32_t id = 0;
    std::string name;
    unsigned run_prio = 0;
  };
  std::vector<Component> components;  // in run order (kDispatcher)
};
XdpHookHolder inspect_xdp_hook(int ifindex);
std::string describe(const XdpHookHolder &h);  // "dispatcher (native, frags): dnswash_xdp(5) ..."

// A dnswash component attached to the interface's dispatcher (creating the dispatcher if the
// hook is free). Destroying it closes our references only: libxdp's pins keep it attached
// until detach() (or `xdp-loader unload`).
class SharedXdpProgram {
 public:
  // Loads the component sharing every map of `skel` and attaches it (native or generic).
  // Throws Error with libxdp's and libbpf's messages.
  static std::unique_ptr<SharedXdpProgram> attach(DnswashSkel &skel, int ifindex, bool native);
  ~SharedXdpProgram();
  SharedXdpProgram(const SharedXdpProgram &) = delete;
  SharedXdpProgram &operator=(const SharedXdpProgram &) = delete;

  uint32_t prog_id() const;
  int prog_fd() const;

 private:
  SharedXdpProgram(dnswash_bpf *obj, xdp_program *prog) : obj_(obj), prog_(prog) {}
  dnswash_bpf *obj_;
  xdp_program *prog_;
};

// Removes program `prog_id` from the dispatcher on `ifindex` (the dispatcher goes too when it
// was the last one). Throws Error, also when the program is not there.
void detach_from_dispatcher(uint32_t prog_id, int ifindex);

}  // namespace dnswash
