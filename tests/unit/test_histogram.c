// SPDX-License-Identifier: GPL-2.0
/* Log-linear buckets, percentiles, and the bcc-style log2 view. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "histogram.h"
#include "unit.h"

static bool slots_consistent(void)
{
	/* Every value lands in a bucket whose range contains it, and bucket
	 * bounds grow monotonically. */
	for (uint64_t v = 0; v < 100000; v = v < 64 ? v + 1 : v * 3 / 2 + 1) {
		unsigned int s = fp_hist_slot(v);

		if (s >= FP_HIST_SLOTS || fp_hist_slot_low(s) > v ||
		    (s + 1 < FP_HIST_SLOTS && fp_hist_slot_low(s + 1) <= v))
			return false;
	}
	for (unsigned int s = 1; s < FP_HIST_SLOTS; s++)
		if (fp_hist_slot_low(s) <= fp_hist_slot_low(s - 1))
			return false;
	return fp_hist_slot(UINT64_MAX) == FP_HIST_SLOTS - 1;
}

static bool width_bounded(void)
{
	for (unsigned int s = FP_HIST_SUBS; s + 1 < FP_HIST_SLOTS; s++) {
		double low = (double)fp_hist_slot_low(s);
		double width = (double)fp_hist_slot_low(s + 1) - low;

		if (width / low > 1.0 / FP_HIST_SUBS + 1e-9)
			return false;
	}
	return true;
}

static double rel_err(double got, double want)
{
	return fabs(got - want) / want;
}

int main(void)
{
	struct fp_hist h = {0};
	char buf[4096];
	FILE *f;

	UNIT_CHECK(slots_consistent(), "hist: every value falls in its bucket");
	UNIT_CHECK(width_bounded(), "hist: bucket width <= 1/16 of its value");
	UNIT_CHECK(fp_hist_slot(7) == 7 && fp_hist_slot(16) == 16 &&
			   fp_hist_slot(31) == 31 && fp_hist_slot(32) == 32,
		   "hist: small values are exact");

	UNIT_CHECK(fp_hist_percentile(&h, 50) == 0, "hist: empty gives 0");

	for (uint64_t v = 1; v <= 10000; v++)
		fp_hist_add(&h, v * 1000); /* 1 us .. 10 ms in ns */
	UNIT_CHECK(fp_hist_count(&h) == 10000, "hist: count");
	UNIT_CHECK(rel_err(fp_hist_percentile(&h, 50), 5000000) < 0.04,
		   "hist: p50 of uniform 1..10000 us within 4%% (got %.0f)",
		   fp_hist_percentile(&h, 50));
	UNIT_CHECK(rel_err(fp_hist_percentile(&h, 99), 9900000) < 0.04,
		   "hist: p99 within 4%% (got %.0f)",
		   fp_hist_percentile(&h, 99));
	UNIT_CHECK(fp_hist_percentile(&h, 100) <= 10000000 * 1.07 &&
			   fp_hist_percentile(&h, 0) >= 900,
		   "hist: p0 and p100 near the extremes");

	struct fp_hist one = {0}, two = {0};
	for (int i = 0; i < 9; i++)
		fp_hist_add(&one, 5);
	fp_hist_add(&two, 1000000);
	fp_hist_merge(&one, &two);
	UNIT_CHECK(fp_hist_percentile(&one, 50) == 5 &&
			   fp_hist_percentile(&one, 90) == 5 &&
			   fp_hist_percentile(&one, 99) > 900000,
		   "hist: merge, exact small values, outlier only at the tail");

	struct fp_hist us = {0};
	fp_hist_add(&us, 1500); /* 1 us */
	fp_hist_add(&us, 9000); /* 9 us */
	fp_hist_add(&us, 9500); /* 9 us */
	f = fmemopen(buf, sizeof(buf), "w");
	fp_hist_print_log2(f, &us, 1000, "usecs");
	fclose(f);
	UNIT_CHECK(strstr(buf, "usecs") &&
			   strstr(buf, ": count    distribution") &&
			   strstr(buf, "0 -> 1          : 1        "
				       "|***************               |") &&
			   strstr(buf, "8 -> 15         : 2        "
				       "|******************************|"),
		   "hist: bcc-style log2 rows in usecs");

	uint64_t rows[FP_HIST_LOG2_ROWS], low, high;
	int last = fp_hist_log2_rows(&us, 1000, rows);

	fp_hist_log2_range(3, &low, &high);
	UNIT_CHECK(
		last == 3 && rows[0] == 1 && rows[3] == 2 && rows[1] == 0 &&
			low == 8 && high == 15,
		"hist: log2 rows and their ranges, as the text view has them");
	struct fp_hist none = {0};
	UNIT_CHECK(fp_hist_log2_rows(&none, 1, rows) == -1,
		   "hist: no rows in an empty histogram");
	if (unit_failures)
		printf("# %s", buf);
	return unit_done();
}
