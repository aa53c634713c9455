// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A benchmark reference, not part of dnswash: XDP_DROP after reading one random 64-byte line
 * of an array as large as the zone set under test. It measures what a single zone probe
 * costs in memory alone (cache and TLB misses) on the machine at hand, with no parsing and no
 * hashing, so bench/RESULTS.md can show how much of dnswash's cost at 1M zones is that floor. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct line {
  __u64 w[8];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1); /* the benchmark sets it to the zone set's bucket count */
  __type(key, __u32);
  __type(value, struct line);
} floor_table SEC(".maps");

const volatile __u32 floor_mask = 0; /* max_entries - 1 (a power of two) */

SEC("xdp.frags")
int xdp_probe_floor(struct xdp_md *ctx) {
  __u32 i = bpf_get_prandom_u32() & floor_mask;
  struct line *l = bpf_map_lookup_elem(&floor_table, &i);
  (void)ctx;
  if (l && l->w[3] == 0x5eed) return XDP_PASS;
  return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
