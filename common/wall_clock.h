// Wall-clock time for what operators read (ban start and expiry, `top` windows, status), as
// opposed to CLOCK_BOOTTIME (ban_table.h: boottime_ns), which the datapath's expiries use.
#pragma once

#include <cstdint>

namespace dnswash {

int64_t now_unix_ms();  // CLOCK_REALTIME in ms since the Unix epoch

}  // namespace dnswash
