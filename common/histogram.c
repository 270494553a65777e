// SPDX-License-Identifier: GPL-2.0
#include <math.h>
#include <string.h>

#include "histogram.h"

void fp_hist_add(struct fp_hist *h, uint64_t value)
{
	h->slots[fp_hist_slot(value)]++;
}

void fp_hist_merge(struct fp_hist *dst, const struct fp_hist *src)
{
	for (int i = 0; i < FP_HIST_SLOTS; i++)
		dst->slots[i] += src->slots[i];
}

uint64_t fp_hist_count(const struct fp_hist *h)
{
	uint64_t n = 0;

	for (int i = 0; i < FP_HIST_SLOTS; i++)
		n += h->slots[i];
	return n;
}

double fp_hist_percentile(const struct fp_hist *h, double pct)
{
	uint64_t total = fp_hist_count(h), cum = 0;
	double rank;

	if (!total)
		return 0;
	if (pct < 0)
		pct = 0;
	if (pct > 100)
		pct = 100;
	/* The rank-th smallest sample, 1-based, as nearest-rank does. */
	rank = ceil(pct / 100.0 * (double)total);
	if (rank < 1)
		rank = 1;

	for (unsigned int i = 0; i < FP_HIST_SLOTS; i++) {
		uint64_t c = h->slots[i];
		double low, width;

		if (!c)
			continue;
		if ((double)(cum + c) < rank) {
			cum += c;
			continue;
		}
		low = (double)fp_hist_slot_low(i);
		width = i + 1 < FP_HIST_SLOTS
				? (double)fp_hist_slot_low(i + 1) - low
				: low / FP_HIST_SUBS;
		if (width <= 1)
			return low; /* exact buckets hold one value */
		/* Spread the bucket's samples evenly across its width. */
		return low + width * (rank - (double)cum - 0.5) / (double)c;
	}
	return (double)fp_hist_slot_low(FP_HIST_SLOTS - 1);
}

static unsigned int log2_index(uint64_t v)
{
	return v ? fp_hist_msb(v) : 0;
}

static void print_stars(FILE *out, uint64_t val, uint64_t max, int width)
{
	int stars = max ? (int)((val * (uint64_t)width + max - 1) / max) : 0;

	if (val == 0)
		stars = 0;
	for (int i = 0; i < width; i++)
		fputc(i < stars ? '*' : ' ', out);
}

int fp_hist_log2_rows(const struct fp_hist *h, uint64_t divisor,
		      uint64_t rows[FP_HIST_LOG2_ROWS])
{
	int last = -1;

	if (!divisor)
		divisor = 1;
	memset(rows, 0, sizeof(rows[0]) * FP_HIST_LOG2_ROWS);
	for (unsigned int i = 0; i < FP_HIST_SLOTS; i++) {
		unsigned int idx;

		if (!h->slots[i])
			continue;
		idx = log2_index(fp_hist_slot_low(i) / divisor);
		rows[idx] += h->slots[i];
	}
	for (int i = 0; i < FP_HIST_LOG2_ROWS; i++)
		if (rows[i])
			last = i;
	return last;
}

void fp_hist_log2_range(int row, uint64_t *low, uint64_t *high)
{
	*low = (1ULL << (row + 1)) >> 1;
	*high = (1ULL << (row + 1)) - 1;
	if (*low == *high)
		*low -= 1;
}

void fp_hist_print_log2(FILE *out, const struct fp_hist *h, uint64_t divisor,
			const char *unit)
{
	uint64_t rows[FP_HIST_LOG2_ROWS], max = 0;
	int last = fp_hist_log2_rows(h, divisor, rows);

	if (last < 0)
		return;
	for (int i = 0; i <= last; i++)
		if (rows[i] > max)
			max = rows[i];

	fprintf(out, "%*s%-*s : count    distribution\n", 10, "", 14, unit);
	for (int i = 0; i <= last; i++) {
		uint64_t low, high;

		fp_hist_log2_range(i, &low, &high);
		fprintf(out, "%*llu -> %-*llu : %-8llu |", 10,
			(unsigned long long)low, 10, (unsigned long long)high,
			(unsigned long long)rows[i]);
		print_stars(out, rows[i], max, 30);
		fprintf(out, "|\n");
	}
}
