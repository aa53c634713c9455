/* The one ABI between the XDP program and userspace: every map key and value, counter index,
 * config field and (later) event struct. Included by the BPF program (clang -target bpf) and
 * by C++ (g++), so nothing here may use anything but fixed-width uapi types. Each struct has a
 * size assert that both compilers check: a layout change breaks the build on both sides at once.
 *
 * Bump DW_ABI_VERSION whenever a layout or a meaning here changes: a daemon that finds pinned
 * maps of another version refuses to reuse them silently.
 */
#ifndef DNSWASH_ABI_H
#define DNSWASH_ABI_H

#include <linux/types.h>

#ifdef __cplusplus
#define DW_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define DW_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

#define DW_ABI_VERSION 1

/* Verdict reasons, in one table so the names userspace prints can never drift from the
 * indices the datapath counts. X(id, name, is_drop). All passes come before all drops
 * (dw_reason_is_drop relies on it; a test checks the table agrees). */
#define DW_REASONS(X)                                                                          \
  X(ALLOWED, "allowed", 0)                   /* name at or below a served zone */              \
  X(NOT_DNS, "not-dns", 0)                   /* not UDP to port 53: passes untouched */        \
  X(RESPONSE_ALLOWED, "response-allowed", 0) /* QR=1 to port 53, allow-responses set */        \
  X(CHAOS_ALLOWED, "chaos-allowed", 0)       /* CHAOS class, allow-chaos set */                \
  X(NOT_AUTH, "not-authoritative", 1)        /* name not at or below any served zone */        \
  X(BANNED, "banned", 1)                     /* source in the ban map, ban not expired */      \
  X(MALFORMED, "malformed", 1)               /* bad lengths, bad name, too many IPv6 ext hdrs */ \
  X(FRAGMENT, "fragment", 1)                 /* first fragment of a UDP/53 datagram */         \
  X(QDCOUNT, "qdcount", 1)                   /* QDCOUNT != 1 */                                \
  X(OPCODE, "opcode", 1)                     /* opcode not QUERY, NOTIFY or UPDATE */          \
  X(NO_QTYPE, "no-qtype", 1)                 /* question ends before QTYPE/QCLASS */           \
  X(RESPONSE, "response", 1)                 /* QR=1 to port 53, allow-responses not set */    \
  X(CHAOS, "chaos", 1)                       /* CHAOS class, allow-chaos not set */            \
  X(QCLASS, "qclass", 1)                     /* class other than IN (and CHAOS) */

enum dw_reason {
#define DW_X_ENUM(id, name, drop) DW_R_##id,
  DW_REASONS(DW_X_ENUM)
#undef DW_X_ENUM
  DW_R_COUNT
};

#define DW_FIRST_DROP DW_R_NOT_AUTH
static inline int dw_reason_is_drop(unsigned r) { return r >= DW_FIRST_DROP; }

/* Counter indices: one per reason, then counters that are not verdicts. */
enum dw_counter {
  DW_C_DRYRUN_PASSED = DW_R_COUNT, /* a drop verdict that passed because dry-run is on */
  DW_C_COUNT
};

/* dw_config_map[0]: runtime switches, written by userspace at any time. */
#define DW_CFG_DRY_RUN (1u << 0)         /* count every verdict, pass every packet */
#define DW_CFG_ALLOW_CHAOS (1u << 1)     /* pass CHAOS-class queries (version.bind, id.server) */
#define DW_CFG_ALLOW_RESPONSES (1u << 2) /* pass QR=1 to port 53 (named uses source port 53) */

struct dw_config {
  __u32 flags;
  /* Deepest zone (in labels) the matcher needs to hash; 0 = no zones. Over-approximating is
   * always safe (a few more lookups), so userspace raises it before adding a deeper zone and
   * lowers it only after the zone is gone. */
  __u32 max_depth;
  /* Bit d-1 set: some zone has exactly d labels (1 <= d <= 63). Bit 63: some zone has 64 or
   * more labels, so every depth >= 64 is looked up. Same superset rule as max_depth. */
  __u64 depth_mask;
};
DW_STATIC_ASSERT(sizeof(struct dw_config) == 16, "dw_config layout");

/* The SipHash-1-3 key, made at load from getrandom() and baked into .rodata. */
struct dw_hash_key {
  __u64 k0;
  __u64 k1;
};
DW_STATIC_ASSERT(sizeof(struct dw_hash_key) == 16, "dw_hash_key layout");

/* Zone map (inner hash map of dw_zones): key = keyed hash of the case-folded zone name
 * (see dw_siphash.h for the exact encoding), value below. */
typedef __u64 dw_zone_key;
struct dw_zone_val {
  __u16 labels; /* label count of the zone, for `check` and the detector */
  __u16 flags;  /* reserved for per-zone switches (detector exemption) */
  __u32 reserved;
};
DW_STATIC_ASSERT(sizeof(struct dw_zone_val) == 8, "dw_zone_val layout");

/* Ban map (LPM trie). IPv4 sources are stored IPv4-mapped (::ffff:a.b.c.d), so an IPv4 /24
 * is prefixlen 96 + 24. */
struct dw_ban_key {
  __u32 prefixlen;
  __u8 addr[16];
};
DW_STATIC_ASSERT(sizeof(struct dw_ban_key) == 20, "dw_ban_key layout");

#define DW_BAN_ORIGIN_OPERATOR 1
#define DW_BAN_ORIGIN_DETECTOR 2
struct dw_ban_val {
  __u64 expires_ns; /* CLOCK_BOOTTIME; 0 = permanent */
  __u32 origin;     /* DW_BAN_ORIGIN_* */
  __u32 reserved;
};
DW_STATIC_ASSERT(sizeof(struct dw_ban_val) == 16, "dw_ban_val layout");

/* Per-CPU scratch for the question section. The name is copied here with
 * bpf_xdp_load_bytes (which also reads multi-buffer frames) and hashed 8 bytes at a time; the
 * slack after the longest possible question lets the last 8-byte read of a label stay inside
 * the buffer without a per-byte bounds check. */
#define DW_DNS_HDR_LEN 12
#define DW_MAX_NAME 255   /* wire length, including the root byte */
#define DW_MAX_LABELS 127 /* 255-byte name of 1-byte labels */
#define DW_LOAD_MAX (DW_DNS_HDR_LEN + DW_MAX_NAME + 4)
#define DW_SCRATCH_BUF 336 /* >= 12 + 255 (label start) + 56 (8th word) + 8, rounded up */
struct dw_scratch {
  __u8 buf[DW_SCRATCH_BUF];
  __u8 label_off[DW_MAX_LABELS + 1]; /* offset of each label's length byte from the name */
};
DW_STATIC_ASSERT(sizeof(struct dw_scratch) == DW_SCRATCH_BUF + 128, "dw_scratch layout");

/* Up to this many IPv6 extension headers (hop-by-hop, routing, destination options,
 * fragment) are skipped; a longer chain is malformed. */
#define DW_MAX_IPV6_EXTHDRS 8

#define DW_BANS_MAX 262144
#define DW_ZONES_OUTER_SLOTS 1

#endif /* DNSWASH_ABI_H */
