#include "nfqueue_engine.h"

#include <bpf/bpf.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "dw_siphash.h"  // at file scope: dw_verdict.h below only uses it

// dw_verdict.h's types and functions go into their own namespace here: verdict_user.cc binds
// the same header to a different struct dw_env, and two definitions of one global type would
// break the one-definition rule.
namespace dnswash::nfq_bind {

struct dw_env {
  const uint8_t *frame;
  uint32_t len;
  NfqVerdictEngine *eng;
  const LiveMaps *maps;
  dw_ban_val ban;
};

static inline __u32 dw_env_frame_len(dw_env *e) {
  return e->len;
}
static inline long dw_env_load(dw_env *e, __u32 off, void *dst, __u32 len) {
  if (off > e->len || len > e->len - off) return -1;
  std::memcpy(dst, e->frame + off, len);
  return 0;
}
static inline const dw_ban_val *dw_env_ban_lookup(dw_env *e, const dw_ban_key *k) {
  if (bpf_map_lookup_elem(e->maps->bans_fd, k, &e->ban) != 0) return nullptr;
  return &e->ban;
}
static inline __u64 dw_env_now(dw_env *) {
  timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return __u64(ts.tv_sec) * 1000000000ULL + __u64(ts.tv_nsec);
}
static inline void *dw_env_zone_set(dw_env *e) {
  return e->eng->has_zone_set() ? e->eng : nullptr;
}
static inline const dw_zone_bucket *dw_env_zone_bucket(dw_env *e, void *, __u32 idx) {
  return e->eng->zone_element(idx);
}

#include "dw_verdict.h"

}  // namespace dnswash::nfq_bind

namespace dnswash {

NfqVerdictEngine::~NfqVerdictEngine() {
  if (inner_fd_ >= 0) close(inner_fd_);
}

bool NfqVerdictEngine::begin_batch() {
  uint32_t slot = 0, id = 0;
  if (bpf_map_lookup_elem(maps_.zones_fd, &slot, &id) != 0) {
    // No set installed (or unreadable): no name matches, as in XDP.
    if (inner_fd_ >= 0) close(inner_fd_);
    inner_fd_ = -1;
    inner_id_ = 0;
  } else if (id != inner_id_ || inner_fd_ < 0) {
    if (inner_fd_ >= 0) close(inner_fd_);
    inner_fd_ = bpf_map_get_fd_by_id(id);
    inner_id_ = inner_fd_ >= 0 ? id : 0;
  }
  uint32_t k = 0;
  dw_config c;
  if (bpf_map_lookup_elem(maps_.config_fd, &k, &c) != 0) return false;
  cfg_ = c;
  return true;
}

const dw_zone_bucket *NfqVerdictEngine::zone_element(uint32_t idx) {
  if (inner_fd_ < 0) return nullptr;
  // The header is read before any bucket and copied out by the matcher; a bucket is done
  // with before the next one is read: two buffers suffice.
  dw_zone_bucket *buf = idx == 0 ? &hdr_buf_ : &bucket_buf_;
  return bpf_map_lookup_elem(inner_fd_, &idx, buf) == 0 ? buf : nullptr;
}

int NfqVerdictEngine::classify_ip(const uint8_t *packet, size_t len) {
  // The same fake untagged Ethernet header as VerdictEngine::classify_ip.
  frame_.resize(14 + len);
  std::memset(frame_.data(), 0, 12);
  bool v6 = len > 0 && (packet[0] >> 4) == 6;
  frame_[12] = v6 ? 0x86 : 0x08;
  frame_[13] = v6 ? 0xDD : 0x00;
  if (len) std::memcpy(frame_.data() + 14, packet, len);
  using namespace nfq_bind;
  nfq_bind::dw_env env{frame_.data(), uint32_t(frame_.size()), this, &maps_, {}};
  nfq_bind::dw_pkt pkt{frame_.data(), frame_.data() + frame_.size()};
  dw_scratch sc;
  std::memset(&sc, 0, sizeof sc);
  nfq_bind::dw_verdict v;
  std::memset(&v, 0, sizeof v);
  return nfq_bind::dw_classify(&env, &pkt, &cfg_, &sc, &v);
}

}  // namespace dnswash
