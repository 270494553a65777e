/* SPDX-License-Identifier: GPL-2.0 */
/* Option letters shared by every tool, as argp children, and value parsers. */
#ifndef FASTPATH_OPTIONS_H
#define FASTPATH_OPTIONS_H

#include <argp.h>
#include <stdbool.h>
#include <stdint.h>

struct fp_common_opts {
	bool verbose;	 /* -v: libbpf and debug messages */
	bool json;	 /* -j: JSON Lines on stdout */
	bool timestamp;	 /* -T: prefix each report with the time */
	double interval; /* -i SECS, 0 = not given */
	uint64_t count;	 /* -n COUNT, 0 = unlimited */
};
extern struct fp_common_opts fp_opts;

/*
 * -v, -j, -T and the hidden -h alias of --help; -V comes from argp itself.
 * Add as a child: { &fp_output_argp, 0, NULL, 0 } (group 0 keeps them last).
 */
extern const struct argp fp_output_argp;
/* -v, -j and -h, for tools whose output is not a timed report. */
extern const struct argp fp_json_argp;
/* -v and -h only, for tools with no report output. */
extern const struct argp fp_verbose_argp;
/* -i SECS and -n COUNT. */
extern const struct argp fp_interval_argp;

/*
 * Strict parsers: the whole string must be a number in range. They return
 * 0 or -EINVAL / -ERANGE and never print; callers use argp_error().
 */
int fp_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Seconds, fractions allowed ("0.5"), > 0 and <= max. */
int fp_parse_seconds(const char *s, double max, double *out);
/* Byte sizes with optional K, M, G suffix (powers of 1024), e.g. "64M". */
int fp_parse_size(const char *s, uint64_t *out);
/* 1..65535 */
int fp_parse_port(const char *s, uint16_t *out);
/*
 * A CPU list as the kernel writes it ("0-3,8,10-11") into cpus[], in the
 * order given, at most `max` entries, each CPU <= max_cpu. Returns the
 * count; -EINVAL for a malformed or empty list or a CPU above max_cpu,
 * -E2BIG when it names more than `max`.
 */
int fp_parse_cpu_list(const char *s, unsigned int max_cpu, int *cpus, int max);

#endif
