// SPDX-License-Identifier: GPL-2.0
/* bmc-attach detach IFACE: remove exactly what attach created. */
#include <stdio.h>

#include "bmc-attach.h"

enum { OPT_NETNS = 256 };

static const struct argp_option options[] = {
	{"netns", OPT_NETNS, "NAME", 0,
	 "Network namespace of IFACE (/run/netns/NAME)", 0},
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct detach_opts *o = state->input;

	switch (key) {
	case OPT_NETNS:
		o->netns = arg;
		return 0;
	case ARGP_KEY_ARG:
		iface_arg(state, &o->iface, arg);
		return 0;
	case ARGP_KEY_END:
		if (!o->iface)
			argp_error(state, "no interface given (e.g. "
					  "bmc-attach detach eth0)");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp_child children[] = {
	{&fp_json_argp, 0, NULL, 0},
	{},
};

static const struct argp argp = {
	.options = options,
	.parser = parse_arg,
	.args_doc = "IFACE",
	.doc = "Detach BMC from IFACE: its XDP program, TC filter and pins."
	       "\v"
	       "EXAMPLES:\n"
	       "    bmc-attach detach eth0                     # remove it "
	       "again\n"
	       "    bmc-attach detach veth0 --netns mc         # from an "
	       "interface in netns mc\n",
	.children = children,
};

const struct fp_command detach_cmd = {
	.name = "detach",
	.summary = "remove BMC from an interface (nothing there is success)",
	.argp = &argp,
	.opts_size = sizeof(struct detach_opts),
	.run = detach_run,
};

static void print_detached(const char *iface, bool was_attached)
{
	struct fp_json j;

	if (!fp_opts.json) {
		if (was_attached)
			printf("bmc-attach: BMC detached from %s\n", iface);
		else
			printf("bmc-attach: BMC is not attached to %s: nothing "
			       "to detach\n",
			       iface);
		return;
	}
	fp_json_init(&j, stdout);
	fp_json_object_begin(&j);
	fp_json_kv_ts(&j, fp_wall_time());
	fp_json_kv_string(&j, "detached", iface);
	fp_json_kv_bool(&j, "was_attached", was_attached);
	fp_json_object_end(&j);
	fp_json_newline(&j);
}

int detach_run(const void *opts)
{
	const struct detach_opts *o = opts;
	struct bmc_config cfg;
	char dir[256];
	bool same_ns, cfg_ok;

	if (bmc_prepare(o->netns))
		return FP_EXIT_FAIL;
	if (bmc_pin_dir(dir, sizeof(dir), o->iface))
		return fp_error("interface name too long: %s", o->iface);
	/*
	 * Nothing to detach is success: ExecStop= and configuration
	 * management run detach without knowing whether BMC is still there.
	 */
	if (!fp_pin_dir_exists(dir)) {
		print_detached(o->iface, false);
		return 0;
	}
	cfg_ok = bmc_read_config(dir, &cfg) == 0;
	same_ns = cfg_ok && cfg.netns_ino == fp_netns_inode();
	if (cfg_ok && !same_ns && bmc_netns_alive(cfg.netns_ino))
		return fp_error("BMC on %s was attached in another network "
				"namespace (inode %u): add --netns NAME",
				o->iface, cfg.netns_ino);
	if (bmc_remove(dir, cfg_ok ? &cfg : NULL, same_ns))
		return 1;
	if (!fp_opts.json && !same_ns)
		printf("bmc-attach: BMC detached from %s (its network "
		       "namespace is gone)\n",
		       o->iface);
	else
		print_detached(o->iface, true);
	return 0;
}
