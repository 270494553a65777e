// SPDX-License-Identifier: GPL-2.0
/* The text output: a table of the layers, then -H's histograms. */
#include <stdio.h>

#include "kstack.h"

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

void print_table(const struct report_ctx *ctx)
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

	if (!ctx->opts->histograms)
		return;
	for (int l = 0; l <= KSTACK_UNATTRIBUTED; l++) {
		printf("\n%s:\n", layer_names[l]);
		fp_hist_print_log2(stdout, &ctx->layers[l].hist, 1000, "usecs");
	}
}
