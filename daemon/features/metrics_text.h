// The Prometheus text exposition (format 0.0.4) of a filter's state, built from the `status`
// reply and the counters, so `dnswashctl metrics` and the --metrics-listen HTTP endpoint print
// exactly the same. No per-CPU, per-zone or per-source labels: cardinality stays fixed.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "counters.h"

namespace dnswash::daemon {

// status: the daemon's `status` reply (its "detector", "ban_map" and "sampler" sections are
// used when present). counters: summed over CPUs (read_counters).
std::string prometheus_text(const nlohmann::json &status, const Counters &counters);

}  // namespace dnswash::daemon
