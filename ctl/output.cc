#include "output.h"

#include "duration.h"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace dnswash::ctl {

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

void Table::print(std::ostream &out) const {
  std::vector<size_t> width(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) width[c] = columns_[c].header.size();
  for (const auto &r : rows_)
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  auto line = [&](const std::vector<std::string> &cells) {
    std::string s;
    for (size_t c = 0; c < cells.size(); ++c) {
      const size_t pad = width[c] - cells[c].size();
      if (c) s += "  ";
      if (columns_[c].align == Align::kRight) s.append(pad, ' ');
      s += cells[c];
      if (columns_[c].align == Align::kLeft && c + 1 < cells.size()) s.append(pad, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << '\n';
  };
  std::vector<std::string> hdr;
  for (const auto &c : columns_) hdr.push_back(c.header);
  line(hdr);
  for (const auto &r : rows_) line(r);
}

std::string fmt_count(uint64_t n) {
  std::string d = std::to_string(n), out;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i && (d.size() - i) % 3 == 0) out += ',';
    out += d[i];
  }
  return out;
}

std::string fmt_si(double v) {
  static const char *prefix[] = {"", "k", "M", "G", "T", "P"};
  int p = 0;
  while (std::fabs(v) >= 999.5 && p < 5) {
    v /= 1000;
    ++p;
  }
  char buf[32];
  if (v == std::floor(v) && p == 0)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (std::fabs(v) >= 99.95)
    std::snprintf(buf, sizeof buf, "%.0f%s", v, prefix[p]);
  else if (std::fabs(v) >= 9.995)
    std::snprintf(buf, sizeof buf, "%.1f%s", v, prefix[p]);
  else
    std::snprintf(buf, sizeof buf, "%.2f%s", v, prefix[p]);
  return buf;
}

std::string fmt_rate(double per_s, std::string_view unit) {
  return fmt_si(per_s) + " " + std::string(unit) + "/s";
}

std::string fmt_duration(int64_t s) {
  if (s < 0) s = 0;
  struct U {
    int64_t secs;
    const char *name;
  };
  static const U units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  std::string out;
  int parts = 0;
  for (const U &u : units) {
    if (s >= u.secs && parts < 2) {
      out += std::to_string(s / u.secs) + u.name;
      s %= u.secs;
      ++parts;
    } else if (parts) {
      break;  // "1h5s" would read oddly: two adjacent units at most
    }
  }
  return out.empty() ? "0s" : out;
}

std::string fmt_percent(double f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", f * 100);
  return buf;
}

std::optional<int64_t> parse_duration(std::string_view t) {
  // The daemon's parser (common/duration.h), so both read a duration the same way; the cap
  // keeps every result far from int64 overflow in milliseconds.
  auto v = dnswash::parse_duration(t);
  if (!v || *v > uint64_t(100) * 365 * 86400) return std::nullopt;
  return int64_t(*v);
}

CLI::Validator duration_validator() {
  return CLI::Validator(
      [](std::string &s) -> std::string {
        return parse_duration(s)
                   ? std::string()
                   : "'" + s + "' is not a duration (e.g. 90, 90s, 10m, 2h, 1d, 1h30m)";
      },
      "DURATION");
}

void print_json(const nlohmann::json &j) {
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

CLI::Option *add_json_flag(CLI::App &cmd, bool &json) {
  return cmd.add_flag("--json", json, "Print JSON (schema in docs/dnswashctl.md)");
}

bool stdout_is_tty() {
  return isatty(STDOUT_FILENO) == 1;
}

}  // namespace dnswash::ctl
