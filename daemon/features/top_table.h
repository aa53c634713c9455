// Bounded "most frequent keys over the last N minutes" for `dnswashctl top`: the sampled drop
// events are counted in per-minute buckets, each a space-saving summary (Metwally et al.) of at
// most `capacity` keys, and the last `minutes` buckets are kept. Memory is bounded by
// minutes x capacity keys whatever the attack's name count; a key's count is exact while its
// bucket had room and an overestimate by at most the evicted minimum otherwise (`error`).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

namespace dnswash::daemon {

class TopTable {
 public:
  explicit TopTable(size_t capacity = 256, unsigned minutes = 60)
      : capacity_(capacity), minutes_(minutes) {}

  // One event for `key` at wall-clock time now_ms; `reason` is kept as the key's latest.
  void add(const std::string &key, int64_t now_ms, int reason = -1);

  struct Entry {
    std::string key;
    uint64_t count = 0;
    uint64_t error = 0;  // upper bound of the overcount (space-saving evictions)
    int64_t first_ms = 0;
    int64_t last_ms = 0;
    int reason = -1;
  };
  // The n keys with the highest counts in the buckets that overlap [now_ms - since_ms, now_ms]
  // (whole minutes: a bucket counts if any of its minute is in the window), ties by key.
  std::vector<Entry> top(size_t n, int64_t since_ms, int64_t now_ms) const;
  // Events in that window.
  uint64_t total(int64_t since_ms, int64_t now_ms) const;
  // The longest window kept, in seconds.
  int64_t max_since_s() const { return int64_t(minutes_) * 60; }
  size_t keys() const;  // keys held over all buckets (for tests of the bound)

 private:
  struct Slot {
    uint64_t count = 0;
    uint64_t error = 0;
    int64_t first_ms = 0;
    int64_t last_ms = 0;
    int reason = -1;
  };
  struct Bucket {
    int64_t minute = 0;  // now_ms / 60000
    uint64_t total = 0;
    std::unordered_map<std::string, Slot> slots;
  };
  bool in_window(const Bucket &b, int64_t since_ms, int64_t now_ms) const;
  size_t capacity_;
  unsigned minutes_;
  std::deque<Bucket> buckets_;  // oldest first
};

}  // namespace dnswash::daemon
