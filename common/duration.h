// Durations as operators type them: "90" (seconds), "30s", "10m", "2h", "7d", or a sum such as
// "1h30m". Shared by dnswashd's options and dnswashctl.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dnswash {

// Seconds, or nullopt with *error set (empty, unknown unit, zero, overflow).
std::optional<uint64_t> parse_duration(std::string_view text, std::string *error = nullptr);
// "2h", "1h30m", "45s": the shortest exact form.
std::string duration_text(uint64_t seconds);

}  // namespace dnswash
