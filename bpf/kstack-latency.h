/* SPDX-License-Identifier: GPL-2.0 */
/* kstack-latency: types shared by kstack-latency.bpf.c and the tool. */
#ifndef FASTPATH_KSTACK_LATENCY_H
#define FASTPATH_KSTACK_LATENCY_H

#include "hist_slots.h"

/*
 * One histogram per layer. A read is timed at five points:
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
	/* issue -> completion of requests not tied to a traced read */
	KSTACK_UNATTRIBUTED,
	/* reads that queued bios but returned before any of their requests
	 * completed (async readahead) or had them merged away; count only */
	KSTACK_INCOMPLETE,
	KSTACK_NR_LAYERS,
};

/* The BPF side writes into generation `gen` (a .bss variable) so user space
 * can flip it and read the other one undisturbed for interval reports. */
#define KSTACK_NR_GENS 2

/* Value of the per-CPU `hists` array; key = gen * KSTACK_NR_LAYERS + layer. */
struct kstack_hist {
	__u64 count;
	__u64 sum_ns;
	__u64 max_ns;
	__u64 slots[FP_HIST_SLOTS];
};

#endif
