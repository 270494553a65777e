/* SPDX-License-Identifier: GPL-2.0 */
/* BMC: types shared by bmc.bpf.c, bmc-attach and bmc-stat. */
#ifndef FASTPATH_BMC_H
#define FASTPATH_BMC_H

/*
 * Pinned under /sys/fs/bpf/bmc/IFACE/:
 *   stats   PERCPU_ARRAY, one entry of struct bmc_stats
 *   config  ARRAY, one entry of struct bmc_config (written by bmc-attach)
 * bmc-stat reads only these two. Counters only ever grow; fields are only
 * ever appended, so an older bmc-stat still reads a newer attach's maps.
 */
struct bmc_stats {
	__u64 gets;          /* UDP get requests seen at XDP (one per request) */
	__u64 hits;          /* requests answered from the kernel (XDP_TX) */
	__u64 misses;        /* get requests passed to memcached */
	__u64 fills;         /* cache entries installed from replies at TC */
	__u64 invalidations; /* entries removed because of writes */
	__u64 evictions;     /* entries replaced to make room */
	__u64 passes;        /* packets not for BMC or not parseable, passed */
	__u64 flushes;       /* whole-cache flushes (flush_all, restarts) */
	__u64 stale_fills;   /* fills refused because a write raced them */
	__u64 expired;       /* lookups that found an expired entry */
};

struct bmc_config {
	__u32 ifindex;
	__u16 port;          /* memcached UDP/TCP port, host order */
	__u8 xdp_mode;       /* enum fp_xdp_mode actually in use */
	__u8 pad;
	__u64 cache_size;    /* bytes requested with --cache-size */
	__u64 cache_entries; /* entries that gives */
	__u32 max_age;       /* --max-age seconds, 0 = none */
	__u32 netns_ino;     /* network namespace inode it was attached in */
	__u64 attached_at;   /* wall clock, seconds since the epoch */
};

#endif
