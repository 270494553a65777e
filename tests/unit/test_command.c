// SPDX-License-Identifier: GPL-2.0
/*
 * The command framework: dispatch, per-command options with their own
 * defaults and struct, shared -j/-v before or after the command, help and
 * the usage errors (exit 64). argp exits on errors and on --help, so those
 * cases run in a child process whose exit status and output are checked.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fastpath.h"
#include "unit.h"

struct alpha_opts {
	int count;
	const char *name;
};

struct beta_opts {
	const char *words[4];
	int nr;
};

/* What the last run saw, copied out: the commands' structs are freed. */
static struct alpha_opts seen_alpha;
static struct beta_opts seen_beta;
static int runs;

static error_t parse_alpha(int key, char *arg, struct argp_state *state)
{
	struct alpha_opts *o = state->input;

	switch (key) {
	case 'c':
		o->count = atoi(arg);
		return 0;
	case 'N':
		o->name = arg;
		return 0;
	case ARGP_KEY_END:
		if (o->count < 0)
			argp_error(state, "--count must not be negative");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static int run_alpha(const void *opts)
{
	seen_alpha = *(const struct alpha_opts *)opts;
	runs++;
	return 7;
}

static error_t parse_beta(int key, char *arg, struct argp_state *state)
{
	struct beta_opts *o = state->input;

	if (key != ARGP_KEY_ARG)
		return ARGP_ERR_UNKNOWN;
	if (o->nr < 4)
		o->words[o->nr++] = arg;
	return 0;
}

static int run_beta(const void *opts)
{
	seen_beta = *(const struct beta_opts *)opts;
	runs++;
	return 0;
}

static const struct argp_option alpha_options[] = {
	{"count", 'c', "N", 0, "How many", 0},
	{"name", 'N', "NAME", 0, "Whose", 0},
	{},
};

static const struct argp_child children[] = {
	{&fp_output_argp, 0, NULL, 0},
	{},
};

static const struct argp alpha_argp = {
	alpha_options, parse_alpha,
	NULL,	       "Count things.\vEXAMPLES:\n    tool alpha -c 3\n",
	children,      NULL,
	NULL,
};

static const struct argp beta_argp = {
	NULL, parse_beta, "WORD...", "Say words.", children, NULL, NULL,
};

static const struct alpha_opts alpha_defaults = {.count = 5, .name = "me"};

static const struct fp_command alpha = {
	.name = "alpha",
	.summary = "the first command",
	.argp = &alpha_argp,
	.opts_size = sizeof(struct alpha_opts),
	.defaults = &alpha_defaults,
	.run = run_alpha,
};

static const struct fp_command beta = {
	.name = "beta",
	.summary = "the second command",
	.argp = &beta_argp,
	.opts_size = sizeof(struct beta_opts),
	.run = run_beta,
};

static const struct fp_command *const commands[] = {&alpha, &beta, NULL};

static const struct fp_tool tool = {
	.name = "tool",
	.doc = "Do two things.\vEXAMPLES:\n    tool alpha -c 3   # three\n",
	.children = children,
	.commands = commands,
};

/* argv from a space-separated line; the strings are owned by `buf`. */
static int split(char *buf, char **argv, int max)
{
	int n = 0;

	for (char *t = strtok(buf, " "); t && n < max - 1;
	     t = strtok(NULL, " "))
		argv[n++] = t;
	argv[n] = NULL;
	return n;
}

static int main_of(const char *line)
{
	char buf[256], *argv[16];
	int argc;

	snprintf(buf, sizeof(buf), "%s", line);
	argc = split(buf, argv, 16);
	memset(&fp_opts, 0, sizeof(fp_opts));
	return fp_command_main(&tool, argc, argv);
}

struct outcome {
	int status;
	char out[4096], err[4096];
};

static void slurp(FILE *f, char *buf, size_t len)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Runs fp_command_main in a child: for the paths where argp exits. */
static void in_child(const char *line, struct outcome *r)
{
	FILE *out = tmpfile(), *err = tmpfile();
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(fileno(out), 1);
		dup2(fileno(err), 2);
		exit(main_of(line));
	}
	waitpid(pid, &st, 0);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
}

int main(void)
{
	char line[] = "tool -j alpha -c 3";
	char *argv[8], *copy[8];
	struct outcome r;
	int argc;

	UNIT_CHECK(main_of("tool alpha -c 3 --name you") == 7 &&
			   seen_alpha.count == 3 &&
			   !strcmp(seen_alpha.name, "you"),
		   "command: runs with its own parsed options, its status");
	UNIT_CHECK(main_of("tool alpha") == 7 && seen_alpha.count == 5 &&
			   !strcmp(seen_alpha.name, "me"),
		   "command: a fresh options struct from the defaults each "
		   "run");
	UNIT_CHECK(main_of("tool beta one two") == 0 && seen_beta.nr == 2 &&
			   !strcmp(seen_beta.words[1], "two"),
		   "command: no defaults means zeroes; arguments are its own");
	main_of("tool -j alpha");
	UNIT_CHECK(fp_opts.json, "shared options: -j before the command");
	main_of("tool alpha -v");
	UNIT_CHECK(fp_opts.verbose && !fp_opts.json,
		   "shared options: -v after the command");

	argc = split(line, argv, 8);
	memcpy(copy, argv, sizeof(copy));
	runs = 0;
	fp_command_main(&tool, argc, argv);
	UNIT_CHECK(runs == 1 && !memcmp(copy, argv, sizeof(copy)),
		   "command: the caller's argv is left as it was");
	UNIT_CHECK(fp_command_find(&tool, "beta") == &beta &&
			   !fp_command_find(&tool, "gamma"),
		   "find: by name");

	in_child("tool", &r);
	UNIT_CHECK(
		r.status == FP_EXIT_USAGE &&
			strstr(r.err, "tool: missing COMMAND: alpha or beta"),
		"usage: a missing command exits 64 naming the commands");
	in_child("tool gamma", &r);
	UNIT_CHECK(r.status == FP_EXIT_USAGE &&
			   strstr(r.err, "unknown command 'gamma': want alpha "
					 "or beta") &&
			   strstr(r.err, "Try `tool --help'"),
		   "usage: an unknown command exits 64 with a hint");
	in_child("tool alpha --bogus", &r);
	UNIT_CHECK(r.status == FP_EXIT_USAGE &&
			   strstr(r.err, "tool alpha: unrecognized option") &&
			   strstr(r.err, "Try `tool alpha --help'"),
		   "usage: a command's messages carry its name");
	in_child("tool alpha -c -1", &r);
	UNIT_CHECK(r.status == FP_EXIT_USAGE &&
			   strstr(r.err, "tool alpha: --count must not be "
					 "negative"),
		   "usage: a command's own checks exit 64");
	in_child("tool beta --count 3", &r);
	UNIT_CHECK(r.status == FP_EXIT_USAGE,
		   "usage: one command's options are not another's");

	in_child("tool --help", &r);
	UNIT_CHECK(r.status == 0 &&
			   strstr(r.out, "Usage: tool [OPTION...] "
					 "COMMAND [OPTION...]") &&
			   strstr(r.out, "Do two things.\n\nCOMMANDS:\n"
					 "  alpha   the first command\n"
					 "  beta    the second command\n"
					 "  help    ") &&
			   strstr(r.out, "EXAMPLES:\n    tool alpha -c 3"),
		   "help: --help lists the commands, then the examples");
	{
		char first[sizeof(r.out)];

		snprintf(first, sizeof(first), "%s", r.out);
		in_child("tool help", &r);
		UNIT_CHECK(r.status == 0 && !strcmp(first, r.out),
			   "help: 'help' is --help");
		in_child("tool help --help", &r);
		UNIT_CHECK(r.status == 0 && !strcmp(first, r.out),
			   "help: 'help --help' is --help too");
	}
	in_child("tool help alpha", &r);
	UNIT_CHECK(r.status == 0 &&
			   strstr(r.out, "Usage: tool alpha [OPTION...]") &&
			   strstr(r.out, "--count=N") &&
			   strstr(r.out, "--json"),
		   "help: 'help COMMAND' is the command's --help");
	in_child("tool alpha -h", &r);
	UNIT_CHECK(r.status == 0 && strstr(r.out, "Usage: tool alpha"),
		   "help: -h after a command is its help");
	in_child("tool help gamma", &r);
	UNIT_CHECK(r.status == FP_EXIT_USAGE &&
			   strstr(r.err, "unknown command 'gamma'"),
		   "help: of an unknown command is a usage error");
	return unit_done();
}
