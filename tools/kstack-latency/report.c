// SPDX-License-Identifier: GPL-2.0
/*
 * One report: the generations swapped, the old one collected, then printed
 * as a table, JSON or Prometheus text. The figures all three derive from
 * the layers are here too.
 */
#include <stdio.h>
#include <unistd.h>

#include "kstack.h"

const char *const layer_names[] = {
	[KSTACK_SYSCALL] = "syscall",
	[KSTACK_BLOCK] = "block",
	[KSTACK_DEVICE] = "device",
	[KSTACK_COMPLETION] = "completion",
	[KSTACK_TOTAL] = "total",
	[KSTACK_UNATTRIBUTED] = "unattributed",
	[KSTACK_INCOMPLETE] = "incomplete",
};

double avg_us(const struct layer_stats *ls)
{
	return ls->count ? (double)ls->sum_ns / ls->count / 1000.0 : 0;
}

/* Interpolating inside a bucket can overshoot the largest sample. */
double pct_us(const struct layer_stats *ls, double pct)
{
	double v;

	if (!ls->count)
		return 0;
	v = fp_hist_percentile(&ls->hist, pct);
	if (v > (double)ls->max_ns)
		v = (double)ls->max_ns;
	return v / 1000.0;
}

double kernel_share(const struct report_ctx *ctx)
{
	const struct layer_stats *total = &ctx->layers[KSTACK_TOTAL];
	const struct layer_stats *dev = &ctx->layers[KSTACK_DEVICE];

	if (!total->sum_ns)
		return 0;
	return (double)(total->sum_ns - dev->sum_ns) / total->sum_ns;
}

int report(void *arg, bool final)
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
	if (ctx->opts->prometheus)
		print_prometheus(ctx);
	else if (fp_opts.json)
		print_json(ctx);
	else
		print_table(ctx);
	if (!final && !fp_opts.json && !ctx->opts->prometheus)
		putchar('\n'); /* a blank line between interval tables */
	return 0;
}
