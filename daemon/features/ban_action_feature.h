// The ban action (docs/ban-action.md): writes --ban-action and the slip rate limit into the
// datapath's config and reports them in `status` ("ban_action"). The datapath does the rest
// (bpf/dw_slip.h); this feature only configures and shows it.
#pragma once

#include <nlohmann/json.hpp>

#include "daemon_hooks.h"
#include "dnswash_abi.h"

namespace dnswash::daemon {

struct Options;

// The config fields for these options (flags only DW_CFG_BAN_ACTION_TC is meaningful).
struct BanActionConfig {
  bool tc = false;
  uint32_t per_s = DW_SLIP_DEF_PER_S;
  uint32_t burst = DW_SLIP_DEF_BURST;
  uint32_t v4_prefix = DW_SLIP_DEF_V4_PREFIX;
  uint32_t v6_prefix = DW_SLIP_DEF_V6_PREFIX;
};
BanActionConfig ban_action_config(const Options &opt);
// Sets the flag and the slip fields, keeping every other field of the config.
void apply_ban_action(int config_fd, const BanActionConfig &c);
// What the datapath runs with now (0 fields shown as the built-in defaults they stand for).
nlohmann::json ban_action_status(int config_fd);

class BanActionFeature : public DaemonFeature {
 public:
  explicit BanActionFeature(DaemonHooks &hooks);
};

}  // namespace dnswash::daemon
