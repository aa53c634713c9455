// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The dnswash BPF object: both entry points.
 *   dnswash_xdp (XDP, ingress): drops UDP/53 queries for names the server is not authoritative
 *     for, applies bans (dw_slip.h: truncated replies) and samples drops (dw_sample.h).
 *   dnswash_det_tc (tc egress): the rolling-subdomain detector's answers signal
 *     (dw_detector.h).
 * Every map is in dw_maps.h; the verdict logic lives in dw_verdict.h (shared with the NFQUEUE
 * fallback); this file binds it to XDP: helpers, counters and the dry-run switch. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "dnswash_abi.h"
#include "dw_maps.h" /* every map of this object */

struct dw_env {
  struct xdp_md *ctx;
};

static __always_inline __u32 dw_env_frame_len(struct dw_env *e) {
  return (__u32)bpf_xdp_get_buff_len(e->ctx);
}
static __always_inline long dw_env_load(struct dw_env *e, __u32 off, void *dst, __u32 len) {
  return bpf_xdp_load_bytes(e->ctx, off, dst, len);
}
static __always_inline const struct dw_ban_val *dw_env_ban_lookup(struct dw_env *e,
                                                                  const struct dw_ban_key *k) {
  (void)e;
  return bpf_map_lookup_elem(&dw_bans, k);
}
static __always_inline __u64 dw_env_now(struct dw_env *e) {
  (void)e;
  return bpf_ktime_get_boot_ns();
}
static __always_inline void *dw_env_zone_set(struct dw_env *e) {
  __u32 zero = 0;
  (void)e;
  return bpf_map_lookup_elem(&dw_zones, &zero);
}
static __always_inline const struct dw_zone_bucket *dw_env_zone_bucket(struct dw_env *e, void *set,
                                                                       __u32 idx) {
  (void)e;
  return bpf_map_lookup_elem(set, &idx);
}

static __always_inline struct dw_slip_val *dw_env_odd_bucket(struct dw_env *e,
                                                             const struct dw_slip_key *k) {
  struct dw_slip_val *b = bpf_map_lookup_elem(&dw_odd_rate, k), zero = {0};
  (void)e;
  if (b) return b;
  bpf_map_update_elem(&dw_odd_rate, k, &zero, BPF_NOEXIST); /* another CPU may win: fine */
  return bpf_map_lookup_elem(&dw_odd_rate, k);
}

#include "dw_verdict.h"
#include "dw_slip.h"
#include "dw_detector.h" /* the rolling-subdomain detector: counting, bans, queries hook */
#include "dw_sample.h"
#include "dw_shield.h" /* the zone shield: names of shielded zones, NXDOMAIN from XDP */

SEC("xdp.frags")
int dnswash_xdp(struct xdp_md *ctx) {
  struct dw_env env = {.ctx = ctx};
  struct dw_pkt pkt = {
      .data = (const __u8 *)(long)ctx->data,
      .data_end = (const __u8 *)(long)ctx->data_end,
  };
  struct dw_verdict v;
  struct dw_l4 l4;
  struct dw_config *cfg = 0;
  struct dw_cpu_state *st;
  __u32 zero = 0, cpu = bpf_get_smp_processor_id();
  int r, slip_tx = 0;

  st = bpf_map_lookup_elem(&dw_cpu, &cpu);
  if (!st) return XDP_PASS; /* a row per possible CPU: cannot happen */
  r = dw_classify_headers(&pkt, &v, &l4);
  if (r == DW_UDP53) {
    /* The config is looked up only for UDP/53: everything else pays for the header parse and
     * one counter in this CPU's row. */
    cfg = bpf_map_lookup_elem(&dw_config_map, &zero);
    if (!cfg) return XDP_PASS; /* an array always has slot 0: cannot happen */
    r = dw_classify_udp53(&env, &pkt, cfg, &st->scratch, &v, &l4);
    /* Ban action tc: BANNED_TC if a truncated reply may go out (dw_slip.h). */
    if (r == DW_R_BANNED && (cfg->flags & DW_CFG_BAN_ACTION_TC)) {
      r = dw_slip(ctx, !(cfg->flags & DW_CFG_DRY_RUN), 0);
      slip_tx = r & DW_SLIP_TX;
      r &= 0xff;
    } else if (r == DW_R_ALLOWED && (cfg->flags & DW_CFG_SHIELD)) {
      /* Zone shield: a name missing from a shielded zone never reaches named (dw_shield.h). */
      int s = dw_shield_xdp(ctx);
      if (s) r = DW_R_SHIELD;
      slip_tx = s == DW_SHIELD_X_TX;
      if (!s && (cfg->flags & DW_CFG_REFUSE)) dw_known_touch(cfg, v.family, v.src.addr);
    } else if (cfg->flags & DW_CFG_REFUSE) {
      /* --refuse (dw_slip.h): the same reply path, REFUSED instead of TC. */
      if (r == DW_R_ALLOWED) {
        dw_known_touch(cfg, v.family, v.src.addr);
      } else if (r == DW_R_NOT_AUTH) {
        r = dw_slip(ctx, !(cfg->flags & DW_CFG_DRY_RUN), 1);
        slip_tx = r & DW_SLIP_TX;
        r = (r & 0xff) == DW_R_BANNED_TC ? DW_R_REFUSED : DW_R_NOT_AUTH;
      }
    }
  }

  st->counters[(__u32)r & (DW_COUNTER_SLOTS - 1)] += 1; /* own row: no atomic needed */
  /* Detector, queries signal only: one flag test on the allowed path otherwise. */
  if (r == DW_R_ALLOWED && cfg && (cfg->flags & DW_CFG_DETECTOR_QUERIES)) dw_det_query_hook(ctx);
  if (slip_tx) return XDP_TX; /* the frame is a truncated reply now (dw_slip.h) */
  if (!dw_reason_is_drop((unsigned)r)) return XDP_PASS;
  /* The one drop outside UDP/53 (an over-long IPv6 header chain) has no config yet. */
  if (!cfg) cfg = bpf_map_lookup_elem(&dw_config_map, &zero);
  if (cfg) dw_sample_maybe(ctx, cfg, st, (__u32)r);
  if (cfg && (cfg->flags & DW_CFG_DRY_RUN)) {
    st->counters[DW_C_DRYRUN_PASSED] += 1;
    return XDP_PASS;
  }
  return XDP_DROP;
}

/* The detector's answers signal (dw_detector.h): named's UDP responses leaving the interface. Never
 * changes a packet. */
SEC("tc")
int dnswash_det_tc(struct __sk_buff *skb) {
  const __u8 *data = (const __u8 *)(long)skb->data;
  const __u8 *end = (const __u8 *)(long)skb->data_end;
  const __u8 *p = data, *udp;
  struct dw_env env = {.ctx = 0};
  struct dw_det_obs o;
  struct dw_det_key *k = &o.k;
  struct dw_scratch *sc;
  struct dw_config *cfg;
  __u32 zero = 0, i, dns_off, dns_len, n, wire_len = 0;
  __u64 zone_tag = 0;
  __u16 proto;
  int nl, family;

  if (p + 14 > end) return DW_TC_ACT_OK;
  proto = dw_be16(p + 12);
  p += 14;
  for (i = 0; i < 2; i++) {
    if (proto != DW_ETH_P_8021Q && proto != DW_ETH_P_8021AD) break;
    if (p + 4 > end) return DW_TC_ACT_OK;
    proto = dw_be16(p + 2);
    p += 4;
  }
  if (proto == DW_ETH_P_IP) {
    __u32 ihl;
    if (p + 20 > end || (p[0] >> 4) != 4 || p[9] != DW_IPPROTO_UDP) return DW_TC_ACT_OK;
    if (dw_be16(p + 6) & 0x3FFF) return DW_TC_ACT_OK; /* fragments: no whole question */
    ihl = (__u32)(p[0] & 0x0F) * 4;
    if (ihl < 20) return DW_TC_ACT_OK;
    udp = p + ihl;
    if (udp + 8 > end) return DW_TC_ACT_OK;
    { /* the destination is the client: IPv4-mapped, as in dw_bans */
      struct dw_ban_key bk;
      dw_set_src_v4(&bk, p + 16);
      __builtin_memcpy(k->addr, bk.addr, 16);
    }
    family = 4;
  } else if (proto == DW_ETH_P_IPV6) {
    if (p + 40 > end || (p[0] >> 4) != 6 || p[6] != DW_IPPROTO_UDP) return DW_TC_ACT_OK;
    udp = p + 40;
    if (udp + 8 > end) return DW_TC_ACT_OK;
    __builtin_memcpy(k->addr, p + 24, 16);
    family = 6;
  } else {
    return DW_TC_ACT_OK;
  }
  if (dw_be16(udp) != DW_DNS_PORT) return DW_TC_ACT_OK; /* not from port 53 */

  cfg = bpf_map_lookup_elem(&dw_config_map, &zero);
  if (!cfg || !(cfg->flags & DW_CFG_DETECTOR)) return DW_TC_ACT_OK;
  {
    struct dw_det_percpu *pc = bpf_map_lookup_elem(&dw_det_scratch, &zero);
    if (!pc) return DW_TC_ACT_OK;
    sc = &pc->sc;
  }

  dns_off = (__u32)(udp - data) + 8;
  dns_len = dw_be16(udp + 4);
  if (dns_len < 8 + DW_DNS_HDR_LEN + 5) return DW_TC_ACT_OK;
  dns_len -= 8;
  if (dns_off + dns_len > skb->len) dns_len = skb->len > dns_off ? skb->len - dns_off : 0;
  n = dns_len < DW_LOAD_MAX ? dns_len : DW_LOAD_MAX;
  if (n < DW_DNS_HDR_LEN + 5 || bpf_skb_load_bytes(skb, dns_off, sc->buf, n) != 0)
    return DW_TC_ACT_OK;
  /* A response (QR) to a QUERY (opcode 0) with one question. */
  if (!(sc->buf[2] & 0x80) || ((sc->buf[2] >> 3) & 0x0F) != 0 || dw_be16(&sc->buf[4]) != 1)
    return DW_TC_ACT_OK;
  nl = dw_det_parse_qname(sc, n, &wire_len);
  if (nl <= 0) return DW_TC_ACT_OK;
  if (!dw_det_hash_name(&env, sc, (__u32)nl, &zone_tag, &o.name_digest)) return DW_TC_ACT_OK;
  if (bpf_map_lookup_elem(&dw_det_exempt, &zone_tag)) return DW_TC_ACT_OK;
  o.nx = (sc->buf[3] & 0x0F) == DW_RCODE_NXDOMAIN;
  /* Every answer, from every source, feeds the zone shield's per-zone NXDOMAIN rate. */
  dw_shield_count_answer(zone_tag, o.nx);
  /* Bans are for bots asking this server themselves, never for resolvers relaying their users'
   * lookups (a random-name attack through resolvers is the zone shield's job). */
  if ((cfg->flags & DW_CFG_DETECTOR_QUERIES) || dw_det_from_resolver(sc->buf)) return DW_TC_ACT_OK;
  k->zone_tag = zone_tag;
  o.prefixlen = family == 6 ? dw_det_client_v6(k, cfg) : 128;
  o.wire_len = wire_len;
  o.signal = DW_DET_SIGNAL_ANSWERS;
  dw_det_observe(cfg, &o, sc);
  return DW_TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
