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

#define DW_ABI_VERSION 9

/* Verdict reasons, in one table so the names userspace prints can never drift from the
 * indices the datapath counts. X(id, name, is_drop). All passes come before all drops
 * (dw_reason_is_drop relies on it; a test checks the table agrees). */
#define DW_REASONS(X)                                                                          \
  X(ALLOWED, "allowed", 0)                   /* name at or below a served zone */              \
  X(NOT_DNS, "not-dns", 0)                   /* not UDP to port 53: passes untouched */        \
  X(RESPONSE_ALLOWED, "response-allowed", 0) /* QR=1 to port 53, allow-responses set */        \
  X(CHAOS_ALLOWED, "chaos-allowed", 0)       /* CHAOS class, allow-chaos set */                \
  /* Queries with no name to judge, passed to named under the odd-query rate limit (dw_odd.h); \
   * over the limit they are dropped under the reason without "-passed". */                    \
  X(QDCOUNT_PASSED, "qdcount-passed", 0)   /* QDCOUNT != 1 (cookie-only, header-only) */       \
  X(OPCODE_PASSED, "opcode-passed", 0)     /* opcode not QUERY, NOTIFY or UPDATE */            \
  X(QCLASS_PASSED, "qclass-passed", 0)     /* class other than IN and CHAOS */                 \
  X(CHAOS_ID_PASSED, "chaos-id-passed", 0) /* id.server/hostname.bind CH TXT, chaos-id on */   \
  X(FRAGMENT_PASSED, "fragment-passed", 0) /* first fragment of a UDP/53 datagram */           \
  X(NOT_AUTH, "not-authoritative", 1)      /* name not at or below any served zone */          \
  X(BANNED, "banned", 1)                   /* source in the ban map, ban not expired */        \
  X(MALFORMED, "malformed", 1)             /* bad lengths, bad name, too many IPv6 ext hdrs */ \
  X(FRAGMENT, "fragment", 1)               /* first fragment, over the odd-query limit */      \
  X(QDCOUNT, "qdcount", 1)                 /* QDCOUNT != 1, over the odd-query limit */        \
  X(OPCODE, "opcode", 1)                   /* odd opcode, over the odd-query limit */          \
  X(NO_QTYPE, "no-qtype", 1)               /* question ends before QTYPE/QCLASS */             \
  X(RESPONSE, "response", 1)               /* QR=1 to port 53, allow-responses not set */      \
  X(CHAOS, "chaos", 1)                     /* CHAOS class, allow-chaos not set (and not a      \
                                              chaos-id query under the limit) */               \
  X(QCLASS, "qclass", 1)                   /* odd class, over the odd-query limit */           \
  X(BANNED_TC, "banned-tc", 1)             /* banned, ban action tc: truncated reply sent */   \
  X(REFUSED, "refused", 1)                 /* not-authoritative, REFUSED sent from XDP */      \
  X(SHIELD, "shield", 1)                   /* shielded zone, name not in it (dw_shield.h) */

enum dw_reason {
#define DW_X_ENUM(id, name, drop) DW_R_##id,
  DW_REASONS(DW_X_ENUM)
#undef DW_X_ENUM
      DW_R_COUNT
};

#define DW_FIRST_DROP DW_R_NOT_AUTH
static inline int dw_reason_is_drop(unsigned r) {
  return r >= DW_FIRST_DROP;
}

/* Counter indices: one per reason, then counters that are not verdicts. */
enum dw_counter {
  DW_C_DRYRUN_PASSED = DW_R_COUNT, /* a drop verdict that passed because dry-run is on */
  /* Ban action tc: a banned query that could have had a truncated reply but its source prefix
   * was over the slip rate. It is dropped and also counted as `banned`. */
  DW_C_SLIP_LIMITED,
  /* Rolling-subdomain detector (bpf/dw_detector.h). */
  DW_C_DET_BANS,        /* bans the detector added in the kernel */
  DW_C_DET_CAP_HIT,     /* threshold crossed but the ban budget was spent: no ban */
  DW_C_DET_NEVER_BAN,   /* threshold crossed by a never-ban source: no ban */
  DW_C_DET_EVENTS_LOST, /* dw_det_events full: an event (not the ban) was lost */
  DW_C_SAMPLES_LOST, /* a drop sample not emitted: the dw_samples ring (NFQUEUE: the queue) was full
                      */
  /* --refuse: a not-authoritative query that could have had a REFUSED but its source prefix
   * was over the reply rate (shared with the tc slips). Dropped, counted not-authoritative. */
  DW_C_REFUSE_LIMITED,
  /* Zone shield: the frame had no room for the NXDOMAIN with its SOA (a veth fed by the
   * stack: the skb's own buffer); it went without the SOA, or as TC=1 (dw_shield_reply). */
  DW_C_SHIELD_SHORT,
  DW_C_COUNT
};

/* dw_config_map[0]: runtime switches and parameters, written by userspace at any time. One
 * cache line, read once per UDP/53 packet. Each feature owns its fields; a zero field means
 * "off" or "use the built-in default" so a config written by an older daemon stays safe. */
#define DW_CFG_DRY_RUN (1u << 0)         /* count every verdict, pass every packet */
#define DW_CFG_ALLOW_CHAOS (1u << 1)     /* pass CHAOS-class queries (version.bind, id.server) */
#define DW_CFG_ALLOW_RESPONSES (1u << 2) /* pass QR=1 to port 53 (named uses source port 53) */
#define DW_CFG_BAN_ACTION_TC (1u << 3)   /* banned UDP/53 query: truncated reply (XDP_TX) */
#define DW_CFG_DETECTOR (1u << 4)        /* rolling-subdomain detector on */
#define DW_CFG_DETECTOR_QUERIES \
  (1u << 5)                         /* detector signal: distinct queried names, not NXDOMAIN */
#define DW_CFG_CHAOS_ID (1u << 6)   /* pass id.server/hostname.bind CH TXT under the odd limit */
#define DW_CFG_REFUSE (1u << 7)     /* not-authoritative, known source: REFUSED (XDP_TX) */
#define DW_CFG_REFUSE_ANY (1u << 8) /* with DW_CFG_REFUSE: also to sources not known (dw_known) */
#define DW_CFG_SHIELD (1u << 9)     /* some zone is shielded: dw_shield_hook checks the name */

struct dw_config {
  __u32 flags;
  /* top (dropped-name sampling, bpf/dw_sample.h): emit about one in sample_every drop
   * verdicts to dw_samples, at most sample_per_s per CPU per second; either 0 = sampling off.
   * Set by dnswashd's --sample-every and --sample-rate. */
  __u32 sample_every;
  __u32 sample_per_s;
  /* Rolling-subdomain detector. */
  /* Rolling-subdomain detector (bpf/dw_detector.h, docs/detector.md); on with DW_CFG_DETECTOR.
   * A zero field means the built-in default (DW_DET_DEFAULT_*). */
  __u32 det_threshold;   /* distinct rolling names under one zone that ban a source (<= 512) */
  __u32 det_window_s;    /* counting window, seconds (tumbling, per source and zone) */
  __u32 det_min_nx_pct;  /* ratio guard: NXDOMAIN share of the source's answers in the window,
                            percent; 101 or more never bans; the queries signal ignores it */
  __u32 det_v6_prefix;   /* IPv6 sources are counted and banned per prefix of this length */
  __u32 det_bans_budget; /* kernel may add this many more detector bans; decremented
                            atomically by the kernel, refilled each second by dnswashd */
  __u64 det_ban_ns;      /* length of the ban the kernel adds at once (dnswashd then applies
                            the offense policy to it) */
  /* Ban action tc (DW_CFG_BAN_ACTION_TC): truncated replies ("slips") to banned sources, rate
   * limited per source prefix (token bucket in dw_slip, see the ban-action section below).
   * 0 = the DW_SLIP_DEF_* default; values above the DW_SLIP_MAX_* limits are clamped. */
  __u32 slip_per_s;     /* tokens per second per prefix */
  __u32 slip_burst;     /* bucket size: slips a quiet prefix may get at once */
  __u32 slip_v4_prefix; /* IPv4 sources share a bucket per prefix of this length (1..32) */
  __u32 slip_v6_prefix; /* IPv6 sources share a bucket per prefix of this length (1..128) */
  /* Odd queries (dw_odd.h): passed to named at most odd_per_s per source prefix (the slip
   * prefix lengths above) and odd_total_per_s in all, bursts of twice that; 0 = the
   * DW_ODD_DEF_* default, values above DW_ODD_MAX_PER_S clamped. */
  __u32 odd_per_s;
  __u32 odd_total_per_s;
};
DW_STATIC_ASSERT(sizeof(struct dw_config) == 64, "dw_config layout");

/* The SipHash-1-3 key, drawn from getrandom() by the daemon; kept in the zone set's header. */
struct dw_hash_key {
  __u64 k0;
  __u64 k1;
};
DW_STATIC_ASSERT(sizeof(struct dw_hash_key) == 16, "dw_hash_key layout");

/* Zone set: the inner array map in dw_zones' one slot. Element 0 is a header describing the
 * set; elements 1..nbuckets are buckets of one cache line each. A zone is stored as the tag of
 * its keyed hash (see dw_siphash.h for the encoding): the 64-bit digest with bit 0 forced to 1,
 * so 0 marks an empty slot. A zone lives in its primary bucket (dw_zone_primary) or, only if
 * that bucket is marked overflowed, in its secondary (dw_zone_secondary).
 * A lookup therefore reads one cache line (two for a miss on an overflowed bucket), whatever
 * the number of zones. The header lives in the set itself, so a whole new set (a rebuild) and
 * its depth summary are swapped in by one update of dw_zones: never a mix. */
#define DW_ZONE_SLOTS 7
#define DW_ZONE_MAGIC 0x64777a31u /* "dwz1" */
static inline __u64 dw_zone_tag(__u64 digest) {
  return digest | 1;
}
/* Bucket placement, from the tag (both sides must agree). Bit 0 of a tag is always 1, so the
 * primary index starts at bit 1; the secondary uses the upper half. */
static inline __u32 dw_zone_primary(__u64 tag, __u32 mask) {
  return 1 + ((__u32)(tag >> 1) & mask);
}
static inline __u32 dw_zone_secondary(__u64 tag, __u32 mask) {
  return 1 + ((__u32)(tag >> 33) & mask);
}

struct dw_zone_hdr {
  __u32 magic;       /* DW_ZONE_MAGIC */
  __u32 bucket_mask; /* nbuckets - 1 (nbuckets a power of two) */
  /* Deepest zone (in labels) the matcher needs to hash; 0 = no zones. Over-approximating is
   * always safe (a few more lookups), so userspace raises it before adding a deeper zone and
   * lowers it only after the zone is gone. */
  __u32 max_depth;
  __u32 zones; /* zones in the set (for stats) */
  /* Bit d-1 set: some zone has exactly d labels (1 <= d <= 63). Bit 63: some zone has 64 or
   * more labels, so every depth >= 64 is looked up. Same superset rule as max_depth. */
  __u64 depth_mask;
  /* The SipHash key the tags of this set were made with (random, drawn by the daemon). It
   * travels with the set, so a set and its key can never disagree, a restarted daemon takes
   * both over, and the matcher reads it from the line it reads anyway. */
  struct dw_hash_key key;
  __u64 reserved[3];
};
DW_STATIC_ASSERT(sizeof(struct dw_zone_hdr) == 64, "dw_zone_hdr layout");

struct dw_zone_bucket {
  __u64 tag[DW_ZONE_SLOTS]; /* dw_zone_tag(digest), 0 = empty */
  __u64 overflow;           /* 1: some zone whose primary is this bucket sits in its secondary */
};
DW_STATIC_ASSERT(sizeof(struct dw_zone_bucket) == 64, "dw_zone_bucket layout");

/* Ban map (LPM trie). IPv4 sources are stored IPv4-mapped (::ffff:a.b.c.d), so an IPv4 /24
 * is prefixlen 96 + 24. */
struct dw_ban_key {
  __u32 prefixlen;
  __u8 addr[16];
};
DW_STATIC_ASSERT(sizeof(struct dw_ban_key) == 20, "dw_ban_key layout");

#define DW_BAN_ORIGIN_OPERATOR 1
#define DW_BAN_ORIGIN_DETECTOR 2
#define DW_BAN_ORIGIN_FLEET 3 /* applied from another node's report (docs/fleet.md) */
struct dw_ban_val {
  __u64 expires_ns; /* CLOCK_BOOTTIME; 0 = permanent */
  __u32 origin;     /* DW_BAN_ORIGIN_* */
  __u32 reserved;
};
DW_STATIC_ASSERT(sizeof(struct dw_ban_val) == 16, "dw_ban_val layout");

/* Scratch for the question section. The name is copied here with bpf_xdp_load_bytes (which
 * also reads multi-buffer frames) and hashed 8 bytes at a time; the slack after the longest
 * possible question lets the last 8-byte read of a label stay inside the buffer without a
 * per-byte bounds check. */
#define DW_DNS_HDR_LEN 12
#define DW_MAX_NAME 255   /* wire length, including the root byte */
#define DW_MAX_LABELS 127 /* 255-byte name of 1-byte labels */
#define DW_LOAD_MAX (DW_DNS_HDR_LEN + DW_MAX_NAME + 4)
#define DW_SCRATCH_BUF 336 /* >= 12 + 255 (label start) + 56 (8th word) + 8, rounded up */
/* The zone the verdict matched (dw_match_zones), for the zone shield's hook (dw_shield.h),
 * which then starts at the zone instead of parsing and hashing the name again from the root.
 * Written only when a zone matched (reason ALLOWED), read only for that same packet. */
struct dw_zone_match {
  __u64 sip[5]; /* SipHash state after the zone's labels: struct dw_sip (v0..v3, bytes) */
  __u64 tag;    /* dw_zone_tag of the zone's digest: the dw_shield_zones key */
  __u32 depth;  /* the zone's label count (the verdict's match_depth) */
  __u32 nl;     /* the QNAME's label count; label_off holds their offsets */
  __u64 reserved;
};
DW_STATIC_ASSERT(sizeof(struct dw_zone_match) == 64, "dw_zone_match layout");
struct dw_scratch {
  __u8 buf[DW_SCRATCH_BUF];
  __u8 label_off[DW_MAX_LABELS + 1]; /* offset of each label's length byte from the name */
  struct dw_zone_match zm;
};
DW_STATIC_ASSERT(sizeof(struct dw_scratch) == DW_SCRATCH_BUF + 128 + 64, "dw_scratch layout");

/* dw_cpu[cpu]: one row per possible CPU (the loader sizes the map), holding that CPU's verdict
 * counters and its scratch. A plain array indexed by bpf_get_smp_processor_id() rather than a
 * per-CPU array: its lookup is inlined to one address computation, and counters and scratch
 * share the row's memory, so a packet touches one more cache line region instead of two map
 * structs and two per-CPU areas. Rows are a multiple of 64 bytes: CPUs never share a line. */
#define DW_COUNTER_SLOTS 32
/* Dropped-name sampler: this CPU's share of dw_config.sample_per_s, a fixed one-second
 * window (cheaper than a token bucket's division, and the same bound: at most sample_per_s
 * events per CPU in any window). */
struct dw_sample_rl {
  __u64 window_ns; /* CLOCK_BOOTTIME start of the current window */
  __u32 used;      /* events emitted in it */
  __u32 reserved;
};
DW_STATIC_ASSERT(sizeof(struct dw_sample_rl) == 16, "dw_sample_rl layout");

struct dw_cpu_state {
  __u64 counters[DW_COUNTER_SLOTS]; /* indexed by enum dw_counter */
  struct dw_scratch scratch;
  struct dw_sample_rl sample; /* dw_sample.h: the sampler's rate limit */
  __u8 pad[32];
};
DW_STATIC_ASSERT(sizeof(struct dw_cpu_state) == 832, "dw_cpu_state layout");
DW_STATIC_ASSERT(sizeof(struct dw_cpu_state) % 64 == 0, "dw_cpu_state rows are whole lines");
DW_STATIC_ASSERT(DW_C_COUNT <= DW_COUNTER_SLOTS, "counters fit in a row");

/* Ban action tc. A banned UDP/53 query gets, from XDP_TX, a reply built in place: MACs, IP
 * addresses and UDP ports swapped (VLAN tags kept), QR=1 TC=1 AA=0 RCODE=0, ID, opcode, RD and
 * CD kept, the question echoed, everything after it cut, so the reply is never larger than the
 * query. A real resolver retries over TCP (never banned, not spoofable); a spoofed flood gains
 * no amplification. Slips are rate limited per source prefix by a token bucket kept as a GCRA
 * "theoretical arrival time": one u64 per prefix, no division on the packet path but one.
 * docs/ban-action.md has the rules (which queries get a slip) and the NIC requirements. */
#define DW_SLIP_DEF_PER_S 5 /* BIND's RRL examples use 5 responses/s */
#define DW_SLIP_DEF_BURST 10
#define DW_SLIP_DEF_V4_PREFIX 24 /* RRL's default IPv4 prefix */
#define DW_SLIP_DEF_V6_PREFIX 56 /* RRL's default IPv6 prefix */
#define DW_SLIP_MAX_PER_S 1000000
#define DW_SLIP_MAX_BURST 1000000
#define DW_SLIP_ENTRIES 65536 /* prefixes tracked at once (LRU: the quietest are forgotten) */

/* dw_slip_rate key: the source prefix, in the ban key's form (IPv4-mapped, so an IPv4 /24 has
 * prefixlen 96 + 24), address bits past prefixlen zero. */
struct dw_slip_key {
  __u32 prefixlen;
  __u8 addr[16];
};
DW_STATIC_ASSERT(sizeof(struct dw_slip_key) == 20, "dw_slip_key layout");

struct dw_slip_val {
  __u64 tat_ns;  /* CLOCK_BOOTTIME when the bucket is full again (GCRA) */
  __u32 slipped; /* replies sent to this prefix (wraps; for bpftool map dump) */
  __u32 limited; /* queries dropped over the rate */
};
DW_STATIC_ASSERT(sizeof(struct dw_slip_val) == 16, "dw_slip_val layout");
/* ---- Odd queries (bpf/dw_odd.h) ----
 * dw_odd_rate (LRU hash, key and value as dw_slip_rate's): a GCRA bucket per source prefix,
 * plus the global bucket under the all-zero key with prefixlen 0 (touched by every odd query,
 * so never the least recently used). */
#define DW_ODD_DEF_PER_S 10
#define DW_ODD_DEF_TOTAL_PER_S 1000
#define DW_ODD_MAX_PER_S 1000000
#define DW_ODD_ENTRIES 65536

/* ---- --refuse (bpf/dw_slip.h) ----
 * dw_known (LRU hash, key as dw_slip_rate's, value the CLOCK_BOOTTIME ns of the last allowed
 * query): source prefixes that sent an allowed query in the last DW_KNOWN_TTL_NS. Only those
 * get a REFUSED for a not-authoritative query (unless DW_CFG_REFUSE_ANY), so a forged flood
 * from addresses that never asked for a served name still gets silence. */
#define DW_KNOWN_TTL_NS (3600ull * 1000000000ull)
#define DW_KNOWN_REFRESH_NS (10ull * 1000000000ull) /* rewrite an entry at most this often */
#define DW_KNOWN_ENTRIES 65536

/* ---- Dropped-name sampler (`dnswashctl top`, bpf/dw_sample.h) ----
 * On a drop verdict, about one in dw_config.sample_every packets, at most sample_per_s per CPU
 * per second, is sent to the dw_samples ring buffer; dnswashd (the ring's one reader)
 * aggregates them. A full ring counts DW_C_SAMPLES_LOST and never changes the verdict. */
#define DW_SAMPLES_RING_BYTES (256 * 1024)
#define DW_SAMPLE_QNAME_MAX 256 /* DW_MAX_NAME rounded up: one fixed-size copy */
struct dw_sample_event {
  __u8 reason;     /* enum dw_reason (a drop reason) */
  __u8 family;     /* 4 or 6; 0 if the IP header was not parsed */
  __u16 qtype;     /* host order; 0 unless the question was parsed */
  __u16 qname_len; /* wire length of qname incl. the root byte; 0 = no name parsed */
  __u16 reserved;
  __u8 src[16];                    /* source address, IPv4-mapped for IPv4 */
  __u8 qname[DW_SAMPLE_QNAME_MAX]; /* uncompressed wire name, as received (not case-folded) */
};
DW_STATIC_ASSERT(sizeof(struct dw_sample_event) == 8 + 16 + DW_SAMPLE_QNAME_MAX,
                 "dw_sample_event layout");

/* Up to this many IPv6 extension headers (hop-by-hop, routing, destination options,
 * fragment) are skipped; a longer chain is malformed. */
#define DW_MAX_IPV6_EXTHDRS 8

/* ---- Rolling-subdomain detector (bpf/dw_detector.h; docs/detector.md) ----
 * dw_det (LRU hash, shared by all CPUs): one entry per (client prefix, zone), created on the
 * first NXDOMAIN answer (answers signal) or first allowed query (queries signal). */
#define DW_DET_DEFAULT_THRESHOLD 3
#define DW_DET_DEFAULT_WINDOW_S 600
#define DW_DET_DEFAULT_MIN_NX_PCT 50
#define DW_DET_DEFAULT_V6_PREFIX 64
#define DW_DET_DEFAULT_BAN_NS (7200ull * 1000000000ull)
#define DW_DET_EXACT 8        /* first distinct names kept as 32-bit tags (collision ~1 in 10^8) */
#define DW_DET_BITMAP_WORDS 8 /* then a 512-bit set of name hashes: may under-count, never over */
#define DW_DET_MAX_THRESHOLD 512
#define DW_DET_SAMPLE 64 /* bytes of the first counted name kept (wire form, truncated) */
#define DW_DET_ENTRIES 65536
#define DW_DET_EXEMPT_MAX 4096
#define DW_DET_NEVER_MAX 4096

struct dw_det_key {
  __u8 addr[16];  /* client: IPv4-mapped /128, or the IPv6 address masked to det_v6_prefix */
  __u64 zone_tag; /* dw_zone_tag of the served zone the name matched (the shallowest one) */
};
DW_STATIC_ASSERT(sizeof(struct dw_det_key) == 24, "dw_det_key layout");

#define DW_DET_F_CROSSING 1u /* one CPU is handling a crossing (claimed with a CAS) */
#define DW_DET_F_REPORTED 2u /* a never-ban crossing was reported in this window */
/* Updated by all CPUs with atomic instructions: the kernel refuses bpf_spin_lock in an LRU
 * hash, and an LRU hash is what keeps a spoofed flood from growing the map. */
struct dw_det_val {
  __u32 answers;         /* answers (or queries) seen in the window since the entry was made */
  __u32 nx;              /* NXDOMAIN answers among them */
  __u32 distinct;        /* distinct names counted (tags in exact + bits set in names) */
  __u32 flags;           /* DW_DET_F_* */
  __u64 window_start_ns; /* CLOCK_BOOTTIME */
  __u32 sample_len;
  __u32 reserved;
  /* Distinct names: the first DW_DET_EXACT as tags (name digest >> 32, 0 mapped to 1; 0 = free
   * slot), so the default threshold of 3 is exact; later names as bit (name digest & 511). */
  __u32 exact[DW_DET_EXACT];
  __u64 names[DW_DET_BITMAP_WORDS];
  __u8 sample[DW_DET_SAMPLE]; /* wire form of the first counted name, truncated */
};
DW_STATIC_ASSERT(sizeof(struct dw_det_val) == 192, "dw_det_val layout");

/* dw_det_events (ring buffer): what the kernel did when a source crossed the threshold. */
#define DW_DET_EV_BANNED 1    /* the kernel added a detector ban (expires_ns) */
#define DW_DET_EV_NEVER_BAN 2 /* crossed, but the source is on the never-ban list */
#define DW_DET_EV_CAP 3       /* crossed, but the ban budget is spent */
#define DW_DET_SIGNAL_ANSWERS 0
#define DW_DET_SIGNAL_QUERIES 1
struct dw_det_event {
  __u8 addr[16];   /* banned prefix, dw_ban_key layout */
  __u32 prefixlen; /* dw_ban_key prefix length (IPv4: 96 + 32) */
  __u32 kind;      /* DW_DET_EV_* */
  __u64 zone_tag;
  __u64 ts_ns;      /* CLOCK_BOOTTIME */
  __u64 expires_ns; /* of the ban added (BANNED) */
  __u32 distinct, nx, answers, signal;
  __u16 name_len;   /* wire length of name (the crossing name) */
  __u16 sample_len; /* bytes of sample (the first name counted) */
  __u32 pad;
  __u8 name[256];
  __u8 sample[DW_DET_SAMPLE];
};
DW_STATIC_ASSERT(sizeof(struct dw_det_event) == 392, "dw_det_event layout");
#define DW_DET_EVENTS_BYTES (256 * 1024)

/* ---- Zone shield (bpf/dw_shield.h; docs/detector.md) ----
 * Under a shielded zone, a query for a name that does not exist in the zone never reaches
 * named: XDP answers NXDOMAIN itself (or sends TC=1, or drops: the zone's action).
 *
 * Name set: the inner array map in dw_shield_names' one slot, element 0 a dw_names_hdr, then
 * `buckets` buckets of one cache line. A name is stored as a 16-bit fingerprint of its keyed
 * digest (the zone set's SipHash key, dw_siphash.h's encoding, the full name) in its primary
 * bucket, or in its secondary one (then the primary is marked overflowed). Bit 0 of a slot
 * marks an OPEN name: every name at or below it exists (a delegation, a wildcard's parent, a
 * DNAME). 0 is a free slot. The set holds the names of the zones its header marks (owners,
 * empty non-terminals, the apex); a whole new set is swapped in with one update, so a packet
 * sees the old or the new set, never a mix. 31 slots a bucket, filled to about 75 % by the
 * builder (cuckoo placement, shield/name_set.cc): 2.7 bytes of kernel memory per name, so a
 * 100,000-name zone is 270 KB, mostly in the CPU's cache. A false "exists" needs one of the
 * ~23 fingerprints of one (rarely two) buckets to equal the name's 15 bits under a key the
 * attacker never sees: about 1 in 1,850 missing names (unit test), which only lets that query
 * through to named (a shielded zone still stops 99.9 % of a random-name flood).
 * The header marks the zones whose names the set holds (zone_bits, by dw_names_zone_bit of the
 * zone's tag): the hook looks a name up only under a marked zone, and looks the zone up in
 * dw_shield_zones (is it shielded, with what action) only once the name is missing. So an
 * existing name costs no hash-map lookup, and a query under a zone not marked costs a bit
 * test in a line the hook reads anyway. A zone sharing a marked zone's bit costs a name
 * lookup, then the zone lookup, and passes. */
#define DW_NAMES_MAGIC 0x64776e33u /* "dwn3" */
#define DW_NAMES_SLOTS 31
#define DW_NAMES_OPEN 1u
struct dw_names_hdr {
  __u32 magic;        /* DW_NAMES_MAGIC */
  __u32 buckets;      /* bucket count (elements 1..buckets), any number >= 1 */
  __u64 open_depths;  /* dw_depth_marked mask of the label counts of OPEN names */
  __u64 names;        /* entries held (for status) */
  __u64 zone_bits[4]; /* the set's zones: bit dw_names_zone_bit(tag) */
  __u8 pad[8];
};
DW_STATIC_ASSERT(sizeof(struct dw_names_hdr) == 64, "dw_names_hdr layout");
/* A zone's bit in zone_bits: bits 40-47 of its tag (the low bits place it in the zone set). */
static inline __u32 dw_names_zone_bit(__u64 tag) {
  return (__u32)(tag >> 40) & 255;
}
struct dw_names_bucket {
  __u16 fp[DW_NAMES_SLOTS]; /* dw_names_fp | DW_NAMES_OPEN if open; 0 = free */
  __u16 overflow;           /* nonzero: some names of this primary bucket are in their secondary */
};
DW_STATIC_ASSERT(sizeof(struct dw_names_bucket) == 64, "dw_names_bucket layout");
/* Fingerprint: the digest's top 16 bits with bit 0 (OPEN) cleared, never 0. Placement: the
 * low 32 bits (primary) and a mix of bits 16-47 (secondary) scaled to the bucket count by a
 * multiply (no power of two needed, so the set is sized to its names). */
static inline __u32 dw_names_fp(__u64 digest) {
  __u32 f = (__u32)(digest >> 48) & ~DW_NAMES_OPEN;
  return f ? f : 2;
}
static inline __u32 dw_names_primary(__u64 digest, __u32 buckets) {
  return 1 + (__u32)(((__u64)(__u32)digest * buckets) >> 32);
}
static inline __u32 dw_names_secondary(__u64 digest, __u32 buckets) {
  __u32 h = (__u32)(digest >> 16) * 0x9E3779B1u;
  return 1 + (__u32)(((__u64)h * buckets) >> 32);
}
/* Does the bucket hold fingerprint `want` (slot bits under `ignore` not compared)? Eight
 * 64-bit words, four slots each, tested for a zero 16-bit lane of slot ^ want without a
 * branch: (x - 0x0001..) & ~x & 0x8000.. is nonzero exactly when some lane of x is 0. The
 * last lane of the last word is the overflow mark, never a slot (little-endian: both sides
 * run on the same host). Shared by the XDP program and the builder's tests. */
#define DW_LANES16(v) ((__u64)(v)*0x0001000100010001ull)
static inline int dw_names_bucket_has(const struct dw_names_bucket *b, __u32 want, __u32 ignore) {
  __u64 rep = DW_LANES16(want & 0xffff), keep = ~DW_LANES16(ignore & 0xffff), hit = 0, x;
  int i;
#if defined(__bpf__)
#pragma unroll
#endif
  for (i = 0; i < 8; i++) {
#if defined(__bpf__)
    x = ((const __u64 *)(const void *)b)[i]; /* an aligned load (memcpy would go bytewise) */
#else
    __builtin_memcpy(&x, (const unsigned char *)(const void *)b + 8 * i, 8); /* no aliasing */
#endif
    x = (x & keep) ^ rep;
    if (i == 7) x |= 0xffff000000000000ull; /* the overflow mark */
    hit |= (x - DW_LANES16(1)) & ~x & DW_LANES16(0x8000);
  }
  return hit != 0;
}

/* dw_shield_zones (hash, key: the zone's tag as in dw_det_key): one entry per shielded zone,
 * written by dnswashd; no entry = not shielded. */
#define DW_SHIELD_ZONES_MAX 4096
#define DW_SHIELD_ACT_NXDOMAIN 0 /* NXDOMAIN (AA) built in XDP, the zone's SOA in authority */
#define DW_SHIELD_ACT_TC 1       /* truncated reply: the resolver retries over TCP */
#define DW_SHIELD_ACT_DROP 2     /* silence */
#define DW_SHIELD_SOA_MAX 192    /* SOA RR after its owner: type..rdata, uncompressed names */
struct dw_shield_zone {
  __u32 action;  /* DW_SHIELD_ACT_* */
  __u32 soa_len; /* bytes of soa (0: NXDOMAIN without SOA) */
  __u8 soa[DW_SHIELD_SOA_MAX];
};
DW_STATIC_ASSERT(sizeof(struct dw_shield_zone) == 200, "dw_shield_zone layout");

/* dw_shield_stats (LRU per-CPU hash, key: zone tag): per-zone counts for the automatic switch,
 * made on a zone's first NXDOMAIN answer. The tc program adds named's answers (all sources),
 * the XDP program the queries the shield stopped. */
#define DW_SHIELD_STATS_MAX 16384
struct dw_shield_stat {
  __u64 answers; /* named's UDP answers under the zone (since the entry was made) */
  __u64 nx;      /* NXDOMAIN among them */
  __u64 blocked; /* queries for missing names answered or dropped in XDP */
  __u64 reserved;
};
DW_STATIC_ASSERT(sizeof(struct dw_shield_stat) == 32, "dw_shield_stat layout");

#define DW_BANS_MAX 262144
#define DW_ZONES_OUTER_SLOTS 1
#define DW_CPU_ROWS_TEMPLATE 1 /* the loader sets dw_cpu's max_entries to the possible CPUs */

#endif /* DNSWASH_ABI_H */
