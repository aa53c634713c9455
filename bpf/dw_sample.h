/* The dropped-name sampler (`dnswashctl top`): on a drop verdict, about one in
 * cfg->sample_every packets, at most cfg->sample_per_s per CPU per second, goes to the
 * dw_samples ring buffer as a struct dw_sample_event (dnswash_abi.h). dnswashd reads the ring
 * and aggregates the names and sources.
 *
 * Only drop verdicts reach this code, so passed traffic pays nothing; a drop not sampled pays
 * one load of sample_every, one prandom call and a multiply. A failure (ring full) is counted in
 * DW_C_SAMPLES_LOST and never changes the verdict. Included by dnswash.bpf.c after its maps. */
#ifndef DW_SAMPLE_H
#define DW_SAMPLE_H

#include "dnswash_abi.h"

/* Wire length of the QNAME in the scratch (at buf[12]) and 1 if the verdict parsed it this
 * packet, else 0 (the scratch then holds an older packet's bytes, which must not be reported).
 * The name was validated by the verdict: length bytes 1..63, at most 255 bytes in all. */
static __always_inline __u32 dw_sample_qname_len(const struct dw_scratch *sc, __u32 reason) {
  __u32 off = 0, i;
  if (reason != DW_R_NOT_AUTH && reason != DW_R_CHAOS && reason != DW_R_QCLASS &&
      reason != DW_R_NO_QTYPE)
    return 0;
  for (i = 0; i <= DW_MAX_LABELS; i++) {
    __u8 len = sc->buf[(DW_DNS_HDR_LEN + off) & 511 /* < DW_SCRATCH_BUF: off <= 255 */];
    if (len == 0) return off + 1;
    off += (__u32)len + 1;
    if (off >= DW_MAX_NAME) return 0;
  }
  return 0;
}

/* A global (not static) function, so the verifier checks it once, on its own. It takes only
 * the context, the CPU row and scalars, and re-reads the source and the scratch itself: had it
 * taken the verdict struct, every field of it would stay live up to the call, and the verifier
 * could no longer prune the many verdict paths that meet at the drop tail (that cost ~40k
 * verified instructions). Re-parsing costs only sampled packets. st is plain memory here,
 * hence the NULL check. */
__noinline int dw_sample_drop(struct xdp_md *ctx, struct dw_cpu_state *st, __u32 reason,
                              __u32 rate) {
  struct dw_sample_event *e;
  __u32 len;
  __u64 now;

  if (!st) return 0;
  now = bpf_ktime_get_boot_ns();
  if (now - st->sample.window_ns >= 1000000000ull) {
    st->sample.window_ns = now;
    st->sample.used = 0;
  }
  if (st->sample.used >= rate) return 0;
  st->sample.used += 1;

  e = bpf_ringbuf_reserve(&dw_samples, sizeof(*e), 0);
  if (!e) {
    st->counters[DW_C_SAMPLES_LOST] += 1;
    return 0;
  }
  /* The family and source, from the headers again: Ethernet, up to two VLAN tags, the IP
   * source (the verdict has checked the rest; no need to walk IPv6 extension headers). */
  __builtin_memset(e->src, 0, sizeof(e->src));
  e->family = 0;
  {
    const __u8 *p = (const __u8 *)(long)ctx->data, *end = (const __u8 *)(long)ctx->data_end;
    __u16 proto;
    int i;
    if (p + 14 <= end) {
      proto = dw_be16(p + 12);
      p += 14;
      for (i = 0; i < 2; i++) {
        if (proto != DW_ETH_P_8021Q && proto != DW_ETH_P_8021AD) break;
        if (p + 4 > end) break;
        proto = dw_be16(p + 2);
        p += 4;
      }
      if (proto == DW_ETH_P_IP && p + 20 <= end) {
        e->family = 4;
        e->src[10] = 0xff;
        e->src[11] = 0xff;
        __builtin_memcpy(&e->src[12], p + 12, 4);
      } else if (proto == DW_ETH_P_IPV6 && p + 40 <= end) {
        e->family = 6;
        __builtin_memcpy(e->src, p + 8, 16);
      }
    }
  }
  e->reason = (__u8)reason;
  e->reserved = 0;
  len = dw_sample_qname_len(&st->scratch, reason);
  e->qname_len = (__u16)len;
  e->qtype = 0;
  if (len && reason != DW_R_NO_QTYPE)
    e->qtype = dw_be16(&st->scratch.buf[(DW_DNS_HDR_LEN + len) & 511]);
  /* One fixed-size copy (the scratch holds the name at buf[12], and 12 + 256 fit in it): no
   * variable-length copy; bytes after qname_len are stale and ignored by the reader. */
  __builtin_memcpy(e->qname, &st->scratch.buf[DW_DNS_HDR_LEN], DW_SAMPLE_QNAME_MAX);
  bpf_ringbuf_submit(e, 0);
  return 1;
}

/* The hook dnswash_xdp calls for every drop verdict (before the dry-run switch: `top` shows
 * what would be dropped in dry-run too). */
static __always_inline void dw_sample_maybe(struct xdp_md *ctx, const struct dw_config *cfg,
                                            struct dw_cpu_state *st, __u32 reason) {
  __u32 every = cfg->sample_every;
  if (every == 0 || cfg->sample_per_s == 0) return;
  /* One in `every`, inline so an unsampled drop pays no call: a random 32-bit value scaled to
   * [0, every) by multiply and shift (no division), sampled when it lands on 0. */
  if (every > 1 && (((__u64)bpf_get_prandom_u32() * every) >> 32) != 0) return;
  dw_sample_drop(ctx, st, reason, cfg->sample_per_s);
}

#endif /* DW_SAMPLE_H */
