/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Prometheus text exposition format (what node_exporter's textfile
 * collector reads): metric headers, escaped label values, and histograms
 * made from hist_slots.h buckets.
 */
#ifndef FASTPATH_PROMETHEUS_H
#define FASTPATH_PROMETHEUS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "histogram.h"

/* "# HELP NAME HELP" and "# TYPE NAME TYPE" (counter, gauge, histogram). */
void fp_prom_header(FILE *out, const char *name, const char *type,
		    const char *help);
/* A label value, with backslash, double quote and newline escaped. */
void fp_prom_label_value(FILE *out, const char *value);
/*
 * Appends KEY="VALUE" (VALUE escaped) to the label list in buf, after a
 * comma if buf is not empty. -1 if it does not fit (buf is then unchanged).
 */
int fp_prom_label_add(char *buf, size_t len, const char *key,
		      const char *value);
/*
 * One histogram series of values in nanoseconds, in seconds: NAME_bucket
 * at every power of two from 2^10 to 2^34 ns (1.024 us to 17 s) and +Inf,
 * NAME_sum and NAME_count. Bucket edges are slot edges, so the cumulative
 * counts are exact (a bucket counts the values below its edge). `labels`
 * is what goes inside the braces before `le` ("" for none), e.g.
 * `layer="device"`.
 */
void fp_prom_hist_ns(FILE *out, const char *name, const char *labels,
		     const struct fp_hist *h, uint64_t sum_ns);

#endif
