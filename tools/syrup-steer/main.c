// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-steer: user-defined packet and connection scheduling (Syrup,
 * Kaffes et al., SOSP'21) on an unmodified kernel and application.
 *
 * A policy (a schedule() function, include/syrup.h) picks, for each
 * datagram or connection of one port, the executor that gets it: a socket
 * of the port's SO_REUSEPORT group (socket layer, an sk_reuseport program
 * attached to the group) or a CPU (XDP layer, XDP + cpumap). The sockets are
 * taken from the application with pidfd_getfd(); everything that must
 * outlive the tool is pinned under /sys/fs/bpf/syrup/PROTO-PORT/ (the layout
 * is in bpf/syrup-steer.h).
 *
 * This file holds the command table and the options commands share; each
 * command is a file of its own.
 */
#include <string.h>

#include "steer.h"

const char *argp_program_version = "syrup-steer " FASTPATH_VERSION;

static const char doc[] =
	"Steer a port's datagrams and connections with a Syrup policy."
	"\v"
	"EXAMPLES:\n"
	"    syrup-steer attach --port 9000 --policy rr  # round robin, "
	"sockets\n"
	"    syrup-steer attach -P 9000 --policy sita --param class=SCAN\n"
	"                                  # SCAN requests get their own "
	"socket\n"
	"    syrup-steer attach -P 9000 --policy ./policy.c  # your "
	"schedule()\n"
	"    syrup-steer status                # ports, policies, executors\n"
	"    syrup-steer stats -P 9000 -i 1    # per-executor counts each "
	"second\n"
	"    syrup-steer set -P 9000 threshold=512       # a parameter, live\n"
	"    syrup-steer detach -P 9000        # the kernel's hashing is "
	"back\n"
	"    syrup-steer daemon                # policies follow restarts\n";

const struct argp_option port_options[] = {
	{"port", 'P', "PORT", 0, "The port (required)", 0},
	{"proto", OPT_PROTO, "PROTO", 0,
	 "udp or tcp (needed only when both are attached)", 0},
	{"netns", OPT_NETNS, "NAME", 0,
	 "Act inside network namespace NAME (/run/netns/NAME)", 0},
	{},
};

const struct argp_child json_children[] = {
	{&fp_json_argp, 0, NULL, 0},
	{},
};

error_t port_sel_parse(int key, char *arg, struct argp_state *state,
		       struct port_sel *sel)
{
	switch (key) {
	case 'P':
		if (fp_parse_port(arg, &sel->port))
			argp_error(state, "invalid port '%s': want 1..65535",
				   arg);
		sel->have_port = true;
		return 0;
	case OPT_PROTO:
		if (!strcmp(arg, "udp"))
			sel->proto = PROTO_UDP;
		else if (!strcmp(arg, "tcp"))
			sel->proto = PROTO_TCP;
		else
			argp_error(state,
				   "invalid protocol '%s': want udp or tcp",
				   arg);
		sel->have_proto = true;
		return 0;
	case OPT_NETNS:
		sel->netns = arg;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

void port_sel_check(struct argp_state *state, const struct port_sel *sel)
{
	if (!sel->have_port)
		argp_error(state, "--port is required");
}

const struct port_sel port_sel_defaults = {.proto = PROTO_UDP};

error_t port_cmd_parse(int key, char *arg, struct argp_state *state)
{
	struct port_sel *sel = state->input;

	switch (key) {
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return 0;
	case ARGP_KEY_END:
		port_sel_check(state, sel);
		return 0;
	default:
		return port_sel_parse(key, arg, state, sel);
	}
}

const char *proto_name(__u8 proto)
{
	return proto == PROTO_TCP ? "tcp" : "udp";
}

const char *layer_name(__u32 layer)
{
	return layer == SYRUP_LAYER_XDP	     ? "xdp"
	       : layer == SYRUP_LAYER_THREAD ? "thread"
					     : "socket";
}

static const struct fp_command *const commands[] = {
	&attach_cmd, &detach_cmd, &status_cmd, &stats_cmd,
	&set_cmd,    &daemon_cmd, NULL,
};

static const struct fp_tool tool = {
	.name = "syrup-steer",
	.doc = doc,
	.children = json_children,
	.commands = commands,
};

int main(int argc, char **argv)
{
	return fp_tool_main(&tool, argc, argv);
}
