/* Zone shield, XDP side (docs/detector.md "Zone shield"). Included by dnswash.bpf.c after
 * dw_verdict.h, dw_slip.h and dw_detector.h (it reuses the verdict's parse and zone match and
 * the slip's reply builder); BPF only.
 *
 * When some zone is shielded (DW_CFG_SHIELD), every ALLOWED query goes through
 * dw_shield_hook. The verdict's root-first walk (dw_match_zones) left the served zone it
 * matched in the CPU's scratch (sc->zm: tag, depth, and the SipHash state after the zone's
 * labels). The hook tests that tag's bit in the name set's header (not marked: the set has no
 * names of this zone, done); under a marked zone it goes on hashing from the zone's state,
 * label by label, to the full name, and looks it up in the name set (dw_shield_names). A name
 * that exists, or lies at or below an OPEN name (delegation, wildcard parent, DNAME), passes,
 * without a look at dw_shield_zones. A missing one under a zone dw_shield_zones lists
 * (shielded) gets the zone's action: an NXDOMAIN reply built in place (AA, the question echoed,
 * the zone's SOA in the authority section), a truncated reply, or a drop. named never sees it.
 *
 * The tc side (per-zone answer counts for the automatic switch) is dw_shield_count_answer,
 * called by dnswash_det_tc for every answer under a served zone.
 */
#ifndef DW_SHIELD_H
#define DW_SHIELD_H

#include "dnswash_abi.h"
#include "dw_detector.h"
#include "dw_slip.h"
#include "dw_verdict.h"

/* tc egress: one of named's answers under served zone zone_tag (any source). Entries are made
 * on a zone's first NXDOMAIN, so zones that never see one cost nothing. Per-CPU: no atomics. */
static __always_inline void dw_shield_count_answer(__u64 zone_tag, __u32 nx) {
  struct dw_shield_stat *st = bpf_map_lookup_elem(&dw_shield_stats, &zone_tag);
  if (!st) {
    struct dw_shield_stat init = {.answers = 1, .nx = 1, .blocked = 0, .reserved = 0};
    if (nx) bpf_map_update_elem(&dw_shield_stats, &zone_tag, &init, BPF_NOEXIST);
    return;
  }
  st->answers += 1;
  st->nx += nx;
}

/* Is the name with this digest in the set? open_only: only as an OPEN name; otherwise as any.
 * idx: the lookup key, in map memory (dw_shield_cur: the stack is tight on 6.1). */
static __always_inline int dw_names_probe(void *set, __u32 buckets, __u64 digest, int open_only,
                                          __u32 *idx) {
  __u32 fp = dw_names_fp(digest);
  __u32 want = open_only ? fp | DW_NAMES_OPEN : fp, ignore = open_only ? 0 : DW_NAMES_OPEN;
  const struct dw_names_bucket *b;
  *idx = dw_names_primary(digest, buckets);
  b = bpf_map_lookup_elem(set, idx);
  if (!b) return 0;
  if (dw_names_bucket_has(b, want, ignore)) return 1;
  if (!b->overflow) return 0;
  *idx = dw_names_secondary(digest, buckets);
  b = bpf_map_lookup_elem(set, idx);
  return b ? dw_names_bucket_has(b, want, ignore) : 0;
}

/* The walk below the zone. Under bpf_loop, so the body is verified once whatever the name
 * length. */
struct dw_shield_walk {
  const struct dw_scratch *sc;
  void *names;       /* the name set */
  __u64 open_depths; /* depths of OPEN names */
  struct dw_shield_cur *cur;
  __u32 nbuckets;
  __u32 nl;
  __u32 zone_depth;
};
#define DW_SHIELD_V_PASS 0    /* exists, or the zone is not shielded */
#define DW_SHIELD_V_MISSING 1 /* under a shielded zone and not in its names */

/* One label below the zone: absorb it; at an OPEN depth, a name there (or above) lets the query
 * pass; at the full name, it must be in the set. */
static long dw_shield_step(__u32 i, void *arg) {
  struct dw_shield_walk *w = (struct dw_shield_walk *)arg;
  struct dw_shield_cur *cur = w->cur;
  __u32 d = w->zone_depth + i + 1, off;
  __u64 dg;
  if (d > w->nl) return 1; /* a constant loop count (docs/design.md, 6.1): stop at the name */
  off = DW_DNS_HDR_LEN + w->sc->label_off[(w->nl - d) & DW_MAX_LABELS];
  dw_sip_absorb_label(&cur->s, &w->sc->buf[off & 0x1ff]);
  if (d != w->nl && !dw_depth_marked(w->open_depths, d)) return 0;
  /* One inlined digest in the body: the verifier walks the callback once per pass, and each
   * copy of SipHash's rounds costs it every time. */
  dg = dw_sip_digest(&cur->s);
  if (d == w->nl) {
    if (!dw_names_probe(w->names, w->nbuckets, dg, 0, &cur->idx))
      cur->verdict = DW_SHIELD_V_MISSING;
    return 1;
  }
  return dw_names_probe(w->names, w->nbuckets, dg, 1, &cur->idx); /* at or below OPEN: pass */
}

/* The reply to a missing name is built in three stages, each a global function the verifier
 * checks once on its own with its arguments as unknown scalars (bounded again by masks,
 * dw_bounds.h): the header checks (dw_shield_reply: VLAN tags x family), the DNS message
 * (dw_shield_build: action x SOA x OPT x cookie) and the frame (dw_shield_emit: family).
 * Inlined into one function, their branches multiplied: 35,000 verified instructions on 6.18
 * for this alone, against the program's budget of 200,000. */

/* The slip's header stage, as in dw_slip(): which frames may get a reply at all (unicast,
 * no IPv4 options, no IPv6 extension headers, ports, lengths). Returns the family, 0 if the
 * frame gets no reply; sets *l3_off and *msg_len. The message itself is in the scratch
 * already: the verdict loaded the same bytes (the UDP payload, up to DW_LOAD_MAX) from the
 * same offset, since a frame this accepts has no IP options or extension headers. */
static __always_inline int dw_shield_reply_check(struct xdp_md *ctx, __u32 *l3_off_out,
                                                 __u32 *msg_len_out) {
  __u8 *data = (__u8 *)(long)ctx->data, *end = (__u8 *)(long)ctx->data_end, *l3, *udp;
  __u32 l3_off = 14, ip_hlen, ip_len, udp_len, msg_len;
  __u16 proto, sport;
  int family;
  if (data + 14 > end || (data[0] & 1)) return 0;
  proto = dw_be16(data + 12);
  if (proto == DW_ETH_P_8021Q || proto == DW_ETH_P_8021AD) {
    if (data + 18 > end) return 0;
    l3_off = 18;
    proto = dw_be16(data + 16);
    if (proto == DW_ETH_P_8021Q || proto == DW_ETH_P_8021AD) {
      if (data + 22 > end) return 0;
      l3_off = 22;
      proto = dw_be16(data + 20);
    }
  }
  /* One path on from here whatever the tag count: the offset as an unknown value in [0, 31]
   * (a mask, not a compare: 6.1 keeps it through copies), checked against 14..22. */
  l3_off = DW_BOUND(l3_off, 0x1f);
  if (l3_off < 14 || l3_off > 22) return 0;
  l3 = data + l3_off;
  if (proto == DW_ETH_P_IP) {
    if (l3 + 20 + 8 + DW_DNS_HDR_LEN > end) return 0;
    if (l3[0] != 0x45 || l3[9] != DW_IPPROTO_UDP) return 0;
    if (dw_be16(l3 + 6) & 0x3FFF) return 0;
    if (l3[12] >= 224 || l3[16] >= 224) return 0;
    family = 4;
    ip_hlen = 20;
    ip_len = dw_be16(l3 + 2);
  } else if (proto == DW_ETH_P_IPV6) {
    if (l3 + 40 + 8 + DW_DNS_HDR_LEN > end) return 0;
    if ((l3[0] >> 4) != 6 || l3[6] != DW_IPPROTO_UDP) return 0;
    if (l3[8] == 0xff || l3[24] == 0xff) return 0;
    family = 6;
    ip_hlen = 40;
    ip_len = 40 + dw_be16(l3 + 4);
  } else {
    return 0;
  }
  udp = l3 + ip_hlen;
  if (udp + 8 > end) return 0;
  sport = dw_be16(udp);
  if (sport != 53 && sport < 1024) return 0;
  udp_len = dw_be16(udp + 4);
  if (udp_len != ip_len - ip_hlen || udp_len < 8 + DW_DNS_HDR_LEN) return 0;
  msg_len = udp_len - 8;
  if (msg_len > DW_LOAD_MAX) msg_len = DW_LOAD_MAX;
  *l3_off_out = l3_off;
  *msg_len_out = msg_len;
  return family;
}

/* The query's question end (after QTYPE/QCLASS) in sc->buf: the slip's message length. */
static __always_inline __u32 dw_shield_question_end(const struct dw_scratch *sc, __u32 nl) {
  __u32 last = sc->label_off[(nl - 1) & DW_MAX_LABELS];
  __u32 off = DW_DNS_HDR_LEN + last;
  if (off >= DW_SCRATCH_BUF) return 0;
  return off + 1 + sc->buf[off & 0x1ff] + 1 + 4;
}

/* Stage 2: the reply's DNS message, built in this CPU's scratch over the query it holds, for
 * the zone dw_shield_hook found (dw_shield_cur_map). how & DW_SHIELD_B_TC: a truncated reply
 * (QR TC, the question echoed, everything after it cut: what dw_slip_send sends). Otherwise an
 * NXDOMAIN (without the SOA under DW_SHIELD_B_NO_SOA):
 * header QR AA RCODE=3 (ID, opcode, RD, CD kept), the question, the zone's SOA (its owner a
 * compression pointer to the zone's labels in the question; copied in 64-byte pieces, left
 * out if the question is too long for the scratch: no real name is), and an OPT record (UDP
 * size 1232) when the query's additional section starts with one, echoing a DNS COOKIE's
 * client cookie with a server cookie (BIND as a resolver retries over TCP when a server that
 * sent cookies before answers without one). The 4 bytes after the message are zeroed for the
 * checksum. Returns the message's length, 0 if there is no reply to send. */
#define DW_SHIELD_OPT_MAX 31 /* OPT header 11 + COOKIE option 4 + 8 + 8 */
#define DW_SHIELD_B_TC 1     /* dw_shield_build: a truncated reply */
#define DW_SHIELD_B_NO_SOA 2 /* dw_shield_build: an NXDOMAIN without the SOA */
__attribute__((noinline)) int dw_shield_build(__u32 q_end, __u32 msg_len, __u32 zone_off,
                                              __u32 how) {
  __u32 zero = 0, cpu = bpf_get_smp_processor_id(), len, soa_len, edns = 0, cookie = 0, i;
  const struct dw_shield_cur *cur = bpf_map_lookup_elem(&dw_shield_cur_map, &zero);
  struct dw_cpu_state *st = bpf_map_lookup_elem(&dw_cpu, &cpu);
  const struct dw_shield_zone *z;
  struct dw_scratch *sc;
  __u64 client_cookie = 0, zone_tag;
  if (!cur || !st) return 0;
  zone_tag = cur->zone_tag;
  z = bpf_map_lookup_elem(&dw_shield_zones, &zone_tag);
  if (!z) return 0;
  sc = &st->scratch;
  q_end = DW_BOUND(q_end, 0x1ff);
  msg_len = DW_BOUND(msg_len, 0x1ff);
  zone_off = DW_BOUND(zone_off, 0xff);
  if (q_end < DW_DNS_HDR_LEN + 5 || q_end > DW_LOAD_MAX) return 0;
  if (how & DW_SHIELD_B_TC) {
    sc->buf[2] = 0x80 | (sc->buf[2] & 0x79) | 0x02; /* QR, opcode and RD kept, AA=0, TC=1 */
    sc->buf[3] = sc->buf[3] & 0x10;                 /* CD kept; RCODE 0 */
    __builtin_memset(&sc->buf[6], 0, 6);
    __builtin_memset(&sc->buf[q_end], 0, 4);
    return (int)q_end;
  }
  if (q_end + 11 <= msg_len && sc->buf[q_end] == 0 && sc->buf[q_end + 1] == 0 &&
      sc->buf[q_end + 2] == 41) {
    __u32 o = q_end + 11; /* the first option, if any: COOKIE is BIND's only one */
    edns = 1;
    if (q_end + 11 + 4 + 8 <= msg_len && sc->buf[o] == 0 && sc->buf[o + 1] == 10 &&
        sc->buf[o + 2] == 0 && sc->buf[o + 3] >= 8 && sc->buf[o + 3] <= 40) {
      __builtin_memcpy(&client_cookie, &sc->buf[o + 4], 8);
      cookie = 1;
    }
  }
  sc->buf[2] = 0x80 | (sc->buf[2] & 0x79) | 0x04; /* QR, opcode and RD kept, AA=1, TC=0 */
  sc->buf[3] = (sc->buf[3] & 0x10) | 3;           /* CD kept, RCODE NXDOMAIN */
  __builtin_memset(&sc->buf[6], 0, 6);
  len = q_end;
  soa_len = (how & DW_SHIELD_B_NO_SOA) ? 0 : z->soa_len;
  if (soa_len > DW_SHIELD_SOA_MAX ||
      len + 2 + ((soa_len + 63) & ~63u) + DW_SHIELD_OPT_MAX > DW_SCRATCH_BUF)
    soa_len = 0;
  if (soa_len) {
    __u32 ptr = DW_DNS_HDR_LEN + zone_off, k;
    if (len > DW_SCRATCH_BUF - 2 - 64 - DW_SHIELD_OPT_MAX) return 0;
    sc->buf[len] = 0xC0 | (__u8)(ptr >> 8);
    sc->buf[len + 1] = (__u8)ptr;
#pragma unroll
    for (k = 0; k < DW_SHIELD_SOA_MAX / 64; k++) {
      __u32 off = len + 2 + k * 64;
      if (k * 64 >= soa_len) break;
      if (off > DW_SCRATCH_BUF - 64) return 0;
      dw_det_copy(&sc->buf[off], z->soa + k * 64, 64 / 8);
    }
    len += 2 + soa_len;
    sc->buf[9] = 1; /* NSCOUNT */
  }
  if (edns) {
    len = DW_BOUND(len, 0x1ff);
    if (len > DW_SCRATCH_BUF - DW_SHIELD_OPT_MAX) return 0;
    sc->buf[len] = 0;
    sc->buf[len + 1] = 0;
    sc->buf[len + 2] = 41; /* OPT */
    sc->buf[len + 3] = 1232 >> 8;
    sc->buf[len + 4] = 1232 & 0xff;
    for (i = 5; i < 10; i++) sc->buf[len + i] = 0; /* ext-rcode, version, flags, rdlen high */
    sc->buf[len + 10] = cookie ? 20 : 0;           /* rdlen */
    if (cookie) {
      __u64 server_cookie = client_cookie ^ 0x6873617768736e64ull; /* any 8 bytes will do */
      sc->buf[len + 11] = 0;
      sc->buf[len + 12] = 10; /* COOKIE */
      sc->buf[len + 13] = 0;
      sc->buf[len + 14] = 16;
      __builtin_memcpy(&sc->buf[len + 15], &client_cookie, 8);
      __builtin_memcpy(&sc->buf[len + 23], &server_cookie, 8);
      len += 20;
    }
    len += 11;
    sc->buf[11] = 1; /* ARCOUNT */
  }
  len = DW_BOUND(len, 0x1ff);
  if (len > DW_SCRATCH_BUF - 4 || len < DW_DNS_HDR_LEN + 5) return 0;
  __builtin_memset(&sc->buf[len], 0, 4);
  return (int)len;
}

/* Stage 3, called by dnswash_xdp after dw_shield_reply: the frame becomes the reply carrying
 * the message dw_shield_build left in scratch (its length and the frame's layout in
 * dw_shield_cur): sized to it, the message written over the query's, MACs, addresses and ports
 * swapped, lengths and checksums as in dw_slip_send. Returns 0 once the frame is the reply. */
__attribute__((noinline)) int dw_shield_emit(struct xdp_md *ctx) {
  __u32 cpu = bpf_get_smp_processor_id(), zero = 0, frame_len, new_len, dns_off, i, l3_off, v6, len;
  struct dw_cpu_state *st = bpf_map_lookup_elem(&dw_cpu, &cpu);
  const struct dw_shield_cur *cur = bpf_map_lookup_elem(&dw_shield_cur_map, &zero);
  struct dw_scratch *sc;
  __u8 *data, *end, *l3, *udp;
  __u16 udp_len_be, csum;
  if (!ctx || !st || !cur) return -1;
  sc = &st->scratch;
  l3_off = cur->r_l3_off;
  v6 = cur->r_v6;
  len = cur->r_len;
  l3_off = DW_BOUND(l3_off, 0x1f);
  len = DW_BOUND(len, 0x1ff);
  if (l3_off < 14 || l3_off > 22) return -1;
  if (len > DW_SCRATCH_BUF - 4 || len < DW_DNS_HDR_LEN + 5) return -1;
  dns_off = l3_off + (v6 ? 40 : 20) + 8;
  frame_len = (__u32)bpf_xdp_get_buff_len(ctx);
  new_len = dns_off + len;
  if (new_len != frame_len && bpf_xdp_adjust_tail(ctx, (int)new_len - (int)frame_len) != 0)
    return -1;
  if (bpf_xdp_store_bytes(ctx, dns_off, sc->buf, len) != 0) return -1;
  data = (__u8 *)(long)ctx->data;
  end = (__u8 *)(long)ctx->data_end;
  if (data + 14 > end) return -1;
  DW_SWAP(data, data + 6, __u32);
  DW_SWAP(data + 4, data + 10, __u16);
  l3 = data + l3_off;
  udp_len_be = __builtin_bswap16((__u16)(8 + len));
  if (!v6) {
    /* The pseudo-headers live in label_off (read by dw_shield_reply before this stage), not
     * on the stack: 6.1 adds up the stacks of dnswash_xdp, dw_shield_reply and this function
     * against 512 bytes (the Debian 12 guest counted 544). */
    struct dw_udp4_pseudo *ph = (struct dw_udp4_pseudo *)(void *)sc->label_off;
    __u32 sum = 0;
    if (l3 + 20 + 8 > end) return -1;
    udp = l3 + 20;
    DW_SWAP(l3 + 12, l3 + 16, __u32);
    *(__u16 *)(l3 + 2) = __builtin_bswap16((__u16)(20 + 8 + len));
    l3[8] = 64;
    *(__u16 *)(l3 + 10) = 0;
#pragma unroll
    for (i = 0; i < 20; i += 2) sum += *(__u16 *)(l3 + i);
    *(__u16 *)(l3 + 10) = dw_csum_fold(sum);
    __builtin_memcpy(ph->saddr, l3 + 12, 4);
    __builtin_memcpy(ph->daddr, l3 + 16, 4);
    ph->zero = 0;
    ph->proto = DW_IPPROTO_UDP;
    ph->udp_len = udp_len_be;
    DW_SWAP(udp, udp + 2, __u16);
    ph->sport = *(__u16 *)udp;
    ph->dport = *(__u16 *)(udp + 2);
    ph->len = udp_len_be;
    ph->check = 0;
    csum = dw_slip_udp_csum(ph, sizeof(*ph), sc, len);
  } else {
    struct dw_udp6_pseudo *ph = (struct dw_udp6_pseudo *)(void *)sc->label_off;
    if (l3 + 40 + 8 > end) return -1;
    udp = l3 + 40;
    DW_SWAP(l3 + 8, l3 + 24, __u64);
    DW_SWAP(l3 + 16, l3 + 32, __u64);
    *(__u16 *)(l3 + 4) = udp_len_be;
    l3[7] = 64;
    __builtin_memcpy(ph->saddr, l3 + 8, 16);
    __builtin_memcpy(ph->daddr, l3 + 24, 16);
    ph->udp_len = __builtin_bswap32(8 + len);
    ph->zero[0] = ph->zero[1] = ph->zero[2] = 0;
    ph->next = DW_IPPROTO_UDP;
    DW_SWAP(udp, udp + 2, __u16);
    ph->sport = *(__u16 *)udp;
    ph->dport = *(__u16 *)(udp + 2);
    ph->len = udp_len_be;
    ph->check = 0;
    csum = dw_slip_udp_csum(ph, sizeof(*ph), sc, len);
  }
  if (!csum) return -1;
  *(__u16 *)(udp + 4) = udp_len_be;
  *(__u16 *)(udp + 6) = csum;
  return 0;
}

/* The action for a missing name. Returns DW_SHIELD_R_* (drop, or the frame is a reply now). */
#define DW_SHIELD_R_DROP 1
#define DW_SHIELD_R_REPLY 3 /* dw_shield_hook: missing, call dw_shield_reply */
#define DW_SHIELD_R_EMIT 4  /* dw_shield_reply: message built, call dw_shield_emit */
/* Stage 1: the reply for the name dw_shield_hook just found missing (its findings are in
 * dw_shield_cur_map). Called by dnswash_xdp itself, not by the hook: the stacks of the XDP
 * program, the hook and its loop callback already take most of the 512 bytes. Returns
 * DW_SHIELD_R_EMIT once the message is built (the caller calls dw_shield_emit), else
 * DW_SHIELD_R_DROP. */
__attribute__((noinline)) int dw_shield_reply(struct xdp_md *ctx) {
  __u32 l3_off = 0, msg_len = 0, q_end, zone_off, cpu = bpf_get_smp_processor_id(), zero = 0;
  __u32 nl, zone_depth, how;
  struct dw_shield_cur *cur = bpf_map_lookup_elem(&dw_shield_cur_map, &zero);
  struct dw_cpu_state *st = bpf_map_lookup_elem(&dw_cpu, &cpu);
  struct dw_scratch *sc;
  int family, len;
  if (!ctx || !cur || !st || !cur->reply) return DW_SHIELD_R_DROP; /* the hook said drop */
  cur->reply = 0;
  nl = cur->nl;
  zone_depth = cur->zone_depth;
  if (nl == 0 || nl > DW_MAX_LABELS || zone_depth == 0 || zone_depth > nl) return DW_SHIELD_R_DROP;
  sc = &st->scratch;
  /* The question was parsed by the verdict (label_off); the reply's message ends after it. */
  q_end = dw_shield_question_end(sc, nl);
  zone_off = sc->label_off[(nl - zone_depth) & DW_MAX_LABELS];
  family = dw_shield_reply_check(ctx, &l3_off, &msg_len);
  if (!family || q_end < DW_DNS_HDR_LEN + 5 || q_end > msg_len) return DW_SHIELD_R_DROP;
  how = cur->action == DW_SHIELD_ACT_TC ? DW_SHIELD_B_TC : 0;
  if (!how) {
    /* Room first: the NXDOMAIN is at most the question, the SOA (and its pointer) and an OPT
     * record with two cookies; the frame grows if it holds fewer bytes. A NIC driver's page
     * has the room; a veth fed by the local stack hands XDP the skb's own buffer, which may
     * not (the resolver lab lost 80 % of its answers to a failed bpf_xdp_adjust_tail). Then
     * the NXDOMAIN goes without the SOA (legal; RFC 2308 section 5: the resolver just does not
     * cache it, and a random name is never asked again), or if even that does not fit, as a
     * truncated reply, which never grows. dw_shield_emit sizes the frame to the message. */
    __u32 dns_off = l3_off + (family == 6 ? 40 : 20) + 8, have;
    __u32 full = q_end + 2 + (cur->soa_len & 0xff) + DW_SHIELD_OPT_MAX,
          short_ = q_end + DW_SHIELD_OPT_MAX;
    have = (__u32)bpf_xdp_get_buff_len(ctx) - dns_off; /* the message's bytes in the frame */
    if (full > have && bpf_xdp_adjust_tail(ctx, (int)(full - have)) != 0) {
      how = short_ <= have || bpf_xdp_adjust_tail(ctx, (int)(short_ - have)) == 0
                ? DW_SHIELD_B_NO_SOA
                : DW_SHIELD_B_TC;
      st->counters[DW_C_SHIELD_SHORT & (DW_COUNTER_SLOTS - 1)] += 1;
    }
  }
  len = dw_shield_build(q_end, msg_len, zone_off, how);
  if (len <= 0) return DW_SHIELD_R_DROP;
  /* The frame stage is called by dnswash_xdp itself (one frame less on 6.1's stack sum). */
  cur->r_len = (__u32)len;
  cur->r_l3_off = l3_off;
  cur->r_v6 = family == 6;
  return DW_SHIELD_R_EMIT;
}

/* The XDP hook for an ALLOWED query while DW_CFG_SHIELD is set. A global function, verified
 * once on its own (as dw_det_query_hook): it takes only the context and finds the question and
 * the zone the verdict matched where the verdict left them (this CPU's scratch: label_off and
 * zm). A zone the name set does not mark costs a bit test; under a marked one, the hash goes on
 * from the zone's state, so only the labels below the zone are hashed, and only a missing name
 * costs the lookup of the zone in dw_shield_zones. Returns 0 (pass), DW_SHIELD_R_DROP or
 * DW_SHIELD_R_REPLY (missing: the caller calls dw_shield_reply). */
__attribute__((noinline)) int dw_shield_hook(struct xdp_md *ctx) {
  struct dw_shield_walk w;
  struct dw_cpu_state *st;
  struct dw_shield_stat *cnt;
  const struct dw_zone_match *zm;
  const struct dw_names_hdr *nh;
  const struct dw_shield_zone *z;
  const struct dw_config *cfg;
  struct dw_shield_cur *cur;
  __u32 zero = 0, cpu = bpf_get_smp_processor_id(), nl, zone_depth, bit;
  __u64 tag;
  if (!ctx) return 0;
  st = bpf_map_lookup_elem(&dw_cpu, &cpu);
  cur = bpf_map_lookup_elem(&dw_shield_cur_map, &zero);
  if (!st || !cur) return 0;
  zm = &st->scratch.zm;
  nl = zm->nl;
  zone_depth = zm->depth;
  tag = zm->tag;
  /* The apex exists; below it, a zone whose names the set lacks (no set, or not marked) is
   * never answered for: a shielded zone without its names never drops what might exist. */
  if (nl > DW_MAX_LABELS || zone_depth == 0 || zone_depth >= nl) return 0;
  w.names = bpf_map_lookup_elem(&dw_shield_names, &zero);
  if (!w.names) return 0;
  nh = bpf_map_lookup_elem(w.names, &zero);
  if (!nh || nh->magic != DW_NAMES_MAGIC) return 0;
  bit = dw_names_zone_bit(tag);
  if (!((nh->zone_bits[(bit >> 6) & 3] >> (bit & 63)) & 1)) return 0;
  w.nbuckets = nh->buckets;
  w.open_depths = nh->open_depths;
  w.sc = &st->scratch;
  w.nl = nl;
  w.zone_depth = zone_depth;
  w.cur = cur;
  cur->s.v0 = zm->sip[0];
  cur->s.v1 = zm->sip[1];
  cur->s.v2 = zm->sip[2];
  cur->s.v3 = zm->sip[3];
  cur->s.bytes = zm->sip[4];
  cur->zone_depth = zone_depth;
  cur->zone_tag = tag;
  cur->verdict = DW_SHIELD_V_PASS;
  cur->reply = 0;
  DW_LOOP(DW_MAX_LABELS, dw_shield_step, &w);
  if (cur->verdict != DW_SHIELD_V_MISSING) return 0;
  cur->key = tag;
  z = bpf_map_lookup_elem(&dw_shield_zones, &cur->key);
  if (!z) return 0; /* the set has the zone's names, but it is not shielded */
  cnt = bpf_map_lookup_elem(&dw_shield_stats, &cur->key);
  if (cnt) {
    cnt->blocked += 1;
  } else {
    cur->init.answers = 0;
    cur->init.nx = 0;
    cur->init.blocked = 1;
    cur->init.reserved = 0;
    bpf_map_update_elem(&dw_shield_stats, &cur->key, &cur->init, BPF_NOEXIST);
  }
  /* Dry run: counted (the caller counts the shield reason), never answered. */
  cfg = bpf_map_lookup_elem(&dw_config_map, &zero);
  if (z->action == DW_SHIELD_ACT_DROP || !cfg || (cfg->flags & DW_CFG_DRY_RUN))
    return DW_SHIELD_R_DROP;
  cur->nl = nl;
  cur->action = z->action; /* for dw_shield_reply: one hash lookup less */
  cur->soa_len = z->soa_len;
  cur->reply = 1;
  return DW_SHIELD_R_REPLY;
}

/* The shield's one entry point in dnswash_xdp, for an ALLOWED query while DW_CFG_SHIELD is
 * set: the hook, then for a missing name the reply's stages. A global function of its own with
 * a small stack: each call made from dnswash_xdp itself grew its stack frame (register
 * pressure), and 6.1 checks dnswash_xdp + dw_slip + its callback at 512 of 512 bytes. Returns
 * 0 (pass), DW_SHIELD_X_DROP (missing: dropped, or counted in dry-run) or DW_SHIELD_X_TX (the
 * frame is the shield's answer now). */
#define DW_SHIELD_X_DROP 1
#define DW_SHIELD_X_TX 2
__attribute__((noinline)) int dw_shield_xdp(struct xdp_md *ctx) {
  if (!ctx || !dw_shield_hook(ctx)) return 0;
  if (dw_shield_reply(ctx) == DW_SHIELD_R_EMIT && dw_shield_emit(ctx) == 0) return DW_SHIELD_X_TX;
  return DW_SHIELD_X_DROP;
}

#endif /* DW_SHIELD_H */
