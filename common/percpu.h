/* SPDX-License-Identifier: GPL-2.0 */
/* Per-CPU map values summed over the CPUs, as counters are read. */
#ifndef FASTPATH_PERCPU_H
#define FASTPATH_PERCPU_H

#include <stddef.h>

/*
 * Adds `nr_cpus` per-CPU copies of a value made of u64 counters
 * (value_size bytes) to `sum`, field by field. The copies lie one after
 * the other, each 8-byte aligned, as the kernel hands them out.
 */
void fp_percpu_add(void *sum, const void *copies, size_t value_size,
		   int nr_cpus);

/*
 * Looks `key` up in a PERCPU_ARRAY or PERCPU_HASH of such values and
 * stores the sum over every possible CPU in `sum`. 0 or -errno.
 */
int fp_percpu_sum(int map_fd, const void *key, void *sum, size_t value_size);

#endif
