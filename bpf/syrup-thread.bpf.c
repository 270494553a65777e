// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-thread: syrup-steer's thread layer with its built-in policies, a
 * sched_ext scheduler. The scheduler itself (SCX_OPS_SWITCH_PARTIAL, the
 * cgroup check, sticky placements, counters) is include/syrup-sched.h,
 * the same header users' thread policies include; this file is only the
 * built-ins' schedule_thread(). The header declares the kernel types it
 * uses under names of its own (6.18's BTF, this vmlinux.h, has no
 * sched_ext) and CO-RE matches them to the running kernel's at load time;
 * vmlinux.h is here only for the basic types, as users get them from
 * <linux/types.h>.
 */
#include "vmlinux.h"
#include "syrup-sched.h"

/* rr (and stall, which never gets here), or sita. */
__u32 schedule_thread(const struct syrup_thread *t)
{
	struct syrup_thread_conf *c = syrup_thread_get_conf();
	__u32 n, r;

	if (!c || !c->nr_executors)
		return SYRUP_DEFAULT;
	n = c->nr_executors;
	r = c->reserved;
	if (c->builtin != SYRUP_THREAD_SITA || !r || r >= n)
		return syrup_counter_next(0) % n;
	if (t->hint == SYRUP_HINT_SHORT)
		return syrup_counter_next(1) % r;
	return r + syrup_counter_next(2) % (n - r);
}
