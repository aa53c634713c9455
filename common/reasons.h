// Names of verdict reasons and counters, generated from the ABI header's DW_REASONS table.
#pragma once

#include <string_view>

#include "dnswash_abi.h"

namespace dnswash {

// "allowed", "not-authoritative", ...; "dry-run-passed" for DW_C_DRYRUN_PASSED, "samples-lost"
// for DW_C_SAMPLES_LOST.
std::string_view counter_name(unsigned idx);
// The is_drop column of DW_REASONS, for checking it against dw_reason_is_drop().
bool reason_table_says_drop(unsigned reason);

}  // namespace dnswash
