/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The thread layer's view of the host (thread-host.c): sched_ext's sysfs
 * and the cgroup v2 hierarchy, for thread.c's attach, status and detach.
 */
#ifndef FASTPATH_SYRUP_THREAD_HOST_H
#define FASTPATH_SYRUP_THREAD_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <linux/types.h>

#define SCX_SYSFS "/sys/kernel/sched_ext"

struct scx_sysfs {
	char state[32]; /* enabled, disabled, enabling, disabling */
	char ops[64];	/* the root scheduler's name, "" when none */
	__u64 enable_seq;
};

struct cgroup_sel {
	char dir[256];
	__u64 id;
	__u32 level;
};

/* sched_ext's state, root scheduler and enable count, as sysfs has them. */
void scx_read(struct scx_sysfs *s);
/* 0 when the kernel has sched_ext; else one line saying what it needs. */
int need_sched_ext(void);
/* Why sched_ext last unloaded a scheduler, from the kernel log. */
void unload_reason(char *buf, size_t len);
/*
 * --cgroup PATH (a directory of the v2 hierarchy, or a path below its root
 * as /proc/PID/cgroup writes it) or --pid PID: the dir, id and level.
 */
int cgroup_resolve(const char *arg, pid_t pid, struct cgroup_sel *cg);
/* Every task of the cgroup to SCHED_EXT (to_ext) or back; how many moved. */
int cgroup_switch_all(const char *dir, bool to_ext);

#endif
