/* SPDX-License-Identifier: GPL-2.0 */
/* Histograms over hist_slots.h buckets: percentiles and bcc-style printing. */
#ifndef FASTPATH_HISTOGRAM_H
#define FASTPATH_HISTOGRAM_H

#include <stdint.h>
#include <stdio.h>

#include "hist_slots.h"

struct fp_hist {
	uint64_t slots[FP_HIST_SLOTS];
};

void fp_hist_add(struct fp_hist *h, uint64_t value);
/* dst += src, slot by slot (e.g. summing per-CPU copies). */
void fp_hist_merge(struct fp_hist *dst, const struct fp_hist *src);
uint64_t fp_hist_count(const struct fp_hist *h);
/*
 * The value below which `pct` percent (0..100) of samples fall,
 * interpolated linearly inside the bucket; 0 for an empty histogram.
 */
double fp_hist_percentile(const struct fp_hist *h, double pct);

/*
 * The log2 rows of the bcc-style view, values divided by `divisor` first:
 * row i holds [low, high] from fp_hist_log2_range. Returns the last row
 * that is not empty, -1 if none.
 */
#define FP_HIST_LOG2_ROWS 64
int fp_hist_log2_rows(const struct fp_hist *h, uint64_t divisor,
		      uint64_t rows[FP_HIST_LOG2_ROWS]);
void fp_hist_log2_range(int row, uint64_t *low, uint64_t *high);

/*
 * bcc-style log2 view, values divided by `divisor` first (1000 turns ns
 * into usecs):
 *      usecs               : count    distribution
 *          8 -> 15         : 312      |*****                |
 */
void fp_hist_print_log2(FILE *out, const struct fp_hist *h, uint64_t divisor,
			const char *unit);

#endif
