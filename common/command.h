/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tools with several commands (`syrup-steer attach ...`): a table of
 * commands, each with its own argp and its own options struct, and one
 * main() that picks the command, parses its options and runs it.
 */
#ifndef FASTPATH_COMMAND_H
#define FASTPATH_COMMAND_H

#include <argp.h>
#include <stddef.h>
#include <stdio.h>

struct fp_command {
	const char *name;    /* "attach" */
	const char *summary; /* one line in the tool's command list */
	/*
	 * The command's own options and doc (summary, "\v", EXAMPLES). Its
	 * parser finds the options struct in state->input, already holding
	 * `defaults` (zeroes when NULL). The flags every tool shares come
	 * as argp children (fp_output_argp, fp_interval_argp).
	 */
	const struct argp *argp;
	size_t opts_size;
	const void *defaults;
	/* Runs on the parsed options; returns the exit status. */
	int (*run)(const void *opts);
};

struct fp_tool {
	const char *name; /* as given to fp_init() */
	/*
	 * One-line summary, then "\v" and an EXAMPLES block: `TOOL --help`
	 * prints the summary, the command list made from `commands`, the
	 * options, then the examples.
	 */
	const char *doc;
	/* Options taken before the command (e.g. fp_output_argp), or NULL. */
	const struct argp_child *children;
	/* Each command lives in its own file; the table ends with NULL. */
	const struct fp_command *const *commands;
};

/*
 * `TOOL [OPTION...] COMMAND [OPTION...]`: parses the tool's options, then
 * the command's (its argv[0] reads "TOOL COMMAND", so argp's messages and
 * --help name the command), runs it and returns its exit status.
 * `TOOL help` is `TOOL --help`; `TOOL help COMMAND` is `TOOL COMMAND
 * --help`. A missing or unknown command exits 64 (FP_EXIT_USAGE), as every
 * argp usage error does. `argv` itself is left as it was.
 */
int fp_command_main(const struct fp_tool *tool, int argc, char **argv);

/*
 * The whole main() of a tool that is only its commands: fp_init() with
 * the tool's name, then fp_command_main().
 */
int fp_tool_main(const struct fp_tool *tool, int argc, char **argv);

/*
 * The tool's command list as `TOOL --help` shows it ("COMMANDS:", one line
 * per command, then help), for a tool that also keeps another command line
 * and prints its own help there.
 */
void fp_command_list(FILE *out, const struct fp_tool *tool);

/* The command called `name`, or NULL. */
const struct fp_command *fp_command_find(const struct fp_tool *tool,
					 const char *name);

/*
 * Parses a command's argv (argv[0] is the program name, as argp wants)
 * into `opts` (cmd->opts_size bytes, defaults copied in first). Usage
 * errors exit 64 like any argp parse; 0 otherwise.
 */
int fp_command_parse(const struct fp_command *cmd, int argc, char **argv,
		     void *opts);

#endif
