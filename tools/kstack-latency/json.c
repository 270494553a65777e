// SPDX-License-Identifier: GPL-2.0
/* -j: one JSON object per report. */
#include <stdio.h>

#include "kstack.h"

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

void print_json(const struct report_ctx *ctx)
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
		if (ctx->opts->histograms)
			json_hist(&j, "hist_us", &ls->hist);
		fp_json_object_end(&j);
	}
	fp_json_object_end(&j);
	fp_json_kv_double(&j, "kernel_share", kernel_share(ctx), 4);
	fp_json_kv_u64(&j, "unattributed",
		       ctx->layers[KSTACK_UNATTRIBUTED].count);
	if (ctx->opts->histograms) /* its device time, as in the table's -H */
		json_hist(&j, "unattributed_hist_us",
			  &ctx->layers[KSTACK_UNATTRIBUTED].hist);
	fp_json_object_end(&j);
	fp_json_newline(&j);
}
