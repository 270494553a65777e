// SPDX-License-Identifier: GPL-2.0
#include <string.h>
#include <time.h>

#include "output.h"

void fp_print_time(FILE *out)
{
	char buf[16];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
	fprintf(out, "%s ", buf);
}

double fp_wall_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

uint64_t fp_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void print_cell(FILE *out, const struct fp_column *col, const char *v,
		       bool last)
{
	if (col->left_align && last)
		fputs(v, out); /* no trailing blanks */
	else if (col->left_align)
		fprintf(out, "%-*s", col->width, v);
	else
		fprintf(out, "%*s", col->width, v);
	fputc(last ? '\n' : ' ', out);
}

void fp_table_header(FILE *out, const struct fp_column *cols, int ncols)
{
	for (int i = 0; i < ncols; i++)
		print_cell(out, &cols[i], cols[i].name, i == ncols - 1);
}

void fp_table_row(FILE *out, const struct fp_column *cols, int ncols,
		  const char *const *values)
{
	for (int i = 0; i < ncols; i++)
		print_cell(out, &cols[i], values[i], i == ncols - 1);
}

const char *fp_human_count(char *buf, size_t len, double v)
{
	static const char suffix[] = " KMGTP";
	int i = 0;

	while (v >= 1000 && i < 5) {
		v /= 1000;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.*f%c",
			 v < 10	   ? 2
			 : v < 100 ? 1
				   : 0,
			 v, suffix[i]);
	return buf;
}

const char *fp_human_bytes(char *buf, size_t len, uint64_t v)
{
	static const char *const units[] = {"B",   "KiB", "MiB",
					    "GiB", "TiB", "PiB"};
	double d = (double)v;
	int i = 0;

	while (d >= 1024 && i < 5) {
		d /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%lluB", (unsigned long long)v);
	else
		snprintf(buf, len, "%.1f%s", d, units[i]);
	return buf;
}
