// Per-reason packet counters, summed over CPUs.
#pragma once

#include <array>
#include <cstdint>

#include "dnswash_abi.h"

namespace dnswash {

using Counters = std::array<uint64_t, DW_C_COUNT>;
Counters read_counters(int counters_fd);  // dw_cpu rows, summed
// Adds to row 0 (a writer outside the datapath: the NFQUEUE fallback). Not atomic against
// another such writer: serialize calls.
void add_counters(int counters_fd, const Counters &delta);

}  // namespace dnswash
