#include "shield_policy.h"

#include <algorithm>

namespace dnswash::shield {

const char *mode_name(Mode m) {
  switch (m) {
    case Mode::kOn:
      return "on";
    case Mode::kOff:
      return "off";
    default:
      return "auto";
  }
}

bool parse_mode(const std::string &s, Mode *m) {
  if (s == "on")
    *m = Mode::kOn;
  else if (s == "off")
    *m = Mode::kOff;
  else if (s == "auto")
    *m = Mode::kAuto;
  else
    return false;
  return true;
}

void ZonePolicy::set_on(bool on, int64_t now_ms) {
  if (on == on_) return;
  on_ = on;
  since_ms_ = now_ms;
  if (on) last_hot_ms_ = now_ms;
}

void ZonePolicy::set_mode(Mode m, int64_t now_ms) {
  mode_ = m;
  if (m == Mode::kOn) set_on(true, now_ms);
  if (m == Mode::kOff) set_on(false, now_ms);
  if (m == Mode::kAuto && on_) last_hot_ms_ = now_ms;  // stays on for a quiet period at least
}

bool ZonePolicy::update(int64_t now_ms, uint64_t answers, uint64_t nx, uint64_t blocked) {
  if (!hist_.empty()) {
    const Sample &b = hist_.back();
    if (answers < b.answers || nx < b.nx || blocked < b.blocked) hist_.clear();
  }
  hist_.push_back({now_ms, answers, nx, blocked});
  while (hist_.size() > 1 && now_ms - hist_[1].t >= p_.window_ms) hist_.pop_front();
  const Sample &a = hist_.front(), &b = hist_.back();
  int64_t span = b.t - a.t;
  rate_ = share_ = 0;
  if (span > 0) {
    double missing = double(b.nx - a.nx) + double(b.blocked - a.blocked);
    double all = double(b.answers - a.answers) + double(b.blocked - a.blocked);
    // Short spans (the first ticks of a zone's history) count as the window: a burst at the
    // very start must not look like a huge rate.
    rate_ = missing * 1000.0 / double(std::max<int64_t>(span, p_.window_ms / 2));
    share_ = all > 0 ? missing / all : 0;
  }
  if (mode_ != Mode::kAuto) return on_;
  bool hot = rate_ >= p_.on_nx_rate && share_ >= p_.on_nx_share;
  if (!on_ && hot) set_on(true, now_ms);
  if (on_) {
    if (rate_ >= p_.on_nx_rate / 2) last_hot_ms_ = now_ms;
    if (now_ms - last_hot_ms_ >= p_.quiet_ms) set_on(false, now_ms);
  }
  return on_;
}

}  // namespace dnswash::shield
