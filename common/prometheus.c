// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "prometheus.h"

#define FP_PROM_FIRST_EDGE 10 /* 2^10 ns */
#define FP_PROM_LAST_EDGE  34 /* 2^34 ns */

void fp_prom_header(FILE *out, const char *name, const char *type,
		    const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void fp_prom_label_value(FILE *out, const char *value)
{
	for (; *value; value++) {
		if (*value == '\\' || *value == '"')
			fprintf(out, "\\%c", *value);
		else if (*value == '\n')
			fputs("\\n", out);
		else
			fputc(*value, out);
	}
}

int fp_prom_label_add(char *buf, size_t len, const char *key, const char *value)
{
	size_t n = strlen(buf), start = n;
	int w = snprintf(buf + n, len - n, "%s%s=\"", n ? "," : "", key);

	if (w < 0 || (size_t)w >= len - n)
		goto full;
	n += (size_t)w;
	for (; *value; value++) {
		const char *esc = *value == '\\'   ? "\\\\"
				  : *value == '"'  ? "\\\""
				  : *value == '\n' ? "\\n"
						   : NULL;
		size_t k = esc ? 2 : 1;

		if (n + k + 2 > len)
			goto full;
		if (esc)
			memcpy(buf + n, esc, 2);
		else
			buf[n] = *value;
		n += k;
	}
	buf[n++] = '"';
	buf[n] = 0;
	return 0;
full:
	buf[start] = 0;
	return -1;
}

void fp_prom_hist_ns(FILE *out, const char *name, const char *labels,
		     const struct fp_hist *h, uint64_t sum_ns)
{
	const char *sep = labels[0] ? "," : "";
	uint64_t below = 0, count = fp_hist_count(h);
	unsigned int slot = 0;

	for (int e = FP_PROM_FIRST_EDGE; e <= FP_PROM_LAST_EDGE; e++) {
		uint64_t edge = 1ULL << e;

		/* every slot that lies wholly below the edge (the last slot
		 * is open-ended: only +Inf holds it) */
		while (slot + 1 < FP_HIST_SLOTS &&
		       fp_hist_slot_low(slot + 1) <= edge)
			below += h->slots[slot++];
		fprintf(out, "%s_bucket{%s%sle=\"%.9g\"} %llu\n", name, labels,
			sep, (double)edge / 1e9, (unsigned long long)below);
	}
	fprintf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
		(unsigned long long)count);
	fprintf(out, "%s_sum{%s} %.9f\n", name, labels, (double)sum_ns / 1e9);
	fprintf(out, "%s_count{%s} %llu\n", name, labels,
		(unsigned long long)count);
}
