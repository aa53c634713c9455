#include "reasons.h"

namespace dnswash {

namespace {
struct ReasonInfo {
  std::string_view name;
  bool drop;
};
constexpr ReasonInfo kReasons[] = {
#define DW_X_INFO(id, name, drop) {name, drop != 0},
    DW_REASONS(DW_X_INFO)
#undef DW_X_INFO
};
static_assert(sizeof(kReasons) / sizeof(kReasons[0]) == DW_R_COUNT);
}  // namespace

std::string_view counter_name(unsigned idx) {
  if (idx < DW_R_COUNT) return kReasons[idx].name;
  if (idx == DW_C_DRYRUN_PASSED) return "dry-run-passed";
  if (idx == DW_C_SLIP_LIMITED) return "slip-limited";
  if (idx == DW_C_DET_BANS) return "detector-bans";
  if (idx == DW_C_DET_CAP_HIT) return "detector-cap-hit";
  if (idx == DW_C_DET_NEVER_BAN) return "detector-never-ban";
  if (idx == DW_C_DET_EVENTS_LOST) return "detector-events-lost";
  if (idx == DW_C_SAMPLES_LOST) return "samples-lost";
  if (idx == DW_C_REFUSE_LIMITED) return "refuse-limited";
  if (idx == DW_C_SHIELD_SHORT) return "shield-short";
  return "unknown";
}

bool reason_table_says_drop(unsigned reason) {
  return reason < DW_R_COUNT && kReasons[reason].drop;
}

}  // namespace dnswash
