// The named.conf parser's index of zones by (view, wire name): duplicate and in-view lookups go
// through an open-addressing table of hashes, so a configuration with a million zones costs one
// probe per zone, not a scan. The index stores zone numbers (positions in the parser's record
// array); the caller says whether a candidate is the zone it looks for.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

namespace dnswash::zones {

class ZoneIndex {
 public:
  static uint64_t hash(const void *view, std::string_view wire) {
    uint64_t x =
        std::hash<std::string_view>()(wire) ^ (uint64_t(uintptr_t(view)) * 0x9e3779b97f4a7c15ULL);
    return x ^ (x >> 29);
  }

  // Sizes the table for `expect` zones up front (rehashing a large table moves and faults in
  // every slot again). Untouched reserved memory costs nothing.
  void reserve(size_t expect) {
    size_t slots = 64;
    while (slots * 2 < expect * 3) slots *= 2;
    if (slots > slots_.size()) rehash(slots);
  }

  // Starts fetching the home slot of `hash` (the caller parses the zone's body meanwhile: at a
  // million zones that lookup is a cache miss).
  void prefetch(uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[(hash >> 32) & (slots_.size() - 1)]);
  }

  // Adds zone number `index` under `hash`; `index` is the number of zones indexed so far.
  void add(size_t index, uint64_t hash) {
    if ((index + 1) * 3 > slots_.size() * 2)  // load at most 2/3
      rehash(std::max<size_t>(64, slots_.size() * 2));
    insert(slot_of(index, hash));
  }

  // The first zone number under `hash` for which is_it(number) holds.
  template <class IsIt>
  std::optional<size_t> find(uint64_t hash, IsIt is_it) const {
    if (slots_.empty()) return std::nullopt;
    size_t mask = slots_.size() - 1;
    for (size_t i = (hash >> 32) & mask; slots_[i]; i = (i + 1) & mask) {
      uint64_t slot = slots_[i];
      if ((slot ^ hash) >> 32) continue;
      if (is_it(size_t(uint32_t(slot) - 1))) return size_t(uint32_t(slot) - 1);
    }
    return std::nullopt;
  }

 private:
  // A slot holds the zone's number + 1 in its low 32 bits (0: free) and the upper half of its
  // hash in the high bits, which also pick the home slot: probes and rehashing rarely have to
  // look at the zone itself.
  static uint64_t slot_of(size_t index, uint64_t hash) {
    return (hash & 0xffffffff00000000ULL) | uint64_t(index + 1);
  }

  void rehash(size_t slots) {
    std::vector<uint64_t> old(slots, 0);
    old.swap(slots_);
    for (uint64_t slot : old)
      if (slot) insert(slot);
  }

  void insert(uint64_t slot) {
    size_t mask = slots_.size() - 1;
    for (size_t i = (slot >> 32) & mask;; i = (i + 1) & mask) {
      if (!slots_[i]) {
        slots_[i] = slot;
        return;
      }
    }
  }

  std::vector<uint64_t> slots_;
};

}  // namespace dnswash::zones
