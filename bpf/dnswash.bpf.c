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

/* Zone set: a one-slot array of hash maps, so userspace can build a whole new set and swap it
 * in with one update. The inner map is preallocated and sized by userspace to the zone count
 * plus headroom: one 64-byte element per slot, and no per-insert allocation. */
struct dw_zone_set {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024); /* template only: userspace sizes the real inner map */
  /* sizes, not BTF types: clang emits the value struct only as a forward declaration when it is
   * reachable solely through the outer map's __array, and libbpf then cannot size it */
  __uint(key_size, sizeof(dw_zone_key));
  __uint(value_size, sizeof(struct dw_zone_val));
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
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, DW_C_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} dw_counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct dw_scratch);
} dw_scratch_map SEC(".maps");

/* Set by the loader before load (libbpf-bootstrap style rodata): fixed for the life of the
 * program, so the zone keys userspace computes stay valid across daemon restarts. */
const volatile struct dw_hash_key dw_key = {0, 0};

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
static __always_inline int dw_env_zone_has(struct dw_env *e, void *set, __u64 key) {
  (void)e;
  return bpf_map_lookup_elem(set, &key) != 0;
}

#include "dw_verdict.h"

static __always_inline void dw_count(__u32 idx) {
  __u64 *c = bpf_map_lookup_elem(&dw_counters, &idx);
  if (c) *c += 1; /* per-CPU slot: no atomic needed */
}

SEC("xdp.frags")
int dnswash_xdp(struct xdp_md *ctx) {
  struct dw_env env = {.ctx = ctx};
  struct dw_pkt pkt = {
      .data = (const __u8 *)(long)ctx->data,
      .data_end = (const __u8 *)(long)ctx->data_end,
  };
  struct dw_hash_key key = {.k0 = dw_key.k0, .k1 = dw_key.k1};
  struct dw_verdict v;
  struct dw_l4 l4;
  struct dw_config *cfg = 0;
  struct dw_scratch *sc;
  __u32 zero = 0;
  int r;

  r = dw_classify_headers(&pkt, &v, &l4);
  if (r == DW_UDP53) {
    /* Config and scratch are looked up only for UDP/53: everything else pays for the header
     * parse and one counter. */
    cfg = bpf_map_lookup_elem(&dw_config_map, &zero);
    sc = bpf_map_lookup_elem(&dw_scratch_map, &zero);
    if (!cfg || !sc) return XDP_PASS; /* arrays always have slot 0: cannot happen */
    r = dw_classify_udp53(&env, &pkt, cfg, &key, sc, &v, &l4);
  }
  dw_count((__u32)r);
  if (!dw_reason_is_drop((unsigned)r)) return XDP_PASS;
  /* The one drop outside UDP/53 (an over-long IPv6 header chain) has no config yet. */
  if (!cfg) cfg = bpf_map_lookup_elem(&dw_config_map, &zero);
  if (cfg && (cfg->flags & DW_CFG_DRY_RUN)) {
    dw_count(DW_C_DRYRUN_PASSED);
    return XDP_PASS;
  }
  return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
