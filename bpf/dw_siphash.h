/* Keyed hashing of DNS name suffixes, shared verbatim by the XDP program and userspace (which
 * computes the zone-map keys with these very functions).
 *
 * A zone matches a query name when the zone's labels are a suffix of the name's labels. The
 * matcher therefore needs one hash per suffix, walking from the root: "com", "example.com",
 * "www.example.com". Hashing root-first lets each suffix extend the previous state instead of
 * rehashing the whole suffix, so a name costs O(its length) however many zones are loaded.
 *
 * Encoding (injective, so distinct label sequences give distinct messages): labels root-first,
 * each as its wire bytes (length byte, then the label, ASCII A-Z folded to a-z) zero-padded to
 * a multiple of 8 bytes. The digest of a suffix is SipHash-1-3 (the kernel's hsiphash on
 * 64-bit) of that byte string under a 128-bit key made at load: a false allow needs a
 * collision under a key the attacker never sees, unlike seeded Murmur/xxHash/FNV whose
 * collisions do not depend on the seed.
 */
#ifndef DW_SIPHASH_H
#define DW_SIPHASH_H

#include "dnswash_abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

struct dw_sip {
  __u64 v0, v1, v2, v3;
  __u64 bytes; /* message length so far (always a multiple of 8) */
};

#define DW_ROTL(x, b) (__u64)(((x) << (b)) | ((x) >> (64 - (b))))
#define DW_SIPROUND(s)              \
  do {                              \
    (s)->v0 += (s)->v1;             \
    (s)->v1 = DW_ROTL((s)->v1, 13); \
    (s)->v1 ^= (s)->v0;             \
    (s)->v0 = DW_ROTL((s)->v0, 32); \
    (s)->v2 += (s)->v3;             \
    (s)->v3 = DW_ROTL((s)->v3, 16); \
    (s)->v3 ^= (s)->v2;             \
    (s)->v0 += (s)->v3;             \
    (s)->v3 = DW_ROTL((s)->v3, 21); \
    (s)->v3 ^= (s)->v0;             \
    (s)->v2 += (s)->v1;             \
    (s)->v1 = DW_ROTL((s)->v1, 17); \
    (s)->v1 ^= (s)->v2;             \
    (s)->v2 = DW_ROTL((s)->v2, 32); \
  } while (0)

static __always_inline void dw_sip_init(struct dw_sip *s, __u64 k0, __u64 k1) {
  s->v0 = k0 ^ 0x736f6d6570736575ULL;
  s->v1 = k1 ^ 0x646f72616e646f6dULL;
  s->v2 = k0 ^ 0x6c7967656e657261ULL;
  s->v3 = k1 ^ 0x7465646279746573ULL;
  s->bytes = 0;
}

/* Fold ASCII A-Z to a-z in all 8 bytes at once; bytes >= 0x80 are left alone. */
static __always_inline __u64 dw_ascii_lower64(__u64 x) {
  __u64 low7 = x & 0x7f7f7f7f7f7f7f7fULL;
  __u64 ge_a = low7 + 0x3f3f3f3f3f3f3f3fULL; /* bit 7 set where byte >= 'A' */
  __u64 gt_z = low7 + 0x2525252525252525ULL; /* bit 7 set where byte > 'Z' */
  __u64 upper = ge_a & ~gt_z & ~x & 0x8080808080808080ULL;
  return x | (upper >> 2);
}

static __always_inline void dw_sip_absorb(struct dw_sip *s, __u64 m) {
  s->v3 ^= m;
  DW_SIPROUND(s);
  s->v0 ^= m;
  s->bytes += 8;
}

/* Absorbs one label whose length byte is at p[0] (1..63 label bytes follow). Reads up to 7
 * bytes past the label's end (masked off): the caller's buffer has that slack. */
static __always_inline void dw_sip_absorb_label(struct dw_sip *s, const __u8 *p) {
  __u32 n = (__u32)p[0] + 1; /* bytes of this label's encoding before padding: 2..64 */
  __u32 w;
  /* Unrolled: as a loop, its counter is a precise value in every state and the verifier walks
   * the 8 word counts separately inside each pass over a bpf_loop callback (on 6.18: 575k
   * instead of ~26k verified instructions for the tc program). */
#if defined(__bpf__)
#pragma unroll
#endif
  for (w = 0; w < 8; w++) {
    __u64 m;
    __u32 left = n - w * 8;
#if defined(__bpf__)
    /* One 8-byte load: through a __u64 pointer clang emits a single load instead of eight
     * byte loads and their shifts (it must assume a __u8 pointer unaligned). The address may
     * well be unaligned: the kernels we target (x86-64, arm64) have efficient unaligned
     * access, so the verifier does not demand alignment of map-value loads, and the JIT
     * emits a plain load. Host order, as memcpy on the C++ side. */
    m = *(const __u64 *)(const void *)(p + w * 8);
#else
    __builtin_memcpy(&m, p + w * 8, 8); /* host order; both sides run on the same host */
#endif
    if (left < 8) m &= (1ULL << (left * 8)) - 1;
    dw_sip_absorb(s, dw_ascii_lower64(m));
    if (left <= 8) break;
  }
}

/* Digest of the message absorbed so far; leaves the state untouched so that the next label
 * can be absorbed on top. This is SipHash's final block (length byte only, since the message
 * is a multiple of 8 bytes) and its three finalization rounds, run on a copy. */
static __always_inline __u64 dw_sip_digest(const struct dw_sip *s) {
  struct dw_sip t = *s;
  __u64 b = (t.bytes & 0xff) << 56;
  t.v3 ^= b;
  DW_SIPROUND(&t);
  t.v0 ^= b;
  t.v2 ^= 0xff;
  DW_SIPROUND(&t);
  DW_SIPROUND(&t);
  DW_SIPROUND(&t);
  return t.v0 ^ t.v1 ^ t.v2 ^ t.v3;
}

/* Is depth d (labels, >= 1) marked in a dw_config depth mask? */
static __always_inline int dw_depth_marked(__u64 mask, __u32 d) {
  return d >= 64 ? (int)((mask >> 63) & 1) : (int)((mask >> (d - 1)) & 1);
}

#endif /* DW_SIPHASH_H */
