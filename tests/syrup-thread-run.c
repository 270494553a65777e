// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-thread-run: prototype loader of the thread layer (bpf/syrup-thread)
 * until syrup-steer attach --layer thread exists.
 *
 *   syrup-thread-run POLICY CPULIST CGROUP SECS   # rr|sita|stall, "0,1"
 *
 * Loads the scheduler, switches CGROUP's threads to SCHED_EXT, holds SECS
 * seconds, prints the sched_ext state and per-executor counters, detaches.
 *   syrup-thread-run work NTHREADS MS  # spin NTHREADS threads, print CPUs
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "syrup-thread.h"
#include "syrup-thread.skel.h"

#define SCHED_EXT 7

static void state(char *buf, size_t len)
{
	FILE *f = fopen("/sys/kernel/sched_ext/state", "r");

	snprintf(buf, len, "missing");
	if (f) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

/* Every thread of the cgroup onto SCHED_EXT: only they meet the policy. */
static int switch_cgroup(const char *cg)
{
	char path[512];
	struct sched_param sp = {0};
	FILE *f;
	int tid, n = 0;

	snprintf(path, sizeof(path), "%s/cgroup.threads", cg);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%d", &tid) == 1)
		if (sched_getscheduler(tid) != SCHED_EXT) {
			if (!sched_setscheduler(tid, SCHED_EXT, &sp))
				n++;
			else
				fprintf(stderr, "tid %d: %s\n", tid,
					strerror(errno));
		}
	fclose(f);
	return n;
}

static int ms;

/* A thread's CPU is where it spent most of its time (not most samples: a
 * thread that shares a CPU with others takes fewer samples per second). */
static void *spin(void *arg)
{
	long long ns[64] = {0}, elapsed;
	struct timespec t0, prev, t;
	int best = 0;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	prev = t0;
	do {
		int c = sched_getcpu();

		clock_gettime(CLOCK_MONOTONIC, &t);
		if (c >= 0 && c < 64)
			ns[c] += (t.tv_sec - prev.tv_sec) * 1000000000LL +
				 (t.tv_nsec - prev.tv_nsec);
		prev = t;
		elapsed = (t.tv_sec - t0.tv_sec) * 1000 +
			  (t.tv_nsec - t0.tv_nsec) / 1000000;
	} while (elapsed < ms);
	for (int i = 1; i < 64; i++)
		if (ns[i] > ns[best])
			best = i;
	printf("thread cpu %d\n", best);
	return NULL;
}

/* Threads inherit their creator's policy: wait (up to 10 s) until the
 * loader has switched this process, so that every thread starts under the
 * policy instead of racing the loader's scan of the cgroup. */
static int work(int n, int msecs)
{
	pthread_t th[64];

	for (int i = 0; i < 1000 && sched_getscheduler(0) != SCHED_EXT; i++)
		usleep(10000);
	ms = msecs;
	for (int i = 0; i < n && i < 64; i++)
		pthread_create(&th[i], NULL, spin, NULL);
	for (int i = 0; i < n && i < 64; i++)
		pthread_join(th[i], NULL);
	return 0;
}

int main(int argc, char **argv)
{
	struct syrup_thread_conf c = {0};
	struct syrup_thread_bpf *skel = NULL;
	struct bpf_link *link = NULL;
	char st[64], *list, *tok;
	int ncpu = libbpf_num_possible_cpus(), err = 1;
	__u32 zero = 0;

	setlinebuf(stdout);
	if (argc == 4 && !strcmp(argv[1], "work"))
		return work(atoi(argv[2]), atoi(argv[3]));
	if (argc != 5) {
		fprintf(stderr, "usage: syrup-thread-run rr|sita|stall CPUS "
				"CGROUP SECS\n");
		return 64;
	}
	if (access("/sys/kernel/sched_ext", F_OK)) {
		fprintf(stderr, "syrup-thread-run: the thread layer needs "
				"Linux 6.13 or newer with sched_ext "
				"(CONFIG_SCHED_CLASS_EXT)\n");
		return 1;
	}
	c.builtin = !strcmp(argv[1], "sita")	? SYRUP_THREAD_SITA
		    : !strcmp(argv[1], "stall") ? SYRUP_THREAD_STALL
						: SYRUP_THREAD_RR;
	c.reserved = 1;
	list = strdup(argv[2]);
	for (tok = strtok(list, ","); tok && c.nr_executors < 64;
	     tok = strtok(NULL, ","))
		c.cpus[c.nr_executors++] = (__u32)atoi(tok);
	free(list);
	skel = syrup_thread_bpf__open();
	if (!skel)
		goto out;
	bpf_program__set_flags(skel->progs.syrup_init, BPF_F_SLEEPABLE);
	if (syrup_thread_bpf__load(skel)) {
		fprintf(stderr,
			"syrup-thread-run: cannot load the scheduler "
			"(Linux 6.13 or newer with sched_ext needed)\n");
		goto out;
	}
	bpf_map_update_elem(bpf_map__fd(skel->maps.conf), &zero, &c, BPF_ANY);
	link = bpf_map__attach_struct_ops(skel->maps.syrup_thread_ops);
	if (!link) {
		fprintf(stderr, "syrup-thread-run: cannot attach: %s\n",
			strerror(errno));
		goto out;
	}
	state(st, sizeof(st));
	printf("state %s\n", st);
	/* Threads that join the cgroup later are switched as they appear. */
	for (int i = 0, sw = 0; i < atoi(argv[4]) * 10; i++) {
		sw += switch_cgroup(argv[3]);
		if (i == atoi(argv[4]) * 10 - 1)
			printf("switched %d\n", sw);
		usleep(100000);
	}
	state(st, sizeof(st));
	printf("state %s\n", st);
	for (__u32 i = 0; i <= c.nr_executors; i++) {
		__u32 k = i < c.nr_executors ? i : SYRUP_THREAD_MAX_EXEC;
		struct syrup_thread_stat v[ncpu], sum = {0};

		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &k, v))
			continue;
		for (int j = 0; j < ncpu; j++) {
			sum.enqueued += v[j].enqueued;
			sum.ran += v[j].ran;
			sum.fallback += v[j].fallback;
		}
		if (k == SYRUP_THREAD_MAX_EXEC)
			printf("default fallback %llu\n",
			       (unsigned long long)sum.fallback);
		else
			printf("exec %u cpu %u enqueued %llu ran %llu\n", i,
			       c.cpus[i], (unsigned long long)sum.enqueued,
			       (unsigned long long)sum.ran);
	}
	err = 0;
out:
	bpf_link__destroy(link);
	syrup_thread_bpf__destroy(skel);
	state(st, sizeof(st));
	printf("after detach %s\n", st);
	return err;
}
