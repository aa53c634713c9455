#include "duration.h"

namespace dnswash {

std::optional<uint64_t> parse_duration(std::string_view t, std::string *error) {
  auto bad = [&](std::string m) -> std::optional<uint64_t> {
    if (error)
      *error = "'" + std::string(t) + "' is not a duration (" + m +
               "; e.g. 90, 30s, 10m, 2h, 7d, 1h30m)";
    return std::nullopt;
  };
  if (t.empty()) return bad("empty");
  uint64_t total = 0;
  size_t i = 0;
  while (i < t.size()) {
    if (t[i] < '0' || t[i] > '9') return bad("a number must come first");
    uint64_t n = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      if (n > (UINT64_MAX - 9) / 10) return bad("too large");
      n = n * 10 + uint64_t(t[i] - '0');
      ++i;
    }
    uint64_t unit = 1;
    if (i < t.size()) {
      switch (t[i]) {
        case 's':
          unit = 1;
          break;
        case 'm':
          unit = 60;
          break;
        case 'h':
          unit = 3600;
          break;
        case 'd':
          unit = 86400;
          break;
        case 'w':
          unit = 7 * 86400;
          break;
        default:
          return bad(std::string("unknown unit '") + t[i] + "'");
      }
      ++i;
    } else if (total != 0) {
      return bad("a unit is missing after the last number");
    }
    if (n > (UINT64_MAX / 1000000000ull) / unit) return bad("too large");
    total += n * unit;
    if (total > UINT64_MAX / 1000000000ull) return bad("too large");
  }
  if (total == 0) return bad("must be longer than zero");
  return total;
}

std::string duration_text(uint64_t s) {
  if (s == 0) return "0s";
  std::string out;
  const std::pair<uint64_t, char> units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
  for (auto [u, c] : units)
    if (s >= u) {
      out += std::to_string(s / u) + c;
      s %= u;
    }
  return out;
}

}  // namespace dnswash
