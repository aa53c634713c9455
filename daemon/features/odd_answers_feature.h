// Odd queries and --refuse (docs/odd-queries.md): writes the odd-query limits, the chaos-id
// switch and --refuse into the datapath's config and reports them in `status` ("answers").
// The datapath does the rest (bpf/dw_odd.h, bpf/dw_slip.h).
#pragma once

#include <nlohmann/json.hpp>

#include "daemon_hooks.h"
#include "dnswash_abi.h"

namespace dnswash::daemon {

struct Options;

struct OddAnswersConfig {
  bool chaos_id = true;
  std::string refuse = "off";  // off | known | any
  uint32_t odd_per_s = DW_ODD_DEF_PER_S;
  uint32_t odd_total_per_s = DW_ODD_DEF_TOTAL_PER_S;
};
OddAnswersConfig odd_answers_config(const Options &opt);
// Sets the flags and fields, keeping every other field of the config.
void apply_odd_answers(int config_fd, const OddAnswersConfig &c);
nlohmann::json odd_answers_status(int config_fd);

class OddAnswersFeature : public DaemonFeature {
 public:
  explicit OddAnswersFeature(DaemonHooks &hooks);
};

}  // namespace dnswash::daemon
