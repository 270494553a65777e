// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "percpu.h"

/* The kernel rounds each CPU's copy up to 8 bytes. */
static size_t stride_of(size_t value_size)
{
	return (value_size + 7) & ~(size_t)7;
}

void fp_percpu_add(void *sum, const void *copies, size_t value_size,
		   int nr_cpus)
{
	size_t stride = stride_of(value_size);

	/* memcpy, not casts: the caller's struct may use other u64 types */
	for (size_t off = 0; off + 8 <= value_size; off += 8) {
		uint64_t total, v;

		memcpy(&total, (char *)sum + off, 8);
		for (int cpu = 0; cpu < nr_cpus; cpu++) {
			memcpy(&v, (const char *)copies + stride * cpu + off,
			       8);
			total += v;
		}
		memcpy((char *)sum + off, &total, 8);
	}
}

int fp_percpu_sum(int map_fd, const void *key, void *sum, size_t value_size)
{
	int nr_cpus = libbpf_num_possible_cpus(), err = 0;
	void *copies;

	if (nr_cpus <= 0)
		return nr_cpus < 0 ? nr_cpus : -EINVAL;
	copies = calloc((size_t)nr_cpus, stride_of(value_size));
	if (!copies)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, key, copies)) {
		err = -errno;
	} else {
		memset(sum, 0, value_size);
		fp_percpu_add(sum, copies, value_size, nr_cpus);
	}
	free(copies);
	return err;
}
