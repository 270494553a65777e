// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-thread-bench: the thread layer's benchmark workload (bench/syrup-
 * thread). A pool of LONG threads serves long requests (they compute
 * without pause) and one thread serves short requests: one arrives every
 * 2 ms (an absolute timer) and takes 20 us of work. The short thread marks
 * itself "short" in the thread layer's pinned hints map when it exists, as
 * an application would. Prints the short requests' response time (arrival
 * to completion) and the CPU most of them ran on:
 * "short n N p50_us X p99_us Y cpu C (P%)".
 *
 *   syrup-thread-bench LONG SECS [wait]   # wait: until switched to
 *                                         # SCHED_EXT by attach (20 s max)
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "syrup-thread.h"

#define SCHED_EXT  7
#define PERIOD_NS  2000000LL
#define WORK_NS	   20000LL
#define MAX_LONG   16
#define MAX_SAMPLE 100000

static atomic_bool stop;
static long long lat_ns[MAX_SAMPLE];
static int nr_lat;
static int on_cpu[64]; /* the CPU each short request ran on */

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void burn(long long ns)
{
	long long end = now_ns() + ns;

	while (now_ns() < end)
		;
}

static void *long_worker(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		burn(1000000); /* one long request: 1 ms, back to back */
	return NULL;
}

static void *short_worker(void *arg)
{
	int fd = bpf_obj_get(SYRUP_THREAD_PIN_DIR "/hints");
	long long secs = *(long long *)arg, start, next, end;
	struct timespec ts;

	if (fd >= 0) {
		__u32 tid = (__u32)syscall(SYS_gettid), h = SYRUP_HINT_SHORT;

		bpf_map_update_elem(fd, &tid, &h, BPF_ANY);
		close(fd);
	}
	start = now_ns();
	next = start + PERIOD_NS;
	end = start + secs * 1000000000LL;
	while (next < end && nr_lat < MAX_SAMPLE) {
		ts.tv_sec = next / 1000000000LL;
		ts.tv_nsec = next % 1000000000LL;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		burn(WORK_NS);
		lat_ns[nr_lat++] = now_ns() - next;
		if (sched_getcpu() >= 0 && sched_getcpu() < 64)
			on_cpu[sched_getcpu()]++;
		next += PERIOD_NS;
		/* a request that is late does not shift the ones after it */
		while (next < now_ns())
			next += PERIOD_NS;
	}
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	pthread_t lt[MAX_LONG], st;
	long long secs;
	int nlong, cpu = 0;

	setlinebuf(stdout);
	if (argc < 3) {
		fprintf(stderr, "usage: syrup-thread-bench LONG SECS [wait]\n");
		return 64;
	}
	nlong = atoi(argv[1]);
	secs = atoll(argv[2]);
	if (nlong < 0 || nlong > MAX_LONG || secs < 1)
		return 64;
	if (argc > 3 && !strcmp(argv[3], "wait"))
		for (int i = 0; i < 2000 && sched_getscheduler(0) != SCHED_EXT;
		     i++)
			usleep(10000);
	for (int i = 0; i < nlong; i++)
		pthread_create(&lt[i], NULL, long_worker, NULL);
	pthread_create(&st, NULL, short_worker, &secs);
	pthread_join(st, NULL);
	atomic_store(&stop, true);
	for (int i = 0; i < nlong; i++)
		pthread_join(lt[i], NULL);
	if (!nr_lat)
		return 1;
	qsort(lat_ns, (size_t)nr_lat, sizeof(lat_ns[0]), cmp);
	for (int i = 1; i < 64; i++)
		if (on_cpu[i] > on_cpu[cpu])
			cpu = i;
	printf("short n %d p50_us %.1f p99_us %.1f cpu %d (%d%%)\n", nr_lat,
	       lat_ns[nr_lat / 2] / 1000.0, lat_ns[nr_lat * 99 / 100] / 1000.0,
	       cpu, on_cpu[cpu] * 100 / nr_lat);
	return 0;
}
