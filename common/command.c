// SPDX-License-Identifier: GPL-2.0
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "fastpath.h"

/* What the tool-level parse found; lives on main's stack, not in a global. */
struct top_ctx {
	const struct fp_tool *tool;
	const struct fp_command *cmd;
	int cmd_index; /* argv index of the command's name */
	bool help;     /* `help COMMAND`: show that command's --help */
};

const struct fp_command *fp_command_find(const struct fp_tool *tool,
					 const char *name)
{
	for (const struct fp_command *const *c = tool->commands; *c; c++)
		if (!strcmp((*c)->name, name))
			return *c;
	return NULL;
}

/* "attach, detach, status, stats or set", for usage errors. */
static void command_names(const struct fp_tool *tool, char *buf, size_t len)
{
	size_t off = 0, n = 0;

	while (tool->commands[n])
		n++;
	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		const char *sep = !i ? "" : i == n - 1 ? " or " : ", ";
		int w = snprintf(buf + off, len - off, "%s%s", sep,
				 tool->commands[i]->name);

		if (w < 0)
			break;
		off += (size_t)w;
	}
}

static error_t parse_top(int key, char *arg, struct argp_state *state)
{
	struct top_ctx *ctx = state->input;
	char names[512];

	switch (key) {
	case ARGP_KEY_ARG:
		if (!strcmp(arg, "help")) {
			/* exits 0, as --help does; so does `help --help` */
			if (state->next >= state->argc ||
			    state->argv[state->next][0] == '-')
				argp_state_help(state, stdout,
						ARGP_HELP_STD_HELP);
			arg = state->argv[state->next++];
			ctx->help = true;
		}
		ctx->cmd = fp_command_find(ctx->tool, arg);
		if (!ctx->cmd) {
			command_names(ctx->tool, names, sizeof(names));
			argp_error(state, "unknown command '%s': want %s", arg,
				   names);
			return ARGP_ERR_UNKNOWN;
		}
		ctx->cmd_index = state->next - 1;
		state->next = state->argc; /* the rest is the command's */
		return 0;
	case ARGP_KEY_NO_ARGS:
		command_names(ctx->tool, names, sizeof(names));
		argp_error(state, "missing COMMAND: %s", names);
		return ARGP_ERR_UNKNOWN;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

void fp_command_list(FILE *out, const struct fp_tool *tool)
{
	const struct fp_command *const *c;
	size_t width = strlen("help") + 2;

	for (c = tool->commands; *c; c++)
		if (strlen((*c)->name) + 2 > width)
			width = strlen((*c)->name) + 2;
	fprintf(out, "COMMANDS:\n");
	for (c = tool->commands; *c; c++)
		fprintf(out, "  %-*s %s\n", (int)width, (*c)->name,
			(*c)->summary);
	fprintf(out, "  %-*s %s\n", (int)width, "help",
		"this list, or a command's options: help COMMAND");
	fprintf(out, "\n'%s COMMAND --help' lists each command's options.",
		tool->name);
}

/* Puts the command list between the tool's summary and its options. */
static char *top_help_filter(int key, const char *text, void *input)
{
	const struct top_ctx *ctx = input;
	size_t len = 0;
	char *buf = NULL;
	FILE *f;

	if (key != ARGP_KEY_HELP_PRE_DOC || !ctx || !text)
		return (char *)text;
	f = open_memstream(&buf, &len);
	if (!f)
		return (char *)text;
	fprintf(f, "%s\n\n", text);
	fp_command_list(f, ctx->tool);
	if (fclose(f)) {
		free(buf);
		return (char *)text;
	}
	return buf; /* argp frees what differs from `text` */
}

int fp_command_parse(const struct fp_command *cmd, int argc, char **argv,
		     void *opts)
{
	if (cmd->defaults)
		memcpy(opts, cmd->defaults, cmd->opts_size);
	else
		memset(opts, 0, cmd->opts_size);
	return argp_parse(cmd->argp, argc, argv, 0, NULL, opts) ? FP_EXIT_USAGE
								: 0;
}

int fp_command_main(const struct fp_tool *tool, int argc, char **argv)
{
	struct top_ctx ctx = {.tool = tool, .cmd_index = -1};
	const struct argp top = {
		NULL,	   parse_top,	   "COMMAND [OPTION...]",
		tool->doc, tool->children, top_help_filter,
		NULL};
	char **cargv = NULL, *name = NULL, help[] = "--help";
	void *opts = NULL;
	int cargc, ret = FP_EXIT_FAIL;

	if (argp_parse(&top, argc, argv, ARGP_IN_ORDER, NULL, &ctx) || !ctx.cmd)
		return FP_EXIT_USAGE;
	cargc = ctx.help ? 2 : argc - ctx.cmd_index;
	/* A copy: argp permutes what it parses, the caller's argv stays. */
	cargv = calloc((size_t)cargc + 1, sizeof(*cargv));
	opts = calloc(1, ctx.cmd->opts_size ? ctx.cmd->opts_size : 1);
	if (!cargv || !opts ||
	    asprintf(&name, "%s %s", tool->name, ctx.cmd->name) < 0) {
		name = NULL;
		fp_error("out of memory");
		goto out;
	}
	cargv[0] = name;
	if (ctx.help)
		cargv[1] = help;
	else
		memcpy(cargv + 1, argv + ctx.cmd_index + 1,
		       (size_t)(cargc - 1) * sizeof(*cargv));
	ret = fp_command_parse(ctx.cmd, cargc, cargv, opts);
	if (!ret)
		ret = ctx.cmd->run(opts);
out:
	free(opts);
	free(cargv);
	free(name);
	return ret;
}

int fp_tool_main(const struct fp_tool *tool, int argc, char **argv)
{
	fp_init(tool->name);
	return fp_command_main(tool, argc, argv);
}
