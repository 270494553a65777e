// SPDX-License-Identifier: GPL-2.0
/*
 * A thread policy for syrup-steer's thread layer: threads the application
 * hints "short" (through the pinned hints map) get executor 0 to
 * themselves; every other thread of the cgroup goes to one of the others,
 * by thread id.
 *
 *     syrup-steer attach --layer thread --cgroup app --cpus 0-3 \
 *             --policy examples/syrup/threads.c
 */
#include <fastpath/syrup-sched.h>

__u32 schedule_thread(const struct syrup_thread *t)
{
	__u32 n = syrup_nr_executors();

	if (t->hint == SYRUP_HINT_SHORT || n < 2)
		return 0;
	return 1 + t->tid % (n - 1);
}
