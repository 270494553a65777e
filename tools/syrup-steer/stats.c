// SPDX-License-Identifier: GPL-2.0
/* syrup-steer stats: per-executor counts, once or every interval. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "steer.h"

#define NR_STATS (SYRUP_MAX_EXECUTORS + 1) /* executors, then "other" */

struct stats_ctx {
	struct pinned p;
	struct syrup_stat cur[NR_STATS];
	struct syrup_stat prev[NR_STATS];
};

static int read_stats(struct stats_ctx *c)
{
	for (__u32 i = 0; i < NR_STATS; i++) {
		int err = fp_percpu_sum(c->p.stats_fd, &i, &c->cur[i],
					sizeof(c->cur[i]));

		if (err)
			return err;
	}
	return 0;
}

static void stat_sub(struct syrup_stat *d, const struct syrup_stat *a,
		     const struct syrup_stat *b)
{
	d->steered = a->steered - b->steered;
	d->fallback = a->fallback - b->fallback;
	d->errors = a->errors - b->errors;
	d->dropped = a->dropped - b->dropped;
}

static void stat_add(struct syrup_stat *d, const struct syrup_stat *a)
{
	d->steered += a->steered;
	d->fallback += a->fallback;
	d->errors += a->errors;
	d->dropped += a->dropped;
}

static void json_stat(struct fp_json *j, const char *key,
		      const struct syrup_stat *s)
{
	if (key) {
		fp_json_key(j, key);
		fp_json_object_begin(j);
	}
	fp_json_kv_u64(j, "steered", s->steered);
	fp_json_kv_u64(j, "fallback", s->fallback);
	fp_json_kv_u64(j, "errors", s->errors);
	fp_json_kv_u64(j, "dropped", s->dropped);
	if (key)
		fp_json_object_end(j);
}

static void report_json(const struct pinned *p, const struct syrup_stat *d,
			const struct syrup_stat *other,
			const struct syrup_stat *total)
{
	const struct syrup_info *in = &p->info;
	struct fp_json j;

	fp_json_init(&j, stdout);
	fp_json_object_begin(&j);
	if (fp_opts.timestamp || fp_opts.interval)
		fp_json_kv_double(&j, "ts", fp_wall_time(), 6);
	fp_json_kv_string(&j, "proto", proto_name(in->proto));
	fp_json_kv_u64(&j, "port", in->port);
	fp_json_kv_string(&j, "layer", layer_name(in->layer));
	fp_json_kv_string(&j, "policy", in->policy);
	if (fp_opts.interval)
		fp_json_kv_double(&j, "interval", fp_opts.interval, 3);
	fp_json_key(&j, "executors");
	fp_json_array_begin(&j);
	for (__u32 i = 0; i < in->nr_executors; i++) {
		fp_json_object_begin(&j);
		fp_json_kv_u64(&j, "index", i);
		if (in->layer == SYRUP_LAYER_XDP)
			fp_json_kv_u64(&j, "cpu", p->execs[i].cpu);
		else
			fp_json_kv_bool(&j, "open", pinned_executor_open(p, i));
		json_stat(&j, NULL, &d[i]);
		fp_json_object_end(&j);
	}
	fp_json_array_end(&j);
	json_stat(&j, "other", other);
	json_stat(&j, "total", total);
	fp_json_object_end(&j);
	fp_json_newline(&j);
}

static void text_row(const char *name, const struct syrup_stat *s)
{
	printf("  %-8s %12llu %10llu %8llu %8llu\n", name,
	       (unsigned long long)s->steered, (unsigned long long)s->fallback,
	       (unsigned long long)s->errors, (unsigned long long)s->dropped);
}

static void report_text(const struct pinned *p, const struct syrup_stat *d,
			const struct syrup_stat *other,
			const struct syrup_stat *total)
{
	const struct syrup_info *in = &p->info;

	if (fp_opts.timestamp)
		fp_print_time(stdout);
	printf("%s/%u: policy %s, %s layer, %s\n", proto_name(in->proto),
	       in->port, in->policy, layer_name(in->layer),
	       fp_opts.interval ? "this interval" : "since attach");
	printf("  %-8s %12s %10s %8s %8s\n",
	       in->layer == SYRUP_LAYER_XDP ? "EXEC/CPU" : "EXEC", "STEERED",
	       "FALLBACK", "ERRORS", "DROPPED");
	for (__u32 i = 0; i < in->nr_executors; i++) {
		char name[32];

		if (in->layer == SYRUP_LAYER_XDP)
			snprintf(name, sizeof(name), "%u/%u", i,
				 p->execs[i].cpu);
		else
			snprintf(name, sizeof(name), "%u%s", i,
				 pinned_executor_open(p, i) ? "" : " closed");
		text_row(name, &d[i]);
	}
	text_row("other", other);
	text_row("total", total);
}

static int stats_report(void *ctx, bool final)
{
	struct stats_ctx *c = ctx;
	const struct syrup_info *in = &c->p.info;
	struct syrup_stat d[NR_STATS], other = {}, total = {};
	int err;

	(void) final;
	if (!fp_pin_dir_exists(c->p.dir))
		return fp_error("%s/%u was detached", proto_name(in->proto),
				in->port);
	err = read_stats(c);
	if (err)
		return fp_error("cannot read %s/stats: %s", c->p.dir,
				fp_strerror(err));
	for (__u32 i = 0; i < NR_STATS; i++) {
		stat_sub(&d[i], &c->cur[i], &c->prev[i]);
		if (i >= in->nr_executors)
			stat_add(&other, &d[i]);
		stat_add(&total, &d[i]);
	}
	if (fp_opts.interval)
		memcpy(c->prev, c->cur, sizeof(c->prev));
	if (fp_opts.json)
		report_json(&c->p, d, &other, &total);
	else
		report_text(&c->p, d, &other, &total);
	return 0;
}

static int do_stats(const void *opts)
{
	const struct port_sel *sel = opts;
	struct stats_ctx *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return fp_error("out of memory");
	if (fp_check_privileges(FP_CAP_BPF)) {
		free(c);
		return 1;
	}
	fp_mount_bpffs();
	if (pinned_open_port(sel, &c->p)) {
		free(c);
		return 1;
	}
	if (c->p.stats_fd < 0) {
		err = fp_error("cannot read %s/stats", c->p.dir);
		goto out;
	}
	if (fp_opts.interval && read_stats(c) == 0)
		memcpy(c->prev, c->cur, sizeof(c->prev));
	err = fp_report_loop(FP_LOOP_ONCE_NOW, stats_report, c);
out:
	pinned_close(&c->p);
	free(c);
	return err;
}

static const char doc[] =
	"Per-executor counts of a port: steered, fallbacks, errors."
	"\v"
	"EXAMPLES:\n"
	"    syrup-steer stats -p 9000          # totals since attach\n"
	"    syrup-steer stats -p 9000 -i 1 -n 5   # five 1-second "
	"intervals\n"
	"    syrup-steer stats -p 9000 -j       # JSON Lines\n";

static const struct argp_child children[] = {
	{&fp_interval_argp, 0, NULL, 0},
	{&fp_output_argp, 0, NULL, 0},
	{},
};

static const struct argp argp = {
	port_options, port_cmd_parse, NULL, doc, children, NULL, NULL,
};

const struct fp_command stats_cmd = {
	.name = "stats",
	.summary = "per-executor counts: steered, fallbacks, errors",
	.argp = &argp,
	.opts_size = sizeof(struct port_sel),
	.defaults = &port_sel_defaults,
	.run = do_stats,
};
