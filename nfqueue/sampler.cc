#include "nfqueue/sampler.h"

#include <algorithm>
#include <cstring>

namespace dnswash::nfqueue {

void SampleQueue::set_capacity(size_t capacity) {
  std::lock_guard<std::mutex> lock(mu_);
  cap_ = capacity;
}

bool SampleQueue::push(const dw_sample_event &e) {
  std::lock_guard<std::mutex> lock(mu_);
  if (q_.size() >= cap_) return false;
  q_.push_back(e);
  return true;
}

std::vector<dw_sample_event> SampleQueue::take() {
  std::vector<dw_sample_event> out;
  std::lock_guard<std::mutex> lock(mu_);
  out.swap(q_);
  return out;
}

dw_sample_event make_sample_event(const UserVerdict &v, const uint8_t *packet, size_t len) {
  dw_sample_event e{};
  e.reason = uint8_t(v.reason);
  // The source from the IP header, as dw_sample_drop reads it (IPv4-mapped for IPv4).
  if (len >= 20 && (packet[0] >> 4) == 4) {
    e.family = 4;
    e.src[10] = 0xff;
    e.src[11] = 0xff;
    std::memcpy(&e.src[12], packet + 12, 4);
  } else if (len >= 40 && (packet[0] >> 4) == 6) {
    e.family = 6;
    std::memcpy(e.src, packet + 8, 16);
  }
  // The name, for the reasons that parsed it whole (dw_sample_qname_len's list).
  if (v.reason != DW_R_NOT_AUTH && v.reason != DW_R_CHAOS && v.reason != DW_R_QCLASS &&
      v.reason != DW_R_NO_QTYPE)
    return e;
  if (v.dns_off < 14) return e;
  size_t name = size_t(v.dns_off) - 14 + DW_DNS_HDR_LEN, off = 0;
  if (name >= len) return e;
  const size_t avail = std::min(len - name, size_t(DW_SAMPLE_QNAME_MAX));
  for (;;) {
    if (off >= avail) return e;  // cannot happen after such a verdict: keep no name
    uint8_t l = packet[name + off];
    if (l == 0) break;
    off += size_t(l) + 1;
    if (off >= DW_MAX_NAME) return e;
  }
  e.qname_len = uint16_t(off + 1);
  std::memcpy(e.qname, packet + name, e.qname_len);
  if (v.reason != DW_R_NO_QTYPE && name + off + 3 <= len)
    e.qtype = uint16_t(packet[name + off + 1] << 8 | packet[name + off + 2]);
  return e;
}

Sampler::Result Sampler::on_drop(const dw_config &c, const UserVerdict &v, const uint8_t *packet,
                                 size_t len, uint64_t now_ns, SampleQueue &q) {
  if (c.sample_every == 0 || c.sample_per_s == 0) return kSkipped;
  if (c.sample_every > 1 &&
      std::uniform_int_distribution<uint32_t>(0, c.sample_every - 1)(rng_) != 0)
    return kSkipped;
  if (now_ns - window_ns_ >= 1000000000ull) {
    window_ns_ = now_ns;
    used_ = 0;
  }
  if (used_ >= c.sample_per_s) return kSkipped;
  ++used_;
  return q.push(make_sample_event(v, packet, len)) ? kSampled : kLost;
}

}  // namespace dnswash::nfqueue
