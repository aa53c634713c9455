#include "ban_action_feature.h"

#include <bpf/bpf.h>
#include <spdlog/spdlog.h>

#include "config_map.h"
#include "dnswash_skel.h"
#include "options.h"

namespace dnswash::daemon {

BanActionConfig ban_action_config(const Options &opt) {
  BanActionConfig c;
  c.tc = opt.ban_action == "tc";
  c.per_s = opt.slip_rate;
  c.burst = opt.slip_burst;
  c.v4_prefix = opt.slip_v4_prefix;
  c.v6_prefix = opt.slip_v6_prefix;
  return c;
}

void apply_ban_action(int config_fd, const BanActionConfig &c) {
  // One read-modify-write of the whole line: the datapath sees the flag and the limits of
  // the same write (an array map value is copied as a whole under the update).
  dw_config cfg = read_config(config_fd);
  cfg.flags = c.tc ? (cfg.flags | DW_CFG_BAN_ACTION_TC) : (cfg.flags & ~DW_CFG_BAN_ACTION_TC);
  cfg.slip_per_s = c.per_s;
  cfg.slip_burst = c.burst;
  cfg.slip_v4_prefix = c.v4_prefix;
  cfg.slip_v6_prefix = c.v6_prefix;
  write_config(config_fd, cfg);
}

nlohmann::json ban_action_status(int config_fd) {
  dw_config cfg = read_config(config_fd);
  auto or_default = [](uint32_t v, uint32_t d) { return v ? v : d; };
  return {{"action", (cfg.flags & DW_CFG_BAN_ACTION_TC) ? "tc" : "drop"},
          {"slip_per_s", or_default(cfg.slip_per_s, DW_SLIP_DEF_PER_S)},
          {"slip_burst", or_default(cfg.slip_burst, DW_SLIP_DEF_BURST)},
          {"slip_v4_prefix", or_default(cfg.slip_v4_prefix, DW_SLIP_DEF_V4_PREFIX)},
          {"slip_v6_prefix", or_default(cfg.slip_v6_prefix, DW_SLIP_DEF_V6_PREFIX)}};
}

BanActionFeature::BanActionFeature(DaemonHooks &hooks) {
  const Options &opt = hooks.options();
  BanActionConfig c = ban_action_config(opt);
  int config_fd = hooks.skel().config_fd();
  apply_ban_action(config_fd, c);
  if (c.tc) {
    spdlog::info(
        "ban action tc: banned sources get a truncated reply, at most {}/s (burst {}) per /{} "
        "(IPv4) or /{} (IPv6){}",
        c.per_s, c.burst, c.v4_prefix, c.v6_prefix,
        opt.mode == "nfqueue" ? "; in NFQUEUE mode banned queries are dropped instead" : "");
  }
  int slip_map_fd = bpf_map__fd(hooks.skel().skel()->maps.dw_slip_rate);
  hooks.add_status("ban_action", [config_fd, slip_map_fd] {
    nlohmann::json j = ban_action_status(config_fd);
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    j["slip_map_id"] = bpf_obj_get_info_by_fd(slip_map_fd, &info, &len) == 0 ? info.id : 0;
    return j;
  });
}

}  // namespace dnswash::daemon
