/* SPDX-License-Identifier: GPL-2.0 */
/*
 * BMC's foundation: limits, the settings bmc-attach writes before load,
 * the maps, the per-CPU scratch buffers, the verifier idioms (CHECK_LEN,
 * OPAQUE), counters, the global state and the whole-cache flush.
 */
#ifndef FASTPATH_BMC_BASE_H
#define FASTPATH_BMC_BASE_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bmc.h"

#define ETH_P_IP     0x0800
#define ETH_P_IPV6   0x86DD
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define TC_ACT_NEXT \
	(-1) /* TC_ACT_UNSPEC: an observer, later filters still run */
#define TC_ACT_SHOT 2

#define REQ_BUF	     2048
#define REQ_MASK     (REQ_BUF - 1)
#define LINE_MAX_    320 /* longest command line we parse */
#define MAX_CMDS     48	 /* commands per segment or datagram */
#define MAX_GAT_KEYS 24
#define NS	     1000000000ULL
#define EXP_MARGIN   BMC_EXP_MARGIN_NS
#define NEVER	     BMC_EXP_NEVER
/* Ethernet + IPv6 + UDP + memcached's 8-byte frame header, rounded up. */
#define BMC_HDR_MAX 72

/* Set by bmc-attach before load. */
const volatile __u16 port_be = 0;	  /* memcached port, network order */
const volatile __u64 set_mask = 0;	  /* sets - 1 (power of two) */
const volatile __u64 gen_mask = 0;	  /* buckets - 1 (power of two) */
const volatile __u64 max_age_ns = 0;	  /* 0: unknown expiry not cached */
const volatile __s64 realtime_off_ns = 0; /* CLOCK_REALTIME - MONOTONIC */
const volatile __u64 netns_cookie = 0;	  /* memcached's netns, 0: any */
/* bpf_xdp_load_bytes and bpf_xdp_store_bytes exist (Linux 5.18) */
const volatile __u8 xdp_bytes = 1;
const volatile __u32 max_value = BMC_MAX_VALUE; /* --max-value, bytes */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bmc_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bmc_config);
} bmc_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024); /* sets * BMC_WAYS, set by bmc-attach */
	__type(key, __u32);
	__type(value, struct bmc_entry);
} cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024); /* gen_mask + 1 */
	__type(key, __u32);
	__type(value, struct bmc_bucket);
} buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bmc_state);
} state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct bmc_req_key);
	__type(value, __u64);
} reqs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bmc_conn_key);
	__type(value, struct bmc_conn);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192); /* set by bmc-attach */
	__type(key, __u64);
	__type(value, struct bmc_exp);
} exps SEC(".maps");

struct slot {
	__u32 len;
	__u32 csum;
	__u64 fence; /* per-CPU target of the seqlock's barriers */
	__u64 hash;  /* of the request's key, from bmc_key */
	__u8 blob[BMC_BLOB_MAX + 8]; /* + "END\r\n" after the last value */
};

/* Text to parse; global functions take it so the verifier checks them once. */
struct textbuf {
	__u8 b[REQ_BUF];
	__u8 pad[8]; /* 8-byte loads at any masked index stay inside */
};

/* The keys of one plain get: where they are in req, what they hold. */
struct get_req {
	__u32 koff[BMC_MAX_KEYS];
	__u32 klen[BMC_MAX_KEYS];
	__u32 nkeys;
	__u32 total; /* bytes of all the values' blobs */
};

struct xdp_scratch {
	/* The reply's headers (Ethernet to memcached's frame header),
	 * built here while the packet is resized. */
	__u8 hb[BMC_HDR_MAX];
	struct textbuf req;
	__u8 fresh[sizeof(struct bmc_conn)]; /* zeroes for new connections */
	__u32 pos, len; /* parse_stream's cursor, opaque to the verifier */
	__u32 op;
	struct slot slots[BMC_MAX_KEYS];
	struct get_req gr; /* here, not on the stack: 6.1 counts 512 bytes
			    * over all frames */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdp_scratch);
} xdp_scratch SEC(".maps");

struct tc_scratch {
	struct textbuf buf;
	__u32 op;
	__u8 blob[BMC_BLOB_MAX + 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tc_scratch);
} tc_scratch SEC(".maps");

/*
 * Fails unless 1 <= len <= max, in a form every verifier reads as bounds
 * on the register a helper then gets its length in (len: a __u64, so
 * that no 32-bit move between the tests and the call drops what was
 * learnt). clang would fold `len == 0 || len > max` into one test of
 * len - 1, whose range older verifiers do not carry back to len, and
 * older ones (6.1) learn no minimum from len != 0 (hence the signed
 * test). The barriers keep clang from merging the tests or reusing
 * earlier ones.
 */
#define CHECK_LEN(len, max, fail)     \
	do {                          \
		barrier_var(len);     \
		if ((__s64)(len) < 1) \
			fail;         \
		barrier_var(len);     \
		if ((len) > (max))    \
			fail;         \
	} while (0)

/*
 * Passes a value through memory so the verifier stops tracking it as a
 * constant: loops over packet text then converge instead of being explored
 * once per possible position.
 */
#define OPAQUE(sc, x)                         \
	({                                    \
		(sc)->op = (x);               \
		*(volatile __u32 *)&(sc)->op; \
	})

enum stat_field {
	S_GETS,
	S_HITS,
	S_MISSES,
	S_FILLS,
	S_INVAL,
	S_EVICT,
	S_PASSES,
	S_FLUSHES,
	S_STALE,
	S_EXPIRED,
	S_TC_HITS,
	S_CLAIMS,
};

static __always_inline void stat_inc(enum stat_field f)
{
	__u32 zero = 0;
	__u64 *s = bpf_map_lookup_elem(&stats, &zero);

	if (s)
		s[f] += 1; /* per-CPU: no atomics needed */
}

static __always_inline struct bmc_state *get_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&state, &zero);
}

static __always_inline __u64 now_ns(void)
{
	return bpf_ktime_get_coarse_ns();
}

/* *p = max(*p, v), atomically. */
static __always_inline void atomic_max(__u64 *p, __u64 v)
{
	for (int i = 0; i < 8; i++) {
		__u64 old = *(volatile __u64 *)p;

		if (old >= v)
			return;
		if (__sync_val_compare_and_swap(p, old, v) == old)
			return;
	}
}

static __always_inline __u64 next_seq(struct bmc_state *st)
{
	return __sync_add_and_fetch(&st->seq, 1);
}

/* Whole-cache flush: every entry and every outstanding GET gets older. */
__noinline int bmc_flush(void)
{
	struct bmc_state *st = get_state();

	if (!st)
		return 0;
	atomic_max(&st->flushed, next_seq(st));
	stat_inc(S_FLUSHES);
	return 0;
}

static __always_inline void flush_all(void)
{
	bmc_flush();
}

static __always_inline __u32 bucket_of(__u64 h)
{
	return (__u32)((h >> 20) & gen_mask);
}

static __always_inline __u32 set_of(__u64 h)
{
	return (__u32)(h & set_mask);
}

#endif /* FASTPATH_BMC_BASE_H */
