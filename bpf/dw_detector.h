/* Rolling-subdomain detector (docs/detector.md), included by bpf/dnswash.bpf.c after
 * dw_verdict.h. Two signals feed the same per-(client prefix, zone) counting:
 *
 *   answers (default): dnswash_det_tc, a tc egress program on the filtered interface, reads
 *     named's UDP responses (source port 53). A name counts when named answered NXDOMAIN for
 *     it: exact, wildcards and real names never count.
 *   queries (fallback, DW_CFG_DETECTOR_QUERIES): the XDP program counts every ALLOWED query's
 *     name; no ratio guard (no answers seen), so the threshold must be higher.
 *
 * State: dw_det, an LRU hash shared by all CPUs (one roller's queries reach every CPU), keyed by
 * (client prefix, zone tag). A flood of spoofed sources evicts old entries, it never grows the
 * map. An entry is made on the first NXDOMAIN (answers) so that a client that never gets one
 * costs nothing; from then on every answer to that client under that zone is counted for the
 * ratio guard. Distinct names: case-folded keyed name hashes, the first DW_DET_EXACT as 32-bit
 * tags (thresholds up to 8, the default 3 included, are exact: a lab roller gets exactly 3
 * answers), then a 512-bit set (a collision there can only under-count, the safe direction). A
 * repeated name and its 0x20 case variants never count twice.
 *
 * Crossing the threshold (distinct >= det_threshold and nx * 100 >= det_min_nx_pct * answers):
 * the kernel bans the client at once in dw_bans (its next UDP/53 query is dropped in XDP) if the
 * global budget det_bans_budget allows, unless it is on the never-ban list (dw_det_never), and
 * reports to dnswashd through dw_det_events, which applies the offense policy.
 */
#ifndef DW_DETECTOR_H
#define DW_DETECTOR_H

#include "dnswash_abi.h"
#include "dw_bounds.h"
#include "dw_verdict.h"

#define DW_TC_ACT_OK 0
#define DW_RCODE_NXDOMAIN 3

/* Hashes the whole name root-first (one absorb per 8 bytes, as the matcher does) and, on the
 * way, finds the shallowest served zone: its digest is the zone's tag, the final digest the
 * name's. One bpf_loop body for the verifier, whatever the name length. */
struct dw_det_hash_ctx {
  struct dw_env *env;
  const struct dw_scratch *sc;
  void *set;
  struct dw_sip s;
  __u64 depth_mask;
  __u64 zone_digest;
  __u64 name_digest;
  __u32 mask;
  __u32 nl;
  __u32 max_depth;
  __u32 found;
};

static long dw_det_hash_step(__u32 i, void *arg) {
  struct dw_det_hash_ctx *c = (struct dw_det_hash_ctx *)arg;
  __u32 d = i + 1;
  if (d > c->nl) return 1;
  __u32 off = DW_DNS_HDR_LEN + c->sc->label_off[(c->nl - d) & DW_MAX_LABELS];
  dw_sip_absorb_label(&c->s, &c->sc->buf[off & 0x1ff]);
  if (!c->found && d <= c->max_depth && dw_depth_marked(c->depth_mask, d)) {
    __u64 dg = dw_sip_digest(&c->s);
    if (dw_zone_probe(c->env, c->set, c->mask, dg)) {
      c->found = d;
      c->zone_digest = dg;
    }
  }
  /* The whole name's digest here, not in the caller: its copy of the state would sit in the
   * caller's frame (see the stack note at dw_det_query_hook). */
  if (d == c->nl) c->name_digest = dw_sip_digest(&c->s);
  return 0;
}

/* Fills *zone_tag and *name_digest; 0 when the name is under no served zone. */
static __always_inline int dw_det_hash_name(struct dw_env *env, const struct dw_scratch *sc,
                                            __u32 nl, __u64 *zone_tag, __u64 *name_digest) {
  struct dw_det_hash_ctx c;
  const struct dw_zone_hdr *hdr;
  c.set = dw_env_zone_set(env);
  if (!c.set) return 0;
  hdr = (const struct dw_zone_hdr *)dw_env_zone_bucket(env, c.set, 0);
  if (!hdr || hdr->magic != DW_ZONE_MAGIC || nl == 0) return 0;
  if (nl > DW_MAX_LABELS) nl = DW_MAX_LABELS;
  c.env = env;
  c.sc = sc;
  c.depth_mask = hdr->depth_mask;
  c.mask = hdr->bucket_mask;
  c.max_depth = hdr->max_depth;
  c.nl = nl;
  c.found = 0;
  c.zone_digest = 0;
  c.name_digest = 0;
  dw_sip_init(&c.s, hdr->key.k0, hdr->key.k1);
  DW_LOOP(DW_MAX_LABELS, dw_det_hash_step, &c); /* constant count: see dw_match_zones */
  if (!c.found) return 0;
  *zone_tag = dw_zone_tag(c.zone_digest);
  *name_digest = c.name_digest;
  return 1;
}

/* Parses the question at sc->buf[12] (n bytes loaded): fills label_off, returns the label count
 * and sets *wire_len, or -1 if malformed. Same rules as dw_classify_udp53, but one bpf_loop
 * body: an open-coded loop leaves the verifier one state per label count, and every one of them
 * would walk the rest of the program. */
struct dw_det_parse_ctx {
  struct dw_scratch *sc;
  __u32 n;
  __u32 off;
  __u32 nl;
  int status; /* 0 going, 1 done, -1 malformed */
};

static long dw_det_parse_step(__u32 i, void *arg) {
  struct dw_det_parse_ctx *c = (struct dw_det_parse_ctx *)arg;
  __u32 off = c->off;
  __u8 len;
  if (off >= c->n || off >= DW_SCRATCH_BUF) {
    c->status = -1;
    return 1;
  }
  len = c->sc->buf[off];
  if (len == 0) {
    c->status = 1;
    return 1;
  }
  if (len > 63 || c->nl >= DW_MAX_LABELS) {
    c->status = -1;
    return 1;
  }
  c->sc->label_off[c->nl & DW_MAX_LABELS] = (__u8)(off - DW_DNS_HDR_LEN);
  c->nl++;
  c->off = off + (__u32)len + 1;
  if (c->off - DW_DNS_HDR_LEN + 1 > DW_MAX_NAME) {
    c->status = -1;
    return 1;
  }
  return 0;
}

static __always_inline int dw_det_parse_qname(struct dw_scratch *sc, __u32 n, __u32 *wire_len) {
  struct dw_det_parse_ctx c = {.sc = sc, .n = n, .off = DW_DNS_HDR_LEN, .nl = 0, .status = 0};
  DW_LOOP(DW_MAX_LABELS + 1, dw_det_parse_step, &c);
  if (c.status != 1 || c.nl == 0 || c.nl > DW_MAX_LABELS) return -1;
  *wire_len = c.off - DW_DNS_HDR_LEN + 1;
  return (int)c.nl;
}

/* Copies n bytes (a multiple of 8) one word at a time: clang would expand an unaligned
 * __builtin_memcpy byte by byte and spill the lot to the stack. */
static __always_inline void dw_det_copy(__u8 *dst, const __u8 *src, __u32 words) {
  __u32 i;
#pragma unroll
  for (i = 0; i < words; i++) {
    __u64 w;
    __builtin_memcpy(&w, src + i * 8, 8);
    __builtin_memcpy(dst + i * 8, &w, 8);
  }
}

/* Was this DNS message (a query, or named's answer to it: RD is copied, and named puts an OPT
 * record in the additional section exactly when the query had one; an NXDOMAIN carries
 * nothing else there) sent by a recursive resolver? Every iterative resolver (Unbound, BIND,
 * Knot Resolver, the public ones) asks an authoritative server with RD=0 and EDNS; stub
 * resolvers, dig by default and the bots that roll names themselves send RD=1 or no EDNS.
 * A bot can fake this: it then escapes the ban, not the zone shield, which does not look at
 * the source (docs/detector.md). */
static __always_inline int dw_det_from_resolver(const __u8 *hdr) {
  return !(hdr[2] & 0x01) && (hdr[10] | hdr[11]) != 0;
}

static __always_inline void dw_det_count(__u32 idx) {
  __u32 cpu = bpf_get_smp_processor_id();
  struct dw_cpu_state *st = bpf_map_lookup_elem(&dw_cpu, &cpu);
  if (st) __sync_fetch_and_add(&st->counters[idx & (DW_COUNTER_SLOTS - 1)], 1);
}

/* Takes one ban from the global budget; 0 when it is spent. */
static __always_inline int dw_det_take_budget(struct dw_config *cfg) {
  __u32 b = cfg->det_bans_budget;
  int tries;
  for (tries = 0; tries < 4; tries++) {
    __u32 old;
    if (b == 0) return 0;
    old = __sync_val_compare_and_swap(&cfg->det_bans_budget, b, b - 1);
    if (old == b) return 1;
    b = old;
  }
  return 0;
}

struct dw_det_snap {
  __u32 distinct, nx, answers;
};

static __always_inline void dw_det_emit(const struct dw_det_key *k, __u32 prefixlen, __u32 kind,
                                        __u64 now, __u64 expires, const struct dw_det_snap *snap,
                                        const struct dw_scratch *sc, __u32 wire_len, __u32 signal,
                                        const struct dw_det_val *e) {
  struct dw_det_event *ev = bpf_ringbuf_reserve(&dw_det_events, sizeof(*ev), 0);
  if (!ev) {
    dw_det_count(DW_C_DET_EVENTS_LOST);
    return;
  }
  __builtin_memcpy(ev->addr, k->addr, 16);
  ev->prefixlen = prefixlen;
  ev->kind = kind;
  ev->zone_tag = k->zone_tag;
  ev->ts_ns = now;
  ev->expires_ns = expires;
  ev->distinct = snap->distinct;
  ev->nx = snap->nx;
  ev->answers = snap->answers;
  ev->signal = signal;
  ev->name_len = (__u16)wire_len;
  ev->pad = 0;
  /* Fixed-size copies (the scratch has slack past the longest name): no variable-length
   * memcpy for the verifier. */
  dw_det_copy(ev->name, &sc->buf[DW_DNS_HDR_LEN], 256 / 8);
  dw_det_copy(ev->sample, e->sample, DW_DET_SAMPLE / 8);
  ev->sample_len = (__u16)(e->sample_len > DW_DET_SAMPLE ? DW_DET_SAMPLE : e->sample_len);
  bpf_ringbuf_submit(ev, 0);
}

/* Records a name in e's distinct-name set; 1 if it was not there (this CPU counts it). A tag
 * slot goes from 0 to one tag only by CAS, so two CPUs racing with the same name find it in the
 * same slot and exactly one counts it; a CPU passes a slot only when it holds another name. */
static __always_inline int dw_det_mark_name(struct dw_det_val *e, __u64 name_digest) {
  __u32 tag = (__u32)(name_digest >> 32), i;
  __u64 bit_mask, old;
  if (tag == 0) tag = 1;
#pragma unroll
  for (i = 0; i < DW_DET_EXACT; i++) {
    __u32 cur = *(volatile __u32 *)&e->exact[i];
    if (cur == 0) cur = __sync_val_compare_and_swap(&e->exact[i], 0, tag);
    if (cur == 0) return 1;
    if (cur == tag) return 0;
  }
  bit_mask = 1ull << (name_digest & 63);
  old = __sync_fetch_and_or(&e->names[(__u32)(name_digest >> 6) & (DW_DET_BITMAP_WORDS - 1)],
                            bit_mask);
  return !(old & bit_mask);
}

/* Empties e's distinct-name set (a new window, or after a ban). */
static __always_inline void dw_det_clear_names(struct dw_det_val *e) {
  __u32 i;
#pragma unroll
  for (i = 0; i < DW_DET_EXACT; i++) e->exact[i] = 0;
#pragma unroll
  for (i = 0; i < DW_DET_BITMAP_WORDS; i++) e->names[i] = 0;
}

/* Counts one name and bans on a crossing. A subprogram (noinline) of its own: the stack frames
 * of the XDP program, the queries hook and this must fit in 512 bytes together. */
static __attribute__((noinline)) int dw_det_observe(struct dw_config *cfg, struct dw_det_obs *o,
                                                    const struct dw_scratch *sc) {
  struct dw_det_key *k = &o->k;
  __u32 prefixlen = o->prefixlen, nx = o->nx, wire_len = o->wire_len, signal = o->signal;
  __u64 name_digest = o->name_digest;
  struct dw_det_val *e;
  struct dw_det_snap snap;
  __u64 now, window_ns;
  __u32 thr, pct, crossed = 0, newname = 0, report_never = 0, distinct = 0;

  __u32 zero = 0;
  struct dw_det_percpu *pc;

  snap.distinct = snap.nx = snap.answers = 0;
  e = bpf_map_lookup_elem(&dw_det, k);
  if (!e) {
    struct dw_det_val *init;
    if (!nx) return 0; /* no entry until the first NXDOMAIN: plain resolvers cost nothing */
    pc = bpf_map_lookup_elem(&dw_det_scratch, &zero);
    if (!pc) return 0;
    init = (struct dw_det_val *)pc->init;
    {
      __u32 i;
#pragma unroll
      for (i = 0; i < sizeof(*init) / 8; i++) ((__u64 *)init)[i] = 0;
    }
    init->window_start_ns = bpf_ktime_get_boot_ns();
    dw_det_copy(init->sample, &sc->buf[DW_DNS_HDR_LEN], DW_DET_SAMPLE / 8);
    init->sample_len = wire_len > DW_DET_SAMPLE ? DW_DET_SAMPLE : wire_len;
    bpf_map_update_elem(&dw_det, k, init, BPF_NOEXIST); /* another CPU may have won: fine */
    e = bpf_map_lookup_elem(&dw_det, k);
    if (!e) return 0;
  }
  now = bpf_ktime_get_boot_ns();
  thr = cfg->det_threshold ? cfg->det_threshold : DW_DET_DEFAULT_THRESHOLD;
  pct = signal == DW_DET_SIGNAL_QUERIES
            ? 0
            : (cfg->det_min_nx_pct ? cfg->det_min_nx_pct : DW_DET_DEFAULT_MIN_NX_PCT);
  window_ns =
      (__u64)(cfg->det_window_s ? cfg->det_window_s : DW_DET_DEFAULT_WINDOW_S) * 1000000000ull;

  /* Lock-free (see struct dw_det_val): a window reset is claimed with a CAS on its start,
   * names by dw_det_mark_name (the CPU that adds a name counts it), a crossing with a CAS on
   * flags, so exactly one CPU bans. A count racing with a reset may land in either window. */
  {
    __u64 ws = e->window_start_ns;
    if (now - ws > window_ns && __sync_val_compare_and_swap(&e->window_start_ns, ws, now) == ws) {
      e->answers = 0;
      e->nx = 0;
      e->distinct = 0;
      e->flags = 0;
      dw_det_clear_names(e);
      e->sample_len = 0;
    }
  }
  __sync_fetch_and_add(&e->answers, 1);
  if (nx) {
    __sync_fetch_and_add(&e->nx, 1);
    if (dw_det_mark_name(e, name_digest)) {
      newname = 1;
      distinct = __sync_add_and_fetch(&e->distinct, 1);
    }
  }
  if (newname && distinct >= thr) {
    __u32 answers = e->answers, nxs = e->nx;
    if ((__u64)nxs * 100 >= (__u64)pct * answers) {
      __u32 f = __sync_val_compare_and_swap(&e->flags, 0, DW_DET_F_CROSSING);
      if (f == 0) {
        crossed = 1;
        snap.distinct = distinct;
        snap.nx = nxs;
        snap.answers = answers;
      }
    }
  }
  if (newname && e->sample_len == 0 && !crossed) { /* a sample for an entry reset by a window */
    dw_det_copy(e->sample, &sc->buf[DW_DNS_HDR_LEN], DW_DET_SAMPLE / 8);
    e->sample_len = wire_len > DW_DET_SAMPLE ? DW_DET_SAMPLE : wire_len;
  }
  if (crossed != 1) return 0;
  pc = bpf_map_lookup_elem(&dw_det_scratch, &zero);
  if (!pc) {
    e->flags = 0;
    return 0;
  }

  {
    struct dw_ban_key *bk = &pc->bk, *probe = &pc->probe;
    struct dw_ban_val *bv = &pc->bv;
    const struct dw_ban_val *cur;
    __builtin_memcpy(bk->addr, k->addr, 16);
    bk->prefixlen = prefixlen;
    __builtin_memcpy(probe->addr, k->addr, 16);
    probe->prefixlen = 128;
    if (bpf_map_lookup_elem(&dw_det_never, probe)) {
      e->flags = DW_DET_F_REPORTED; /* reported once in this window */
      dw_det_count(DW_C_DET_NEVER_BAN);
      report_never = 1;
    } else {
      cur = bpf_map_lookup_elem(&dw_bans, bk);
      if (cur && (cur->expires_ns == 0 || now < cur->expires_ns)) { /* already banned */
        e->flags = 0;
        return 0;
      }
      if (!dw_det_take_budget(cfg)) {
        dw_det_count(DW_C_DET_CAP_HIT);
        dw_det_emit(k, prefixlen, DW_DET_EV_CAP, now, 0, &snap, sc, wire_len, signal, e);
        e->flags = 0; /* the next new name tries again */
        return 0;
      }
      bv->expires_ns = now + (cfg->det_ban_ns ? cfg->det_ban_ns : DW_DET_DEFAULT_BAN_NS);
      bv->origin = DW_BAN_ORIGIN_DETECTOR;
      bv->reserved = 0;
      if (bpf_map_update_elem(&dw_bans, bk, bv, BPF_ANY) != 0) {
        e->flags = 0;
        return 0;
      }
      dw_det_count(DW_C_DET_BANS);
      dw_det_emit(k, prefixlen, DW_DET_EV_BANNED, now, bv->expires_ns, &snap, sc, wire_len, signal,
                  e);
    }
  }
  if (report_never) {
    dw_det_emit(k, 128, DW_DET_EV_NEVER_BAN, now, 0, &snap, sc, wire_len, signal, e);
    return 1;
  }
  /* Banned: start over, so that after the ban a roller needs a full threshold again. */
  e->window_start_ns = now;
  e->answers = 0;
  e->nx = 0;
  e->distinct = 0;
  dw_det_clear_names(e);
  e->sample_len = 0; /* the next window's first name becomes the sample */
  e->flags = 0;
  return 1;
}

/* Client key from an address: IPv4 mapped /128 (prefixlen 128), IPv6 masked to the prefix. */
static __always_inline __u32 dw_det_client_v6(struct dw_det_key *k, const struct dw_config *cfg) {
  __u32 plen = cfg->det_v6_prefix ? cfg->det_v6_prefix : DW_DET_DEFAULT_V6_PREFIX;
  if (plen > 128) plen = 128;
  dw_mask_prefix128(k->addr, plen); /* no branch on plen: see dw_bounds.h */
  return plen;
}

/* Queries signal, for an ALLOWED query in XDP. A global function, so the verifier checks it
 * once on its own. It takes only the context and finds everything again: the source from the
 * headers, the question where the XDP program left it (this CPU's dw_cpu scratch). Passing the
 * parse results instead would keep them live at the call, and the verifier would then walk the
 * rest of dnswash_xdp once per label count of the question parse (it doubled the verified
 * instructions). */
/* The source of the frame the XDP program just classified (an UDP/53 query it allowed), as a
 * dw_ban_key address (IPv4-mapped). Returns the family, 0 if the headers do not parse. */
static __always_inline int dw_det_frame_src(struct xdp_md *ctx, __u8 *addr) {
  const __u8 *p = (const __u8 *)(long)ctx->data, *end = (const __u8 *)(long)ctx->data_end;
  __u16 proto;
  __u32 i;
  if (p + 14 > end) return 0;
  proto = dw_be16(p + 12);
  p += 14;
  for (i = 0; i < 2; i++) {
    if (proto != DW_ETH_P_8021Q && proto != DW_ETH_P_8021AD) break;
    if (p + 4 > end) return 0;
    proto = dw_be16(p + 2);
    p += 4;
  }
  if (proto == DW_ETH_P_IP) {
    if (p + 20 > end) return 0;
    for (i = 0; i < 10; i++) addr[i] = 0;
    addr[10] = addr[11] = 0xff;
    addr[12] = p[12];
    addr[13] = p[13];
    addr[14] = p[14];
    addr[15] = p[15];
    return 4;
  }
  if (proto == DW_ETH_P_IPV6) {
    if (p + 40 > end) return 0;
    __builtin_memcpy(addr, p + 8, 16);
    return 6;
  }
  return 0;
}

__attribute__((noinline)) int dw_det_query_hook(struct xdp_md *ctx) {
  struct dw_env env = {.ctx = 0};
  struct dw_det_percpu *pc;
  struct dw_det_obs *op;
  struct dw_config *cfg;
  struct dw_cpu_state *st;
  struct dw_scratch *sc;
  __u64 zone_tag = 0, name_digest = 0;
  __u32 zero = 0, cpu = bpf_get_smp_processor_id(), wire_len = 0;
  int nl, family;
  if (!ctx) return 0;
  cfg = bpf_map_lookup_elem(&dw_config_map, &zero);
  st = bpf_map_lookup_elem(&dw_cpu, &cpu);
  pc = bpf_map_lookup_elem(&dw_det_scratch, &zero);
  if (!cfg || !st || !pc || !(cfg->flags & DW_CFG_DETECTOR)) return 0;
  sc = &st->scratch;
  if (dw_det_from_resolver(sc->buf)) return 0;         /* as in dnswash_det_tc */
  nl = dw_det_parse_qname(sc, DW_LOAD_MAX, &wire_len); /* the name XDP just accepted */
  if (nl <= 0) return 0;
  if (!dw_det_hash_name(&env, sc, (__u32)nl, &zone_tag, &name_digest)) return 0;
  if (bpf_map_lookup_elem(&dw_det_exempt, &zone_tag)) return 0;
  op = &pc->o;
  family = dw_det_frame_src(ctx, op->k.addr);
  if (!family) return 0;
  op->name_digest = name_digest;
  op->k.zone_tag = zone_tag;
  op->prefixlen = family == 6 ? dw_det_client_v6(&op->k, cfg) : 128;
  op->wire_len = wire_len;
  op->nx = 1;
  op->signal = DW_DET_SIGNAL_QUERIES;
  return dw_det_observe(cfg, op, sc);
}

#endif /* DW_DETECTOR_H */
