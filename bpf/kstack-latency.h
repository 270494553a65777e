/* SPDX-License-Identifier: GPL-2.0 */
/* kstack-latency: types shared by kstack-latency.bpf.c and the tool. */
#ifndef FASTPATH_KSTACK_LATENCY_H
#define FASTPATH_KSTACK_LATENCY_H

#include "hist_slots.h"

/*
 * A read is timed at five points:
 *   t0 syscall entry, t1 first bio queued, t2 first request issued,
 *   t3 last request completed, t4 syscall exit
 * and split into syscall (t1-t0), block (t2-t1), device (t3-t2),
 * completion (t4-t3) and total (t4-t0), which add up exactly.
 */
enum kstack_layer {
	KSTACK_SYSCALL,
	KSTACK_BLOCK,
	KSTACK_DEVICE,
	KSTACK_COMPLETION,
	KSTACK_TOTAL,
	KSTACK_NR_READ_LAYERS, /* the layers every timed read has */
	/* issue -> completion of requests not tied to a traced read */
	KSTACK_UNATTRIBUTED = KSTACK_NR_READ_LAYERS,
	/* reads that queued bios but returned before any of their requests
	 * completed (async readahead); count only */
	KSTACK_INCOMPLETE,
	KSTACK_NR_LAYERS,
};

/* The BPF side writes into generation `gen` (a .bss variable) so user space
 * can flip it and read the other one undisturbed for interval reports. */
#define KSTACK_NR_GENS 2

/*
 * The read layers' slots stop at 2^51 ns (26 days; larger values go to the
 * last one) so that all five fit one per-CPU value (at most 32 KiB): a
 * timed read then costs one map lookup, not five.
 */
#define KSTACK_READ_SLOTS 816

/* Value of the per-CPU `reads_hist` array; key = gen. */
struct kstack_read_hist {
	__u64 count; /* reads timed, the count of every read layer */
	__u64 sum_ns[KSTACK_NR_READ_LAYERS];
	__u64 max_ns[KSTACK_NR_READ_LAYERS];
	__u64 slots[KSTACK_NR_READ_LAYERS][KSTACK_READ_SLOTS];
};

/* Value of the per-CPU `other_hists` array;
 * key = gen * 2 + (layer - KSTACK_UNATTRIBUTED). */
struct kstack_hist {
	__u64 count;
	__u64 sum_ns;
	__u64 max_ns;
	__u64 slots[FP_HIST_SLOTS];
};

#endif
