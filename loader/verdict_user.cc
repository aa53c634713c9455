#include "verdict_user.h"

#include <bpf/bpf.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <vector>

// dw_verdict.h's hooks, bound to a frame in memory and the live maps through bpf(2).
struct dw_env {
  const uint8_t *frame;
  uint32_t len;
  dnswash::VerdictEngine *eng;
  const dnswash::LiveMaps *maps;
  dw_ban_val ban;  // storage for the ban lookup's result
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
  return e->eng->zone_set();
}
static inline const dw_zone_bucket *dw_env_zone_bucket(dw_env *e, void *, __u32 idx) {
  return e->eng->zone_element(idx);
}

static inline dw_slip_val *dw_env_odd_bucket(dw_env *e, const dw_slip_key *k) {
  return e->eng->odd_bucket(*k);
}

#include "dw_verdict.h"

namespace dnswash {

VerdictEngine::~VerdictEngine() {
  if (inner_fd_ >= 0) close(inner_fd_);
}

bool VerdictEngine::begin_batch() {
  uint32_t slot = 0, id = 0;
  if (bpf_map_lookup_elem(maps_.zones_fd, &slot, &id) != 0) {
    if (inner_fd_ >= 0) close(inner_fd_);  // none installed: no name matches, as in XDP
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

const dw_zone_bucket *VerdictEngine::zone_element(uint32_t idx) {
  // The header is read before any bucket and copied out by the matcher; a bucket is done with
  // before the next one is read: two buffers suffice.
  dw_zone_bucket *buf = idx == 0 ? &hdr_buf_ : &bucket_buf_;
  if (bpf_map_lookup_elem(inner_fd_, &idx, buf) != 0) return nullptr;
  return buf;
}

dw_slip_val *VerdictEngine::odd_bucket(const dw_slip_key &k) {
  if (odd_.size() >= DW_ODD_ENTRIES) odd_.clear();
  std::string key(reinterpret_cast<const char *>(&k), sizeof k);
  return &odd_[key];  // value-initialized (zero: a full bucket) when new
}

UserVerdict VerdictEngine::classify_frame(const uint8_t *frame, size_t len) {
  begin_batch();
  return classify_in_batch(frame, len);
}

UserVerdict VerdictEngine::classify_in_batch(const uint8_t *frame, size_t len) {
  // The parser reads 8-byte words up to 7 bytes past a label inside the scratch buffer, and
  // reads headers through direct pointers bounded by data_end: both need only the frame.
  dw_env env{frame, uint32_t(len), this, &maps_, {}};
  dw_pkt pkt{frame, frame + len};
  dw_scratch sc;
  std::memset(&sc, 0, sizeof sc);
  dw_verdict v;
  std::memset(&v, 0, sizeof v);
  int r = dw_classify(&env, &pkt, &cfg_, &sc, &v);
  UserVerdict u;
  u.reason = r;
  u.family = v.family;
  u.match_depth = v.match_depth;
  u.labels = v.labels;
  u.qtype = v.qtype;
  u.qclass = v.qclass;
  u.dns_off = v.dns_off;
  u.dns_len = v.dns_len;
  u.src = v.src;
  return u;
}

UserVerdict VerdictEngine::classify_ip(const uint8_t *packet, size_t len) {
  bool v6 = len > 0 && (packet[0] >> 4) == 6;
  frame_.assign(14, 0);
  frame_[12] = v6 ? 0x86 : 0x08;
  frame_[13] = v6 ? 0xDD : 0x00;
  frame_.insert(frame_.end(), packet, packet + len);
  return classify_in_batch(frame_.data(), frame_.size());
}

}  // namespace dnswash
