/* Every map of the dnswash object (dnswash.bpf.c), in one place: the datapath's (zones, bans,
 * config, per-CPU rows), the ban action tc's rate limiter (dw_slip.h), the detector's
 * (dw_detector.h) and the dropped-name sampler's ring (dw_sample.h). Key and value types are in
 * dnswash_abi.h, shared with userspace; the detector's per-CPU scratch layout below is BPF-only.
 * Included by dnswash.bpf.c before the logic headers; BPF only. */
#ifndef DW_MAPS_H
#define DW_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "dnswash_abi.h"
#include "dw_siphash.h" /* struct dw_sip, in the shield walk's state */

/* ---- the datapath (dnswash_xdp) ---- */

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

/* ---- ban action tc (dw_slip.h): one token bucket per source prefix ---- */

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, DW_SLIP_ENTRIES);
  __type(key, struct dw_slip_key);
  __type(value, struct dw_slip_val);
} dw_slip_rate SEC(".maps");

/* ---- odd queries (dw_odd.h) and --refuse (dw_slip.h) ---- */

/* Odd-query rate buckets: per source prefix, and the global one under the all-zero key. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, DW_ODD_ENTRIES);
  __type(key, struct dw_slip_key);
  __type(value, struct dw_slip_val);
} dw_odd_rate SEC(".maps");

/* --refuse: source prefixes that recently sent an allowed query (CLOCK_BOOTTIME ns). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, DW_KNOWN_ENTRIES);
  __type(key, struct dw_slip_key);
  __type(value, __u64);
} dw_known SEC(".maps");

/* ---- the rolling-subdomain detector (dw_detector.h, dnswash_det_tc) ---- */

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, DW_DET_ENTRIES);
  __type(key, struct dw_det_key);
  __type(value, struct dw_det_val);
} dw_det SEC(".maps");

/* Tags of served zones at or below an exempt zone (in-addr.arpa, ip6.arpa, ...), written by
 * dnswashd after every zone sync. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, DW_DET_EXEMPT_MAX);
  __type(key, __u64);
  __type(value, __u8);
} dw_det_exempt SEC(".maps");

/* Never-ban prefixes (dw_ban_key layout): loopback, the host's addresses, --never-ban and the
 * servers named.conf names. Checked before the kernel bans. */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, DW_DET_NEVER_MAX);
  __type(key, struct dw_ban_key);
  __type(value, __u8);
} dw_det_never SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, DW_DET_EVENTS_BYTES);
} dw_det_events SEC(".maps");

/* One observation: a name for client k.addr under zone k.zone_tag. */
struct dw_det_obs {
  struct dw_det_key k;
  __u64 name_digest;
  __u32 prefixlen; /* of the ban: 128 (IPv4-mapped /32) or the IPv6 prefix */
  __u32 nx;        /* the answer was NXDOMAIN (answers signal); 1 for every query (queries) */
  __u32 wire_len;  /* of the name at sc->buf[12] */
  __u32 signal;    /* DW_DET_SIGNAL_* */
};

/* Per-CPU scratch: the tc program's question buffer (it never shares dw_cpu's with XDP), the
 * value of a new dw_det entry and the ban keys: the XDP program's frame, the queries hook's and
 * a bpf_loop callback's must fit in 512 bytes together. XDP and tc egress never interleave on
 * one CPU (tc egress runs with bottom halves off; each program runs to completion). */
struct dw_det_percpu {
  struct dw_scratch sc;
  __u8 init[sizeof(struct dw_det_val)];
  struct dw_det_obs o;
  struct dw_ban_key bk;
  struct dw_ban_key probe;
  struct dw_ban_val bv;
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct dw_det_percpu);
} dw_det_scratch SEC(".maps");

/* ---- the dropped-name sampler (dw_sample.h) ---- */

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, DW_SAMPLES_RING_BYTES);
} dw_samples SEC(".maps");

/* ---- the zone shield (dw_shield.h) ---- */

/* Name set: a one-slot array of array maps (struct dw_names_hdr then dw_names_bucket elements,
 * see dnswash_abi.h), swapped whole by userspace like the zone set. */
struct dw_names_set {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_INNER_MAP);
  __uint(max_entries, 2); /* template only: userspace sizes the real inner map */
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(struct dw_names_bucket));
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 1);
  __type(key, __u32);
  __array(values, struct dw_names_set);
} dw_shield_names SEC(".maps");

/* The shielded zones (no entry: not shielded), written by dnswashd. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, DW_SHIELD_ZONES_MAX);
  __type(key, __u64);
  __type(value, struct dw_shield_zone);
} dw_shield_zones SEC(".maps");

/* Per-zone counts for the automatic switch: tc adds named's answers, XDP what it stopped. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
  __uint(max_entries, DW_SHIELD_STATS_MAX);
  __type(key, __u64);
  __type(value, struct dw_shield_stat);
} dw_shield_stats SEC(".maps");

/* dw_shield_hook's walk state and findings, kept in map memory rather than on its stack: the
 * verifier does not track values in map memory, so the callback's states converge at once (the
 * slip's walk does the same); on the stack, each depth the zone was found at was a state of its
 * own and the program ran past the verifier's 1M instructions. */
struct dw_shield_cur {
  struct dw_sip s; /* here too: the stack of dnswash_xdp, the hook and the callback is tight */
  __u64 zone_tag;
  __u32 zone_depth; /* the zone's label count (from the verdict's match) */
  __u32 verdict;    /* DW_SHIELD_V_* */
  __u32 nl;         /* labels of the question */
  __u32 reply;      /* 1: dw_shield_hook found a missing name to answer (not drop) */
  __u32 action;     /* the zone's dw_shield_zone action and soa_len, read by the hook */
  __u32 soa_len;
  /* Helper arguments in map memory, not on the stack: 6.1 adds up the stacks of dnswash_xdp,
   * dw_shield_xdp, dw_shield_hook and the walk's callback (each rounded up to 32) against
   * 512 bytes, and a map value can be a helper's key or value. */
  __u64 key;                  /* a dw_shield_zones key */
  __u32 idx;                  /* a name set bucket's index */
  __u32 r_len;                /* dw_shield_reply -> dw_shield_emit: the message's length, */
  __u32 r_l3_off;             /* the frame's L3 offset, */
  __u32 r_v6;                 /* 1 for IPv6 */
  struct dw_shield_stat init; /* a new dw_shield_stats entry */
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct dw_shield_cur);
} dw_shield_cur_map SEC(".maps");

#endif /* DW_MAPS_H */
