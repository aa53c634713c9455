/* Ban action "tc" (DW_CFG_BAN_ACTION_TC), XDP side: a banned UDP/53 query gets a truncated
 * reply (a "slip") built in place from the query and sent back with XDP_TX, so the real owner
 * of a spoofed-and-banned address retries over TCP and is still served, while a spoofed flood
 * gets replies no larger than its queries, at most slip_per_s (burst slip_burst) per source
 * prefix. Included by dnswash.bpf.c after dw_verdict.h and the map definitions (it uses
 * dw_be16, dw_config_map and dw_cpu); BPF only.
 *
 * Which banned queries get a slip (everything else stays a plain `banned` drop):
 *   - not a fragment; IPv4 without options, IPv6 without extension headers (the reply reuses
 *     the headers in place; legitimate DNS queries carry neither);
 *   - unicast: destination MAC not group, IPv4 source and destination below 224.0.0.0, IPv6
 *     source and destination not ff00::/8 (never send to or from a group address);
 *   - source port 53 or >= 1024 (no replies to port 0 or to echo/chargen-style services);
 *   - UDP and IP lengths agree, DNS header in the frame's first buffer;
 *   - a query: QR=0, opcode QUERY, QDCOUNT=1, an uncompressed QNAME, QTYPE and QCLASS present;
 *   - a token in the prefix's bucket. Without one: dropped, counted `banned` + `slip-limited`.
 * The zone set is not consulted: the ban check runs before the question is parsed, and a
 * slip for a name named does not serve costs named one REFUSED over TCP, which a spoofer
 * cannot open.
 *
 * dw_slip runs before the verdict is counted and consumes a token also in dry-run (the
 * counters then show what enforcing would do); it rewrites the frame only when enforcing.
 */
#ifndef DW_SLIP_H
#define DW_SLIP_H

#include "dnswash_abi.h"
#include "dw_bounds.h"

/* The walk's cursor lives in the CPU row's scratch (label_off, which this path does not use),
 * not on the stack: the verifier does not track values in map memory, so the callback's
 * states converge at once and a single state leaves the loop, instead of one per label count
 * with everything after the loop verified again for each. */
struct dw_slip_walk {
  struct dw_scratch *sc; /* buf holds the message */
  __u32 n;               /* bytes of the message in buf */
};
/* next label's length byte; 1 once the root label is at the cursor; see dw_slip() */
/* 32-bit words of label_off (4-byte aligned: asserted in dnswash_abi.h). Without the alignment
 * clang loads a __u8 array's word as four bytes ORed together, and 6.1's verifier forgets every
 * bound of a value ORed with a non-constant: the offset could then not be added to a packet
 * pointer nor bounded afterwards. */
#define DW_SLIP_WORD(sc, i) (*(volatile __u32 *)__builtin_assume_aligned(&(sc)->label_off[i], 4))
#define DW_SLIP_CUR(sc) DW_SLIP_WORD(sc, 0)
#define DW_SLIP_DONE(sc) DW_SLIP_WORD(sc, 4)
#define DW_SLIP_L3(sc) DW_SLIP_WORD(sc, 8)
/* The source address and the rate limiter's key live in label_off too, not on the stack: 6.1
 * adds up the stack of dnswash_xdp, dw_slip and the walk's callback (each rounded up to 32
 * bytes) against the 512-byte limit, and a map value can be a helper's key. */
#define DW_SLIP_SRC(sc) (&(sc)->label_off[16])
#define DW_SLIP_KEY(sc) ((struct dw_slip_key *)__builtin_assume_aligned(&(sc)->label_off[32], 4))
DW_STATIC_ASSERT(32 + sizeof(struct dw_slip_key) <= DW_MAX_LABELS + 1, "slip key in label_off");

/* One label of the QNAME. The same rules as the verdict's parser (dw_verdict.h), without
 * recording offsets. Under bpf_loop, so verified once. */
static long dw_slip_label(__u32 i, void *arg) {
  struct dw_slip_walk *w = (struct dw_slip_walk *)arg;
  struct dw_scratch *sc = w->sc;
  __u32 off = DW_SLIP_CUR(sc);
  __u8 len;
  (void)i;
  if (off >= w->n || off >= DW_LOAD_MAX) return 1;
  len = sc->buf[off];
  if (len == 0) {
    DW_SLIP_DONE(sc) = 1;
    return 1;
  }
  off += (__u32)len + 1;
  if (len > 63 || off - DW_DNS_HDR_LEN + 1 > DW_MAX_NAME) return 1;
  DW_SLIP_CUR(sc) = off;
  return 0;
}

/* Masks the address to the first plen bits (0..128); no branch on plen (dw_bounds.h). */
static __always_inline void dw_slip_mask(struct dw_slip_key *k, const __u8 *addr, __u32 plen) {
  k->prefixlen = plen;
  __builtin_memcpy(k->addr, addr, 16);
  dw_mask_prefix128(k->addr, plen);
}

/* The reply-rate prefix of a source, as a /128 length over the verdict's source key (IPv4 is
 * IPv4-mapped, so its prefix is 96 more): the tc slips, --refuse and dw_known share it. */
static __always_inline __u32 dw_slip_plen(const struct dw_config *cfg, int family) {
  __u32 plen;
  if (family == 4) {
    plen = cfg->slip_v4_prefix ? cfg->slip_v4_prefix : DW_SLIP_DEF_V4_PREFIX;
    if (plen > 32) plen = 32;
    return plen + 96;
  }
  plen = cfg->slip_v6_prefix ? cfg->slip_v6_prefix : DW_SLIP_DEF_V6_PREFIX;
  return plen > 128 ? 128 : plen;
}

/* Token bucket per source prefix (GCRA). Returns 1 if a slip may go out. Concurrent CPUs may
 * race on one bucket and let a few more through than the rate: harmless at these rates. */
static __always_inline int dw_slip_take(const struct dw_config *cfg, int family, const __u8 *src,
                                        struct dw_cpu_state *st, __u32 limited_counter) {
  struct dw_slip_key *k = DW_SLIP_KEY(&st->scratch);
  struct dw_slip_val *sv;
  __u32 rate = cfg->slip_per_s ? cfg->slip_per_s : DW_SLIP_DEF_PER_S;
  __u32 burst = cfg->slip_burst ? cfg->slip_burst : DW_SLIP_DEF_BURST;
  __u32 plen;
  __u64 now = bpf_ktime_get_boot_ns(), interval, tat;

  if (rate > DW_SLIP_MAX_PER_S) rate = DW_SLIP_MAX_PER_S;
  if (burst > DW_SLIP_MAX_BURST) burst = DW_SLIP_MAX_BURST;
  interval = 1000000000ull / rate;
  plen = dw_slip_plen(cfg, family);
  dw_slip_mask(k, src, plen);

  sv = bpf_map_lookup_elem(&dw_slip_rate, k);
  if (!sv) {
    struct dw_slip_val nv = {.tat_ns = now + interval, .slipped = 1, .limited = 0};
    bpf_map_update_elem(&dw_slip_rate, k, &nv, BPF_ANY);
    return 1;
  }
  tat = sv->tat_ns > now ? sv->tat_ns : now;
  /* Full bucket: tat == now. Each slip moves tat one interval on; a slip may go while tat is
   * at most burst-1 intervals ahead, so `burst` go at once and then one per interval. */
  if (tat - now > (__u64)(burst - 1) * interval) {
    sv->limited += 1;
    st->counters[limited_counter & (DW_COUNTER_SLOTS - 1)] += 1;
    return 0;
  }
  sv->tat_ns = tat + interval;
  sv->slipped += 1;
  return 1;
}

static __always_inline __u16 dw_csum_fold(__u64 sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)~sum;
}

struct dw_udp4_pseudo {
  __u8 saddr[4];
  __u8 daddr[4];
  __u8 zero;
  __u8 proto;
  __u16 udp_len;                  /* network order */
  __u16 sport, dport, len, check; /* the UDP header, checksum 0 */
};
struct dw_udp6_pseudo {
  __u8 saddr[16];
  __u8 daddr[16];
  __u32 udp_len; /* network order */
  __u8 zero[3];
  __u8 next;
  __u16 sport, dport, len, check;
};

/* The UDP checksum from scratch: pseudo-header and UDP header (on the stack), then the
 * message as the reply will carry it (its copy in scratch, zero-padded to 4 bytes, which the
 * one's-complement sum ignores). The sums stay in memory byte order throughout, so the folded
 * result is stored as is. 0 if a helper failed. */
static __always_inline __u16 dw_slip_udp_csum(const void *pseudo, __u32 pseudo_len,
                                              struct dw_scratch *sc, __u32 msg_len) {
  __u32 padded = (msg_len + 3) & ~3u;
  long sum;
  __u16 c;
  /* One register for the check and the call: clang would otherwise recompute the size from
   * an unchecked copy and the verifier could not bound it. */
  asm volatile("" : "+r"(padded));
  if (padded > DW_SCRATCH_BUF) return 0;
  sum = bpf_csum_diff(0, 0, (__be32 *)pseudo, pseudo_len, 0);
  if (sum < 0) return 0;
  sum = bpf_csum_diff(0, 0, (__be32 *)sc->buf, padded, (__wsum)sum);
  if (sum < 0) return 0;
  c = dw_csum_fold((__u64)sum);
  return c ? c : 0xffff; /* 0 means "no checksum" in UDP */
}

/* Fixed-size swaps: plain loads and stores at constant offsets from one checked pointer (a
 * loop here gets compiled into a pointer the verifier can no longer bound). */
#define DW_SWAP(a, b, T)                      \
  do {                                        \
    T dw_t_, dw_u_;                           \
    __builtin_memcpy(&dw_t_, (a), sizeof(T)); \
    __builtin_memcpy(&dw_u_, (b), sizeof(T)); \
    __builtin_memcpy((a), &dw_u_, sizeof(T)); \
    __builtin_memcpy((b), &dw_t_, sizeof(T)); \
  } while (0)

/* Turns the checked query (dw_slip) into the slip. Returns 0 on success. */
static __always_inline int dw_slip_send(struct xdp_md *ctx, __u32 l3_off, int family, __u32 msg_len,
                                        struct dw_scratch *sc, __u32 refuse) {
  __u8 *data = (__u8 *)(long)ctx->data, *end = (__u8 *)(long)ctx->data_end, *l3, *udp, *dns;
  __u32 frame_len, new_len;
  __u16 udp_len_be = __builtin_bswap16((__u16)(8 + msg_len)), csum;
  __u8 f2, f3;

  if (l3_off > 22 || msg_len > DW_LOAD_MAX) return -1;
  if (data + 14 > end) return -1;
  DW_SWAP(data, data + 6, __u32);
  DW_SWAP(data + 4, data + 10, __u16);

  /* The reply's DNS header, in the scratch copy (for the checksum) and in the frame. */
  f2 = 0x80 | (sc->buf[2] & 0x79) | 0x02; /* QR, opcode and RD kept, AA=0, TC=1 */
  f3 = sc->buf[3] & 0x10;                 /* CD kept; RA, Z, AD 0; RCODE 0 */
  if (refuse) { /* --refuse: TC=0, RCODE=REFUSED (what named answers for a zone it lacks) */
    f2 &= ~0x02;
    f3 |= 5;
  }
  sc->buf[2] = f2;
  sc->buf[3] = f3;
  __builtin_memset(&sc->buf[6], 0, 6); /* AN, NS, AR = 0; ID and QDCOUNT=1 stay */
  __builtin_memset(&sc->buf[msg_len], 0, 4);

  l3 = data + l3_off;
  if (family == 4) {
    struct dw_udp4_pseudo ph;
    __u32 sum = 0;
    int i;
    if (l3 + 20 + 8 + DW_DNS_HDR_LEN > end) return -1;
    udp = l3 + 20;
    DW_SWAP(l3 + 12, l3 + 16, __u32);
    *(__u16 *)(l3 + 2) = __builtin_bswap16((__u16)(20 + 8 + msg_len));
    l3[8] = 64; /* TTL */
    *(__u16 *)(l3 + 10) = 0;
#pragma unroll
    for (i = 0; i < 20; i += 2) sum += *(__u16 *)(l3 + i);
    *(__u16 *)(l3 + 10) = dw_csum_fold(sum);
    __builtin_memcpy(ph.saddr, l3 + 12, 4);
    __builtin_memcpy(ph.daddr, l3 + 16, 4);
    ph.zero = 0;
    ph.proto = DW_IPPROTO_UDP;
    ph.udp_len = udp_len_be;
    DW_SWAP(udp, udp + 2, __u16);
    ph.sport = *(__u16 *)udp;
    ph.dport = *(__u16 *)(udp + 2);
    ph.len = udp_len_be;
    ph.check = 0;
    csum = dw_slip_udp_csum(&ph, sizeof(ph), sc, msg_len);
  } else {
    struct dw_udp6_pseudo ph;
    if (l3 + 40 + 8 + DW_DNS_HDR_LEN > end) return -1;
    udp = l3 + 40;
    DW_SWAP(l3 + 8, l3 + 24, __u64);
    DW_SWAP(l3 + 16, l3 + 32, __u64);
    *(__u16 *)(l3 + 4) = udp_len_be; /* payload length: no extension headers */
    l3[7] = 64;                      /* hop limit */
    __builtin_memcpy(ph.saddr, l3 + 8, 16);
    __builtin_memcpy(ph.daddr, l3 + 24, 16);
    ph.udp_len = __builtin_bswap32(8 + msg_len);
    ph.zero[0] = ph.zero[1] = ph.zero[2] = 0;
    ph.next = DW_IPPROTO_UDP;
    DW_SWAP(udp, udp + 2, __u16);
    ph.sport = *(__u16 *)udp;
    ph.dport = *(__u16 *)(udp + 2);
    ph.len = udp_len_be;
    ph.check = 0;
    csum = dw_slip_udp_csum(&ph, sizeof(ph), sc, msg_len);
  }
  if (!csum) return -1;
  *(__u16 *)(udp + 4) = udp_len_be;
  *(__u16 *)(udp + 6) = csum;
  dns = udp + 8;
  dns[2] = f2;
  dns[3] = f3;
  __builtin_memset(dns + 6, 0, 6);

  /* Cut everything after the question (EDNS OPT, padding, Ethernet padding). */
  frame_len = (__u32)bpf_xdp_get_buff_len(ctx);
  new_len = (__u32)(dns - data) + msg_len;
  if (new_len < frame_len && bpf_xdp_adjust_tail(ctx, -(int)(frame_len - new_len)) != 0) return -1;
  return 0;
}

#define DW_SLIP_TX 0x100 /* dw_slip's result: the frame is the slip now, send it (XDP_TX) */

/* --refuse: remembers that this source prefix sent an allowed query (dw_known), at most one
 * map write per prefix per DW_KNOWN_REFRESH_NS. src: the verdict's /128 source key. */
static __always_inline void dw_known_touch(const struct dw_config *cfg, int family,
                                           const __u8 *src) {
  struct dw_slip_key k;
  __u64 now = bpf_ktime_get_boot_ns(), *seen;
  __u32 plen;
  plen = dw_slip_plen(cfg, family);
  dw_slip_mask(&k, src, plen);
  seen = bpf_map_lookup_elem(&dw_known, &k);
  if (seen && now - *seen < DW_KNOWN_REFRESH_NS) return;
  bpf_map_update_elem(&dw_known, &k, &now, BPF_ANY);
}

/* Did this source's prefix send an allowed query in the last DW_KNOWN_TTL_NS? */
static __always_inline int dw_known_has(const struct dw_config *cfg, int family, const __u8 *src) {
  struct dw_slip_key k;
  __u64 *seen;
  __u32 plen;
  plen = dw_slip_plen(cfg, family);
  dw_slip_mask(&k, src, plen);
  seen = bpf_map_lookup_elem(&dw_known, &k);
  return seen && bpf_ktime_get_boot_ns() - *seen < DW_KNOWN_TTL_NS;
}

/* The banned path with ban action tc, and (refuse = 1) the not-authoritative path with
 * --refuse: the same checks and the same reply, but TC=0 RCODE=REFUSED, only to known
 * sources (dw_known) unless DW_CFG_REFUSE_ANY, counted refuse-limited over the rate. The two
 * share each prefix's bucket in dw_slip_rate: replies from XDP per prefix, whatever kind.
 * A global function: the verifier checks it once, on its
 * own, instead of once per state in which dnswash_xdp reaches the ban verdict; so it parses
 * the headers again (banned traffic only) and looks up the config and the CPU row itself.
 * Returns DW_R_BANNED_TC if a slip may go (with DW_SLIP_TX set once the frame was rewritten,
 * which happens only if enforce), else DW_R_BANNED. */
__attribute__((noinline)) int dw_slip(struct xdp_md *ctx, __u32 enforce, __u32 refuse) {
  __u8 *data = (__u8 *)(long)ctx->data, *end = (__u8 *)(long)ctx->data_end, *l3, *udp;
  __u32 zero = 0, cpu = bpf_get_smp_processor_id(), l3_off = 14, ip_hlen, ip_len, udp_off, udp_len,
        n, msg_len;
  struct dw_config *cfg = bpf_map_lookup_elem(&dw_config_map, &zero);
  struct dw_cpu_state *st = bpf_map_lookup_elem(&dw_cpu, &cpu);
  struct dw_scratch *sc;
  struct dw_slip_walk w;
  __u8 *src;
  __u16 proto, sport;
  int family;

  if (!cfg || !st) return DW_R_BANNED;
  sc = &st->scratch;
  src = DW_SLIP_SRC(sc);
  if (data + 14 > end || (data[0] & 1)) return DW_R_BANNED; /* group destination MAC */
  /* Ethernet and 0..2 VLAN tags (kept as they are). The offset goes through the scratch, so
   * the rest is verified once with l3_off in [14, 22], not once per tag count. */
  proto = dw_be16(data + 12);
  if (proto == DW_ETH_P_8021Q || proto == DW_ETH_P_8021AD) l3_off = 18;
  DW_SLIP_L3(sc) = l3_off;
  if (l3_off == 18) {
    if (data + 18 > end) return DW_R_BANNED;
    proto = dw_be16(data + 16);
    if (proto == DW_ETH_P_8021Q || proto == DW_ETH_P_8021AD) DW_SLIP_L3(sc) = 22;
  }
  l3_off = DW_SLIP_L3(sc);
  if (l3_off < 14 || l3_off > 22) return DW_R_BANNED;
  l3 = data + (l3_off - 2);
  if (l3 + 2 > end) return DW_R_BANNED;
  proto = dw_be16(l3);
  l3 = data + l3_off;
  if (proto == DW_ETH_P_IP) {
    if (l3 + 20 + 8 + DW_DNS_HDR_LEN > end) return DW_R_BANNED;
    if (l3[0] != 0x45 || l3[9] != DW_IPPROTO_UDP) return DW_R_BANNED; /* options */
    if (dw_be16(l3 + 6) & 0x3FFF) return DW_R_BANNED;                 /* a fragment */
    if (l3[12] >= 224 || l3[16] >= 224) return DW_R_BANNED;           /* multicast, class E */
    family = 4;
    ip_hlen = 20;
    ip_len = dw_be16(l3 + 2);
    __builtin_memset(src, 0, 10);
    src[10] = src[11] = 0xff;
    __builtin_memcpy(src + 12, l3 + 12, 4);
  } else if (proto == DW_ETH_P_IPV6) {
    if (l3 + 40 + 8 + DW_DNS_HDR_LEN > end) return DW_R_BANNED;
    if ((l3[0] >> 4) != 6 || l3[6] != DW_IPPROTO_UDP) return DW_R_BANNED; /* extension hdrs */
    if (l3[8] == 0xff || l3[24] == 0xff) return DW_R_BANNED;              /* multicast */
    family = 6;
    ip_hlen = 40;
    ip_len = 40 + dw_be16(l3 + 4);
    __builtin_memcpy(src, l3 + 8, 16);
  } else {
    return DW_R_BANNED;
  }
  udp = l3 + ip_hlen;
  udp_off = l3_off + ip_hlen;
  if (udp + 8 + DW_DNS_HDR_LEN > end) return DW_R_BANNED; /* DNS header in the first buffer */
  if (dw_be16(udp + 2) != DW_DNS_PORT) return DW_R_BANNED;
  sport = dw_be16(udp);
  if (sport == 0 || (sport < 1024 && sport != DW_DNS_PORT)) return DW_R_BANNED;
  udp_len = dw_be16(udp + 4);
  if (l3_off + ip_len > bpf_xdp_get_buff_len(ctx) || udp_len < 8 + DW_DNS_HDR_LEN ||
      udp_off + udp_len != l3_off + ip_len)
    return DW_R_BANNED;

  /* The question, copied to scratch (the ban check ran before the verdict copied anything). */
  n = udp_len - 8;
  if (n > DW_LOAD_MAX) n = DW_LOAD_MAX;
  /* clang clamps a copy of n: this bounds the one passed on, in [1, 512] (not 0: a helper's
   * size must not be) */
  n = DW_BOUND(n - 1, 0x1ff) + 1;
  if (bpf_xdp_load_bytes(ctx, udp_off + 8, sc->buf, n) != 0) return DW_R_BANNED;
  if ((sc->buf[2] & 0xF8) != 0) return DW_R_BANNED; /* QR=1 or opcode not QUERY */
  if (sc->buf[4] != 0 || sc->buf[5] != 1) return DW_R_BANNED;
  w.sc = sc;
  w.n = n;
  DW_SLIP_CUR(sc) = DW_DNS_HDR_LEN;
  DW_SLIP_DONE(sc) = 0;
  bpf_loop(DW_MAX_LABELS + 1, dw_slip_label, &w, 0);
  if (DW_SLIP_DONE(sc) != 1) return DW_R_BANNED;
  /* Root byte, QTYPE, QCLASS after the name. The name's length (cursor - 12, at most 254 after
   * the walk) is masked: a no-op here, but a bound in the value's bits, which 6.1's verifier
   * keeps when clang spills and reloads it; a compare against n (not a constant) would bound
   * nothing there, and a compare with a constant bounds only the copy compared. */
  msg_len = DW_DNS_HDR_LEN + DW_BOUND(DW_SLIP_CUR(sc) - DW_DNS_HDR_LEN, 0xff) + 1 + 4;
  if (msg_len > n) return DW_R_BANNED;

  if (refuse && !(cfg->flags & DW_CFG_REFUSE_ANY) && !dw_known_has(cfg, family, src))
    return DW_R_BANNED;
  if (!dw_slip_take(cfg, family, src, st, refuse ? DW_C_REFUSE_LIMITED : DW_C_SLIP_LIMITED))
    return DW_R_BANNED;
  if (!enforce) return DW_R_BANNED_TC;
  if (dw_slip_send(ctx, l3_off, family, msg_len, sc, refuse) != 0) return DW_R_BANNED;
  return DW_R_BANNED_TC | DW_SLIP_TX;
}

#endif /* DW_SLIP_H */
