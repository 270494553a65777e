/* SPDX-License-Identifier: GPL-2.0 */
/* BMC: types shared by bmc-attach.bpf.c, bmc-attach and bmc-stat. */
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
	__u64 gets;   /* UDP get requests seen at XDP (one per request) */
	__u64 hits;   /* requests answered from the kernel (XDP or TC) */
	__u64 misses; /* get requests passed to memcached */
	__u64 fills;  /* cache entries installed from replies at TC */
	__u64 invalidations; /* entries removed because of writes */
	__u64 evictions;     /* entries replaced to make room */
	__u64 passes;	     /* packets not for BMC or not parseable, passed */
	__u64 flushes;	     /* whole-cache flushes (flush_all, restarts) */
	__u64 stale_fills;   /* fills refused because a write raced them */
	__u64 expired;	     /* lookups that found an expired entry */
	__u64 tc_hits;	     /* of hits, those answered at TC ingress */
	__u64 claims; /* fills into an empty entry: in use = claims - inval. */
};

struct bmc_config {
	__u32 ifindex;
	__u16 port;    /* memcached UDP/TCP port, host order */
	__u8 xdp_mode; /* enum fp_xdp_mode actually in use */
	__u8 pad;
	__u64 cache_size;    /* bytes requested with --cache-size */
	__u64 cache_entries; /* entries that gives */
	__u32 max_age;	     /* --max-age seconds, 0 = none */
	__u32 netns_ino;     /* network namespace inode it was attached in */
	__u64 attached_at;   /* wall clock, seconds since the epoch */
	__u32 max_value;     /* --max-value: largest value cached, bytes */
	__u32 pad2;
};

/*
 * Everything below is private to bmc-attach and its BPF programs (and its
 * tests); bmc-stat does not need it.
 */
#ifndef __VMLINUX_H__
#include <linux/bpf.h> /* struct bpf_spin_lock */
#endif
#define BMC_MAX_KEY   250  /* memcached's own key limit */
#define BMC_MAX_VALUE 1000 /* larger values are not cached */
#define BMC_BLOB_MAX  1280 /* "VALUE key flags bytes\r\n<data>\r\n" */
#define BMC_WAYS      4	   /* set associativity */
#define BMC_MAX_KEYS  8	   /* keys per multi-get answered in the kernel */
#define BMC_UDP_MAX   1400 /* memcached's UDP payload limit per datagram */
#define BMC_PEND_MAX  16   /* buckets one connection keeps pending */
#define BMC_STASH     320  /* a command line cut by a TCP segment end */

/* One cache way. blob is the exact reply fragment memcached sent. */
struct bmc_entry {
	struct bpf_spin_lock lock;
	__u32 blob_len;
	__u64 hash;
	__u64 stamp;	/* write sequence snapshot of the GET that filled it */
	__u64 deadline; /* CLOCK_MONOTONIC ns; ~0 = never expires */
	__u64 filled;	/* CLOCK_MONOTONIC ns of the fill */
	__u32 key_len;
	__u32 csum; /* unfolded 32-bit one's complement sum of blob */
	__u32 valid;
	__u32 seq; /* odd while a fill rewrites the entry (seqlock) */
	__u8 blob[BMC_BLOB_MAX];
};

/* Per key-hash bucket: last invalidation sequence, writes in flight. */
struct bmc_bucket {
	__u64 gen;
	__s64 pending;
	__u64 pend_ts; /* CLOCK_MONOTONIC ns of the last pending write */
	__u64 pad;
};

/* Global state, one entry. */
struct bmc_state {
	__u64 seq;	/* write sequence: every invalidation takes one */
	__u64 flushed;	/* sequence of the last whole-cache flush */
	__s64 pending;	/* unparseable writes in flight (global pending) */
	__u64 flush_at; /* delayed flush_all: CLOCK_MONOTONIC ns, 0 = none */
	__u64 pend_ts;	/* CLOCK_MONOTONIC ns of the last global pending */
};

/* Pending writes never answered (noreply, dropped) stop blocking fills. */
#define BMC_PEND_TTL_NS 1000000000ULL

/* GET requests that missed, waiting for memcached's reply. */
struct bmc_req_key {
	__u32 addr[4]; /* client address, IPv4 in addr[0] */
	__u16 port;    /* client port, network order */
	__u16 reqid;   /* memcached UDP request id, network order */
};

/* A client connection (TCP) or client address/port (UDP). */
struct bmc_conn_key {
	__u32 addr[4];
	__u16 port;
	__u8 proto;
	__u8 pad;
};

struct bmc_conn {
	struct bpf_spin_lock lock;
	__u32 next_seq; /* TCP: next expected sequence number */
	__u32 skip;	/* TCP: value bytes still to skip at next_seq */
	__u8 state;	/* enum bmc_conn_state */
	__u8 npend;
	__u8 gpend; /* global pending units this connection holds */
	__u8 nans;  /* TCP: writes answered once, invalidated at next reply */
	__u32 pend[BMC_PEND_MAX];
	__u32 preq[BMC_PEND_MAX]; /* UDP: 0x10000 | request id of each write */
	__u32 ans[BMC_PEND_MAX];
	__u32 stash_len; /* TCP: bytes of a cut command line kept here */
	__u8 stash[BMC_STASH];
};

enum bmc_conn_state {
	BMC_CONN_LOST = 0, /* stream position unknown: every segment flushes */
	BMC_CONN_SYNCED,   /* at a command boundary (after skip bytes) */
	BMC_CONN_SKIPLINE, /* inside a long get line: skip to \n */
};

/*
 * The expiry BMC knows for a key (exps map, by key hash): from the writes
 * it saw, or learned from memcached at attach (bmc-attach's warm.c, which
 * only inserts where BMC has no entry, so a write seen since wins).
 */
struct bmc_exp {
	__u64 deadline; /* CLOCK_MONOTONIC ns; ~0 = never */
};
/*
 * A write made the expiry unknown (delete, a failed-or-not cas of a key
 * whose expiry was not known): kept as an entry, not removed, so that what
 * bmc-attach learns from memcached's older dump cannot take its place.
 * Treated as no entry (--max-age applies); 1 ns is a deadline long past.
 */
#define BMC_EXP_UNKNOWN 1ULL
#define BMC_EXP_NEVER	(~0ULL)
/* Deadlines are this much early: memcached's clock lags up to ~2 s. */
#define BMC_EXP_MARGIN_NS (2ULL * 1000000000ULL)

/* FNV-1a 64 of the key bytes (0 becomes 1): the cache's and exps' key. */
#define BMC_FNV_OFFSET 0xcbf29ce484222325ULL
#define BMC_FNV_PRIME  0x100000001b3ULL

/* TC filter identity, the same on the egress and the ingress hook. */
#define BMC_TC_HANDLE 0xb3c
#define BMC_TC_PRIO   0xb3c

/*
 * XDP metadata in front of a GET that hit but whose reply does not fit the
 * XDP frame: TC ingress answers it (first word this, second 1 for IPv6).
 */
#define BMC_META_TC 0x544d4342 /* "BCMT" */

#endif
