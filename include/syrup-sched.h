/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * syrup-sched.h: write a thread policy for syrup-steer's thread layer
 * (attach --layer thread, Linux 6.13+ with sched_ext). The packet layers'
 * policies are written against syrup.h; this is their twin for threads.
 *
 * A thread policy is one C function
 *
 *     __u32 schedule_thread(const struct syrup_thread *t);
 *
 * that returns the executor (an index into --cpus, 0 ..
 * syrup_nr_executors() - 1) a thread of the cgroup runs on, or
 * SYRUP_DEFAULT (sched_ext's global queue: any CPU). It is asked when a
 * thread is first seen and again when its hint changes; in between the
 * thread stays on its executor. For example, the process's threads spread
 * by thread id, hinted-short ones on executor 0:
 *
 *     #include <fastpath/syrup-sched.h>
 *
 *     __u32 schedule_thread(const struct syrup_thread *t)
 *     {
 *             __u32 n = syrup_nr_executors();
 *
 *             if (t->hint == SYRUP_HINT_SHORT || n < 2)
 *                     return 0;
 *             return 1 + t->tid % (n - 1);
 *     }
 *
 *     syrup-steer attach --layer thread --cgroup app --policy ./threads.c
 *
 * This header supplies the rest of a sched_ext scheduler (SCX_OPS_SWITCH_
 * PARTIAL: only the cgroup's threads, which attach switches to SCHED_EXT),
 * its maps (pinned under SYRUP_THREAD_PIN_DIR) and the types user space
 * shares with it. It declares the few kernel types it uses itself, with
 * preserve_access_index (CO-RE matches them to the running kernel), so it
 * builds with no vmlinux.h, like syrup.h:
 *
 *     clang -g -O2 -target bpf -mcpu=v3 -I/usr/local/include \
 *           -I/usr/include/$(gcc -print-multiarch) -c threads.c -o t.bpf.o
 *
 * Hints: the application writes a thread's hint into the pinned "hints"
 * map (thread id -> enum syrup_thread_hint, both __u32), or
 * `syrup-steer set --layer thread hint.TID=short` does.
 */
#ifndef FASTPATH_SYRUP_SCHED_H
#define FASTPATH_SYRUP_SCHED_H

#if defined(__bpf__) && !defined(__VMLINUX_H__)
#include <linux/types.h>
#include <linux/bpf.h>
#elif !defined(__bpf__)
#include <linux/types.h>
#endif

#define SYRUP_THREAD_PIN_DIR	"/sys/fs/bpf/syrup/thread"
#define SYRUP_THREAD_OPS_NAME	"syrup_thread"
#define SYRUP_THREAD_MAX_EXEC	64
#define SYRUP_THREAD_DEFAULT	0xffffffffU
#define SYRUP_THREAD_EXEC_MASK	0x00ffffffU
#define SYRUP_THREAD_HINT_SHIFT 24
#ifndef SYRUP_DEFAULT
#define SYRUP_DEFAULT 0xffffffffU
#endif

/* Hints an application writes per thread id into the "hints" map. */
enum syrup_thread_hint {
	SYRUP_HINT_NONE = 0,
	SYRUP_HINT_SHORT = 1, /* serves short requests */
	SYRUP_HINT_LONG = 2,
};

/* conf.builtin: the built-ins, or a user's schedule_thread(). */
enum syrup_thread_builtin {
	SYRUP_THREAD_USER = 0,
	SYRUP_THREAD_RR = 1,	/* sticky round robin over the CPUs */
	SYRUP_THREAD_SITA = 2,	/* short threads on the first `reserved` */
	SYRUP_THREAD_STALL = 3, /* test only: never runs its threads */
};

/* The "conf" map's single entry, written by syrup-steer attach. */
struct syrup_thread_conf {
	__u32 nr_executors;
	__u32 builtin;
	__u32 reserved;	    /* sita: executors kept for short-request threads */
	__u32 cgroup_level; /* depth of the cgroup below the v2 root */
	__u64 cgroup_id;    /* only its tasks (and its descendants') */
	__u32 cpus[SYRUP_THREAD_MAX_EXEC]; /* executor -> CPU */
};

/* The "info" pin: what attach recorded, for status and detach. */
struct syrup_thread_info {
	char policy[32];
	char cgroup[256]; /* the cgroup's directory */
	__u64 cgroup_id;
	__u64 attached_at; /* seconds since the epoch */
	__u64 enable_seq;  /* /sys/kernel/sched_ext/enable_seq after ours */
	__u32 switched;	   /* threads attach moved to SCHED_EXT */
	__u32 pad;
};

/* The "stats" map: per-CPU, per executor; last slot: the default queue. */
struct syrup_thread_stat {
	__u64 enqueued; /* put on the executor's CPU */
	__u64 ran;	/* started running on that CPU */
	__u64 fallback; /* SYRUP_THREAD_DEFAULT or a CPU not allowed */
	__u64 outside;	/* SCHED_EXT tasks that are not the cgroup's */
};

/* What schedule_thread() is told about a thread. */
struct syrup_thread {
	__u32 tid;	/* the thread's id */
	__u32 tgid;	/* its process's id */
	__u32 hint;	/* enum syrup_thread_hint, from the hints map */
	__s32 prev_cpu; /* the CPU it ran on last */
};

#ifdef __bpf__
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/*
 * The kernel's types, only the members used, under "___syrup" names so that
 * they never clash with a vmlinux.h (CO-RE drops the suffix when matching).
 */
struct kernfs_node___syrup {
	__u64 id;
} __attribute__((preserve_access_index));

struct cgroup___syrup {
	int level;
	struct kernfs_node___syrup *kn;
	struct cgroup___syrup *ancestors[];
} __attribute__((preserve_access_index));

struct css_set___syrup {
	struct cgroup___syrup *dfl_cgrp;
} __attribute__((preserve_access_index));

struct cpumask___syrup {
	unsigned long bits[1];
} __attribute__((preserve_access_index));

struct task_struct___syrup {
	int pid;
	int tgid;
	const struct cpumask___syrup *cpus_ptr;
	struct css_set___syrup *cgroups;
} __attribute__((preserve_access_index));

/* Only the members set; libbpf matches struct_ops members by name. */
struct sched_ext_ops {
	__s32 (*select_cpu)(struct task_struct___syrup *, __s32, __u64);
	void (*enqueue)(struct task_struct___syrup *, __u64);
	void (*running)(struct task_struct___syrup *);
	__s32 (*init)(void);
	__u64 flags;
	__u32 timeout_ms;
	char name[128];
} __attribute__((preserve_access_index));

#define SCX_DSQ_GLOBAL	       0x8000000000000001ULL
#define SCX_DSQ_LOCAL_ON       0xc000000000000000ULL
#define SCX_SLICE_DFL	       (20ULL * 1000 * 1000)
#define SCX_KICK_IDLE	       1
#define SCX_OPS_SWITCH_PARTIAL 8
/* A queue nobody consumes: the stall built-in parks its threads there. */
#define SYRUP_PARK_DSQ 1

void scx_bpf_dsq_insert(struct task_struct___syrup *p, __u64 dsq_id,
			__u64 slice, __u64 enq_flags) __ksym;
void scx_bpf_kick_cpu(__s32 cpu, __u64 flags) __ksym;
__s32 scx_bpf_create_dsq(__u64 dsq_id, __s32 node) __ksym;
__s32 scx_bpf_task_cpu(const struct task_struct___syrup *p) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct syrup_thread_conf);
} conf SEC(".maps");

/* tid -> enum syrup_thread_hint, written by the application. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} hints SEC(".maps");

/* tid -> executor | hint << 24, so that placements are sticky. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} placed SEC(".maps");

/* Counters policies keep (syrup_counter_next). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYRUP_THREAD_MAX_EXEC + 1);
	__type(key, __u32);
	__type(value, struct syrup_thread_stat);
} stats SEC(".maps");

static __always_inline struct syrup_thread_conf *syrup_thread_get_conf(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&conf, &zero);
}

/* How many executors (CPUs of --cpus) there are. */
static __always_inline __u32 syrup_nr_executors(void)
{
	struct syrup_thread_conf *c = syrup_thread_get_conf();

	return c ? c->nr_executors : 0;
}

/* --param reserved=N (default 1): sita's CPUs for short threads. */
static __always_inline __u32 syrup_reserved(void)
{
	struct syrup_thread_conf *c = syrup_thread_get_conf();

	return c ? c->reserved : 0;
}

/* Counter `slot` (0..3), then incremented: for round robins. */
static __always_inline __u64 syrup_counter_next(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&state, &slot);

	return v ? __sync_fetch_and_add(v, 1) : 0;
}

static __u32 schedule_thread(const struct syrup_thread *t);

/* Is p in the cgroup (or below it)? Its ancestor at the cgroup's level. */
static __always_inline int syrup_in_cgroup(struct task_struct___syrup *p,
					   const struct syrup_thread_conf *c)
{
	struct cgroup___syrup *cg = BPF_CORE_READ(p, cgroups, dfl_cgrp);
	struct cgroup___syrup *anc = 0;
	__u32 lvl = c->cgroup_level & 0xff;

	if (!c->cgroup_id)
		return 1;
	if (!cg || (__u32)BPF_CORE_READ(cg, level) < lvl)
		return 0;
	if (bpf_probe_read_kernel(
		    &anc, sizeof(anc),
		    (void *)cg +
			    bpf_core_field_offset(struct cgroup___syrup,
						  ancestors) +
			    lvl * sizeof(anc)))
		return 0;
	return anc && BPF_CORE_READ(anc, kn, id) == c->cgroup_id;
}

/* May p run on cpu? A bit of its affinity mask, read through CO-RE. */
static __always_inline int syrup_cpu_allowed(struct task_struct___syrup *p,
					     __u32 cpu)
{
	const struct cpumask___syrup *m = BPF_CORE_READ(p, cpus_ptr);
	unsigned long word = 0;

	if (!m || cpu >= 4096)
		return 0;
	if (bpf_probe_read_kernel(
		    &word, sizeof(word),
		    (const char *)m +
			    bpf_core_field_offset(struct cpumask___syrup,
						  bits) +
			    (cpu / 64) * sizeof(word)))
		return 0;
	return (word >> (cpu % 64)) & 1;
}

static __always_inline void syrup_thread_count(__u32 slot, int what)
{
	struct syrup_thread_stat *st = bpf_map_lookup_elem(&stats, &slot);

	if (!st)
		return;
	if (what == 0)
		st->enqueued++;
	else if (what == 1)
		st->fallback++;
	else
		st->outside++;
}

SEC("struct_ops/syrup_select_cpu")
__s32 BPF_PROG(syrup_select_cpu, struct task_struct___syrup *p, __s32 prev_cpu,
	       __u64 flags)
{
	/* No direct dispatch here: every placement goes through enqueue. */
	return prev_cpu;
}

SEC("struct_ops/syrup_enqueue")
void BPF_PROG(syrup_enqueue, struct task_struct___syrup *p, __u64 enq_flags)
{
	struct syrup_thread_conf *c = syrup_thread_get_conf();
	struct syrup_thread t = {.tid = (__u32)p->pid};
	__u32 exec, cpu, v;
	__u32 *e, *h;

	if (!c)
		goto fallback;
	if (!syrup_in_cgroup(p, c)) {
		syrup_thread_count(SYRUP_THREAD_MAX_EXEC, 2);
		goto global;
	}
	if (c->builtin == SYRUP_THREAD_STALL) {
		scx_bpf_dsq_insert(p, SYRUP_PARK_DSQ, SCX_SLICE_DFL, enq_flags);
		return;
	}
	h = bpf_map_lookup_elem(&hints, &t.tid);
	if (h)
		t.hint = *h & 0xff;
	/* sticky, until the application gives the thread another hint */
	e = bpf_map_lookup_elem(&placed, &t.tid);
	if (e && *e >> SYRUP_THREAD_HINT_SHIFT == t.hint) {
		exec = *e & SYRUP_THREAD_EXEC_MASK;
	} else {
		t.tgid = (__u32)p->tgid;
		t.prev_cpu = scx_bpf_task_cpu(p);
		exec = c->nr_executors ? schedule_thread(&t)
				       : SYRUP_THREAD_DEFAULT;
		v = (exec & SYRUP_THREAD_EXEC_MASK) |
		    t.hint << SYRUP_THREAD_HINT_SHIFT;
		bpf_map_update_elem(&placed, &t.tid, &v, BPF_ANY);
	}
	if (exec >= c->nr_executors || exec >= SYRUP_THREAD_MAX_EXEC)
		goto fallback;
	cpu = c->cpus[exec];
	/* A CPU outside the task's affinity would be an error: fall back. */
	if (!syrup_cpu_allowed(p, cpu))
		goto fallback;
	syrup_thread_count(exec, 0);
	scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL_ON | cpu, SCX_SLICE_DFL, enq_flags);
	scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
	return;
fallback:
	syrup_thread_count(SYRUP_THREAD_MAX_EXEC, 1);
global:
	scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

SEC("struct_ops/syrup_running")
void BPF_PROG(syrup_running, struct task_struct___syrup *p)
{
	__u32 tid = (__u32)p->pid, slot;
	__u32 *e = bpf_map_lookup_elem(&placed, &tid);
	struct syrup_thread_stat *st;

	if (!e)
		return;
	slot = *e & SYRUP_THREAD_EXEC_MASK;
	if (slot >= SYRUP_THREAD_MAX_EXEC)
		slot = SYRUP_THREAD_MAX_EXEC;
	st = bpf_map_lookup_elem(&stats, &slot);
	if (st)
		st->ran++;
}

/* Sleepable (syrup-steer sets BPF_F_SLEEPABLE: libbpf 1.1 has no
 * "struct_ops.s"): creating a DSQ allocates. */
SEC("struct_ops/syrup_init")
__s32 BPF_PROG(syrup_init)
{
	return scx_bpf_create_dsq(SYRUP_PARK_DSQ, -1);
}

/*
 * The watchdog unloads the scheduler when a runnable task waits longer
 * than timeout_ms: 5 s, short enough for a test, long enough for TCG.
 */
SEC(".struct_ops")
struct sched_ext_ops syrup_thread_ops = {
	.select_cpu = (void *)syrup_select_cpu,
	.enqueue = (void *)syrup_enqueue,
	.running = (void *)syrup_running,
	.init = (void *)syrup_init,
	.flags = SCX_OPS_SWITCH_PARTIAL,
	.timeout_ms = 5000,
	.name = SYRUP_THREAD_OPS_NAME,
};

char _syrup_sched_license[] SEC("license") = "GPL";

/* Whose program this is, for bpftool prog show and fastpath-status. */
#ifndef FASTPATH_VERSION
#define FASTPATH_VERSION "unknown"
#endif
volatile const char bpf_metadata_tool[] SEC(".rodata") = "syrup-steer";
volatile const char bpf_metadata_version[] SEC(".rodata") = FASTPATH_VERSION;

#endif /* __bpf__ */
#endif /* FASTPATH_SYRUP_SCHED_H */
