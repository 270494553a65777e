// SPDX-License-Identifier: GPL-2.0
/* --prometheus: the layers as histograms, counted since the start. */
#include <stdio.h>

#include "kstack.h"
#include "prometheus.h"

/* Histograms per layer, with the disk as a label when -d names one. */
void print_prometheus(struct report_ctx *ctx)
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
		if (ctx->opts->disk)
			fp_prom_label_add(labels, sizeof(labels), "disk",
					  ctx->opts->disk);
		fp_prom_hist_ns(stdout, name, labels, &ctx->totals[l].hist,
				ctx->totals[l].sum_ns);
	}
	name = "kstack_unattributed_io_seconds";
	fp_prom_header(stdout, name, "histogram",
		       "Device time of block I/O not tied to a traced read "
		       "(other processes, writeback, readahead).");
	labels[0] = 0;
	if (ctx->opts->disk)
		fp_prom_label_add(labels, sizeof(labels), "disk",
				  ctx->opts->disk);
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
