// Per-reason packet counters, summed over CPUs.
#pragma once

#include <array>
#include <cstdint>

#include "dnswash_abi.h"

namespace dnswash {

using Counters = std::array<uint64_t, DW_C_COUNT>;
Counters read_counters(int counters_fd);

}  // namespace dnswash
