// SPDX-License-Identifier: GPL-2.0
/* bmc-attach status [IFACE]: where BMC is attached, in every namespace. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "bmc-attach.h"

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct status_opts *o = state->input;

	switch (key) {
	case ARGP_KEY_ARG:
		iface_arg(state, &o->iface, arg);
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
	.parser = parse_arg,
	.args_doc = "[IFACE]",
	.doc = "List where BMC is attached (every network namespace), or "
	       "only IFACE."
	       "\v"
	       "EXAMPLES:\n"
	       "    bmc-attach status          # a table: mode, port, cache, "
	       "state\n"
	       "    bmc-attach status eth0 -j  # one JSON object, if "
	       "attached\n",
	.children = children,
};

const struct fp_command status_cmd = {
	.name = "status",
	.summary = "list where BMC is attached (every namespace)",
	.argp = &argp,
	.opts_size = sizeof(struct status_opts),
	.run = status_run,
};

static const struct fp_column cols[] = {
	{"IFACE", 12, true},  {"MODE", 7, true},     {"PORT", 5, false},
	{"CACHE", 9, false},  {"ENTRIES", 8, false}, {"MAX-AGE", 7, false},
	{"NETNS", 10, false}, {"STATE", 8, true},
};
#define NCOLS ((int)(sizeof(cols) / sizeof(cols[0])))

static void print_json(struct fp_json *j, const char *iface,
		       const struct bmc_config *cfg, const char *state)
{
	fp_json_object_begin(j);
	fp_json_kv_ts(j, fp_wall_time());
	fp_json_kv_string(j, "iface", iface);
	fp_json_kv_u64(j, "ifindex", cfg->ifindex);
	fp_json_kv_string(j, "mode", fp_xdp_mode_name(cfg->xdp_mode));
	fp_json_kv_u64(j, "port", cfg->port);
	fp_json_kv_u64(j, "cache_size_bytes", cfg->cache_size);
	fp_json_kv_u64(j, "cache_entries", cfg->cache_entries);
	fp_json_kv_u64(j, "max_age_s", cfg->max_age);
	fp_json_kv_u64(j, "max_value_bytes", cfg->max_value);
	fp_json_kv_u64(j, "netns_ino", cfg->netns_ino);
	fp_json_kv_u64(j, "attached_at_s", cfg->attached_at);
	fp_json_kv_string(j, "state", state);
	fp_json_object_end(j);
	fp_json_newline(j);
}

static void print_row(const char *iface, const struct bmc_config *cfg,
		      const char *state)
{
	char size[32], port[16], ent[24], age[16], ns[16];
	const char *vals[NCOLS];

	fp_human_bytes(size, sizeof(size), cfg->cache_size);
	snprintf(port, sizeof(port), "%u", cfg->port);
	snprintf(ent, sizeof(ent), "%llu",
		 (unsigned long long)cfg->cache_entries);
	if (cfg->max_age)
		snprintf(age, sizeof(age), "%us", cfg->max_age);
	else
		snprintf(age, sizeof(age), "-");
	snprintf(ns, sizeof(ns), "%u", cfg->netns_ino);
	vals[0] = iface;
	vals[1] = fp_xdp_mode_name(cfg->xdp_mode);
	vals[2] = port;
	vals[3] = size;
	vals[4] = ent;
	vals[5] = age;
	vals[6] = ns;
	vals[7] = state;
	fp_table_row(stdout, cols, NCOLS, vals);
}

static void print_none(const char *iface)
{
	if (fp_opts.json)
		return;
	if (iface)
		printf("bmc-attach: BMC is not attached to %s\n", iface);
	else
		printf("bmc-attach: BMC is not attached anywhere\n");
}

int status_run(const void *opts)
{
	const struct status_opts *o = opts;
	struct dirent *de;
	struct fp_json j;
	DIR *d;
	int n = 0;

	if (bmc_prepare(NULL))
		return FP_EXIT_FAIL;
	d = opendir(BMC_PIN_ROOT);
	if (!d) {
		print_none(o->iface);
		return 0;
	}
	fp_json_init(&j, stdout);
	while ((de = readdir(d))) {
		struct bmc_config cfg;
		const char *state;
		char dir[512];

		if (de->d_name[0] == '.' ||
		    (o->iface && strcmp(o->iface, de->d_name)))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", BMC_PIN_ROOT, de->d_name);
		if (bmc_read_config(dir, &cfg))
			continue;
		state = fp_pin_exists(dir, "xdp_link") ? "attached" : "broken";
		if (!bmc_netns_alive(cfg.netns_ino))
			state = "stale";
		if (fp_opts.json) {
			print_json(&j, de->d_name, &cfg, state);
		} else {
			if (n == 0)
				fp_table_header(stdout, cols, NCOLS);
			print_row(de->d_name, &cfg, state);
		}
		n++;
	}
	closedir(d);
	if (n == 0)
		print_none(o->iface);
	return 0;
}
