// SPDX-License-Identifier: GPL-2.0
/*
 * The options several commands take: the lookup options of get, range and
 * bench (one argp child, so each command's --help lists them and a command
 * without them refuses them as unknown), and the parsers they share.
 */
#include <string.h>

#include "lookup.h"

void parse_u64_opt(struct argp_state *state, const char *what, const char *arg,
		   uint64_t min, uint64_t max, uint64_t *out)
{
	if (fp_parse_u64(arg, min, max, out))
		argp_error(state,
			   "invalid %s '%s': want an integer from %llu "
			   "to %llu",
			   what, arg, (unsigned long long)min,
			   (unsigned long long)max);
}

void parse_only_arg(struct argp_state *state, char *arg, const char **out)
{
	if (state->arg_num > 0)
		argp_error(state, "unexpected argument '%s'", arg);
	*out = arg;
}

void warn_old_short(char opt, const char *long_name)
{
	fp_warn("-%c is deprecated: use %s (-%c means something else in "
		"fastpath's other tools)",
		opt, long_name, opt);
}

static const struct argp_option lookup_options[] = {
	{"engine", 'e', "NAME", 0,
	 "pread, uring, kernel, xrp or auto (best present; default)", 0},
	{"function", 'f', "FUNC", 0,
	 "Storage function: bpfkv-get, bpfkv-range or FILE.c", 0},
	{"max-depth", OPT_MAX_DEPTH, "N", 0,
	 "Fail a lookup after N reads (default 64)", 0},
	{"cache-layers", OPT_CACHE_LAYERS, "N", 0,
	 "Serve the top N layers from memory, as BPF-KV's cache does "
	 "(default 0)",
	 0},
	{"inflight", 'q', "Q", 0,
	 "uring, kernel: lookups in flight per thread (default 32)", 0},
	{"sqpoll", OPT_SQPOLL, NULL, 0,
	 "uring: a kernel thread polls the submission queue", 0},
	/*
	 * The short forms of old, kept for scripts: -c and -d are the command
	 * name and the disk in the other tools.
	 */
	{NULL, 'd', "N", OPTION_HIDDEN, NULL, 0},
	{NULL, 'c', "N", OPTION_HIDDEN, NULL, 0},
	{},
};

static void parse_engine(struct argp_state *state, const char *arg,
			 struct lookup_opts *o)
{
	unsigned int e;

	for (e = 0; e <= ENG_KERNEL; e++)
		if (!strcmp(arg, engine_names[e]))
			break;
	if (e > ENG_KERNEL)
		argp_error(state,
			   "unknown engine '%s': want pread, uring, "
			   "kernel, xrp or auto",
			   arg);
	o->engine = (enum engine)e;
	o->engine_given = true;
}

static error_t parse_lookup(int key, char *arg, struct argp_state *state)
{
	struct lookup_opts *o = state->input;

	if (!o) /* a command that forgot child_inputs[0] */
		return ARGP_ERR_UNKNOWN;
	switch (key) {
	case 'e':
		parse_engine(state, arg, o);
		return 0;
	case 'f':
		o->function = arg;
		return 0;
	case 'd':
		warn_old_short('d', "--max-depth");
		/* fall through */
	case OPT_MAX_DEPTH:
		parse_u64_opt(state, "max depth", arg, 1, 4096, &o->max_depth);
		return 0;
	case 'c':
		warn_old_short('c', "--cache-layers");
		/* fall through */
	case OPT_CACHE_LAYERS:
		parse_u64_opt(state, "layer count", arg, 0, MAX_LAYERS,
			      &o->cache_layers);
		return 0;
	case 'q':
		parse_u64_opt(state, "in-flight count", arg, 1, 4096,
			      &o->inflight);
		return 0;
	case OPT_SQPOLL:
		o->sqpoll = true;
		return 0;
	case ARGP_KEY_END:
		if (o->sqpoll && o->engine != ENG_URING &&
		    o->engine != ENG_AUTO)
			argp_error(state, "--sqpoll needs the uring engine");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp lookup_argp = {
	lookup_options, parse_lookup, NULL, NULL, NULL, NULL, NULL,
};

const struct argp_child lookup_children[] = {
	{&lookup_argp, 0, NULL, 0},
	{&fp_json_argp, 0, NULL, 0},
	{},
};

const struct argp_child json_children[] = {
	{&fp_json_argp, 0, NULL, 0},
	{},
};
