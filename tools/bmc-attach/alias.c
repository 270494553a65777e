// SPDX-License-Identifier: GPL-2.0
/*
 * The command line bmc-attach had before its commands, kept so that
 * scripts and systemd units go on working: `bmc-attach IFACE [OPTION...]`
 * is attach, `--detach IFACE` detach, `--status` status. It takes every
 * option it took then, parsed once here and handed to the command's own
 * options struct; its errors are worded as they were.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bmc-attach.h"

enum { ACT_ATTACH, ACT_DETACH, ACT_STATUS };

/* Keys apart from attach_values_argp's (256 and up). */
enum { OPT_DETACH = 320, OPT_STATUS };

struct alias {
	const struct fp_tool *tool;
	int action;
	struct attach_opts attach;
};

static const struct argp_option options[] = {
	{"detach", OPT_DETACH, NULL, 0, "Detach BMC from IFACE", 0},
	{"status", OPT_STATUS, NULL, 0, "List where BMC is attached", 0},
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct alias *al = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &al->attach; /* attach_values_argp */
		break;
	case OPT_DETACH:
		if (al->action == ACT_STATUS)
			argp_error(state, "--detach and --status exclude each "
					  "other");
		al->action = ACT_DETACH;
		break;
	case OPT_STATUS:
		if (al->action == ACT_DETACH)
			argp_error(state, "--detach and --status exclude each "
					  "other");
		al->action = ACT_STATUS;
		break;
	case ARGP_KEY_ARG:
		iface_arg(state, &al->attach.iface, arg);
		break;
	case ARGP_KEY_END:
		if (al->action == ACT_STATUS && al->attach.iface)
			argp_error(state, "--status takes no interface");
		if (al->action != ACT_STATUS && !al->attach.iface)
			argp_error(state, "no interface given (e.g. "
					  "bmc-attach eth0)");
		if (al->action == ACT_STATUS && al->attach.netns)
			argp_error(state, "--status lists every namespace: "
					  "no --netns");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* --help lists the commands too, and says how the old forms map. */
static char *help_filter(int key, const char *text, void *input)
{
	const struct alias *al = input;
	size_t len = 0;
	char *buf = NULL;
	FILE *f;

	if (key != ARGP_KEY_HELP_PRE_DOC || !al || !text)
		return (char *)text;
	f = open_memstream(&buf, &len);
	if (!f)
		return (char *)text;
	fprintf(f, "%s\n\n", text);
	fp_command_list(f, al->tool);
	fprintf(f, "\n\nThe forms without a command stay: IFACE is attach, "
		   "--detach IFACE detach,\n--status status.");
	if (fclose(f)) {
		free(buf);
		return (char *)text;
	}
	return buf; /* argp frees what differs from `text` */
}

static const struct argp_child children[] = {
	{&attach_values_argp, 0, NULL, 0},
	{&fp_json_argp, 0, NULL, 0},
	{},
};

int alias_main(const struct fp_tool *tool, int argc, char **argv)
{
	const struct argp argp = {
		.options = options,
		.parser = parse_arg,
		.args_doc = "COMMAND [OPTION...]\nIFACE\n--detach IFACE\n"
			    "--status",
		.doc = tool->doc,
		.children = children,
		.help_filter = help_filter,
	};
	struct alias al = {.tool = tool, .attach = attach_defaults};
	struct detach_opts d;
	struct status_opts s = {0};

	if (argp_parse(&argp, argc, argv, 0, NULL, &al))
		return FP_EXIT_USAGE;
	switch (al.action) {
	case ACT_STATUS:
		return status_run(&s);
	case ACT_DETACH:
		d = (struct detach_opts){.iface = al.attach.iface,
					 .netns = al.attach.netns};
		return detach_run(&d);
	default:
		return attach_run(&al.attach);
	}
}
