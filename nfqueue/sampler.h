// `dnswashctl top` in NFQUEUE mode. The XDP program samples its drops into a ring buffer
// (bpf/dw_sample.h); the fallback's queue threads do the same here, each like one CPU of the
// XDP program: about one in dw_config.sample_every drop verdicts (dry-run passes included), at
// most sample_per_s a second, as the same dw_sample_event. The daemon's sampler reads them from
// a bounded queue instead of the ring. A full queue loses the sample, counted as samples-lost,
// never the verdict.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <random>
#include <vector>

#include "dnswash_abi.h"
#include "verdict_user.h"

namespace dnswash::nfqueue {

class SampleQueue {
 public:
  explicit SampleQueue(size_t capacity = 4096) : cap_(capacity) {}
  void set_capacity(size_t capacity);   // before any push
  bool push(const dw_sample_event &e);  // false when full
  std::vector<dw_sample_event> take();  // everything queued, oldest first

 private:
  std::mutex mu_;
  std::vector<dw_sample_event> q_;
  size_t cap_;
};

// What dw_sample_drop writes for the same packet: `packet` is an IP packet without link header
// (as NFQUEUE delivers it; v's offsets are frame offsets, 14 more), `len` the bytes of it at
// hand. The name is copied only for the reasons whose verdict parsed it whole.
dw_sample_event make_sample_event(const UserVerdict &v, const uint8_t *packet, size_t len);

// One queue thread's sampler (not thread-safe, like the XDP sampler's per-CPU state).
class Sampler {
 public:
  enum Result { kSkipped, kSampled, kLost };
  // For a drop verdict v of `packet` at monotonic time now_ns.
  Result on_drop(const dw_config &c, const UserVerdict &v, const uint8_t *packet, size_t len,
                 uint64_t now_ns, SampleQueue &q);

 private:
  std::minstd_rand rng_{std::random_device{}()};
  uint64_t window_ns_ = 0;
  uint32_t used_ = 0;
};

}  // namespace dnswash::nfqueue
