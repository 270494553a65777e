// SPDX-License-Identifier: GPL-2.0
/*
 * What is loaded, and how big, decided before the load: the syscall
 * tracepoints, where a request's issue time comes from, the maps' sizes.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "kstack.h"

/*
 * Syscall entry and exit come either from the raw sys_enter/sys_exit
 * tracepoints (the default: no tracefs, cheapest per traced read, but every
 * syscall on the machine runs a program) or from the per-syscall
 * tracepoints of the five read syscalls (-s). Only one set is loaded.
 */
int choose_syscall_probes(struct kstack_latency_bpf *skel, bool syscall_tp)
{
	struct bpf_program *raw[] = {skel->progs.kstack_sys_enter,
				     skel->progs.kstack_sys_exit};
	struct bpf_program *per[] = {
		skel->progs.kstack_enter_read,
		skel->progs.kstack_exit_read,
		skel->progs.kstack_enter_pread64,
		skel->progs.kstack_exit_pread64,
		skel->progs.kstack_enter_readv,
		skel->progs.kstack_exit_readv,
		skel->progs.kstack_enter_preadv,
		skel->progs.kstack_exit_preadv,
		skel->progs.kstack_enter_preadv2,
		skel->progs.kstack_exit_preadv2,
	};
	size_t i;
	int err;

	for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
		bpf_program__set_autoload(raw[i], !syscall_tp);
	for (i = 0; i < sizeof(per) / sizeof(per[0]); i++)
		bpf_program__set_autoload(per[i], syscall_tp);
	if (!syscall_tp)
		return 0;
	err = fp_mount_tracefs();
	if (err)
		return fp_error(
			"cannot mount tracefs at /sys/kernel/tracing: %s "
			"(-s needs it; without -s none is needed)",
			fp_strerror(err));
	if (!fp_probe_tracepoint("syscalls", "sys_enter_pread64"))
		return fp_error(
			"no syscalls:sys_enter_* tracepoints in this "
			"kernel (CONFIG_FTRACE_SYSCALLS): run without -s");
	return 0;
}

/*
 * Does the queue of /sys/block/DISK keep I/O statistics (QUEUE_FLAG_STATS),
 * so that its requests carry their issue time? wbt, on by default for
 * request-based disks, keeps them for the queue's lifetime (its sysfs file
 * reads only where it is set up); bfq and kyber keep them too.
 */
static bool queue_keeps_stats(const char *disk)
{
	char path[PATH_MAX], buf[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/block/%s/queue/wbt_lat_usec", disk);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n > 0)
			return true;
	}
	snprintf(path, sizeof(path), "/sys/block/%s/queue/scheduler", disk);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return strstr(buf, "[bfq]") || strstr(buf, "[kyber]");
}

/* Every request-based disk traced (DISK of -d, or all) keeps them. */
static bool traced_queues_keep_stats(const char *disk, bool is_part)
{
	char path[PATH_MAX], real[PATH_MAX];
	struct dirent *de;
	bool all = true;
	DIR *d;

	if (disk) {
		/* A partition's queue is its disk's, one directory up. */
		if (!strncmp(disk, "/dev/", 5))
			disk += 5;
		snprintf(path, sizeof(path), "/sys/class/block/%s", disk);
		if (!realpath(path, real))
			return false;
		if (is_part)
			*strrchr(real, '/') = 0;
		return queue_keeps_stats(strrchr(real, '/') + 1);
	}
	d = opendir("/sys/block");
	if (!d)
		return false;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/mq", de->d_name);
		if (access(path, F_OK))
			continue; /* bio-based (zram, dm): no requests */
		if (!queue_keeps_stats(de->d_name)) {
			fp_debug("%s keeps no I/O statistics", de->d_name);
			all = false;
		}
	}
	closedir(d);
	return all;
}

/*
 * Where the issue time of a request comes from: rq->io_start_time_ns, read
 * at completion, costs nothing more, but is exact only up to 6.8 and only
 * on queues that keep statistics; elsewhere a block_rq_issue program stamps
 * it. FP_KSTACK_FORCE_LEGACY=1 takes the request's time as on kernels
 * before 6.9, so that path is tested on newer ones too (where reads issued
 * from a plug flush then show no block time); not for users.
 */
int choose_issue_source(struct kstack_latency_bpf *skel,
			const struct kernel_caps *caps, const char *disk,
			bool is_part)
{
	const char *force = getenv("FP_KSTACK_FORCE_LEGACY");
	bool cached = caps->plug_time_cached;
	bool issue_tp;

	if (force && *force && strcmp(force, "0")) {
		fp_debug("FP_KSTACK_FORCE_LEGACY: issue times as before 6.9");
		cached = false;
	}
	issue_tp = cached || !traced_queues_keep_stats(disk, is_part);
	skel->rodata->issue_tp = issue_tp;
	bpf_program__set_autoload(skel->progs.kstack_rq_issue, issue_tp);
	fp_debug("issue times from %s",
		 issue_tp ? "block_rq_issue"
			  : "rq->io_start_time_ns at completion");
	return 0;
}

/*
 * The per-thread read entries: one per possible thread ID up to 64 Ki of
 * them (96 bytes each), so that no two threads share one; past that (pid_max
 * is 4 Mi where systemd raises it) threads share and a second entry per
 * thread takes the collisions. The table of I/O in flight: 32 buckets of 4
 * slots per CPU, at least 128 (16 KiB, small enough for the kernel's
 * direct map, where a lookup misses no TLB).
 */
int size_maps(struct kstack_latency_bpf *skel)
{
	unsigned long pid_max = 32768;
	unsigned int bits = 10, bucket_bits = 7;
	int ncpus = libbpf_num_possible_cpus();
	FILE *f;
	int err;

	while (bucket_bits < 14 && ncpus > 0 && (1 << bucket_bits) < 32 * ncpus)
		bucket_bits++;
	skel->rodata->bucket_bits = bucket_bits;
	err = bpf_map__set_max_entries(skel->maps.slots, 1U << bucket_bits);
	if (err)
		return fp_error("cannot size the slots map: %s",
				fp_strerror(err));

	f = fopen("/proc/sys/kernel/pid_max", "r");
	if (f) {
		if (fscanf(f, "%lu", &pid_max) != 1)
			pid_max = 32768;
		fclose(f);
	}
	while (bits < 16 && (1UL << bits) < pid_max)
		bits++;
	skel->rodata->tid_bits = bits;
	err = bpf_map__set_max_entries(skel->maps.reads, 1U << bits);
	if (err)
		return fp_error("cannot size the reads map: %s",
				fp_strerror(err));
	fp_debug("reads map: %u entries for pid_max %lu; slots map: %u buckets",
		 1U << bits, pid_max, 1U << bucket_bits);
	return 0;
}
