/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kstack-latency's files and what they give each other: main.c runs the
 * lifecycle, options.c reads the command line, target.c resolves -d and -p,
 * kernel.c probes the kernel's BTF, setup.c chooses programs and sizes maps
 * before the load, collect.c reads the histograms back, report.c turns them
 * into one report printed by table.c, json.c or prometheus.c.
 */
#ifndef KSTACK_LATENCY_PRIVATE_H
#define KSTACK_LATENCY_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>

#include "fastpath.h"
#include "kstack-latency.h"
#include "kstack-latency.skel.h"

/* ---- options.c: the command line -------------------------------------- */

struct kstack_opts {
	pid_t pid;
	const char *comm;
	const char *disk;
	bool histograms;
	bool syscall_tp;
	bool prometheus;
};

/* Fills opts (and fp_opts); argp's error code, nonzero for a usage error. */
int kstack_parse_args(int argc, char **argv, struct kstack_opts *opts);

/* ---- target.c: what -d and -p name ------------------------------------ */

/* DISK to the kernel's dev_t encoding, and whether it is a partition. */
int resolve_disk(const char *name, __u32 *dev, bool *is_part);
/* The process PID belongs to. */
int resolve_pid(pid_t pid, pid_t *tgid);

/* ---- kernel.c: what the kernel's BTF says ----------------------------- */

/* What the kernel's BTF says about it, probed before anything is loaded. */
struct kernel_caps {
	/* Since 6.9 the block layer takes its request times from a cache in
	 * the submitter's plug (struct blk_plug::cur_ktime). */
	bool plug_time_cached;
};

/* Fails, saying what is missing, on a kernel the BPF side cannot run on. */
int probe_kernel(struct kernel_caps *caps);

/* ---- setup.c: the programs and maps chosen before the load ------------ */

int choose_syscall_probes(struct kstack_latency_bpf *skel, bool syscall_tp);
int choose_issue_source(struct kstack_latency_bpf *skel,
			const struct kernel_caps *caps, const char *disk,
			bool is_part);
int size_maps(struct kstack_latency_bpf *skel);

/* ---- collect.c: the histograms read back ------------------------------ */

/* What one report shows for one layer, summed over CPUs. */
struct layer_stats {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t max_ns;
	struct fp_hist hist;
};

struct report_ctx {
	const struct kstack_opts *opts;
	struct kstack_latency_bpf *skel;
	int read_fd, other_fd; /* the read_hists and other_hists maps */
	int ncpus;
	void *values; /* ncpus values of the larger of the two */
	void *zero;   /* as many zeroes, to reset a value */
	struct layer_stats layers[KSTACK_NR_LAYERS];
	/* --prometheus: counters since the start, over every report */
	struct layer_stats totals[KSTACK_NR_LAYERS];
};

/* The maps' descriptors and the buffers to read them (a loaded skel). */
int report_ctx_init(struct report_ctx *ctx, struct kstack_latency_bpf *skel,
		    const struct kstack_opts *opts);
void report_ctx_free(struct report_ctx *ctx);
/* Reads generation `g` of every layer into ctx->layers, then zeroes it. */
int collect(struct report_ctx *ctx, __u32 g);

/* ---- report.c: one report --------------------------------------------- */

/* Indexed by layer: its name in every output. */
extern const char *const layer_names[];

double avg_us(const struct layer_stats *ls);
double pct_us(const struct layer_stats *ls, double pct);
double kernel_share(const struct report_ctx *ctx);
/* fp_report_loop's callback: a report of the time since the last one. */
int report(void *arg, bool final);

/* ---- table.c, json.c, prometheus.c: the three outputs ----------------- */

void print_table(const struct report_ctx *ctx);
void print_json(const struct report_ctx *ctx);
void print_prometheus(struct report_ctx *ctx);

#endif
