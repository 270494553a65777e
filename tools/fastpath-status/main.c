// SPDX-License-Identifier: GPL-2.0
/*
 * fastpath-status: everything fastpath attached on this host, in every
 * network namespace, from the pins alone (see scan.c), with program IDs,
 * the tool and version that made each program (bpf_metadata), and what is
 * stale; --detach-all removes all of it (detach.c).
 */
#include <argp.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fastpath.h"
#include "status.h"

enum { OPT_PINS = 256, OPT_DETACH_ALL };

struct env {
	bool pins;
	bool detach_all;
};

const char argp_program_doc[] =
	"Show everything fastpath attached on this host, in every network "
	"namespace.\n"
	"\v"
	"EXAMPLES:\n"
	"    fastpath-status              # BMC, syrup policies, dispatchers\n"
	"    fastpath-status --pins       # and every pinned object, with "
	"IDs\n"
	"    fastpath-status -j | jq -c 'select(.state != \"attached\")'\n"
	"                                 # what is stale or broken\n"
	"    fastpath-status --detach-all # remove all of it, one line per "
	"object\n";

static const struct argp_option options[] = {
	{"pins", OPT_PINS, NULL, 0,
	 "Also list every pinned object: name, type, ID", 0},
	{"detach-all", OPT_DETACH_ALL, NULL, 0,
	 "Remove everything fastpath attached, and say what went", 0},
	{"json", 'j', NULL, 0, "JSON Lines output (one object per line)", 0},
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct env *env = state->input;

	switch (key) {
	case OPT_PINS:
		env->pins = true;
		break;
	case OPT_DETACH_ALL:
		env->detach_all = true;
		break;
	case 'j':
		fp_opts.json = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		if (env->pins && env->detach_all)
			argp_error(state, "--pins goes with the listing, not "
					  "with --detach-all");
		if (env->pins && fp_opts.json)
			argp_error(state, "--pins is for the table: -j always "
					  "lists the objects");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* The directory of our own binary: bmc-attach and syrup-steer live there. */
static int exe_dir(char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	if (n <= 0)
		return -1;
	path[n] = '\0';
	snprintf(buf, len, "%s", dirname(path));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct argp_child children[] = {
		{&fp_verbose_argp, 0, NULL, 0},
		{},
	};
	static const struct argp argp = {
		.options = options,
		.parser = parse_arg,
		.doc = argp_program_doc,
		.children = children,
	};
	struct env env = {};
	struct netns_table t;
	char dir[PATH_MAX];
	unsigned int caps = FP_CAP_BPF | FP_CAP_SYS_ADMIN;
	int err;

	fp_init("fastpath-status");
	if (argp_parse(&argp, argc, argv, 0, NULL, &env))
		return FP_EXIT_USAGE;
	/* what the detaching tools need, checked once up front */
	if (env.detach_all)
		caps |= FP_CAP_NET_ADMIN | FP_CAP_PERFMON | FP_CAP_SYS_PTRACE;
	if (fp_check_privileges(caps))
		return FP_EXIT_FAIL;
	err = netns_table_load(&t);
	if (err) {
		netns_table_free(&t);
		return fp_error("cannot list the network namespaces: %s",
				fp_strerror(err));
	}
	if (env.detach_all) {
		struct detach_opts o = {.exe_dir = dir};

		if (exe_dir(dir, sizeof(dir)))
			err = fp_error("cannot find our own binary "
				       "(/proc/self/exe)");
		else
			err = cmd_detach_all(&o, &t);
	} else {
		struct list_opts o = {.pins = env.pins};

		err = cmd_list(&o, &t);
	}
	netns_table_free(&t);
	return err ? FP_EXIT_FAIL : FP_EXIT_OK;
}
