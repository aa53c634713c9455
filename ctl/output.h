// Output conventions shared by every dnswashctl command (docs/dnswashctl.md):
//   - human output: aligned tables (Table), counts with thousands separators, rates and
//     durations with units;
//   - --json: one JSON document on stdout (print_json), names in \DDD presentation form so
//     that no byte of an attack name can break it;
//   - durations on the command line: parse_duration ("90", "90s", "10m", "2h", "1d", "1h30m"),
//     common/duration.h's parser with a 100-year cap.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace dnswash::ctl {

class Table {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string header;
    Align align = Align::kLeft;
  };
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
  void add_row(std::vector<std::string> cells);
  // Header row, then the rows; columns separated by two spaces, no trailing blanks.
  void print(std::ostream &out) const;
  size_t rows() const { return rows_.size(); }

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// 1234567 -> "1,234,567"
std::string fmt_count(uint64_t n);
// 1234.5 -> "1.23k", 0.5 -> "0.5", 12 -> "12" (three significant digits, SI prefixes k M G T)
std::string fmt_si(double v);
// A rate with its unit: fmt_rate(1234.5, "pkt") -> "1.23k pkt/s"
std::string fmt_rate(double per_s, std::string_view unit);
// Seconds as "45s", "10m", "1h30m", "2d3h" (largest two units).
std::string fmt_duration(int64_t seconds);
// 12.345 -> "12.3%"
std::string fmt_percent(double fraction);

// "90" (seconds), "90s", "10m", "2h", "1d", "1h30m": seconds, or nullopt (also for 0 or
// more than 100 years).
std::optional<int64_t> parse_duration(std::string_view text);
// A CLI11 validator for durations.
CLI::Validator duration_validator();

// The one JSON document of a --json command, on stdout.
void print_json(const nlohmann::json &j);
// Adds the --json flag every command has.
CLI::Option *add_json_flag(CLI::App &cmd, bool &json);

bool stdout_is_tty();

}  // namespace dnswash::ctl
