// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-thread-run: the workload of the thread layer's tests (the layer
 * itself is `syrup-steer attach --layer thread`).
 *
 *   syrup-thread-run work NTHREADS MS  # spin NTHREADS threads, print CPUs
 *   syrup-thread-run hint NTHREADS MS  # the same; thread 0 first marks
 *                                      # itself "short" in the pinned hints
 *                                      # map, as an application would
 *
 * Both wait (up to 20 s) until attach has switched this process to
 * SCHED_EXT, so that every thread starts under the policy. Each thread
 * prints "thread short|long cpu N": the CPU it spent most of its time on.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "syrup-thread.h"

#define SCHED_EXT 7

static int ms;
static int hints_fd = -1;

/* A thread's CPU is where it spent most of its time (not most samples: a
 * thread that shares a CPU with others takes fewer samples per second). */
static void *spin(void *arg)
{
	long long ns[64] = {0}, elapsed;
	struct timespec t0, prev, t;
	bool is_short = arg != NULL;
	int best = 0;

	if (is_short && hints_fd >= 0) {
		__u32 tid = (__u32)syscall(SYS_gettid), h = SYRUP_HINT_SHORT;

		bpf_map_update_elem(hints_fd, &tid, &h, BPF_ANY);
		usleep(1000); /* enqueued again: placed by the new hint */
	}
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
	printf("thread %s cpu %d\n", is_short ? "short" : "long", best);
	return NULL;
}

static int work(int n, int msecs, bool hint)
{
	pthread_t th[64];

	for (int i = 0; i < 2000 && sched_getscheduler(0) != SCHED_EXT; i++)
		usleep(10000);
	if (sched_getscheduler(0) != SCHED_EXT)
		fprintf(stderr, "syrup-thread-run: never switched to "
				"SCHED_EXT\n");
	if (hint) {
		hints_fd = bpf_obj_get(SYRUP_THREAD_PIN_DIR "/hints");
		if (hints_fd < 0)
			perror("syrup-thread-run: " SYRUP_THREAD_PIN_DIR
			       "/hints");
	}
	ms = msecs;
	for (int i = 0; i < n && i < 64; i++)
		pthread_create(&th[i], NULL, spin,
			       hint && i == 0 ? (void *)1 : NULL);
	for (int i = 0; i < n && i < 64; i++)
		pthread_join(th[i], NULL);
	return 0;
}

int main(int argc, char **argv)
{
	setlinebuf(stdout);
	if (argc == 4 && !strcmp(argv[1], "work"))
		return work(atoi(argv[2]), atoi(argv[3]), false);
	if (argc == 4 && !strcmp(argv[1], "hint"))
		return work(atoi(argv[2]), atoi(argv[3]), true);
	fprintf(stderr, "usage: syrup-thread-run work|hint NTHREADS MS\n");
	return 64;
}
