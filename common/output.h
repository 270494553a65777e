/* SPDX-License-Identifier: GPL-2.0 */
/* Plain-text output for people: timestamps and aligned tables. */
#ifndef FASTPATH_OUTPUT_H
#define FASTPATH_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* "HH:MM:SS " local time, for -T in plain text. */
void fp_print_time(FILE *out);
/* Seconds since the epoch with microseconds, for "ts" in JSON. */
double fp_wall_time(void);
/* CLOCK_MONOTONIC in nanoseconds (the clock bpf_ktime_get_ns uses). */
uint64_t fp_mono_ns(void);

struct fp_column {
	const char *name;
	int width;	 /* minimum width; values wider are printed whole */
	bool left_align; /* default: right-aligned (numbers) */
};

/* Header row, columns separated by one space. */
void fp_table_header(FILE *out, const struct fp_column *cols, int ncols);
/* One row; values[i] are preformatted strings. */
void fp_table_row(FILE *out, const struct fp_column *cols, int ncols,
		  const char *const *values);

/* Human-readable count: 1234567 -> "1.23M" (buf >= 16 bytes). */
const char *fp_human_count(char *buf, size_t len, double v);
/* Human-readable bytes: 67108864 -> "64.0MiB". */
const char *fp_human_bytes(char *buf, size_t len, uint64_t v);

#endif
