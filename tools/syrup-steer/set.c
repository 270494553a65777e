// SPDX-License-Identifier: GPL-2.0
/* syrup-steer set: a policy parameter, or an executor's load, live. */
#include <stdio.h>
#include <string.h>

#include "steer.h"

struct set_opts {
	struct port_sel sel;
	const char *settings[SYRUP_MAX_ARGS];
	int nr_settings;
	bool thread; /* --layer thread */
};

static void print_set(const struct syrup_info *in,
		      const struct syrup_setting *s)
{
	if (s->load)
		printf("%s/%u: load.%u = %llu\n", proto_name(in->proto),
		       in->port, s->exec, (unsigned long long)s->value);
	else
		printf("%s/%u: %s = %s\n", proto_name(in->proto), in->port,
		       s->name, s->text);
}

static void print_json(const struct set_opts *o, const struct syrup_info *in)
{
	struct fp_json j;

	fp_json_init(&j, stdout);
	fp_json_object_begin(&j);
	fp_json_kv_ts(&j, fp_wall_time());
	fp_json_kv_string(&j, "proto", proto_name(in->proto));
	fp_json_kv_u64(&j, "port", in->port);
	fp_json_key(&j, "set");
	fp_json_array_begin(&j);
	for (int i = 0; i < o->nr_settings; i++)
		fp_json_string(&j, o->settings[i]);
	fp_json_array_end(&j);
	fp_json_object_end(&j);
	fp_json_newline(&j);
}

static int do_set(const void *opts)
{
	const struct set_opts *o = opts;
	struct syrup_setting s;
	struct pinned p;
	char why[256];
	int err = 0;

	if (o->thread)
		return thread_set(o->settings, o->nr_settings);
	if (fp_check_privileges(FP_CAP_BPF))
		return 1;
	fp_mount_bpffs();
	if (pinned_open_port(&o->sel, &p))
		return 1;
	if (p.params_fd < 0 || p.load_fd < 0) {
		pinned_close(&p);
		return fp_error("cannot open the parameters under %s", p.dir);
	}
	/* one at a time, as given: those before a bad one stay written */
	for (int i = 0; i < o->nr_settings && !err; i++) {
		if (syrup_setting_parse(o->settings[i], p.info.builtin, &s, why,
					sizeof(why)))
			err = fp_error("%s", why);
		else
			err = syrup_setting_write(&s, p.params_fd, p.load_fd);
		if (!err && !fp_opts.json)
			print_set(&p.info, &s);
	}
	if (!err && fp_opts.json)
		print_json(o, &p.info);
	pinned_close(&p);
	return err;
}

static const char doc[] =
	"Change a policy parameter live, or an executor's load (load.N=VALUE)."
	"\v"
	"EXAMPLES:\n"
	"    syrup-steer set -P 9000 threshold=512\n"
	"    syrup-steer set -P 9000 class=SCAN big=2\n"
	"    syrup-steer set -P 9000 load.0=10 load.1=3   # for "
	"least-loaded\n"
	"    syrup-steer set --layer thread hint.4243=short  # sita: thread "
	"4243\n";

static const struct argp_option options[] = {
	{"port", 'P', "PORT", 0, "The port (required, but for --layer thread)",
	 0},
	{"proto", OPT_PROTO, "PROTO", 0,
	 "udp or tcp (needed only when both are attached)", 0},
	{"netns", OPT_NETNS, "NAME", 0,
	 "Act inside network namespace NAME (/run/netns/NAME)", 0},
	{"layer", OPT_LAYER, "thread", 0,
	 "The thread layer: hint.TID=short|long|none, reserved=N", 0},
	{},
};

static error_t parse_set(int key, char *arg, struct argp_state *state)
{
	struct set_opts *o = state->input;

	switch (key) {
	case OPT_LAYER:
		if (strcmp(arg, "thread"))
			argp_error(state,
				   "invalid layer '%s': set takes --layer "
				   "thread (a port's layer comes with --port)",
				   arg);
		o->thread = true;
		return 0;
	case ARGP_KEY_ARG:
		if (!syrup_setting_shape_ok(arg))
			argp_error(state,
				   "invalid setting '%s': want KEY=VALUE", arg);
		if (o->nr_settings >= SYRUP_MAX_ARGS)
			argp_error(state, "too many settings");
		o->settings[o->nr_settings++] = arg;
		return 0;
	case ARGP_KEY_END:
		if (o->thread && (o->sel.have_port || o->sel.have_proto))
			argp_error(state, "--layer thread takes no --port");
		if (!o->thread)
			port_sel_check(state, &o->sel);
		if (!o->nr_settings)
			argp_error(state, "nothing to set: give KEY=VALUE");
		return 0;
	default:
		return port_sel_parse(key, arg, state, &o->sel);
	}
}

static const struct argp argp = {
	options, parse_set, "KEY=VALUE...", doc, json_children, NULL, NULL,
};

static const struct set_opts defaults = {.sel.proto = PROTO_UDP};

const struct fp_command set_cmd = {
	.name = "set",
	.summary = "change a policy parameter (or an executor's load) live",
	.argp = &argp,
	.opts_size = sizeof(struct set_opts),
	.defaults = &defaults,
	.run = do_set,
};
