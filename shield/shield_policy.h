// When a zone's shield is on (docs/detector.md "Zone shield"): per-zone counts sampled every
// tick (named's answers and NXDOMAINs from the tc program, over all sources; the queries the
// shield itself stopped), the rates over the last second, and the operator's mode. Pure: the
// daemon feeds it the kernel's counters and the time; the tests feed it numbers.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

namespace dnswash::shield {

enum class Mode { kAuto, kOn, kOff };
const char *mode_name(Mode m);
bool parse_mode(const std::string &s, Mode *m);

struct PolicyParams {
  double on_nx_rate = 100;    // missing names per second that may turn the shield on ...
  double on_nx_share = 0.25;  // ... if they are at least this share of the zone's answers
  int64_t quiet_ms = 60000;   // off again after this long below on_nx_rate / 2
  int64_t window_ms = 1000;   // rates over this much of the latest samples
};

class ZonePolicy {
 public:
  explicit ZonePolicy(PolicyParams p) : p_(p) {}
  // One sample of the zone's cumulative counts (they only grow; a counter reset - the
  // kernel entry was evicted - starts the history over). Returns whether the shield should be
  // on now.
  bool update(int64_t now_ms, uint64_t answers, uint64_t nx, uint64_t blocked);
  void set_mode(Mode m, int64_t now_ms);
  Mode mode() const { return mode_; }
  bool on() const { return on_; }
  int64_t since_ms() const { return since_ms_; }  // when it last changed (0: never)
  double missing_rate() const { return rate_; }   // NXDOMAIN + blocked per second, last window
  double share() const { return share_; }

 private:
  struct Sample {
    int64_t t;
    uint64_t answers, nx, blocked;
  };
  void set_on(bool on, int64_t now_ms);
  PolicyParams p_;
  Mode mode_ = Mode::kAuto;
  bool on_ = false;
  int64_t since_ms_ = 0;
  int64_t last_hot_ms_ = 0;
  double rate_ = 0, share_ = 0;
  std::deque<Sample> hist_;
};

}  // namespace dnswash::shield
