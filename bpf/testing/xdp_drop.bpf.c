// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The benchmarks' baseline: the cheapest XDP program there is. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp.frags")
int xdp_drop(struct xdp_md *ctx) {
  (void)ctx;
  return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
