// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU counters summed field by field: on crafted copies, then through
 * a real PERCPU_ARRAY when this machine lets the test create one.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "percpu.h"
#include "unit.h"

struct counters {
	uint64_t a, b, c;
};

static void through_a_map(void)
{
	int nr = libbpf_num_possible_cpus(), fd;
	struct counters *copies, sum;
	__u32 key = 1;

	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "fp_unit", 4,
			    sizeof(struct counters), 2, NULL);
	if (fd < 0 || nr <= 0) {
		UNIT_SKIP("no CAP_BPF", "percpu: a PERCPU_ARRAY summed");
		UNIT_SKIP("no CAP_BPF", "percpu: a missing key is -ENOENT");
		return;
	}
	copies = calloc((size_t)nr, sizeof(*copies));
	for (int cpu = 0; cpu < nr; cpu++)
		copies[cpu] = (struct counters){1, (uint64_t)cpu, 100};
	bpf_map_update_elem(fd, &key, copies, BPF_ANY);
	UNIT_CHECK(fp_percpu_sum(fd, &key, &sum, sizeof(sum)) == 0 &&
			   sum.a == (uint64_t)nr &&
			   sum.b == (uint64_t)nr * (nr - 1) / 2 &&
			   sum.c == 100ULL * nr,
		   "percpu: a PERCPU_ARRAY summed over %d CPUs", nr);
	key = 9;
	UNIT_CHECK(fp_percpu_sum(fd, &key, &sum, sizeof(sum)) == -ENOENT,
		   "percpu: a missing key is -ENOENT");
	free(copies);
	close(fd);
}

int main(void)
{
	struct counters copies[3] = {{1, 2, 3}, {10, 20, 30}, {100, 200, 300}};
	struct counters sum = {5, 0, 0};
	uint64_t pairs[6] = {1, 2, 3, 4, 5, 6}, two[2] = {0, 0};

	fp_percpu_add(&sum, copies, sizeof(sum), 3);
	UNIT_CHECK(sum.a == 116 && sum.b == 222 && sum.c == 333,
		   "percpu: every field summed, onto what was there");
	fp_percpu_add(two, pairs, sizeof(two), 3);
	UNIT_CHECK(two[0] == 1 + 3 + 5 && two[1] == 2 + 4 + 6,
		   "percpu: one copy after the other, per CPU");
	fp_percpu_add(two, pairs, sizeof(two), 0);
	UNIT_CHECK(two[0] == 9 && two[1] == 12, "percpu: no CPUs, no change");
	through_a_map();
	return unit_done();
}
