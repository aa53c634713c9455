/* Odd queries: queries that carry no name dnswash can judge (QDCOUNT != 1, an opcode other
 * than QUERY/NOTIFY/UPDATE, a class other than IN and CHAOS, a first IP fragment) and the
 * node-identity queries id.server/hostname.bind CH TXT. A compliant server must answer them
 * (RFC 8906: FORMERR, NOTIMP, REFUSED or a server cookie, never silence), and the answers need
 * named (a cookie-only query is answered with a server cookie only named can compute), so
 * they pass to named, at most DW_ODD_* per second per source prefix and in all. Over either
 * limit they are dropped under the old drop reason. docs/design.md "Odd queries" has the
 * measurement behind passing rather than answering from XDP.
 *
 * Part of the verdict logic (included by dw_verdict.h, compiled for BPF and by g++). The
 * includer defines one more hook:
 *   struct dw_slip_val *dw_env_odd_bucket(struct dw_env *, const struct dw_slip_key *)
 *       the rate bucket of this key, created full (all zero) if absent; NULL if it cannot be
 *       had (the query is then dropped: a full table must not open the gate)
 */
#ifndef DW_ODD_H
#define DW_ODD_H

#include "dnswash_abi.h"

/* The first plen bits (0..128) of a 16-byte address, as a dw_slip_key. */
static __always_inline void dw_odd_mask(struct dw_slip_key *k, const __u8 *addr, __u32 plen) {
  int i;
  k->prefixlen = plen;
  for (i = 0; i < 4; i++) { /* 4 constant steps: unrolled by clang for BPF */
    __u32 w, bits = plen > 32u * i ? plen - 32u * i : 0, m;
    if (bits > 32) bits = 32;
    m = bits ? __builtin_bswap32(0xffffffffu << (32 - bits)) : 0;
    __builtin_memcpy(&w, addr + 4 * i, 4);
    w &= m;
    __builtin_memcpy(&k->addr[4 * i], &w, 4);
  }
}

/* GCRA token bucket (the same rule as the tc slips): `burst` at once, then one per interval.
 * A zeroed bucket is full. Concurrent CPUs may race on one bucket and let a few more through:
 * harmless at these rates. */
static __always_inline int dw_odd_take(struct dw_slip_val *b, __u64 now, __u32 per_s) {
  __u64 interval, tat;
  if (per_s == 0) per_s = 1;
  if (per_s > DW_ODD_MAX_PER_S) per_s = DW_ODD_MAX_PER_S;
  interval = 1000000000ull / per_s;
  tat = b->tat_ns > now ? b->tat_ns : now;
  if (tat - now > (2ull * per_s - 1) * interval) { /* burst = 2 * per_s */
    b->limited += 1;
    return 0;
  }
  b->tat_ns = tat + interval;
  b->slipped += 1;
  return 1;
}

/* The gate: `pass` if the source prefix and the global bucket both have a token, else `drop`
 * (the prefix's token is spent even if the global bucket then says no: a flood from one
 * prefix stays inside its own limit and cannot use up the global one). */
static __always_inline int dw_odd_gate(struct dw_env *env, const struct dw_config *cfg,
                                       struct dw_verdict *v, int pass, int drop) {
  struct dw_slip_key k;
  struct dw_slip_val *b;
  __u64 now = dw_env_now(env);
  __u32 plen;
  if (v->family == 4) {
    plen = cfg->slip_v4_prefix ? cfg->slip_v4_prefix : DW_SLIP_DEF_V4_PREFIX;
    if (plen > 32) plen = 32;
    plen += 96; /* IPv4-mapped, as v->src */
  } else {
    plen = cfg->slip_v6_prefix ? cfg->slip_v6_prefix : DW_SLIP_DEF_V6_PREFIX;
    if (plen > 128) plen = 128;
  }
  dw_odd_mask(&k, v->src.addr, plen);
  b = dw_env_odd_bucket(env, &k);
  if (!b || !dw_odd_take(b, now, cfg->odd_per_s ? cfg->odd_per_s : DW_ODD_DEF_PER_S)) {
    v->reason = (__u8)drop;
    return drop;
  }
  __builtin_memset(&k, 0, sizeof(k)); /* the global bucket */
  b = dw_env_odd_bucket(env, &k);
  if (!b ||
      !dw_odd_take(b, now, cfg->odd_total_per_s ? cfg->odd_total_per_s : DW_ODD_DEF_TOTAL_PER_S)) {
    v->reason = (__u8)drop;
    return drop;
  }
  v->reason = (__u8)pass;
  return pass;
}

/* Is the wire name at `name` (wire length len, root byte included, checked by the parser)
 * id.server or hostname.bind, in any case? Constant offsets only. */
static __always_inline __u8 dw_odd_lower(__u8 c) {
  return (c >= 'A' && c <= 'Z') ? (__u8)(c + 32) : c;
}
static __always_inline int dw_odd_is_chaos_id(const __u8 *name, __u32 len) {
  if (len == 11) /* \2id\6server\0 */
    return name[0] == 2 && dw_odd_lower(name[1]) == 'i' && dw_odd_lower(name[2]) == 'd' &&
           name[3] == 6 && dw_odd_lower(name[4]) == 's' && dw_odd_lower(name[5]) == 'e' &&
           dw_odd_lower(name[6]) == 'r' && dw_odd_lower(name[7]) == 'v' &&
           dw_odd_lower(name[8]) == 'e' && dw_odd_lower(name[9]) == 'r';
  if (len == 15) /* \10hostname\4bind\0 */
    return name[0] == 8 && dw_odd_lower(name[1]) == 'h' && dw_odd_lower(name[2]) == 'o' &&
           dw_odd_lower(name[3]) == 's' && dw_odd_lower(name[4]) == 't' &&
           dw_odd_lower(name[5]) == 'n' && dw_odd_lower(name[6]) == 'a' &&
           dw_odd_lower(name[7]) == 'm' && dw_odd_lower(name[8]) == 'e' && name[9] == 4 &&
           dw_odd_lower(name[10]) == 'b' && dw_odd_lower(name[11]) == 'i' &&
           dw_odd_lower(name[12]) == 'n' && dw_odd_lower(name[13]) == 'd';
  return 0;
}

#endif /* DW_ODD_H */
