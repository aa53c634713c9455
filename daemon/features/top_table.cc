#include "top_table.h"

#include <algorithm>
#include <map>

namespace dnswash::daemon {

void TopTable::add(const std::string &key, int64_t now_ms, int reason) {
  const int64_t minute = now_ms / 60000;
  if (buckets_.empty() || buckets_.back().minute < minute) {
    buckets_.push_back(Bucket{minute, 0, {}});
    while (!buckets_.empty() && buckets_.front().minute <= minute - int64_t(minutes_))
      buckets_.pop_front();
  }
  Bucket &b = buckets_.back();  // a clock step backwards lands in the newest bucket
  b.total += 1;
  auto it = b.slots.find(key);
  if (it == b.slots.end()) {
    if (b.slots.size() < capacity_) {
      it = b.slots.emplace(key, Slot{0, 0, now_ms, now_ms, reason}).first;
    } else {
      // Space-saving: the new key takes over the smallest slot and inherits its count, so a
      // heavy hitter that arrives late still climbs past the noise. Linear scan: evictions
      // happen at most at the sample rate, over a few hundred slots.
      auto min = std::min_element(b.slots.begin(), b.slots.end(), [](const auto &x, const auto &y) {
        return x.second.count < y.second.count;
      });
      Slot s{min->second.count, min->second.count, now_ms, now_ms, reason};
      b.slots.erase(min);
      it = b.slots.emplace(key, s).first;
    }
  }
  it->second.count += 1;
  it->second.last_ms = std::max(it->second.last_ms, now_ms);
  it->second.reason = reason;
}

bool TopTable::in_window(const Bucket &b, int64_t since_ms, int64_t now_ms) const {
  const int64_t bucket_end_ms = (b.minute + 1) * 60000;
  return bucket_end_ms > now_ms - since_ms && b.minute * 60000 <= now_ms;
}

std::vector<TopTable::Entry> TopTable::top(size_t n, int64_t since_ms, int64_t now_ms) const {
  std::map<std::string, Entry> merged;
  for (const Bucket &b : buckets_) {
    if (!in_window(b, since_ms, now_ms)) continue;
    for (const auto &[key, s] : b.slots) {
      Entry &e = merged[key];
      if (e.count == 0) {
        e.key = key;
        e.first_ms = s.first_ms;
      }
      e.count += s.count;
      e.error += s.error;
      e.first_ms = std::min(e.first_ms, s.first_ms);
      if (s.last_ms >= e.last_ms) {
        e.last_ms = s.last_ms;
        e.reason = s.reason;
      }
    }
  }
  std::vector<Entry> out;
  out.reserve(merged.size());
  for (auto &[k, e] : merged) out.push_back(std::move(e));
  std::sort(out.begin(), out.end(), [](const Entry &a, const Entry &b) {
    return a.count != b.count ? a.count > b.count : a.key < b.key;
  });
  if (out.size() > n) out.resize(n);
  return out;
}

uint64_t TopTable::total(int64_t since_ms, int64_t now_ms) const {
  uint64_t t = 0;
  for (const Bucket &b : buckets_)
    if (in_window(b, since_ms, now_ms)) t += b.total;
  return t;
}

size_t TopTable::keys() const {
  size_t k = 0;
  for (const Bucket &b : buckets_) k += b.slots.size();
  return k;
}

}  // namespace dnswash::daemon
