#include "takeover.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include <spdlog/spdlog.h>

#include "error.h"
#include "xdp_share.h"

namespace dnswash::daemon {

namespace fs = std::filesystem;

PinLayout pin_layout(const std::string &pin_dir, const std::string &iface, int abi) {
  PinLayout p;
  p.iface_dir = pin_dir + "/" + iface;
  p.dir = p.iface_dir + "/abi-" + std::to_string(abi);
  p.abi = abi;
  return p;
}

void ensure_bpffs_dir(const std::string &pin_dir) {
  // statfs the nearest existing ancestor: mkdir on a non-bpffs would succeed on tmpfs and fail
  // confusingly on sysfs.
  fs::path p = fs::absolute(pin_dir);
  fs::path probe = p;
  std::error_code ec;
  while (!fs::exists(probe, ec) && probe.has_parent_path() && probe != probe.parent_path())
    probe = probe.parent_path();
  struct statfs st {};
  if (statfs(probe.c_str(), &st) != 0) throw Error(errno_text("statfs " + probe.string(), errno));
  if (st.f_type != BPF_FS_MAGIC) {
    char type[32];
    snprintf(type, sizeof type, "0x%lx", (unsigned long)st.f_type);
    throw Error("pin dir " + pin_dir + " is not on a bpf filesystem (" + probe.string() +
                " has filesystem type " + type +
                "): mount one there (mount -t bpf bpf DIR) or choose another --pin-dir. Note "
                "that `ip netns exec` mounts a fresh /sys, hiding /sys/fs/bpf.");
  }
  fs::create_directories(p, ec);
  if (ec) throw Error("creating pin dir " + p.string() + ": " + ec.message());
}

namespace {

UniqueFd obj_get(const std::string &path) {
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) throw Error(errno_text("opening the pinned " + path, errno));
  return UniqueFd(fd);
}

uint32_t map_id(int fd) {
  bpf_map_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return 0;
  return info.id;
}

std::vector<uint32_t> prog_map_ids(uint32_t prog_id) {
  UniqueFd prog(bpf_prog_get_fd_by_id(prog_id));
  if (!prog.valid())
    throw Error(errno_text("opening program id " + std::to_string(prog_id), errno));
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(prog.get(), &info, &len) != 0)
    throw Error(errno_text("reading program info", errno));
  std::vector<uint32_t> ids(info.nr_map_ids);
  bpf_prog_info again{};
  again.nr_map_ids = uint32_t(ids.size());
  again.map_ids = reinterpret_cast<uint64_t>(ids.data());
  len = sizeof again;
  if (bpf_obj_get_info_by_fd(prog.get(), &again, &len) != 0)
    throw Error(errno_text("reading program map ids", errno));
  ids.resize(again.nr_map_ids);
  return ids;
}

int parse_abi_dir(const std::string &name) {
  if (name.rfind("abi-", 0) != 0 || name.size() == 4) return -1;
  for (size_t i = 4; i < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return -1;
  return std::stoi(name.substr(4));
}

// The pinned link's checks: the program id it runs, or 0 for a stale link (pins removed).
uint32_t find_link(Previous &prev, const std::string &iface, int ifindex) {
  prev.link = obj_get(prev.pins.link());
  prev.link_info = link_info(prev.link.get());
  if (prev.link_info.type != BPF_LINK_TYPE_XDP)
    throw Error(prev.pins.link() + " is not an XDP link (type " +
                std::to_string(prev.link_info.type) + ")");
  if (prev.link_info.ifindex == 0) {
    spdlog::warn("the pinned link {} (id {}) no longer holds an interface: removing stale pins",
                 prev.pins.link(), prev.link_info.id);
    prev.link.reset();
    remove_pins(prev.pins);
    return 0;
  }
  prev.xdp = query_xdp(ifindex);
  if (int(prev.link_info.ifindex) != ifindex || prev.xdp.prog_id != prev.link_info.prog_id)
    throw Error("the link pinned at " + prev.pins.link() + " (id " +
                std::to_string(prev.link_info.id) + ") is attached to interface index " +
                std::to_string(prev.link_info.ifindex) + ", not to " + iface + " (index " +
                std::to_string(ifindex) +
                ") in this network namespace: give each namespace its own --pin-dir");
  return prev.link_info.prog_id;
}

}  // namespace

std::optional<Previous> find_previous(const std::string &pin_dir, const std::string &iface,
                                      int ifindex) {
  PinLayout mine = pin_layout(pin_dir, iface);
  std::vector<int> found;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(mine.iface_dir, ec)) {
    int v = parse_abi_dir(e.path().filename().string());
    if (v < 0) {
      spdlog::warn("ignoring {} in the pin dir: not a dnswashd state directory", e.path().string());
      continue;
    }
    found.push_back(v);
  }
  if (found.empty()) return std::nullopt;
  if (found.size() > 1)
    throw Error("several pinned states under " + mine.iface_dir +
                " (one per ABI version); remove the stale ones with rm -r");

  Previous prev;
  prev.pins = pin_layout(pin_dir, iface, found[0]);
  prev.same_abi = found[0] == DW_ABI_VERSION;
  uint32_t attached_prog = 0;
  if (access(prev.pins.link().c_str(), F_OK) != 0 &&
      access(prev.pins.shared_prog().c_str(), F_OK) == 0) {
    prev.shared = true;
    prev.shared_prog = obj_get(prev.pins.shared_prog());
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(prev.shared_prog.get(), &info, &len) != 0)
      throw Error(errno_text("reading the pinned " + prev.pins.shared_prog(), errno));
    prev.shared_prog_id = info.id;
    prev.link_info.prog_id = info.id;  // for the logs: the program taken over
    XdpHookHolder hook = inspect_xdp_hook(ifindex);
    bool there = false;
    for (const auto &c : hook.components) there |= c.id == info.id;
    if (!there) {
      spdlog::warn(
          "the pinned libxdp component {} (program id {}) is not in the dispatcher of {}: "
          "removing stale pins",
          prev.pins.shared_prog(), info.id, iface);
      remove_pins(prev.pins);
      return std::nullopt;
    }
    prev.xdp.prog_id = hook.prog_id;
    prev.xdp.prog_name = hook.prog_name;
    prev.xdp.attach_mode = hook.native ? XDP_ATTACHED_DRV : XDP_ATTACHED_SKB;
    attached_prog = info.id;
  } else if (access(prev.pins.link().c_str(), F_OK) != 0) {
    spdlog::warn("{} holds no pinned link: removing the leftover pins", prev.pins.dir);
    remove_pins(prev.pins);
    return std::nullopt;
  }
  if (!prev.shared) attached_prog = find_link(prev, iface, ifindex);
  if (!attached_prog) return std::nullopt;
  if (!prev.same_abi) return prev;

  prev.zones = obj_get(prev.pins.zones());
  prev.bans = obj_get(prev.pins.bans());
  prev.config = obj_get(prev.pins.config());
  prev.counters = obj_get(prev.pins.counters());
  if (access(prev.pins.det().c_str(), F_OK) == 0) prev.det = obj_get(prev.pins.det());
  // The pinned maps must be the ones the attached program uses: sharing maps it does not read
  // would fill a zone set no packet ever sees.
  auto ids = prog_map_ids(attached_prog);
  for (const auto &[fd, name] :
       {std::pair{prev.zones.get(), "dw_zones"}, std::pair{prev.bans.get(), "dw_bans"},
        std::pair{prev.config.get(), "dw_config_map"}, std::pair{prev.counters.get(), "dw_cpu"}}) {
    if (std::find(ids.begin(), ids.end(), map_id(fd)) == ids.end())
      throw Error("the pinned map " + prev.pins.dir + "/" + name +
                  " is not a map of the attached program id " + std::to_string(attached_prog) +
                  ": refusing to guess");
  }
  return prev;
}

namespace {

void pin_one(int fd, const std::string &path) {
  if (access(path.c_str(), F_OK) == 0) {
    UniqueFd old(bpf_obj_get(path.c_str()));
    bpf_map_info a{}, b{};  // map or link: compare ids through the generic info header
    uint32_t la = sizeof a, lb = sizeof b;
    if (old.valid() && bpf_obj_get_info_by_fd(old.get(), &a, &la) == 0 &&
        bpf_obj_get_info_by_fd(fd, &b, &lb) == 0 && a.type == b.type && a.id == b.id)
      return;  // already pinned (restart with the same maps)
    unlink(path.c_str());
  }
  if (bpf_obj_pin(fd, path.c_str()) != 0) throw Error(errno_text("pinning " + path, errno));
}

}  // namespace

void pin_state(const PinLayout &pins, int link_fd, DnswashSkel &skel, bool shared) {
  std::error_code ec;
  fs::create_directories(pins.dir, ec);
  if (ec) throw Error("creating " + pins.dir + ": " + ec.message());
  pin_one(skel.zones_fd(), pins.zones());
  pin_one(skel.bans_fd(), pins.bans());
  pin_one(skel.config_fd(), pins.config());
  pin_one(skel.counters_fd(), pins.counters());
  pin_one(bpf_map__fd(skel.skel()->maps.dw_det), pins.det());
  // The link (component) last: it marks the directory as a complete state to take over.
  pin_one(link_fd, shared ? pins.shared_prog() : pins.link());
}

void remove_pins(const PinLayout &pins) {
  for (const auto &p : {pins.link(), pins.shared_prog(), pins.zones(), pins.bans(), pins.config(),
                        pins.counters(), pins.det()})
    if (unlink(p.c_str()) != 0 && errno != ENOENT)
      spdlog::warn("{}", errno_text("removing pin " + p, errno));
  if (rmdir(pins.dir.c_str()) != 0 && errno != ENOENT)
    spdlog::warn("{}", errno_text("removing " + pins.dir, errno));
  rmdir(pins.iface_dir.c_str());  // only if empty: other ABI dirs may still be there
}

}  // namespace dnswash::daemon
