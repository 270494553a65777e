// SPDX-License-Identifier: GPL-2.0
/* kstack-latency's command line: its own options, then -i/-n, -j, -T, -v. */
#include <argp.h>
#include <limits.h>

#include "kstack.h"

enum {
	OPT_PID = 'p',
	OPT_COMM = 'c',
	OPT_DISK = 'd',
	OPT_HIST = 'H',
	OPT_SYSCALL_TP = 's',
	OPT_PROMETHEUS = 0x100,
};

static const struct argp_option options[] = {
	{"pid", OPT_PID, "PID", 0, "Only reads by process PID", 0},
	{"comm", OPT_COMM, "COMM", 0,
	 "Only reads by threads named COMM (15 characters at most)", 0},
	{"disk", OPT_DISK, "DISK", 0,
	 "Only I/O to DISK (e.g. loop3, sda or sda1)", 0},
	{"histogram", OPT_HIST, NULL, 0,
	 "Also print a log2 histogram per layer", 0},
	{"syscall-tracepoints", OPT_SYSCALL_TP, NULL, 0,
	 "Use the per-syscall tracepoints (needs tracefs): other syscalls "
	 "then cost nothing, each traced read a little more",
	 0},
	{"prometheus", OPT_PROMETHEUS, NULL, 0,
	 "Print the layers as Prometheus histograms (counts since the start)",
	 0},
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct kstack_opts *opts = state->input;
	uint64_t v;

	switch (key) {
	case OPT_PID:
		if (fp_parse_u64(arg, 1, INT_MAX, &v))
			argp_error(state,
				   "invalid PID '%s': want an integer >= 1",
				   arg);
		opts->pid = (pid_t)v;
		break;
	case OPT_COMM:
		if (!*arg)
			argp_error(state, "empty COMM");
		opts->comm = arg;
		break;
	case OPT_DISK:
		if (!*arg)
			argp_error(state, "empty DISK");
		opts->disk = arg;
		break;
	case OPT_HIST:
		opts->histograms = true;
		break;
	case OPT_SYSCALL_TP:
		opts->syscall_tp = true;
		break;
	case OPT_PROMETHEUS:
		opts->prometheus = true;
		break;
	case ARGP_KEY_END:
		if (opts->prometheus &&
		    (fp_opts.json || opts->histograms || fp_opts.timestamp))
			argp_error(state, "--prometheus and %s do not mix",
				   fp_opts.json	      ? "-j"
				   : opts->histograms ? "-H"
						      : "-T");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp_child children[] = {
	{&fp_interval_argp, 0, NULL, 0},
	{&fp_output_argp, 0, NULL, 0},
	{},
};

static const char doc[] =
	"Break the latency of read syscalls down into syscall, block, device "
	"and completion time.\v"
	"EXAMPLES:\n"
	"    kstack-latency                 # all reads until Ctrl-C, one "
	"table\n"
	"    kstack-latency -d loop0 -i 1   # reads from loop0, every second\n"
	"    kstack-latency -p 1234 -H      # reads by PID 1234, histograms\n"
	"    kstack-latency -c fio -j -n 5  # fio's reads, 5 JSON lines\n"
	"    kstack-latency -s              # spare the other syscalls "
	"(tracefs)\n"
	"    kstack-latency --prometheus -d sda -i 60 -n 1 > f.$$ &&\n"
	"        mv f.$$ /var/lib/node_exporter/kstack.prom   # a textfile, "
	"for node_exporter\n";

static const struct argp argp = {
	options, parse_opt, "[INTERVAL [COUNT]]", doc, children, NULL, NULL};

int kstack_parse_args(int argc, char **argv, struct kstack_opts *opts)
{
	return argp_parse(&argp, argc, argv, 0, NULL, opts);
}
