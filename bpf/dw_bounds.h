/* Helpers written for the least precise verifier dnswash supports (Debian 12's 6.1; see
 * docs/design.md, "What 6.1's verifier cannot prove"). Shared by BPF and userspace. */
#ifndef DW_BOUNDS_H
#define DW_BOUNDS_H

#include <linux/types.h>

/* v & mask, with a mask clang cannot drop even when it knows v is already smaller: a no-op at
 * run time, and a bound the verifier keeps in the value's bits (var_off), through 32-bit copies
 * and spills. 6.1 learns a bound from a compare only for the register compared; clang often
 * compares one copy (w9 = w6; if w6 > N) and uses another. */
#define DW_BOUND(v, mask)           \
  ({                                \
    __typeof__(v) dw_b_ = (v);      \
    asm volatile("" : "+r"(dw_b_)); \
    dw_b_ &(mask);                  \
  })

/* Prefix masks without branches. 6.1's verifier walks every branch on the prefix length
 * separately and, for a loop over the address bytes, keeps branches whose bounds it could have
 * proven dead (umin > umax), so a byte loop with `if (bits >= plen)` costs it the
 * 1M-instruction limit. Here the masks are computed with shifts only: the verifier sees one
 * path, whatever the length. */
/* The top b bits of a 64-bit word set, b in [0, 64]: two shifts of at most 32 each, so b = 0
 * and b = 64 need no special case (a shift by 64 is undefined in C and in BPF). */
static __always_inline __u64 dw_top_bits64(__u64 b) {
  __u64 half = b >> 1;
  return ~((~0ULL >> half) >> (b - half));
}

/* Keeps the first plen bits of the 16-byte address (network order), zeroes the rest;
 * plen in [0, 128] (callers clamp it). */
static __always_inline void dw_mask_prefix128(__u8 *addr, __u32 plen) {
  __u64 hi, lo, p = plen, ge64, b_hi;
  /* b_hi = min(plen, 64) without a compare: ge64 is 1 iff plen >= 64 (plen + 64 < 256). The
   * empty asm keeps clang from turning the arithmetic back into a select, which BPF can only
   * express as a branch. */
  ge64 = (p + 64) >> 7;
  asm volatile("" : "+r"(ge64));
  b_hi = p ^ ((p ^ 64) & (0 - ge64));
  __builtin_memcpy(&hi, addr, 8);
  __builtin_memcpy(&lo, addr + 8, 8);
  hi &= __builtin_bswap64(dw_top_bits64(b_hi));
  lo &= __builtin_bswap64(dw_top_bits64(p - b_hi));
  __builtin_memcpy(addr, &hi, 8);
  __builtin_memcpy(addr + 8, &lo, 8);
}

#endif /* DW_BOUNDS_H */
