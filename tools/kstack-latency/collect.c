// SPDX-License-Identifier: GPL-2.0
/*
 * The histograms read back: both per-CPU maps of one generation summed
 * over CPUs into one struct layer_stats per layer, and zeroed for reuse.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kstack.h"

/* A per-CPU map value's stride: rounded up to 8, as the kernel does. */
#define PERCPU_STRIDE(type) ((sizeof(type) + 7) & ~(size_t)7)

int report_ctx_init(struct report_ctx *ctx, struct kstack_latency_bpf *skel,
		    const struct kstack_opts *opts)
{
	ctx->opts = opts;
	ctx->skel = skel;
	ctx->read_fd = bpf_map__fd(skel->maps.read_hists);
	ctx->other_fd = bpf_map__fd(skel->maps.other_hists);
	ctx->ncpus = libbpf_num_possible_cpus();
	if (ctx->ncpus <= 0)
		return fp_error("cannot count the possible CPUs: %s",
				fp_strerror(ctx->ncpus));
	/* The read histograms are the larger value of the two maps. */
	ctx->values =
		calloc(ctx->ncpus, PERCPU_STRIDE(struct kstack_read_hist));
	ctx->zero = calloc(ctx->ncpus, PERCPU_STRIDE(struct kstack_read_hist));
	if (!ctx->values || !ctx->zero)
		return fp_error("out of memory");
	return 0;
}

void report_ctx_free(struct report_ctx *ctx)
{
	free(ctx->values);
	free(ctx->zero);
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
int collect(struct report_ctx *ctx, __u32 g)
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
