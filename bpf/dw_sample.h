/* The dropped-name sampler (`dnswashctl top`): on a drop verdict, about one in
 * cfg->sample_every packets, at most cfg->sample_per_s per CPU per second, goes to the
 * dw_samples ring buffer as a struct dw_sample_event (dnswash_abi.h). dnswashd reads the ring
 * and aggregates the names and sources.
 *
 * Only drop verdicts reach this code, so passed traffic pays nothing; a drop not sampled pays
 * one load of sample_every and one prandom call. A failure (ring full) is counted in
 * DW_C_SAMPLES_LOST and never changes the verdict. Included by dnswash.bpf.c after its maps. */
#ifndef DW_SAMPLE_H
#define DW_SAMPLE_H

#include "dnswash_abi.h"

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, DW_SAMPLES_RING_BYTES);
} dw_samples SEC(".maps");

/* Wire length of the QNAME the verdict parsed, 0 if the verdict came before the name was
 * parsed (the scratch then holds an older packet's bytes, which must not be reported). */
static __always_inline __u32 dw_sample_qname_len(const struct dw_scratch *sc,
                                                 const struct dw_verdict *v) {
  __u32 nl = v->labels, last;
  if (v->reason != DW_R_NOT_AUTH && v->reason != DW_R_CHAOS && v->reason != DW_R_QCLASS &&
      v->reason != DW_R_NO_QTYPE)
    return 0;
  if (nl == 0) return 1; /* the root */
  last = sc->label_off[(nl - 1) & DW_MAX_LABELS];
  /* offset of the last label + its length byte + its bytes + the root byte */
  return last + 1 + sc->buf[DW_DNS_HDR_LEN + last] + 1; /* last < 256: in the buffer */
}

static __noinline void dw_sample_drop(const struct dw_config *cfg, struct dw_cpu_state *st,
                                      const struct dw_verdict *v) {
  struct dw_sample_event *e;
  __u32 every = cfg->sample_every, rate = cfg->sample_per_s, len;
  __u64 now;

  if (every > 1 && bpf_get_prandom_u32() % every != 0) return;
  now = bpf_ktime_get_boot_ns();
  if (now - st->sample.window_ns >= 1000000000ull) {
    st->sample.window_ns = now;
    st->sample.used = 0;
  }
  if (st->sample.used >= rate) return;
  st->sample.used += 1;

  e = bpf_ringbuf_reserve(&dw_samples, sizeof(*e), 0);
  if (!e) {
    st->counters[DW_C_SAMPLES_LOST] += 1;
    return;
  }
  e->reason = v->reason;
  e->family = v->family;
  e->qtype = v->reason == DW_R_NO_QTYPE ? 0 : v->qtype;
  e->reserved = 0;
  __builtin_memcpy(e->src, v->src.addr, sizeof(e->src));
  len = dw_sample_qname_len(&st->scratch, v);
  if (len > DW_MAX_NAME) len = 0;
  e->qname_len = (__u16)len;
  /* One fixed-size copy (the scratch holds the name at buf[12], and 12 + 256 fit in it): no
   * variable-length helper call; bytes after qname_len are stale and ignored by the reader. */
  __builtin_memcpy(e->qname, &st->scratch.buf[DW_DNS_HDR_LEN], DW_SAMPLE_QNAME_MAX);
  bpf_ringbuf_submit(e, 0);
}

/* The hook dnswash_xdp calls for every drop verdict (before the dry-run switch: `top` shows
 * what would be dropped in dry-run too). */
static __always_inline void dw_sample_maybe(const struct dw_config *cfg, struct dw_cpu_state *st,
                                            const struct dw_verdict *v) {
  if (cfg->sample_every == 0 || cfg->sample_per_s == 0) return;
  dw_sample_drop(cfg, st, v);
}

#endif /* DW_SAMPLE_H */
