// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* dnswash XDP program: drops UDP/53 queries for names the server is not authoritative for.
 * The logic lives in dw_verdict.h (shared with the NFQUEUE fallback); this file binds it to
 * XDP: maps, helpers, counters and the dry-run switch. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "dnswash_abi.h"

struct dw_env {
  struct xdp_md *ctx;
};

/* Zone set: a one-slot array of array maps (struct dw_zone_hdr then dw_zone_bucket elements,
 * see dnswash_abi.h), so userspace can build a whole new set and swap it in with one update.
 * BPF_F_INNER_MAP lets each inner map have its own size. */
struct dw_zone_set {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_INNER_MAP);
  __uint(max_entries, 2); /* template only: userspace sizes the real inner map */
  /* sizes, not BTF types: clang emits the value struct only as a forward declaration when it is
   * reachable solely through the outer map's __array, and libbpf then cannot size it */
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(struct dw_zone_bucket));
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, DW_ZONES_OUTER_SLOTS);
  __type(key, __u32);
  __array(values, struct dw_zone_set);
} dw_zones SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, DW_BANS_MAX);
  __type(key, struct dw_ban_key);
  __type(value, struct dw_ban_val);
} dw_bans SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct dw_config);
} dw_config_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, DW_CPU_ROWS_TEMPLATE); /* the loader sets it to the possible CPUs */
  __type(key, __u32);
  __type(value, struct dw_cpu_state);
} dw_cpu SEC(".maps");

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

#include "dw_verdict.h"
#include "dw_slip.h"
#include "dw_detector.h" /* the rolling-subdomain detector: tc egress program + queries hook */
#include "dw_sample.h"

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
      r = dw_slip(ctx, !(cfg->flags & DW_CFG_DRY_RUN));
      slip_tx = r & DW_SLIP_TX;
      r &= 0xff;
    }
  }
  st->counters[(__u32)r & (DW_COUNTER_SLOTS - 1)] += 1; /* own row: no atomic needed */
  /* Detector, queries signal only: one flag test on the allowed path otherwise. */
  if (r == DW_R_ALLOWED && cfg && (cfg->flags & DW_CFG_DETECTOR_QUERIES))
    dw_det_query_hook(ctx);
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

char LICENSE[] SEC("license") = "Dual BSD/GPL";
