// SPDX-License-Identifier: GPL-2.0
/* The listing: a table for people, JSON Lines with fixed keys for scripts. */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "options.h"
#include "output.h"
#include "status.h"

static const struct fp_column cols[] = {
	{"KIND", 10, true}, {"NAME", 15, true}, {"NETNS", 12, true},
	{"PROG", 6, false}, {"TOOL", 11, true}, {"VERSION", 8, true},
	{"STATE", 8, true},
};
#define NCOLS (int)(sizeof(cols) / sizeof(cols[0]))

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void print_row(const struct entry *e, const struct netns_table *t,
		      bool pins)
{
	char ns[32] = "-", prog[16] = "-";
	const char *vals[NCOLS];

	if (e->have_netns)
		netns_label(t, e->netns_ino, ns, sizeof(ns));
	if (e->prog_id)
		snprintf(prog, sizeof(prog), "%u", e->prog_id);
	vals[0] = kind_name(e->kind);
	vals[1] = e->name;
	vals[2] = ns;
	vals[3] = prog;
	vals[4] = or_dash(e->tool);
	vals[5] = or_dash(e->version);
	vals[6] = state_name(e->state);
	fp_table_row(stdout, cols, NCOLS, vals);
	if (e->reason[0])
		printf("  %s\n", e->reason);
	if (!pins)
		return;
	printf("  %s%s\n", e->dir, e->is_dir ? "/" : "");
	for (int i = 0; i < e->nr_pins; i++) {
		const struct pin *p = &e->pins[i];
		char id[16] = "-";

		if (p->id)
			snprintf(id, sizeof(id), "%u", p->id);
		printf("    %-16s %-4s %6s %s", p->name, p->type, id, p->what);
		if (!strcmp(p->type, "link") && p->prog_id)
			printf(", prog %u", p->prog_id);
		printf("\n");
	}
}

/* Every object has every key (null when it does not apply). */
static void print_json(const struct entry *e, const struct netns_table *t)
{
	const struct netns *ns =
		e->have_netns ? netns_find(t, e->netns_ino) : NULL;
	struct fp_json j;

	fp_json_init(&j, stdout);
	fp_json_object_begin(&j);
	fp_json_kv_ts(&j, fp_wall_time());
	fp_json_kv_string(&j, "kind", kind_name(e->kind));
	fp_json_kv_string(&j, "name", e->name);
	fp_json_kv_string(&j, "state", state_name(e->state));
	fp_json_kv_string_or_null(&j, "reason", e->reason);
	fp_json_kv_string_or_null(&j, "netns", ns ? ns->name : NULL);
	fp_json_kv_u64_or_null(&j, "netns_ino", e->have_netns, e->netns_ino);
	fp_json_kv_string_or_null(&j, "iface", e->iface);
	fp_json_kv_u64_or_null(&j, "ifindex", e->ifindex, e->ifindex);
	fp_json_kv_string_or_null(&j, "proto",
				  e->kind != KIND_SYRUP || !e->port ? NULL
				  : e->proto == 6		    ? "tcp"
								    : "udp");
	fp_json_kv_u64_or_null(&j, "port", e->port, e->port);
	fp_json_key(&j, "ports");
	fp_json_array_begin(&j);
	for (int i = 0; i < e->nr_ports; i++)
		fp_json_string(&j, e->ports[i]);
	fp_json_array_end(&j);
	fp_json_kv_string_or_null(&j, "layer", e->layer);
	fp_json_kv_string_or_null(&j, "policy", e->policy);
	fp_json_kv_string_or_null(&j, "xdp_mode", e->xdp_mode);
	fp_json_kv_u64_or_null(&j, "prog_id", e->prog_id, e->prog_id);
	fp_json_key(&j, "prog_ids");
	fp_json_array_begin(&j);
	for (int i = 0; i < e->nr_progs; i++)
		fp_json_u64(&j, e->prog_ids[i]);
	fp_json_array_end(&j);
	fp_json_kv_string_or_null(&j, "tool", e->tool);
	fp_json_kv_string_or_null(&j, "version", e->version);
	fp_json_kv_u64_or_null(&j, "attached_at_s", e->attached_at,
			       e->attached_at);
	fp_json_kv_string(&j, "pins", e->dir);
	fp_json_key(&j, "objects");
	fp_json_array_begin(&j);
	for (int i = 0; i < e->nr_pins; i++) {
		const struct pin *p = &e->pins[i];

		fp_json_object_begin(&j);
		fp_json_kv_string(&j, "name", p->name);
		fp_json_kv_string(&j, "type", p->type);
		fp_json_kv_u64_or_null(&j, "id", p->id, p->id);
		fp_json_kv_u64_or_null(&j, "prog_id", p->prog_id, p->prog_id);
		fp_json_kv_string_or_null(&j, "info", p->what);
		fp_json_object_end(&j);
	}
	fp_json_array_end(&j);
	fp_json_object_end(&j);
	fp_json_newline(&j);
}

int cmd_list(const struct list_opts *o, const struct netns_table *t)
{
	struct entries es;

	if (scan_all(t, &es))
		return 1;
	if (!es.n && !fp_opts.json)
		printf("fastpath has nothing attached on this host (no pins "
		       "under %s or %s)\n",
		       BMC_ROOT, SYRUP_ROOT);
	if (es.n && !fp_opts.json)
		fp_table_header(stdout, cols, NCOLS);
	for (int i = 0; i < es.n; i++) {
		if (fp_opts.json)
			print_json(&es.v[i], t);
		else
			print_row(&es.v[i], t, o->pins);
	}
	entries_free(&es);
	return 0;
}
