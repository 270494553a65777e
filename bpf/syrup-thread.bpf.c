// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-thread: syrup-steer's thread layer, an application's thread
 * placement policy as a sched_ext scheduler. SCX_OPS_SWITCH_PARTIAL confines
 * it to the tasks user space switches to SCHED_EXT (one cgroup's threads);
 * every other task stays on the fair class. A SCHED_EXT task outside the
 * cgroup (moved out, or switched by someone else) meets no policy: it goes
 * to the global queue and is counted as "outside". The build machine's
 * vmlinux.h (6.18, no sched_ext) lacks the types, so the few used here are
 * declared with preserve_access_index and CO-RE matches them to the running
 * kernel's BTF at load time.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "syrup-thread.h"
#include "metadata.h"

FASTPATH_METADATA("syrup-steer");

/* Only the members used; libbpf matches struct_ops members by name. */
struct sched_ext_ops {
	s32 (*select_cpu)(struct task_struct *, s32, u64);
	void (*enqueue)(struct task_struct *, u64);
	void (*running)(struct task_struct *);
	s32 (*init)(void);
	u64 flags;
	u32 timeout_ms;
	char name[128];
} __attribute__((preserve_access_index));

#define SCX_DSQ_GLOBAL	       0x8000000000000001ULL
#define SCX_DSQ_LOCAL_ON       0xc000000000000000ULL
#define SCX_SLICE_DFL	       (20ULL * 1000 * 1000)
#define SCX_KICK_IDLE	       1
#define SCX_OPS_SWITCH_PARTIAL 8
/* A queue nobody consumes: the stall built-in parks its threads there. */
#define SYRUP_PARK_DSQ 1

void scx_bpf_dsq_insert(struct task_struct *p, u64 dsq_id, u64 slice,
			u64 enq_flags) __ksym;
void scx_bpf_kick_cpu(s32 cpu, u64 flags) __ksym;
s32 scx_bpf_create_dsq(u64 dsq_id, s32 node) __ksym;
bool bpf_cpumask_test_cpu(u32 cpu, const struct cpumask *cpumask) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct syrup_thread_conf);
} conf SEC(".maps");

/* tid -> enum syrup_thread_hint, written by the application. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, u32);
} hints SEC(".maps");

/* tid -> executor it was given, so placements are sticky. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, u32);
} placed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYRUP_THREAD_MAX_EXEC + 1);
	__type(key, u32);
	__type(value, struct syrup_thread_stat);
} stats SEC(".maps");

static __always_inline u64 next(u32 slot)
{
	u64 *v = bpf_map_lookup_elem(&state, &slot);

	return v ? __sync_fetch_and_add(v, 1) : 0;
}

/* The executor for a thread that has none yet (or a new hint). */
static __always_inline u32 pick(const struct syrup_thread_conf *c, u32 hint)
{
	u32 n = c->nr_executors, r = c->reserved;

	if (!n)
		return SYRUP_THREAD_DEFAULT;
	if (c->builtin != SYRUP_THREAD_SITA || !r || r >= n)
		return next(0) % n;
	if (hint == SYRUP_HINT_SHORT)
		return next(1) % r;
	return r + next(2) % (n - r);
}

/* Is p in the cgroup (or below it)? Its ancestor at the cgroup's level. */
static __always_inline bool in_cgroup(struct task_struct *p,
				      const struct syrup_thread_conf *c)
{
	struct cgroup *cg = BPF_CORE_READ(p, cgroups, dfl_cgrp), *anc = NULL;
	u32 lvl = c->cgroup_level & 0xff;

	if (!c->cgroup_id)
		return true;
	if (!cg || (u32)BPF_CORE_READ(cg, level) < lvl)
		return false;
	if (bpf_probe_read_kernel(
		    &anc, sizeof(anc),
		    (void *)cg +
			    bpf_core_field_offset(struct cgroup, ancestors) +
			    lvl * sizeof(anc)))
		return false;
	return anc && BPF_CORE_READ(anc, kn, id) == c->cgroup_id;
}

static __always_inline void count(u32 slot, int what)
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
s32 BPF_PROG(syrup_select_cpu, struct task_struct *p, s32 prev_cpu, u64 flags)
{
	/* No direct dispatch here: every placement goes through enqueue. */
	return prev_cpu;
}

SEC("struct_ops/syrup_enqueue")
void BPF_PROG(syrup_enqueue, struct task_struct *p, u64 enq_flags)
{
	u32 zero = 0, tid = p->pid, exec, cpu, hint = SYRUP_HINT_NONE, v;
	struct syrup_thread_conf *c = bpf_map_lookup_elem(&conf, &zero);
	u32 *e, *h;

	if (!c)
		goto fallback;
	if (!in_cgroup(p, c)) {
		count(SYRUP_THREAD_MAX_EXEC, 2);
		goto global;
	}
	if (c->builtin == SYRUP_THREAD_STALL) {
		scx_bpf_dsq_insert(p, SYRUP_PARK_DSQ, SCX_SLICE_DFL, enq_flags);
		return;
	}
	h = bpf_map_lookup_elem(&hints, &tid);
	if (h)
		hint = *h & 0xff;
	/* sticky, until the application gives the thread another hint */
	e = bpf_map_lookup_elem(&placed, &tid);
	if (e && *e >> SYRUP_THREAD_HINT_SHIFT == hint) {
		exec = *e & SYRUP_THREAD_EXEC_MASK;
	} else {
		exec = pick(c, hint);
		v = (exec & SYRUP_THREAD_EXEC_MASK) |
		    hint << SYRUP_THREAD_HINT_SHIFT;
		bpf_map_update_elem(&placed, &tid, &v, BPF_ANY);
	}
	if (exec >= c->nr_executors || exec >= SYRUP_THREAD_MAX_EXEC)
		goto fallback;
	cpu = c->cpus[exec];
	/* A CPU outside the task's affinity would be an error: fall back. */
	if (!bpf_cpumask_test_cpu(cpu, p->cpus_ptr))
		goto fallback;
	count(exec, 0);
	scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL_ON | cpu, SCX_SLICE_DFL, enq_flags);
	scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
	return;
fallback:
	count(SYRUP_THREAD_MAX_EXEC, 1);
global:
	scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

SEC("struct_ops/syrup_running")
void BPF_PROG(syrup_running, struct task_struct *p)
{
	u32 tid = p->pid, slot;
	u32 *e = bpf_map_lookup_elem(&placed, &tid);
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

/* Sleepable (the loader sets BPF_F_SLEEPABLE: libbpf 1.1 has no
 * "struct_ops.s"): creating a DSQ allocates. */
SEC("struct_ops/syrup_init")
s32 BPF_PROG(syrup_init)
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

char LICENSE[] SEC("license") = "GPL";
