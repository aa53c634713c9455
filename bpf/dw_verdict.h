/* The verdict logic, written once. The XDP program compiles it with clang -target bpf; the
 * NFQUEUE fallback and the `check` command compile the same text with g++. Whatever includes
 * this file first defines struct dw_env and these hooks (see bpf/dnswash.bpf.c and
 * loader/verdict_user.h):
 *
 *   __u32 dw_env_frame_len(struct dw_env *)              whole frame, all fragments of a
 *                                                        multi-buffer frame included
 *   long  dw_env_load(struct dw_env *, __u32 off, void *dst, __u32 len)   0 on success
 *   const struct dw_ban_val *dw_env_ban_lookup(struct dw_env *, const struct dw_ban_key *)
 *   __u64 dw_env_now(struct dw_env *)                    CLOCK_BOOTTIME ns
 *   void *dw_env_zone_set(struct dw_env *)               current zone set, NULL if none
 *   const struct dw_zone_bucket *dw_env_zone_bucket(struct dw_env *, void *set, __u32 idx)
 *                                                        element idx of the set (0 = header),
 *                                                        NULL if out of range
 *   struct dw_slip_val *dw_env_odd_bucket(struct dw_env *, const struct dw_slip_key *)
 *                                                        odd-query rate bucket (dw_odd.h)
 *
 * Headers up to UDP are read through direct pointers into the frame's first buffer (drivers
 * put them there); the question is copied with dw_env_load, which also reads later buffers.
 */
#ifndef DW_VERDICT_H
#define DW_VERDICT_H

#include "dnswash_abi.h"
#include "dw_siphash.h"

#define DW_ETH_P_IP 0x0800
#define DW_ETH_P_IPV6 0x86DD
#define DW_ETH_P_8021Q 0x8100
#define DW_ETH_P_8021AD 0x88A8
#define DW_IPPROTO_UDP 17
#define DW_DNS_PORT 53
#define DW_CLASS_IN 1
#define DW_CLASS_CH 3

struct dw_pkt {
  const __u8 *data;     /* frame start */
  const __u8 *data_end; /* end of the first buffer */
};

struct dw_verdict {
  __u8 reason;      /* enum dw_reason */
  __u8 family;      /* 4 or 6 once the IP header is parsed, else 0 */
  __u8 match_depth; /* ALLOWED: label count of the zone that matched */
  __u8 labels;      /* label count of the QNAME, once parsed */
  __u16 qtype;
  __u16 qclass;
  __u32 dns_off;         /* offset of the DNS header in the frame */
  __u32 dns_len;         /* DNS message length (UDP length - 8) */
  struct dw_ban_key src; /* source as a /128 ban key (IPv4-mapped for IPv4) */
};

#include "dw_odd.h"

static __always_inline __u16 dw_be16(const __u8 *p) {
  return (__u16)((p[0] << 8) | p[1]);
}

/* Keeps the compiler from reasoning about x's value (libbpf's barrier_var): an empty asm that
 * claims to change it. */
#define DW_BARRIER_VAR(x) asm volatile("" : "+r"(x))

/* Skips the IPv6 extension headers we know, leaving *p at the upper-layer header.
 * Returns the upper-layer protocol, -1 for a chain longer than DW_MAX_IPV6_EXTHDRS (malformed)
 * or -2 if the headers run past the first buffer (not classifiable: passes as not-dns).
 * *frag: 0 none, 1 first fragment (offset 0), 2 later fragment. */
static __always_inline int dw_skip_ipv6_exthdrs(const __u8 **pp, const __u8 *end, __u8 nexthdr,
                                                int *frag) {
  const __u8 *p = *pp;
  int i;
  for (i = 0; i < DW_MAX_IPV6_EXTHDRS; i++) {
    if (nexthdr != 0 && nexthdr != 43 && nexthdr != 60 && nexthdr != 44) {
      *pp = p;
      return nexthdr;
    }
    if (p + 8 > end) return -2;
    if (nexthdr == 44) { /* fragment header: fixed 8 bytes */
      __u16 fo = dw_be16(p + 2);
      *frag = (fo & 0xFFF8) ? 2 : 1;
      nexthdr = p[0];
      p += 8;
    } else {
      __u32 len = ((__u32)p[1] + 1) * 8;
      nexthdr = p[0];
      p += len;
    }
  }
  if (nexthdr != 0 && nexthdr != 43 && nexthdr != 60 && nexthdr != 44) {
    *pp = p;
    return nexthdr;
  }
  return -1;
}

static __always_inline void dw_set_src_v4(struct dw_ban_key *k, const __u8 *saddr) {
  int i;
  k->prefixlen = 128;
  for (i = 0; i < 10; i++) k->addr[i] = 0;
  k->addr[10] = 0xff;
  k->addr[11] = 0xff;
  k->addr[12] = saddr[0];
  k->addr[13] = saddr[1];
  k->addr[14] = saddr[2];
  k->addr[15] = saddr[3];
}

static __always_inline void dw_set_src_v6(struct dw_ban_key *k, const __u8 *saddr) {
  k->prefixlen = 128;
  __builtin_memcpy(k->addr, saddr, 16);
}

/* A loop whose body the verifier checks once: bpf_loop in the kernel (5.17+; the verifier
 * inlines it into a plain loop with a direct call), a for loop in userspace. Unrolled bounded
 * loops would make the verifier walk every depth times every 8-byte word of a label. */
#if defined(__bpf__)
#define DW_LOOP(n, fn, ctx) bpf_loop((n), (void *)(fn), (ctx), 0)
#else
static inline void dw_loop_user(__u32 n, long (*fn)(__u32, void *), void *ctx) {
  __u32 i;
  for (i = 0; i < n; i++)
    if (fn(i, ctx)) break;
}
#define DW_LOOP(n, fn, ctx) dw_loop_user((n), (fn), (ctx))
#endif

static __always_inline int dw_bucket_has(const struct dw_zone_bucket *b, __u64 tag) {
  /* All seven compares, no early exit: the line is loaded anyway and branches on random tags
   * would mispredict. */
  return (b->tag[0] == tag) | (b->tag[1] == tag) | (b->tag[2] == tag) | (b->tag[3] == tag) |
         (b->tag[4] == tag) | (b->tag[5] == tag) | (b->tag[6] == tag);
}

/* Is this suffix digest a zone of the set? One bucket read; a second only when the primary
 * bucket overflowed (see struct dw_zone_bucket). */
static __always_inline int dw_zone_probe(struct dw_env *env, void *set, __u32 mask, __u64 digest) {
  __u64 tag = dw_zone_tag(digest);
  const struct dw_zone_bucket *b = dw_env_zone_bucket(env, set, dw_zone_primary(tag, mask));
  if (!b) return 0;
  if (dw_bucket_has(b, tag)) return 1;
  if (!b->overflow) return 0;
  b = dw_env_zone_bucket(env, set, dw_zone_secondary(tag, mask));
  return b ? dw_bucket_has(b, tag) : 0;
}

struct dw_match_ctx {
  struct dw_env *env;
  struct dw_scratch *sc;
  void *set;
  struct dw_sip s;
  __u64 depth_mask;
  __u32 mask;
  __u32 nl;
  __u32 depth; /* labels to hash: the loop's count is a constant (see dw_match_zones) */
  __u32 found; /* depth of the matching zone, 0 = none */
};

/* One depth step: absorb the next label (root-first) and look the suffix up if some zone has
 * that many labels. Returns 1 to stop the loop. */
static long dw_match_step(__u32 i, void *arg) {
  struct dw_match_ctx *c = (struct dw_match_ctx *)arg;
  __u32 d = i + 1;
  if (d > c->depth) return 1;
  __u32 off = DW_DNS_HDR_LEN + c->sc->label_off[(c->nl - d) & DW_MAX_LABELS];
  dw_sip_absorb_label(&c->s, &c->sc->buf[off]);
  if (dw_depth_marked(c->depth_mask, d)) {
    __u64 dg = dw_sip_digest(&c->s);
    if (dw_zone_probe(c->env, c->set, c->mask, dg)) {
      /* For the zone shield: where the zone is, and the hash state to go on from there.
       * Written here, not after the loop: no room for more on dnswash_xdp's stack (6.1). */
      struct dw_zone_match *zm = &c->sc->zm;
      zm->sip[0] = c->s.v0;
      zm->sip[1] = c->s.v1;
      zm->sip[2] = c->s.v2;
      zm->sip[3] = c->s.v3;
      zm->sip[4] = c->s.bytes;
      zm->tag = dw_zone_tag(dg);
      zm->depth = d;
      zm->nl = c->nl;
      c->found = d;
      return 1;
    }
  }
  return 0;
}

/* Matches the QNAME whose labels start at sc->buf[DW_DNS_HDR_LEN] (offsets in sc->label_off,
 * nl labels) against the zone set. Hashes suffixes root-first up to the set's max_depth labels
 * and looks up only depths that some zone has. Returns the matching depth, 0 if none; on a
 * match, leaves the zone's tag and hash state in sc->zm for the zone shield (dw_shield.h). */
static __always_inline __u32 dw_match_zones(struct dw_env *env, struct dw_scratch *sc, __u32 nl) {
  struct dw_match_ctx c;
  const struct dw_zone_hdr *hdr;
  __u32 depth = nl;
  c.set = dw_env_zone_set(env);
  if (!c.set) return 0;
  hdr = (const struct dw_zone_hdr *)dw_env_zone_bucket(env, c.set, 0);
  if (!hdr || hdr->magic != DW_ZONE_MAGIC) return 0;
  if (depth > hdr->max_depth) depth = hdr->max_depth;
  if (depth == 0) return 0;
  if (depth > DW_MAX_LABELS) depth = DW_MAX_LABELS;
  c.env = env;
  c.sc = sc;
  c.depth_mask = hdr->depth_mask;
  c.mask = hdr->bucket_mask;
  c.nl = nl;
  c.depth = depth;
  c.found = 0;
  dw_sip_init(&c.s, hdr->key.k0, hdr->key.k1); /* the key the set's tags were made with */
  /* A constant count, the step stopping at c.depth: the verifier inlines a bpf_loop whose count
   * is a constant, and its callback's states converge in a few passes; with the count in a
   * register 6.18 verified it ~33k instructions longer. */
  DW_LOOP(DW_MAX_LABELS, dw_match_step, &c);
  return c.found;
}

/* What the header stage hands to the UDP/53 stage. */
struct dw_l4 {
  const __u8 *udp;
  __u32 ip_end; /* frame offset where the IP packet ends */
  int frag;     /* first fragment */
};

#define DW_UDP53 (-1) /* header stage result: UDP to port 53, go on */

/* Stage 1, Ethernet to UDP: returns DW_UDP53, or the final reason (not-dns, malformed) for
 * everything else. Touches no map, so traffic that is not UDP/53 costs only this parse. */
static __always_inline int dw_classify_headers(const struct dw_pkt *pkt, struct dw_verdict *v,
                                               struct dw_l4 *l4) {
  const __u8 *p = pkt->data, *end = pkt->data_end, *l3, *udp;
  __u32 l3_off, ip_end, i;
  __u16 proto;
  int frag = 0;

  v->reason = DW_R_NOT_DNS;
  v->family = 0;
  v->match_depth = 0;
  v->labels = 0;
  v->qtype = 0;
  v->qclass = 0;

  /* Ethernet and up to two VLAN tags (802.1Q or 802.1ad outer). */
  if (p + 14 > end) return DW_R_NOT_DNS;
  proto = dw_be16(p + 12);
  p += 14;
  for (i = 0; i < 2; i++) {
    if (proto != DW_ETH_P_8021Q && proto != DW_ETH_P_8021AD) break;
    if (p + 4 > end) return DW_R_NOT_DNS;
    proto = dw_be16(p + 2);
    p += 4;
  }
  l3 = p;
  l3_off = (__u32)(l3 - pkt->data);

  /* IP. Anything we cannot identify as UDP to port 53 passes as not-dns: the kernel's IP
   * layer discards a broken header on its own. */
  if (proto == DW_ETH_P_IP) {
    __u32 ihl;
    __u16 fo;
    if (p + 20 > end) return DW_R_NOT_DNS;
    if ((p[0] >> 4) != 4) return DW_R_NOT_DNS;
    ihl = (__u32)(p[0] & 0x0F) * 4;
    if (ihl < 20) return DW_R_NOT_DNS;
    if (p[9] != DW_IPPROTO_UDP) return DW_R_NOT_DNS;
    fo = dw_be16(p + 6);
    if (fo & 0x1FFF) return DW_R_NOT_DNS; /* later fragment: no UDP header in it */
    if (fo & 0x2000) frag = 1;
    ip_end = l3_off + dw_be16(p + 2);
    if (p + ihl > end) return DW_R_NOT_DNS;
    udp = p + ihl;
    if (udp + 8 > end) return DW_R_NOT_DNS;
    if (dw_be16(udp + 2) != DW_DNS_PORT) return DW_R_NOT_DNS;
    v->family = 4;
    dw_set_src_v4(&v->src, l3 + 12);
  } else if (proto == DW_ETH_P_IPV6) {
    int nh;
    if (p + 40 > end) return DW_R_NOT_DNS;
    if ((p[0] >> 4) != 6) return DW_R_NOT_DNS;
    ip_end = l3_off + 40 + dw_be16(p + 4);
    p += 40;
    nh = dw_skip_ipv6_exthdrs(&p, end, l3[6], &frag);
    if (nh == -2) return DW_R_NOT_DNS;
    if (nh == -1) {
      v->family = 6;
      dw_set_src_v6(&v->src, l3 + 8);
      v->reason = DW_R_MALFORMED;
      return DW_R_MALFORMED;
    }
    if (nh != DW_IPPROTO_UDP) return DW_R_NOT_DNS;
    if (frag == 2) return DW_R_NOT_DNS;
    udp = p;
    if (udp + 8 > end) return DW_R_NOT_DNS;
    if (dw_be16(udp + 2) != DW_DNS_PORT) return DW_R_NOT_DNS;
    v->family = 6;
    dw_set_src_v6(&v->src, l3 + 8);
  } else {
    return DW_R_NOT_DNS;
  }
  l4->udp = udp;
  l4->ip_end = ip_end;
  l4->frag = frag;
  return DW_UDP53;
}

/* Stage 2, UDP to port 53: bans, lengths, DNS header, question, zones. */
static __always_inline int dw_classify_udp53(struct dw_env *env, const struct dw_pkt *pkt,
                                             const struct dw_config *cfg, struct dw_scratch *sc,
                                             struct dw_verdict *v, const struct dw_l4 *l4) {
  const __u8 *udp = l4->udp;
  __u32 ip_end = l4->ip_end, udp_off, udp_len, frame_len, n, off, nl;
  int r;

  /* Bans first, before anything costs more. */
  {
    const struct dw_ban_val *ban = dw_env_ban_lookup(env, &v->src);
    if (ban && (ban->expires_ns == 0 || dw_env_now(env) < ban->expires_ns)) {
      v->reason = DW_R_BANNED;
      return DW_R_BANNED;
    }
  }
  if (l4->frag) /* the rest of the datagram is in later fragments: no whole question */
    return dw_odd_gate(env, cfg, v, DW_R_FRAGMENT_PASSED, DW_R_FRAGMENT);

  /* Lengths: parse up to the smallest of frame end, IP length and UDP length. The UDP length
   * must agree with the IP length; Ethernet padding after the IP packet is ignored. */
  frame_len = dw_env_frame_len(env);
  udp_off = (__u32)(udp - pkt->data);
  udp_len = dw_be16(udp + 4);
  if (ip_end > frame_len || udp_len < 8 || udp_off + udp_len != ip_end) {
    v->reason = DW_R_MALFORMED;
    return DW_R_MALFORMED;
  }
  v->dns_off = udp_off + 8;
  v->dns_len = udp_len - 8;
  if (v->dns_len < DW_DNS_HDR_LEN) {
    v->reason = DW_R_MALFORMED;
    return DW_R_MALFORMED;
  }
  n = v->dns_len < DW_LOAD_MAX ? v->dns_len : DW_LOAD_MAX;
  if (dw_env_load(env, v->dns_off, sc->buf, n) != 0) {
    v->reason = DW_R_MALFORMED;
    return DW_R_MALFORMED;
  }

  /* DNS header. */
  if (sc->buf[2] & 0x80) { /* QR: a response sent to port 53 */
    v->reason = (cfg->flags & DW_CFG_ALLOW_RESPONSES) ? DW_R_RESPONSE_ALLOWED : DW_R_RESPONSE;
    return v->reason;
  }
  {
    __u8 opcode = (sc->buf[2] >> 3) & 0x0F;
    if (opcode != 0 && opcode != 4 && opcode != 5) /* QUERY, NOTIFY, UPDATE: named NOTIMPs */
      return dw_odd_gate(env, cfg, v, DW_R_OPCODE_PASSED, DW_R_OPCODE);
  }
  if (dw_be16(&sc->buf[4]) != 1) /* cookie-only, header-only, RFC 9619's QDCOUNT > 1 */
    return dw_odd_gate(env, cfg, v, DW_R_QDCOUNT_PASSED, DW_R_QDCOUNT);

  /* QNAME: uncompressed labels of 1..63 bytes, at most 255 bytes in all, inside the message.
   * This walk is the whole cost of a long name (a 127-label name runs it 128 times), and
   * each step waits for the previous length byte, so the chain from one load to the next is
   * kept to one add: with rel = y + nl (the length byte's offset from the name), the next
   * rel needs y += len only, and the load address is lp + y where lp = name + nl moves
   * forward by one per label off the chain (the barrier stops the compiler from folding it
   * back into name + rel, which costs a second add on the chain). The label count needs no
   * check of its own: every label takes at least 2 bytes, so a 128th label always ends past
   * 254 and fails the length check; label_off has room for the entry stored before that. */
  {
    const __u8 *lp = &sc->buf[DW_DNS_HDR_LEN];
    __u32 lim = n - DW_DNS_HDR_LEN; /* n >= DW_DNS_HDR_LEN, checked above */
    __u32 y = 0;
    for (nl = 0; nl <= DW_MAX_LABELS; nl++) {
      __u32 rel = y + nl;
      __u8 len;
      if (rel >= lim) goto malformed;
      len = lp[y];
      if (len == 0) break;
      if (len > 63) goto malformed; /* compression pointer or extended label type */
      sc->label_off[nl] = (__u8)rel;
      y += len;
      /* Next rel > 254: no room for the root. Written as a bound on y itself (nl is exact
       * in each step the verifier walks), so the verifier also knows lp + y stays inside. */
      if (y > DW_MAX_NAME - 2 - nl) goto malformed;
      lp++;
      DW_BARRIER_VAR(lp);
    }
    if (nl > DW_MAX_LABELS) goto malformed; /* unreachable (see above); keeps nl bounded */
    off = DW_DNS_HDR_LEN + y + nl;
  }
  v->labels = (__u8)nl;
  if (off + 5 > n) {
    v->reason = DW_R_NO_QTYPE;
    return DW_R_NO_QTYPE;
  }
  v->qtype = dw_be16(&sc->buf[off + 1]);
  v->qclass = dw_be16(&sc->buf[off + 3]);
  if (v->qclass == DW_CLASS_CH) {
    if (cfg->flags & DW_CFG_ALLOW_CHAOS) {
      v->reason = DW_R_CHAOS_ALLOWED;
      return v->reason;
    }
    /* Node identity for anycast operators (not version.bind): under the odd limit. */
    if ((cfg->flags & DW_CFG_CHAOS_ID) && v->qtype == 16 /* TXT */ &&
        dw_odd_is_chaos_id(&sc->buf[DW_DNS_HDR_LEN], off - DW_DNS_HDR_LEN + 1))
      return dw_odd_gate(env, cfg, v, DW_R_CHAOS_ID_PASSED, DW_R_CHAOS);
    v->reason = DW_R_CHAOS;
    return v->reason;
  }
  if (v->qclass != DW_CLASS_IN) /* HS, NONE, ANY...: named answers REFUSED or FORMERR */
    return dw_odd_gate(env, cfg, v, DW_R_QCLASS_PASSED, DW_R_QCLASS);

  v->match_depth = (__u8)dw_match_zones(env, sc, nl);
  v->reason = v->match_depth ? DW_R_ALLOWED : DW_R_NOT_AUTH;
  return v->reason;

malformed:
  /* Opaque to the compiler, so it does not set the constant before every branch that comes
   * here (inside the QNAME walk, that was a register write and a stack spill per check). */
  r = DW_R_MALFORMED;
  DW_BARRIER_VAR(r);
  v->reason = (__u8)r;
  return r;
}

/* Both stages: classifies one frame, fills *v and returns v->reason. */
static __always_inline int dw_classify(struct dw_env *env, const struct dw_pkt *pkt,
                                       const struct dw_config *cfg, struct dw_scratch *sc,
                                       struct dw_verdict *v) {
  struct dw_l4 l4;
  int r = dw_classify_headers(pkt, v, &l4);
  if (r != DW_UDP53) return r;
  return dw_classify_udp53(env, pkt, cfg, sc, v, &l4);
}

#endif /* DW_VERDICT_H */
