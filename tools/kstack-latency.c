// SPDX-License-Identifier: GPL-2.0
/*
 * kstack-latency: how the time of each read splits between the syscall and
 * file system, the block layer, the device and the completion path.
 */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "fastpath.h"
#include "kstack-latency.h"
#include "kstack-latency.skel.h"
#include "prometheus.h"

static struct {
	pid_t pid;
	const char *comm;
	const char *disk;
	bool histograms;
	bool syscall_tp;
	bool prometheus;
} env;

/* What one report shows for one layer, summed over CPUs. */
struct layer_stats {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t max_ns;
	struct fp_hist hist;
};

struct report_ctx {
	struct kstack_latency_bpf *skel;
	int read_fd, other_fd; /* the read_hists and other_hists maps */
	int ncpus;
	void *values; /* ncpus values of the larger of the two */
	void *zero;   /* as many zeroes, to reset a value */
	struct layer_stats layers[KSTACK_NR_LAYERS];
	/* --prometheus: counters since the start, over every report */
	struct layer_stats totals[KSTACK_NR_LAYERS];
};

/* A per-CPU map value's stride: rounded up to 8, as the kernel does. */
#define PERCPU_STRIDE(type) ((sizeof(type) + 7) & ~(size_t)7)

static const char *const layer_names[] = {
	[KSTACK_SYSCALL] = "syscall",
	[KSTACK_BLOCK] = "block",
	[KSTACK_DEVICE] = "device",
	[KSTACK_COMPLETION] = "completion",
	[KSTACK_TOTAL] = "total",
	[KSTACK_UNATTRIBUTED] = "unattributed",
	[KSTACK_INCOMPLETE] = "incomplete",
};

enum {
	OPT_PID = 'p',
	OPT_COMM = 'c',
	OPT_DISK = 'd',
	OPT_HIST = 'H',
	OPT_SYSCALL_TP = 's',
	OPT_PROMETHEUS = 0x100,
};

static const struct argp_option options[] = {
	{"pid", OPT_PID, "PID", 0, "Only reads by process PID", 0},
	{"comm", OPT_COMM, "COMM", 0,
	 "Only reads by threads named COMM (15 characters at most)", 0},
	{"disk", OPT_DISK, "DISK", 0,
	 "Only I/O to DISK (e.g. loop3, sda or sda1)", 0},
	{"histogram", OPT_HIST, NULL, 0,
	 "Also print a log2 histogram per layer", 0},
	{"syscall-tracepoints", OPT_SYSCALL_TP, NULL, 0,
	 "Use the per-syscall tracepoints (needs tracefs): other syscalls "
	 "then cost nothing, each traced read a little more",
	 0},
	{"prometheus", OPT_PROMETHEUS, NULL, 0,
	 "Print the layers as Prometheus histograms (counts since the start)",
	 0},
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	uint64_t v;

	switch (key) {
	case OPT_PID:
		if (fp_parse_u64(arg, 1, INT_MAX, &v))
			argp_error(state,
				   "invalid PID '%s': want an integer >= 1",
				   arg);
		env.pid = (pid_t)v;
		break;
	case OPT_COMM:
		if (!*arg)
			argp_error(state, "empty COMM");
		env.comm = arg;
		break;
	case OPT_DISK:
		if (!*arg)
			argp_error(state, "empty DISK");
		env.disk = arg;
		break;
	case OPT_HIST:
		env.histograms = true;
		break;
	case OPT_SYSCALL_TP:
		env.syscall_tp = true;
		break;
	case OPT_PROMETHEUS:
		env.prometheus = true;
		break;
	case ARGP_KEY_END:
		if (env.prometheus &&
		    (fp_opts.json || env.histograms || fp_opts.timestamp))
			argp_error(state, "--prometheus and %s do not mix",
				   fp_opts.json	    ? "-j"
				   : env.histograms ? "-H"
						    : "-T");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp_child children[] = {
	{&fp_interval_argp, 0, NULL, 0},
	{&fp_output_argp, 0, NULL, 0},
	{},
};

static const char doc[] =
	"Break the latency of read syscalls down into syscall, block, device "
	"and completion time.\v"
	"EXAMPLES:\n"
	"    kstack-latency                 # all reads until Ctrl-C, one "
	"table\n"
	"    kstack-latency -d loop0 -i 1   # reads from loop0, every second\n"
	"    kstack-latency -p 1234 -H      # reads by PID 1234, histograms\n"
	"    kstack-latency -c fio -j -n 5  # fio's reads, 5 JSON lines\n"
	"    kstack-latency -s              # spare the other syscalls "
	"(tracefs)\n"
	"    kstack-latency --prometheus -d sda -i 60 -n 1 > f.$$ &&\n"
	"        mv f.$$ /var/lib/node_exporter/kstack.prom   # a textfile, "
	"for node_exporter\n";

static const struct argp argp = {
	options, parse_opt, "[INTERVAL [COUNT]]", doc, children, NULL, NULL};

/*
 * DISK (a name under /sys/class/block, optionally with /dev/ in front) to
 * the kernel's internal dev_t encoding (major << 20 | minor).
 */
static int resolve_disk(const char *name, __u32 *dev, bool *is_part)
{
	char path[PATH_MAX];
	unsigned int maj, min;
	FILE *f;
	int n;

	if (!strncmp(name, "/dev/", 5))
		name += 5;
	if (!*name || strchr(name, '/'))
		return fp_error("unknown disk '%s': want a block device name "
				"such as loop0 or sda (see lsblk)",
				name);
	snprintf(path, sizeof(path), "/sys/class/block/%s/dev", name);
	f = fopen(path, "r");
	if (!f)
		return fp_error("unknown disk '%s': no %s (see lsblk)", name,
				path);
	n = fscanf(f, "%u:%u", &maj, &min);
	fclose(f);
	if (n != 2)
		return fp_error("cannot read %s: unexpected contents", path);
	*dev = (maj << 20) | min;
	snprintf(path, sizeof(path), "/sys/class/block/%s/partition", name);
	*is_part = access(path, F_OK) == 0;
	return 0;
}

/* The process (thread group) PID belongs to; a thread ID maps to its
 * process, since the filter compares processes. */
static int resolve_pid(pid_t pid, pid_t *tgid)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return fp_error("no process with PID %d", pid);
	*tgid = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Tgid: %d", tgid) == 1)
			break;
	}
	fclose(f);
	if (*tgid <= 0)
		return fp_error("cannot read the process of PID %d from %s",
				pid, path);
	if (*tgid != pid)
		fp_debug("PID %d is a thread of process %d: filtering on %d",
			 pid, *tgid, *tgid);
	return 0;
}

/*
 * Syscall entry and exit come either from the raw sys_enter/sys_exit
 * tracepoints (the default: no tracefs, cheapest per traced read, but every
 * syscall on the machine runs a program) or from the per-syscall
 * tracepoints of the five read syscalls (-s). Only one set is loaded.
 */
static int choose_syscall_probes(struct kstack_latency_bpf *skel)
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
		bpf_program__set_autoload(raw[i], !env.syscall_tp);
	for (i = 0; i < sizeof(per) / sizeof(per[0]); i++)
		bpf_program__set_autoload(per[i], env.syscall_tp);
	if (!env.syscall_tp)
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

/* What the kernel's BTF says about it, probed before anything is loaded. */
struct kernel_caps {
	/* Since 6.9 the block layer takes its request times from a cache in
	 * the submitter's plug (struct blk_plug::cur_ktime). */
	bool plug_time_cached;
};

static bool btf_has_enum_value(const struct btf *btf, const char *enum_name,
			       const char *value)
{
	const struct btf_type *t;
	const struct btf_enum *e;
	int id;

	id = btf__find_by_name_kind(btf, enum_name, BTF_KIND_ENUM);
	if (id < 0)
		return false;
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(btf, e[i].name_off), value))
			return true;
	return false;
}

static bool btf_has_member(const struct btf *btf, const char *struct_name,
			   const char *member)
{
	const struct btf_member *m;
	const struct btf_type *t;
	int id;

	id = btf__find_by_name_kind(btf, struct_name, BTF_KIND_STRUCT);
	if (id < 0)
		return false;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(btf, m[i].name_off), member))
			return true;
	return false;
}

/* The number of arguments of raw tracepoint `name` (its btf_trace_ type). */
static int btf_tp_nargs(const struct btf *btf, const char *name)
{
	const struct btf_type *t;
	char tname[128];
	int id;

	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	id = btf__find_by_name_kind(btf, tname, BTF_KIND_TYPEDEF);
	if (id < 0)
		return -1;
	t = btf__type_by_id(btf, id);
	t = btf__type_by_id(btf, t->type); /* pointer */
	if (!t || !btf_is_ptr(t))
		return -1;
	t = btf__type_by_id(btf, t->type); /* function prototype */
	if (!t || !btf_is_func_proto(t))
		return -1;
	return btf_vlen(t) - 1; /* the first is the tracepoint's data */
}

/*
 * What the BPF side needs of the kernel, oldest first. Each is looked up in
 * the kernel's BTF, so a kernel that lacks one gets a sentence naming it
 * instead of the verifier's errno after a failed load.
 */
struct kernel_need {
	const char *version; /* the first Linux version that has it */
	const char *what;
	/* present if this enumerator is, */
	const char *enum_name, *value;
	/* or this member, */
	const char *struct_name, *member;
	/* or this raw tracepoint takes this many arguments */
	const char *tracepoint;
	int nargs;
};

static const struct kernel_need kernel_needs[] = {
	{"5.5", "BTF-typed raw tracepoints (tp_btf)", "bpf_attach_type",
	 "BPF_TRACE_RAW_TP", NULL, NULL, NULL, 0},
	{"5.11", "block tracepoints that take the bio alone", NULL, NULL, NULL,
	 NULL, "block_bio_queue", 1},
	{"5.12", "bio->bi_bdev", NULL, NULL, "bio", "bi_bdev", NULL, 0},
};

static bool kernel_has(const struct btf *btf, const struct kernel_need *n)
{
	if (n->enum_name)
		return btf_has_enum_value(btf, n->enum_name, n->value);
	if (n->struct_name)
		return btf_has_member(btf, n->struct_name, n->member);
	return btf_tp_nargs(btf, n->tracepoint) == n->nargs;
}

static int probe_kernel(struct kernel_caps *caps)
{
	const struct kernel_need *floor = NULL;
	char missing[256] = "";
	struct btf *btf;
	size_t len = 0;

	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return fp_error("needs a kernel with BTF "
				"(/sys/kernel/btf/vmlinux, "
				"CONFIG_DEBUG_INFO_BTF=y)");
	btf = btf__load_vmlinux_btf();
	if (!btf)
		return fp_error("cannot read the kernel's BTF from "
				"/sys/kernel/btf/vmlinux: %s",
				fp_strerror(-errno));
	for (size_t i = 0; i < sizeof(kernel_needs) / sizeof(kernel_needs[0]);
	     i++) {
		const struct kernel_need *n = &kernel_needs[i];
		bool ok = kernel_has(btf, n);

		fp_debug("kernel: %s (Linux %s): %s", n->what, n->version,
			 ok ? "yes" : "no");
		if (ok)
			continue;
		floor = n; /* the table is in version order */
		if (len < sizeof(missing))
			len += snprintf(missing + len, sizeof(missing) - len,
					"%s%s", len ? ", " : "", n->what);
	}
	caps->plug_time_cached = btf_has_member(btf, "blk_plug", "cur_ktime");
	btf__free(btf);
	if (floor)
		return fp_error("needs Linux %s or newer (this "
				"kernel lacks %s)",
				floor->version, missing);
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
static int choose_issue_source(struct kstack_latency_bpf *skel,
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
static int size_maps(struct kstack_latency_bpf *skel)
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

/* Reads per-CPU value `key` of map `fd` into ctx->values, then zeroes it. */
static int take_values(struct report_ctx *ctx, int fd, __u32 key)
{
	if (bpf_map_lookup_elem(fd, &key, ctx->values))
		return fp_error("cannot read the histograms map: %s",
				fp_strerror(-errno));
	if (bpf_map_update_elem(fd, &key, ctx->zero, BPF_ANY))
		return fp_error("cannot reset the histograms map: %s",
				fp_strerror(-errno));
	return 0;
}

/* Reads generation `g` of every layer into ctx->layers, then zeroes it. */
static int collect(struct report_ctx *ctx, __u32 g)
{
	const size_t rstride = PERCPU_STRIDE(struct kstack_read_hist);
	const size_t ostride = PERCPU_STRIDE(struct kstack_hist);
	int err;

	memset(ctx->layers, 0, sizeof(ctx->layers));
	err = take_values(ctx, ctx->read_fd, g);
	if (err)
		return err;
	for (int c = 0; c < ctx->ncpus; c++) {
		const struct kstack_read_hist *h =
			(const void *)((char *)ctx->values + c * rstride);

		for (int l = 0; l < KSTACK_NR_READ_LAYERS; l++) {
			struct layer_stats *ls = &ctx->layers[l];

			ls->count += h->count;
			ls->sum_ns += h->sum_ns[l];
			if (h->max_ns[l] > ls->max_ns)
				ls->max_ns = h->max_ns[l];
			for (int s = 0; s < KSTACK_READ_SLOTS; s++)
				ls->hist.slots[s] += h->slots[l][s];
		}
	}
	for (int l = KSTACK_UNATTRIBUTED; l < KSTACK_NR_LAYERS; l++) {
		struct layer_stats *ls = &ctx->layers[l];

		err = take_values(ctx, ctx->other_fd,
				  g * 2 + (l - KSTACK_UNATTRIBUTED));
		if (err)
			return err;
		for (int c = 0; c < ctx->ncpus; c++) {
			const struct kstack_hist *h =
				(const void *)((char *)ctx->values +
					       c * ostride);

			ls->count += h->count;
			ls->sum_ns += h->sum_ns;
			if (h->max_ns > ls->max_ns)
				ls->max_ns = h->max_ns;
			for (int s = 0; s < FP_HIST_SLOTS; s++)
				ls->hist.slots[s] += h->slots[s];
		}
	}
	return 0;
}

static double avg_us(const struct layer_stats *ls)
{
	return ls->count ? (double)ls->sum_ns / ls->count / 1000.0 : 0;
}

/* Interpolating inside a bucket can overshoot the largest sample. */
static double pct_us(const struct layer_stats *ls, double pct)
{
	double v;

	if (!ls->count)
		return 0;
	v = fp_hist_percentile(&ls->hist, pct);
	if (v > (double)ls->max_ns)
		v = (double)ls->max_ns;
	return v / 1000.0;
}

static double kernel_share(const struct report_ctx *ctx)
{
	const struct layer_stats *total = &ctx->layers[KSTACK_TOTAL];
	const struct layer_stats *dev = &ctx->layers[KSTACK_DEVICE];

	if (!total->sum_ns)
		return 0;
	return (double)(total->sum_ns - dev->sum_ns) / total->sum_ns;
}

/* -H in JSON: the log2 rows of the text view, in microseconds. */
static void json_hist(struct fp_json *j, const char *key,
		      const struct fp_hist *h)
{
	uint64_t rows[FP_HIST_LOG2_ROWS], low, high;
	int last = fp_hist_log2_rows(h, 1000, rows);

	fp_json_key(j, key);
	fp_json_array_begin(j);
	for (int i = 0; i <= last; i++) {
		fp_hist_log2_range(i, &low, &high);
		fp_json_object_begin(j);
		fp_json_kv_u64(j, "low_us", low);
		fp_json_kv_u64(j, "high_us", high);
		fp_json_kv_u64(j, "count", rows[i]);
		fp_json_object_end(j);
	}
	fp_json_array_end(j);
}

static void print_json(const struct report_ctx *ctx)
{
	struct fp_json j;

	fp_json_init(&j, stdout);
	fp_json_object_begin(&j);
	fp_json_kv_ts(&j, fp_wall_time());
	fp_json_kv_u64(&j, "ios", ctx->layers[KSTACK_TOTAL].count);
	fp_json_key(&j, "layers");
	fp_json_object_begin(&j);
	for (int l = 0; l <= KSTACK_TOTAL; l++) {
		const struct layer_stats *ls = &ctx->layers[l];

		fp_json_key(&j, layer_names[l]);
		fp_json_object_begin(&j);
		fp_json_kv_u64(&j, "count", ls->count);
		fp_json_kv_double(&j, "avg_us", avg_us(ls), 3);
		fp_json_kv_double(&j, "p50_us", pct_us(ls, 50), 3);
		fp_json_kv_double(&j, "p99_us", pct_us(ls, 99), 3);
		fp_json_kv_double(&j, "max_us", ls->max_ns / 1000.0, 3);
		if (env.histograms)
			json_hist(&j, "hist_us", &ls->hist);
		fp_json_object_end(&j);
	}
	fp_json_object_end(&j);
	fp_json_kv_double(&j, "kernel_share", kernel_share(ctx), 4);
	fp_json_kv_u64(&j, "unattributed",
		       ctx->layers[KSTACK_UNATTRIBUTED].count);
	if (env.histograms) /* its device time, as in the table's -H */
		json_hist(&j, "unattributed_hist_us",
			  &ctx->layers[KSTACK_UNATTRIBUTED].hist);
	fp_json_object_end(&j);
	fp_json_newline(&j);
}

/* clang-format off */
static const struct fp_column columns[] = {
	{ "LAYER", 12, true },
	{ "COUNT", 9, false },
	{ "AVG(us)", 10, false },
	{ "P50(us)", 10, false },
	{ "P99(us)", 10, false },
	{ "MAX(us)", 10, false },
	{ "SHARE", 7, false },
};
/* clang-format on */
#define NCOLS (int)(sizeof(columns) / sizeof(columns[0]))

static void print_row(const struct layer_stats *ls, const char *name,
		      const char *share)
{
	char cnt[24], avg[24], p50[24], p99[24], max[24];
	const char *vals[NCOLS] = {name, cnt, avg, p50, p99, max, share};

	snprintf(cnt, sizeof(cnt), "%llu", (unsigned long long)ls->count);
	snprintf(avg, sizeof(avg), "%.1f", avg_us(ls));
	snprintf(p50, sizeof(p50), "%.1f", pct_us(ls, 50));
	snprintf(p99, sizeof(p99), "%.1f", pct_us(ls, 99));
	snprintf(max, sizeof(max), "%.1f", ls->max_ns / 1000.0);
	fp_table_row(stdout, columns, NCOLS, vals);
}

static void print_table(const struct report_ctx *ctx)
{
	const struct layer_stats *total = &ctx->layers[KSTACK_TOTAL];
	const struct layer_stats *un = &ctx->layers[KSTACK_UNATTRIBUTED];
	const struct layer_stats *inc = &ctx->layers[KSTACK_INCOMPLETE];

	if (fp_opts.timestamp) {
		fp_print_time(stdout);
		putchar('\n');
	}
	fp_table_header(stdout, columns, NCOLS);
	for (int l = 0; l <= KSTACK_TOTAL; l++) {
		const struct layer_stats *ls = &ctx->layers[l];
		char share[16];

		if (total->sum_ns)
			snprintf(share, sizeof(share), "%.1f%%",
				 100.0 * ls->sum_ns / total->sum_ns);
		else
			snprintf(share, sizeof(share), "-");
		print_row(ls, layer_names[l], share);
	}
	printf("kernel share (total - device) / total: %.1f%%\n",
	       100.0 * kernel_share(ctx));
	printf("unattributed I/O (device time only, not tied to a traced "
	       "read):\n");
	print_row(un, "unattributed", "-");
	if (inc->count)
		printf("%llu read(s) did not wait for the block I/O they "
		       "started (readahead): not in the table\n",
		       (unsigned long long)inc->count);

	if (!env.histograms)
		return;
	for (int l = 0; l <= KSTACK_UNATTRIBUTED; l++) {
		printf("\n%s:\n", layer_names[l]);
		fp_hist_print_log2(stdout, &ctx->layers[l].hist, 1000, "usecs");
	}
}

/* Histograms per layer, with the disk as a label when -d names one. */
static void print_prometheus(struct report_ctx *ctx)
{
	const char *name = "kstack_read_latency_seconds";
	char labels[128];

	for (int l = 0; l < KSTACK_NR_LAYERS; l++) {
		struct layer_stats *t = &ctx->totals[l];
		const struct layer_stats *ls = &ctx->layers[l];

		t->count += ls->count;
		t->sum_ns += ls->sum_ns;
		fp_hist_merge(&t->hist, &ls->hist);
	}
	fp_prom_header(stdout, name, "histogram",
		       "Time of read syscalls that did block I/O, per layer "
		       "of the storage stack (total is syscall entry to "
		       "return).");
	for (int l = 0; l < KSTACK_NR_READ_LAYERS; l++) {
		labels[0] = 0;
		fp_prom_label_add(labels, sizeof(labels), "layer",
				  layer_names[l]);
		if (env.disk)
			fp_prom_label_add(labels, sizeof(labels), "disk",
					  env.disk);
		fp_prom_hist_ns(stdout, name, labels, &ctx->totals[l].hist,
				ctx->totals[l].sum_ns);
	}
	name = "kstack_unattributed_io_seconds";
	fp_prom_header(stdout, name, "histogram",
		       "Device time of block I/O not tied to a traced read "
		       "(other processes, writeback, readahead).");
	labels[0] = 0;
	if (env.disk)
		fp_prom_label_add(labels, sizeof(labels), "disk", env.disk);
	fp_prom_hist_ns(stdout, name, labels,
			&ctx->totals[KSTACK_UNATTRIBUTED].hist,
			ctx->totals[KSTACK_UNATTRIBUTED].sum_ns);
	name = "kstack_incomplete_reads_total";
	fp_prom_header(stdout, name, "counter",
		       "Reads whose block I/O was only started (readahead), "
		       "not timed.");
	printf("%s%s%s%s %llu\n", name, labels[0] ? "{" : "", labels,
	       labels[0] ? "}" : "",
	       (unsigned long long)ctx->totals[KSTACK_INCOMPLETE].count);
	fflush(stdout);
}

static int report(void *arg, bool final)
{
	struct report_ctx *ctx = arg;
	__u32 old = ctx->skel->bss->gen;
	int err;

	(void) final;
	/* New samples go to the other generation while we read this one;
	 * give programs already running a moment to finish. */
	__atomic_store_n(&ctx->skel->bss->gen, !old, __ATOMIC_SEQ_CST);
	usleep(2000);
	err = collect(ctx, old);
	if (err)
		return err;
	if (env.prometheus)
		print_prometheus(ctx);
	else if (fp_opts.json)
		print_json(ctx);
	else
		print_table(ctx);
	if (!final && !fp_opts.json && !env.prometheus)
		putchar('\n'); /* a blank line between interval tables */
	return 0;
}

int main(int argc, char **argv)
{
	struct report_ctx ctx = {};
	struct kstack_latency_bpf *skel = NULL;
	struct kernel_caps kernel = {};
	bool is_part = false;
	pid_t tgid = 0;
	__u32 dev = 0;
	int err;

	fp_init("kstack-latency");
	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return FP_EXIT_USAGE;

	if (env.disk && resolve_disk(env.disk, &dev, &is_part))
		return FP_EXIT_FAIL;
	if (env.pid && resolve_pid(env.pid, &tgid))
		return FP_EXIT_FAIL;
	if (fp_check_privileges(FP_CAP_BPF | FP_CAP_PERFMON))
		return FP_EXIT_FAIL;
	if (probe_kernel(&kernel))
		return FP_EXIT_FAIL;
	fp_bump_memlock();

	skel = kstack_latency_bpf__open();
	if (!skel) {
		err = fp_error("cannot open the BPF object: %s",
			       fp_strerror(-errno));
		goto cleanup;
	}
	skel->rodata->filter_tgid = (__u32)tgid;
	if (env.comm) {
		skel->rodata->filter_comm_on = true;
		strncpy((char *)skel->rodata->filter_comm, env.comm,
			sizeof(skel->rodata->filter_comm) - 1);
	}
	skel->rodata->filter_dev = dev;
	skel->rodata->filter_dev_part = is_part;
	err = choose_syscall_probes(skel);
	if (err)
		goto cleanup;
	err = choose_issue_source(skel, &kernel, env.disk, is_part);
	if (err)
		goto cleanup;
	err = size_maps(skel);
	if (err)
		goto cleanup;

	err = kstack_latency_bpf__load(skel);
	if (err) {
		err = fp_error("cannot load the BPF programs: %s (run with -v "
			       "for the verifier log)",
			       fp_strerror(err));
		goto cleanup;
	}
	err = kstack_latency_bpf__attach(skel);
	if (err) {
		err = fp_error("cannot attach to the syscall and block "
			       "tracepoints: %s (a kernel with BTF and "
			       "tp_btf is required)",
			       fp_strerror(err));
		goto cleanup;
	}

	ctx.skel = skel;
	ctx.read_fd = bpf_map__fd(skel->maps.read_hists);
	ctx.other_fd = bpf_map__fd(skel->maps.other_hists);
	ctx.ncpus = libbpf_num_possible_cpus();
	if (ctx.ncpus <= 0) {
		err = fp_error("cannot count the possible CPUs: %s",
			       fp_strerror(ctx.ncpus));
		goto cleanup;
	}
	/* The read histograms are the larger value of the two maps. */
	ctx.values = calloc(ctx.ncpus, PERCPU_STRIDE(struct kstack_read_hist));
	ctx.zero = calloc(ctx.ncpus, PERCPU_STRIDE(struct kstack_read_hist));
	if (!ctx.values || !ctx.zero) {
		err = fp_error("out of memory");
		goto cleanup;
	}

	fprintf(stderr,
		"Tracing read syscalls and block I/O%s%s%s... "
		"Hit Ctrl-C to end.\n",
		env.disk ? " on " : "", env.disk ? env.disk : "",
		tgid ? " (one process)" : "");
	err = fp_report_loop(FP_LOOP_ONCE_AT_EXIT, report, &ctx);
	if (skel->bss->no_issue_time)
		fp_warn("%llu request(s) of traced reads carried no issue time "
			"(a queue without I/O statistics): their block time "
			"is counted as device time",
			(unsigned long long)skel->bss->no_issue_time);

cleanup:
	free(ctx.values);
	free(ctx.zero);
	kstack_latency_bpf__destroy(skel);
	return err ? FP_EXIT_FAIL : FP_EXIT_OK;
}
