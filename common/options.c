// SPDX-License-Identifier: GPL-2.0
#include <bpf/libbpf.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "options.h"

struct fp_common_opts fp_opts;

static void print_version(FILE *out, struct argp_state *state)
{
	(void)state;
	/* As bpftool -V: the version, what it was built from, what it runs on.
	 */
	fprintf(out, "%s (fastpath) %s\n", fp_tool_name, FASTPATH_VERSION);
	fprintf(out, "commit %s\n", FASTPATH_COMMIT);
	fprintf(out, "libbpf v%u.%u\n", libbpf_major_version(),
		libbpf_minor_version());
}

void (*argp_program_version_hook)(FILE *, struct argp_state *) = print_version;
const char *argp_program_bug_address =
	"<https://github.com/fastpath/fastpath/issues>";

enum { OPT_HELP_ALIAS = 'h' };

static error_t parse_output(int key, char *arg, struct argp_state *state)
{
	(void)arg;
	switch (key) {
	case 'v':
		fp_opts.verbose = true;
		break;
	case 'j':
		fp_opts.json = true;
		break;
	case 'T':
		fp_opts.timestamp = true;
		break;
	case OPT_HELP_ALIAS:
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp_option output_options[] = {
	{"json", 'j', NULL, 0, "Print JSON Lines (one object per line)", -1},
	{"timestamp", 'T', NULL, 0, "Prefix each report with the time", -1},
	{"verbose", 'v', NULL, 0, "Show libbpf and debug messages", -1},
	{NULL, OPT_HELP_ALIAS, NULL, OPTION_HIDDEN, "Show this help", -1},
	{},
};

const struct argp fp_output_argp = {output_options, parse_output, NULL, NULL,
				    NULL,	    NULL,	  NULL};

static const struct argp_option json_options[] = {
	{"json", 'j', NULL, 0, "Print JSON Lines (one object per line)", -1},
	{"verbose", 'v', NULL, 0, "Show libbpf and debug messages", -1},
	{NULL, OPT_HELP_ALIAS, NULL, OPTION_HIDDEN, "Show this help", -1},
	{},
};

const struct argp fp_json_argp = {json_options, parse_output, NULL, NULL,
				  NULL,		NULL,	      NULL};

static const struct argp_option verbose_options[] = {
	{"verbose", 'v', NULL, 0, "Show libbpf and debug messages", -1},
	{NULL, OPT_HELP_ALIAS, NULL, OPTION_HIDDEN, "Show this help", -1},
	{},
};

const struct argp fp_verbose_argp = {
	verbose_options, parse_output, NULL, NULL, NULL, NULL, NULL};

static void set_interval(struct argp_state *state, const char *arg)
{
	if (fp_parse_seconds(arg, 86400, &fp_opts.interval))
		argp_error(state,
			   "invalid interval '%s': want seconds > 0, e.g. 1 "
			   "or 0.5",
			   arg);
}

static void set_count(struct argp_state *state, const char *arg)
{
	if (fp_parse_u64(arg, 1, UINT64_MAX, &fp_opts.count))
		argp_error(state, "invalid count '%s': want an integer >= 1",
			   arg);
}

/*
 * -i/-n, or bcc's positional [interval [count]]: the tools' own parsers
 * pass positional arguments on (ARGP_ERR_UNKNOWN) to this child.
 */
static error_t parse_interval(int key, char *arg, struct argp_state *state)
{
	/* 'i' and 'n' seen, and positionals taken: never both for one. */
	static unsigned int flags_seen, args_seen;

	switch (key) {
	case 'i':
	case 'n':
		flags_seen |= key == 'i' ? 1 : 2;
		if (args_seen & flags_seen)
			argp_error(state,
				   "the %s is given twice (-%c and as "
				   "an argument)",
				   key == 'i' ? "interval" : "count", key);
		if (key == 'i')
			set_interval(state, arg);
		else
			set_count(state, arg);
		break;
	case ARGP_KEY_ARG:
		if (state->arg_num > 1)
			return ARGP_ERR_UNKNOWN;
		args_seen |= state->arg_num == 0 ? 1 : 2;
		if (args_seen & flags_seen)
			argp_error(state,
				   "the %s is given twice (-%c and as "
				   "an argument)",
				   state->arg_num == 0 ? "interval" : "count",
				   state->arg_num == 0 ? 'i' : 'n');
		if (state->arg_num == 0)
			set_interval(state, arg);
		else
			set_count(state, arg);
		break;
	case ARGP_KEY_END:
		if (fp_opts.count && !fp_opts.interval)
			fp_opts.interval = 1;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp_option interval_options[] = {
	{"interval", 'i', "SECS", 0, "Report every SECS seconds", -2},
	{"count", 'n', "COUNT", 0, "Stop after COUNT reports (implies -i 1)",
	 -2},
	{},
};

const struct argp fp_interval_argp = {
	interval_options, parse_interval, NULL, NULL, NULL, NULL, NULL};

int fp_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int fp_parse_seconds(const char *s, double max, double *out)
{
	double v;
	char *end;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (*end || end == s || isnan(v))
		return -EINVAL;
	if (errno == ERANGE || v <= 0 || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int fp_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1] && !((end[1] == 'B' || end[1] == 'b') && !end[2]) &&
	    !((end[1] == 'i') && (end[2] == 'B') && !end[3]))
		return -EINVAL;
	if (errno == ERANGE || (shift && v > (UINT64_MAX >> shift)))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

int fp_parse_port(const char *s, uint16_t *out)
{
	uint64_t v;
	int err = fp_parse_u64(s, 1, 65535, &v);

	if (err)
		return err;
	*out = (uint16_t)v;
	return 0;
}

int fp_parse_cpu_list(const char *s, unsigned int max_cpu, int *cpus, int max)
{
	char *copy = strdup(s ? s : ""), *tok, *save = NULL;
	int n = 0, err = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !err;
	     tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		uint64_t a, b;

		if (dash)
			*dash = '\0';
		if (fp_parse_u64(tok, 0, max_cpu, &a) ||
		    fp_parse_u64(dash ? dash + 1 : tok, 0, max_cpu, &b) ||
		    b < a) {
			err = -EINVAL;
			break;
		}
		for (uint64_t c = a; c <= b && !err; c++) {
			if (n >= max)
				err = -E2BIG;
			else
				cpus[n++] = (int)c;
		}
	}
	free(copy);
	if (err)
		return err;
	return n ? n : -EINVAL;
}
