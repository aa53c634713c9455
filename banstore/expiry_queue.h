// Bans ordered by expiry, so the once-a-second sweep looks only at what is due: O(log n) per
// change and per expiry instead of a walk of every record (which, at 100,000 bans, kept the
// idle daemon at half a core).
#pragma once

#include <cstdint>
#include <iterator>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace dnswash::banstore {

template <typename Key>
class ExpiryQueue {
 public:
  void add(uint64_t when, const Key &k) { q_.emplace(when, k); }
  void remove(uint64_t when, const Key &k) { q_.erase({when, k}); }
  // The keys due at `now` (when <= now), earliest first, taken out of the queue; at most
  // `max`, so one round of a loop never takes a burst of a million at once.
  std::vector<Key> take_due(uint64_t now, size_t max) {
    std::vector<Key> out;
    auto it = q_.begin();
    while (it != q_.end() && it->first <= now && out.size() < max) {
      out.push_back(it->second);
      it = q_.erase(it);
    }
    return out;
  }
  std::optional<uint64_t> next() const {
    return q_.empty() ? std::nullopt : std::optional<uint64_t>(q_.begin()->first);
  }
  size_t size() const { return q_.size(); }
  void clear() { q_.clear(); }

 private:
  std::set<std::pair<uint64_t, Key>> q_;
};

}  // namespace dnswash::banstore
