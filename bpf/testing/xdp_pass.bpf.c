// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Not part of dnswash: the lab puts it on the client's end of the veth pair. veth hands an
 * XDP_TX frame to its peer's NAPI ring and kicks that NAPI only if the peer runs an XDP
 * program (GRO on the peer enables the ring but not the kick: the frame waits for other
 * traffic), so the ban action tc's replies need this on the peer. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx) {
  (void)ctx;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
