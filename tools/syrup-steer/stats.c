// SPDX-License-Identifier: GPL-2.0
/* syrup-steer stats: per-executor counts, once or every interval. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prometheus.h"
#include "steer.h"

#define NR_STATS (SYRUP_MAX_EXECUTORS + 1) /* executors, then "other" */

/* stats's options: the port, and --prometheus. */
struct stats_opts {
	struct port_sel sel;
	bool prometheus;
};

enum { OPT_PROMETHEUS = 0x200 };

struct stats_ctx {
	const struct stats_opts *o;
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

	double now = fp_wall_time();
	bool xdp = in->layer == SYRUP_LAYER_XDP, cpu = xdp && !in->xsk;

	fp_json_init(&j, stdout);
	fp_json_object_begin(&j);
	fp_json_kv_ts(&j, now);
	fp_json_kv_string(&j, "proto", proto_name(in->proto));
	fp_json_kv_u64(&j, "port", in->port);
	fp_json_kv_string(&j, "layer", layer_name(in->layer));
	fp_json_kv_string(&j, "policy", in->policy);
	/* the seconds the counts cover: the interval, or since attach */
	fp_json_kv_double(&j, "interval_s",
			  fp_opts.interval ? fp_opts.interval
					   : now - (double)in->attached_at,
			  3);
	fp_json_key(&j, "executors");
	fp_json_array_begin(&j);
	for (__u32 i = 0; i < in->nr_executors; i++) {
		fp_json_object_begin(&j);
		fp_json_kv_u64(&j, "index", i);
		fp_json_kv_u64_or_null(&j, "cpu", cpu, p->execs[i].cpu);
		fp_json_key(&j, "open");
		if (cpu)
			fp_json_null(&j);
		else
			fp_json_bool(&j, pinned_executor_open(p, i));
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

/* The counters in the order report_prometheus names them. */
static __u64 stat_field(const struct syrup_stat *s, size_t i)
{
	const __u64 v[] = {s->steered, s->fallback, s->errors, s->dropped};

	return v[i];
}

/*
 * Counters since attach, per executor, labelled with the port, protocol
 * and policy. syrup_up is always there: a textfile rewritten after a
 * detach says 0 instead of keeping the last numbers (see do_stats).
 */
static void prom_up(bool up)
{
	fp_prom_header(stdout, "syrup_up", "gauge",
		       "Whether a syrup-steer policy is attached to the port "
		       "and its counters were read (1) or not (0).");
	printf("syrup_up %d\n", up);
}

static void report_prometheus(const struct pinned *p,
			      const struct syrup_stat *cur)
{
	static const struct {
		const char *name, *help;
	} counters[] = {
		{"syrup_steered_total",
		 "Inputs the policy steered to this executor."},
		{"syrup_fallback_total",
		 "Inputs left to the kernel's default choice (the policy "
		 "said so, or its executor was closed)."},
		{"syrup_errors_total",
		 "Inputs the policy failed on (an index out of range, a "
		 "runtime error)."},
		{"syrup_dropped_total", "Inputs the policy dropped."},
	};
	const struct syrup_info *in = &p->info;
	char base[192] = "", labels[256];

	prom_up(true);
	fp_prom_label_add(base, sizeof(base), "proto", proto_name(in->proto));
	snprintf(labels, sizeof(labels), "%u", in->port);
	fp_prom_label_add(base, sizeof(base), "port", labels);
	fp_prom_label_add(base, sizeof(base), "layer", layer_name(in->layer));
	fp_prom_label_add(base, sizeof(base), "policy", in->policy);
	for (size_t c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
		fp_prom_header(stdout, counters[c].name, "counter",
			       counters[c].help);
		for (__u32 i = 0; i <= in->nr_executors; i++) {
			struct syrup_stat other = {};
			const struct syrup_stat *st = &cur[i];
			char exec[16];

			if (i == in->nr_executors) {
				/* what no executor index names */
				for (__u32 k = i; k < NR_STATS; k++)
					stat_add(&other, &cur[k]);
				st = &other;
				snprintf(exec, sizeof(exec), "other");
			} else {
				snprintf(exec, sizeof(exec), "%u", i);
			}
			snprintf(labels, sizeof(labels), "%s", base);
			fp_prom_label_add(labels, sizeof(labels), "executor",
					  exec);
			printf("%s{%s} %llu\n", counters[c].name, labels,
			       (unsigned long long)stat_field(st, c));
		}
	}
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
	if (c->o->prometheus) {
		report_prometheus(&c->p, c->cur);
		fflush(stdout);
		return 0;
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
	const struct stats_opts *o = opts;
	struct stats_ctx *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return fp_error("out of memory");
	c->o = o;
	if (fp_check_privileges(FP_CAP_BPF)) {
		free(c);
		return 1;
	}
	fp_mount_bpffs();
	if (pinned_open_port(&o->sel, &c->p)) {
		free(c);
		/* Nothing attached is an answer, not a failure, for a
		 * textfile: syrup_up 0 replaces the last numbers. */
		if (o->prometheus) {
			prom_up(false);
			return 0;
		}
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
	"    syrup-steer stats -P 9000          # totals since attach\n"
	"    syrup-steer stats -P 9000 -i 1 -n 5   # five 1-second "
	"intervals\n"
	"    syrup-steer stats -P 9000 -j       # JSON Lines\n"
	"    syrup-steer stats -P 9000 --prometheus > f.$$ && mv f.$$ "
	"/var/lib/node_exporter/syrup.prom\n";

static const struct argp_option stats_options[] = {
	{"prometheus", OPT_PROMETHEUS, NULL, 0,
	 "Print the counters since attach in the Prometheus text format", 0},
	{},
};

static error_t stats_parse(int key, char *arg, struct argp_state *state)
{
	struct stats_opts *o = state->input;

	(void)arg;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &o->sel;
		return 0;
	case OPT_PROMETHEUS:
		o->prometheus = true;
		return 0;
	case ARGP_KEY_END:
		port_sel_check(state, &o->sel);
		if (o->prometheus && (fp_opts.json || fp_opts.timestamp))
			argp_error(state, "--prometheus and %s do not mix",
				   fp_opts.json ? "-j" : "-T");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

/* The port options, as a child whose input is stats_opts.sel. */
static error_t port_child_parse(int key, char *arg, struct argp_state *state)
{
	return port_sel_parse(key, arg, state, state->input);
}

static const struct argp port_argp = {
	port_options, port_child_parse, NULL, NULL, NULL, NULL, NULL,
};

static const struct argp_child children[] = {
	{&port_argp, 0, NULL, 0},
	{&fp_interval_argp, 0, NULL, 0},
	{&fp_output_argp, 0, NULL, 0},
	{},
};

static const struct argp argp = {
	stats_options, stats_parse, "[INTERVAL [COUNT]]", doc, children,
	NULL,	       NULL,
};

static const struct stats_opts stats_defaults = {
	.sel = {.proto = PROTO_UDP},
};

const struct fp_command stats_cmd = {
	.name = "stats",
	.summary = "per-executor counts: steered, fallbacks, errors",
	.argp = &argp,
	.opts_size = sizeof(struct stats_opts),
	.defaults = &stats_defaults,
	.run = do_stats,
};
