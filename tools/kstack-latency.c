// SPDX-License-Identifier: GPL-2.0
/*
 * kstack-latency: how the time of each read splits between the syscall and
 * file system, the block layer, the device and the completion path.
 */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "fastpath.h"
#include "kstack-latency.h"
#include "kstack-latency.skel.h"

static struct {
	pid_t pid;
	const char *comm;
	const char *disk;
	bool histograms;
	bool syscall_tp;
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
	int hists_fd;
	int ncpus;
	size_t value_size; /* per CPU, rounded up to 8 as the kernel does */
	void *values;	   /* ncpus * value_size */
	struct layer_stats layers[KSTACK_NR_LAYERS];
};

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
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
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
	"(tracefs)\n";

static const struct argp argp = {options,  parse_opt, NULL, doc,
				 children, NULL,      NULL};

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

/* Reads generation `g` of every layer into ctx->layers, then zeroes it. */
static int collect(struct report_ctx *ctx, __u32 g)
{
	for (__u32 l = 0; l < KSTACK_NR_LAYERS; l++) {
		struct layer_stats *ls = &ctx->layers[l];
		__u32 key = g * KSTACK_NR_LAYERS + l;
		int err;

		memset(ls, 0, sizeof(*ls));
		err = bpf_map_lookup_elem(ctx->hists_fd, &key, ctx->values);
		if (err)
			return fp_error("cannot read the histograms map: %s",
					fp_strerror(-errno));
		for (int c = 0; c < ctx->ncpus; c++) {
			const struct kstack_hist *h =
				(const void *)((char *)ctx->values +
					       c * ctx->value_size);

			ls->count += h->count;
			ls->sum_ns += h->sum_ns;
			if (h->max_ns > ls->max_ns)
				ls->max_ns = h->max_ns;
			for (int s = 0; s < FP_HIST_SLOTS; s++)
				ls->hist.slots[s] += h->slots[s];
		}
		memset(ctx->values, 0, ctx->ncpus * ctx->value_size);
		err = bpf_map_update_elem(ctx->hists_fd, &key, ctx->values,
					  BPF_ANY);
		if (err)
			return fp_error("cannot reset the histograms map: %s",
					fp_strerror(-errno));
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

static void print_json(const struct report_ctx *ctx)
{
	struct fp_json j;

	fp_json_init(&j, stdout);
	fp_json_object_begin(&j);
	fp_json_kv_double(&j, "ts", fp_wall_time(), 6);
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
		fp_json_object_end(&j);
	}
	fp_json_object_end(&j);
	fp_json_kv_double(&j, "kernel_share", kernel_share(ctx), 4);
	fp_json_kv_u64(&j, "unattributed",
		       ctx->layers[KSTACK_UNATTRIBUTED].count);
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
	if (fp_opts.json)
		print_json(ctx);
	else
		print_table(ctx);
	if (!final && !fp_opts.json)
		putchar('\n'); /* a blank line between interval tables */
	return 0;
}

int main(int argc, char **argv)
{
	struct report_ctx ctx = {};
	struct kstack_latency_bpf *skel = NULL;
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
	ctx.hists_fd = bpf_map__fd(skel->maps.hists);
	ctx.ncpus = libbpf_num_possible_cpus();
	if (ctx.ncpus <= 0) {
		err = fp_error("cannot count the possible CPUs: %s",
			       fp_strerror(ctx.ncpus));
		goto cleanup;
	}
	ctx.value_size = (sizeof(struct kstack_hist) + 7) & ~(size_t)7;
	ctx.values = calloc(ctx.ncpus, ctx.value_size);
	if (!ctx.values) {
		err = fp_error("out of memory");
		goto cleanup;
	}

	fprintf(stderr,
		"Tracing read syscalls and block I/O%s%s%s... "
		"Hit Ctrl-C to end.\n",
		env.disk ? " on " : "", env.disk ? env.disk : "",
		tgid ? " (one process)" : "");
	err = fp_report_loop(FP_LOOP_ONCE_AT_EXIT, report, &ctx);

cleanup:
	free(ctx.values);
	kstack_latency_bpf__destroy(skel);
	return err ? FP_EXIT_FAIL : FP_EXIT_OK;
}
