#include "xdp_share.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "error.h"
#include "load_failure.h"
#include "unique_fd.h"

namespace dnswash {

namespace {

// libxdp's messages (warnings and info) while one call runs, for the Error it may throw;
// libxdp would print them to stderr otherwise, where the daemon's log does not see them.
std::string *g_libxdp_text = nullptr;

int libxdp_capture(enum libxdp_print_level level, const char *fmt, va_list ap) {
  if (!g_libxdp_text || level == LIBXDP_DEBUG) return 0;
  char buf[512];
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  if (n > 0) *g_libxdp_text += buf;
  return n;
}

class LibxdpLog {
 public:
  LibxdpLog() {
    g_libxdp_text = &text_;
    prev_ = libxdp_set_print(libxdp_capture);
  }
  ~LibxdpLog() {
    libxdp_set_print(prev_);
    g_libxdp_text = nullptr;
  }
  LibxdpLog(const LibxdpLog &) = delete;
  LibxdpLog &operator=(const LibxdpLog &) = delete;
  // "" or " (libxdp: ...)", one line.
  std::string note() const {
    std::string t = text_;
    for (char &c : t)
      if (c == '\n') c = ' ';
    while (!t.empty() && t.back() == ' ') t.pop_back();
    return t.empty() ? "" : " (libxdp: " + t + ")";
  }

 private:
  std::string text_;
  libxdp_print_fn_t prev_ = nullptr;
};

// libxdp returns NULL (errno set) or an ERR_PTR; libxdp_get_error tells both apart.
template <typename T>
int ptr_error(T *p) {
  long e = libxdp_get_error(p);
  return e ? int(-e) : 0;
}

}  // namespace

// libxdp's bpffs, as libxdp finds it: LIBXDP_BPFFS, else /sys/fs/bpf.
std::string libxdp_bpffs_problem() {
  const char *env = secure_getenv("LIBXDP_BPFFS");
  std::string dir = env && *env ? env : "/sys/fs/bpf";
  struct statfs st {};
  if (statfs(dir.c_str(), &st) == 0 && st.f_type == BPF_FS_MAGIC) return "";
  return "no bpf filesystem at " + dir +
         " (libxdp pins the dispatcher's programs there: mount one, or point LIBXDP_BPFFS at "
         "one)";
}

namespace {

struct XdpProgramCloser {
  void operator()(xdp_program *p) const { xdp_program__close(p); }
};
using XdpProgramPtr = std::unique_ptr<xdp_program, XdpProgramCloser>;

struct MultiprogCloser {
  void operator()(xdp_multiprog *m) const { xdp_multiprog__close(m); }
};
using MultiprogPtr = std::unique_ptr<xdp_multiprog, MultiprogCloser>;

// Opens libxdp's own xdp-dispatcher.o (found where libxdp finds it) with only xdp_pass to load.
XdpProgramPtr open_dispatcher_object(std::string &why) {
  xdp_program *p = xdp_program__find_file("xdp-dispatcher.o", nullptr, nullptr);
  if (int err = ptr_error(p)) {
    why = "libxdp's xdp-dispatcher.o cannot be opened: " + std::string(std::strerror(err));
    return nullptr;
  }
  XdpProgramPtr owned(p);
  bpf_object *obj = xdp_program__bpf_obj(p);
  bpf_program *prog = nullptr;
  bool found = false;
  bpf_object__for_each_program(prog, obj) {
    bool pass = std::strcmp(bpf_program__name(prog), "xdp_pass") == 0;
    found |= pass;
    bpf_program__set_autoload(prog, pass);
  }
  if (!found) {
    why = "libxdp's xdp-dispatcher.o has no xdp_pass program";
    return nullptr;
  }
  return owned;
}

}  // namespace

std::string dispatcher_refusal() {
  if (std::string b = libxdp_bpffs_problem(); !b.empty()) return b;
  LibxdpLog xlog;
  // A refusal is an answer here, not a failure: libbpf's warnings about it (and its advice to
  // raise the memlock limit) would only mislead in the daemon's log.
  libbpf_print_fn_t prev = libbpf_set_print(nullptr);
  struct Restore {
    libbpf_print_fn_t fn;
    ~Restore() { libbpf_set_print(fn); }
  } restore{prev};
  std::string why;
  XdpProgramPtr target = open_dispatcher_object(why);
  if (!target) return why + xlog.note();
  XdpProgramPtr ext = open_dispatcher_object(why);
  if (!ext) return why + xlog.note();
  bpf_object *tobj = xdp_program__bpf_obj(target.get());
  if (int err = bpf_object__load(tobj))
    return "the kernel refused libxdp's dispatcher test program: " +
           std::string(std::strerror(-err));
  bpf_program *tprog = bpf_object__find_program_by_name(tobj, "xdp_pass");
  bpf_object *eobj = xdp_program__bpf_obj(ext.get());
  bpf_program *eprog = bpf_object__find_program_by_name(eobj, "xdp_pass");
  bpf_program__set_type(eprog, BPF_PROG_TYPE_EXT);
  bpf_program__set_expected_attach_type(eprog, bpf_attach_type(0));
  if (int err = bpf_program__set_attach_target(eprog, bpf_program__fd(tprog), "xdp_pass"))
    return "cannot aim an freplace program at the dispatcher test program: " +
           std::string(std::strerror(-err));
  if (int err = bpf_object__load(eobj))
    return "the kernel refused an freplace (BPF_PROG_TYPE_EXT) program, which libxdp's "
           "dispatcher needs: " +
           std::string(std::strerror(-err));
  daemon::UniqueFd link(bpf_raw_tracepoint_open(nullptr, bpf_program__fd(eprog)));
  if (!link.valid())
    return "the kernel refused to attach an freplace program to an XDP program (libxdp's "
           "dispatcher needs it): " +
           std::string(std::strerror(errno));
  return "";
}

XdpHookHolder inspect_xdp_hook(int ifindex) {
  XdpHookHolder h;
  LibxdpLog xlog;
  xdp_multiprog *raw = xdp_multiprog__get_from_ifindex(ifindex);
  if (int err = ptr_error(raw)) {
    if (err == ENOENT) return h;  // nothing attached
    throw Error("libxdp cannot read the XDP programs of interface index " +
                std::to_string(ifindex) + ": " + std::strerror(err) + xlog.note());
  }
  MultiprogPtr mp(raw);
  xdp_program *main = xdp_multiprog__main_prog(mp.get());
  if (!main) return h;  // offloaded (HW) only: the driver's hook is free
  h.prog_id = xdp_program__id(main);
  h.prog_name = xdp_program__name(main);
  h.native = xdp_multiprog__attach_mode(mp.get()) == XDP_MODE_NATIVE;
  if (xdp_multiprog__is_legacy(mp.get())) {
    h.kind = XdpHookHolder::kOther;
    return h;
  }
  h.kind = XdpHookHolder::kDispatcher;
  h.frags = xdp_multiprog__xdp_frags_support(mp.get());
  for (xdp_program *p = xdp_multiprog__next_prog(nullptr, mp.get()); p;
       p = xdp_multiprog__next_prog(p, mp.get()))
    h.components.push_back({xdp_program__id(p), xdp_program__name(p), xdp_program__run_prio(p)});
  return h;
}

std::string describe(const XdpHookHolder &h) {
  switch (h.kind) {
    case XdpHookHolder::kNone:
      return "no XDP program";
    case XdpHookHolder::kOther:
      return "program id " + std::to_string(h.prog_id) + " '" + h.prog_name + "' (" +
             (h.native ? "native" : "not native") + ", not a libxdp dispatcher)";
    case XdpHookHolder::kDispatcher:
      break;
  }
  std::string d = "libxdp dispatcher id " + std::to_string(h.prog_id) + " (" +
                  (h.native ? "native" : "generic") + (h.frags ? ", xdp.frags" : "") + "):";
  for (const auto &c : h.components)
    d += " " + c.name + "[id " + std::to_string(c.id) + ", priority " + std::to_string(c.run_prio) +
         "]";
  return d;
}

std::unique_ptr<SharedXdpProgram> SharedXdpProgram::attach(DnswashSkel &skel, int ifindex,
                                                           bool native) {
  dnswash_bpf *obj = open_dnswash_object(ReuseMaps{});
  // Every map is the daemon's own: the component is the same filter, not a second one.
  bpf_map *map = nullptr;
  bpf_object__for_each_map(map, obj->obj) {
    const char *name = bpf_map__name(map);
    bpf_map *mine = bpf_object__find_map_by_name(skel.skel()->obj, name);
    int err = mine ? bpf_map__reuse_fd(map, bpf_map__fd(mine)) : -ENOENT;
    if (err) {
      dnswash_bpf__destroy(obj);
      throw Error(
          errno_text(std::string("sharing map ") + name + " with the libxdp component", -err));
    }
  }
  bpf_program__set_autoload(obj->progs.dnswash_det_tc, false);  // the skeleton's runs already
  xdp_program *raw = xdp_program__from_bpf_obj(obj->obj, "xdp.frags");
  if (int err = ptr_error(raw)) {
    dnswash_bpf__destroy(obj);
    throw Error(errno_text("libxdp cannot use the dnswash object", err));
  }
  xdp_program__set_run_prio(raw, kXdpShareRunPrio);
  // libbpf adds BPF_F_XDP_HAS_FRAGS for SEC("xdp.frags") only when it loads an XDP-type
  // program, so libxdp does not see it in the flags at open: say it, or the dispatcher never
  // gets xdp.frags (libxdp keeps the flag off the EXT program itself, as the kernel wants).
  if (int err = xdp_program__set_xdp_frags_support(raw, true)) {
    xdp_program__close(raw);
    dnswash_bpf__destroy(obj);
    throw Error(errno_text("marking the libxdp component xdp.frags", err));
  }
  LibxdpLog xlog;
  LoadLogCapture blog;
  int err = xdp_program__attach(raw, ifindex, native ? XDP_MODE_NATIVE : XDP_MODE_SKB, 0);
  if (err) {
    std::string msg = load_failure_text(blog.text(), err, "dnswash_xdp");
    if (msg.find("changes packet data, while original does not") != std::string::npos)
      msg +=
          " [this kernel refuses an freplace program that may change packet data (dnswash's "
          "truncated and REFUSED replies do) in place of one that does not: the dispatcher "
          "of libxdp before 1.5.5 has such slots]";
    xdp_program__close(raw);
    dnswash_bpf__destroy(obj);
    throw Error("libxdp could not attach dnswash to the dispatcher: " + msg + xlog.note());
  }
  std::unique_ptr<SharedXdpProgram> s(new SharedXdpProgram(obj, raw));
  // libxdp 1.3 attaches a lone program without the dispatcher when the kernel refuses it
  // (dispatcher_refusal() is meant to catch that first): nothing could share the hook then.
  XdpHookHolder h = inspect_xdp_hook(ifindex);
  if (h.kind != XdpHookHolder::kDispatcher) {
    detach_from_dispatcher(s->prog_id(), ifindex);
    throw Error("libxdp attached dnswash without its dispatcher (the kernel refused it)" +
                xlog.note());
  }
  return s;
}

SharedXdpProgram::~SharedXdpProgram() {
  xdp_program__close(prog_);
  dnswash_bpf__destroy(obj_);
}

uint32_t SharedXdpProgram::prog_id() const {
  return xdp_program__id(prog_);
}

int SharedXdpProgram::prog_fd() const {
  return xdp_program__fd(prog_);
}

void detach_from_dispatcher(uint32_t prog_id, int ifindex) {
  LibxdpLog xlog;
  xdp_program *raw = xdp_program__from_id(prog_id);
  if (int err = ptr_error(raw))
    throw Error(errno_text("opening program id " + std::to_string(prog_id), err));
  XdpProgramPtr p(raw);
  if (int err = xdp_program__detach(p.get(), ifindex, XDP_MODE_UNSPEC, 0))
    throw Error(errno_text("libxdp could not detach program id " + std::to_string(prog_id), -err) +
                xlog.note());
}

}  // namespace dnswash
