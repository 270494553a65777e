/* SPDX-License-Identifier: GPL-2.0 */
/*
 * syrup-thread: types shared by syrup-thread.bpf.c (a sched_ext scheduler,
 * Linux 6.13+) and user space. Prototype of syrup-steer's thread layer.
 */
#ifndef FASTPATH_SYRUP_THREAD_H
#define FASTPATH_SYRUP_THREAD_H

#define SYRUP_THREAD_MAX_EXEC 64
#define SYRUP_THREAD_DEFAULT  0xffffffffU

/* Hints an application writes per thread id into the "hints" map. */
enum syrup_thread_hint {
	SYRUP_HINT_NONE = 0,
	SYRUP_HINT_SHORT = 1, /* serves short requests */
	SYRUP_HINT_LONG = 2,
};

/* Built-ins (conf.builtin). */
enum syrup_thread_builtin {
	SYRUP_THREAD_RR = 1,	/* sticky round robin over the CPUs */
	SYRUP_THREAD_SITA = 2,	/* short threads on the first `reserved` */
	SYRUP_THREAD_STALL = 3, /* test only: never runs its threads */
};

struct syrup_thread_conf {
	__u32 nr_executors;
	__u32 builtin;
	__u32 reserved; /* sita: executors kept for short-request threads */
	__u32 pad;
	__u32 cpus[SYRUP_THREAD_MAX_EXEC]; /* executor -> CPU */
};

/* Per-executor counters (per-CPU array, last slot: default/refused). */
struct syrup_thread_stat {
	__u64 enqueued; /* put on the executor's CPU */
	__u64 ran;	/* started running on that CPU */
	__u64 fallback; /* SYRUP_THREAD_DEFAULT or a CPU not allowed */
};

#endif
