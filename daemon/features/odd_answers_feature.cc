#include "odd_answers_feature.h"

#include <spdlog/spdlog.h>

#include "config_map.h"
#include "dnswash_skel.h"
#include "options.h"

namespace dnswash::daemon {

OddAnswersConfig odd_answers_config(const Options &opt) {
  OddAnswersConfig c;
  c.chaos_id = opt.chaos_id;
  c.refuse = opt.refuse;
  c.odd_per_s = opt.odd_rate;
  c.odd_total_per_s = opt.odd_total_rate;
  return c;
}

void apply_odd_answers(int config_fd, const OddAnswersConfig &c) {
  // One read-modify-write of the whole line, as apply_ban_action.
  dw_config cfg = read_config(config_fd);
  uint32_t mine = DW_CFG_CHAOS_ID | DW_CFG_REFUSE | DW_CFG_REFUSE_ANY;
  cfg.flags &= ~mine;
  if (c.chaos_id) cfg.flags |= DW_CFG_CHAOS_ID;
  if (c.refuse != "off") cfg.flags |= DW_CFG_REFUSE;
  if (c.refuse == "any") cfg.flags |= DW_CFG_REFUSE_ANY;
  cfg.odd_per_s = c.odd_per_s;
  cfg.odd_total_per_s = c.odd_total_per_s;
  write_config(config_fd, cfg);
}

nlohmann::json odd_answers_status(int config_fd) {
  dw_config cfg = read_config(config_fd);
  auto or_default = [](uint32_t v, uint32_t d) { return v ? v : d; };
  std::string refuse = !(cfg.flags & DW_CFG_REFUSE)      ? "off"
                       : (cfg.flags & DW_CFG_REFUSE_ANY) ? "any"
                                                         : "known";
  return {{"chaos_id", (cfg.flags & DW_CFG_CHAOS_ID) != 0},
          {"refuse", refuse},
          {"odd_per_s", or_default(cfg.odd_per_s, DW_ODD_DEF_PER_S)},
          {"odd_total_per_s", or_default(cfg.odd_total_per_s, DW_ODD_DEF_TOTAL_PER_S)}};
}

OddAnswersFeature::OddAnswersFeature(DaemonHooks &hooks) {
  const Options &opt = hooks.options();
  OddAnswersConfig c = odd_answers_config(opt);
  int config_fd = hooks.skel().config_fd();
  apply_odd_answers(config_fd, c);
  spdlog::info(
      "odd queries (no name to judge) pass to named at most {}/s per source prefix, "
      "{}/s in all; id.server/hostname.bind CH TXT {}",
      c.odd_per_s, c.odd_total_per_s, c.chaos_id ? "pass too" : "are dropped");
  if (c.refuse != "off")
    spdlog::info(
        "refuse {}: not-authoritative queries from {} get REFUSED from XDP, at most "
        "--slip-rate per source prefix{}",
        c.refuse, c.refuse == "known" ? "sources that sent allowed queries" : "any source",
        opt.mode == "nfqueue" ? "; in NFQUEUE mode they are dropped instead" : "");
  hooks.add_status("answers", [config_fd] { return odd_answers_status(config_fd); });
}

}  // namespace dnswash::daemon
