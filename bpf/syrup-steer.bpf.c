// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-steer's built-in policies, written against include/syrup.h the way
 * a user policy is: one schedule() that picks an executor. conf.builtin
 * says which one runs; parameters come from the params map.
 */
#include "vmlinux.h"
#include "syrup.h"
#include "syrup-steer.h"

static __always_inline __u32 rr_in(__u32 first, __u32 n, __u32 slot)
{
	if (!n)
		return SYRUP_DEFAULT;
	return first + (__u32)(syrup_counter_next(slot) % n);
}

static __always_inline __u32 least_loaded(__u32 n)
{
	__u32 start, best = SYRUP_DEFAULT, i;
	__u64 best_load = ~0ULL;

	if (!n)
		return SYRUP_DEFAULT;
	/* Ties rotate, so equal loads still spread. */
	start = (__u32)(syrup_counter_next(SYRUP_STATE_RR) % n);
	for (i = 0; i < SYRUP_MAX_EXECUTORS; i++) {
		__u32 e;
		__u64 l;

		if (i >= n)
			break;
		e = start + i;
		if (e >= n)
			e -= n;
		l = syrup_load_of(e);
		if (l < best_load) {
			best_load = l;
			best = e;
		}
	}
	return best;
}

/* Does the payload start with the `class` bytes (class_len of them)? */
static __always_inline int has_class(__u8 *p, void *end, __u64 class, __u32 len)
{
	__u32 i;

	if (!len || len > 8)
		return 0;
	for (i = 0; i < 8; i++) {
		if (i >= len)
			break;
		if ((void *)(p + i + 1) > end)
			return 0;
		if (p[i] != (__u8)(class >> (8 * i)))
			return 0;
	}
	return 1;
}

static __always_inline __u32 sita(void *start, void *end, __u32 n)
{
	__u64 threshold = syrup_param("threshold", 0);
	__u64 class = syrup_param("class", 0);
	__u32 class_len = (__u32)syrup_param("class_len", 0);
	__u32 big = (__u32)syrup_param("big", 1);
	int is_big;

	if (n <= 1)
		return 0;
	if (big < 1)
		big = 1;
	if (big >= n)
		big = n - 1;
	is_big = (threshold && syrup_payload_len() > threshold) ||
		 has_class(start, end, class, class_len);
	if (is_big)
		return rr_in(n - big, big, SYRUP_STATE_RR_BIG);
	return rr_in(0, n - big, SYRUP_STATE_RR);
}

__u32 schedule(void *pkt_start, void *pkt_end)
{
	struct syrup_conf *conf = syrup_get_conf();
	__u32 n;

	if (!conf)
		return SYRUP_DEFAULT;
	n = conf->nr_executors;
	switch (conf->builtin) {
	case SYRUP_RR:
		return rr_in(0, n, SYRUP_STATE_RR);
	case SYRUP_HASH:
		return syrup_scale(syrup_flow_hash(), n);
	case SYRUP_RANDOM:
		return n ? bpf_get_prandom_u32() % n : SYRUP_DEFAULT;
	case SYRUP_LEAST_LOADED:
		return least_loaded(n);
	case SYRUP_SITA:
		return sita(pkt_start, pkt_end, n);
	default:
		return SYRUP_DEFAULT;
	}
}
