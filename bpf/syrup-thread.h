/* SPDX-License-Identifier: GPL-2.0 */
/*
 * syrup-steer's thread layer: types shared by syrup-thread.bpf.c (a
 * sched_ext scheduler, Linux 6.13+) and user space.
 *
 * `syrup-steer attach --layer thread` pins under SYRUP_THREAD_PIN_DIR:
 *   link   the struct_ops link: while it is pinned, the scheduler runs
 *   conf   struct syrup_thread_conf (one entry)
 *   info   struct syrup_thread_info (one entry): what attach was given
 *   hints  tid (u32) -> enum syrup_thread_hint (u32): the application's
 *          own map; `syrup-steer set --layer thread hint.TID=short` too
 *   placed tid -> executor | hint << 24 (sticky placements)
 *   stats  per-CPU struct syrup_thread_stat per executor, last slot
 *          (SYRUP_THREAD_MAX_EXEC) for the threads placed by nobody
 *   state  the built-ins' round-robin cursors
 */
#ifndef FASTPATH_SYRUP_THREAD_H
#define FASTPATH_SYRUP_THREAD_H

#define SYRUP_THREAD_PIN_DIR	"/sys/fs/bpf/syrup/thread"
#define SYRUP_THREAD_OPS_NAME	"syrup_thread"
#define SYRUP_THREAD_MAX_EXEC	64
#define SYRUP_THREAD_DEFAULT	0xffffffffU
#define SYRUP_THREAD_EXEC_MASK	0x00ffffffU
#define SYRUP_THREAD_HINT_SHIFT 24

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
	__u32 reserved;	    /* sita: executors kept for short-request threads */
	__u32 cgroup_level; /* depth of the cgroup below the v2 root */
	__u64 cgroup_id;    /* only its tasks (and its descendants') */
	__u32 cpus[SYRUP_THREAD_MAX_EXEC]; /* executor -> CPU */
};

/* What attach recorded, for status and detach. */
struct syrup_thread_info {
	char policy[32];
	char cgroup[256]; /* the cgroup's directory */
	__u64 cgroup_id;
	__u64 attached_at; /* seconds since the epoch */
	__u64 enable_seq;  /* /sys/kernel/sched_ext/enable_seq after ours */
	__u32 switched;	   /* threads attach moved to SCHED_EXT */
	__u32 pad;
};

/* Per-executor counters (per-CPU array, last slot: default/refused). */
struct syrup_thread_stat {
	__u64 enqueued; /* put on the executor's CPU */
	__u64 ran;	/* started running on that CPU */
	__u64 fallback; /* SYRUP_THREAD_DEFAULT or a CPU not allowed */
	__u64 outside;	/* SCHED_EXT tasks that are not the cgroup's */
};

#endif
