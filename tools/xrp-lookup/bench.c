// SPDX-License-Identifier: GPL-2.0
/*
 * xrp-lookup bench: random lookups through one engine, and what they cost:
 * rate, latency, CPU and system calls per lookup. Every value is checked
 * against its key, so a fast wrong answer does not pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "lookup.h"
#include "engine-kernel.h"
#include "xrp-lookup.skel.h"

struct bench_opts {
	struct lookup_opts lk;
	const char *file;
	uint64_t requests, threads, seed;
};

/* One bench: what ran, and the window it was measured in. */
struct bench {
	const struct bench_opts *o;
	struct run run;
	struct meter m;
	struct function f;
	struct db db;
	enum engine eng;
	uint64_t *keys;
	/* per lookup, from the window */
	double secs, cpu_us, user_us, sys_us, sysc;
};

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double tv_us(const struct timeval *a, const struct timeval *b)
{
	return (b->tv_sec - a->tv_sec) * 1e6 + (b->tv_usec - a->tv_usec);
}

/* The kernel counts this process's system calls (raw_tp/sys_enter). */
static struct xrp_lookup_bpf *syscall_counter(void)
{
	struct xrp_lookup_bpf *skel;
	int err;

	/* Best effort: without the privileges the load fails quietly. */
	fp_bump_memlock();
	skel = xrp_lookup_bpf__open();
	if (!skel)
		return NULL;
	bpf_program__set_autoload(skel->progs.standin_bpfkv_get, false);
	bpf_program__set_autoload(skel->progs.standin_bpfkv_range, false);
	skel->rodata->target_tgid = getpid();
	err = xrp_lookup_bpf__load(skel);
	if (!err)
		err = xrp_lookup_bpf__attach(skel);
	if (err) {
		fp_debug("cannot load the system call counter: %s",
			 fp_strerror(err));
		xrp_lookup_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

static void print_json(const struct bench *b)
{
	const struct bench_opts *o = b->o;
	const struct run *run = &b->run;
	uint64_t n = o->requests;
	enum engine eng = b->eng;
	struct fp_json j;

	fp_json_init(&j, stdout);
	fp_json_object_begin(&j);
	fp_json_kv_ts(&j, fp_wall_time());
	fp_json_kv_string(&j, "engine", engine_names[eng]);
	fp_json_kv_string(&j, "function", b->f.name);
	fp_json_kv_u64(&j, "layers", b->db.layers);
	fp_json_kv_u64(&j, "requests", n);
	fp_json_kv_u64(&j, "threads", run->threads);
	fp_json_kv_u64(&j, "inflight",
		       eng == ENG_URING || eng == ENG_KERNEL ? o->lk.inflight
							     : 1);
	fp_json_kv_bool(&j, "sqpoll", eng == ENG_URING && o->lk.sqpoll);
	fp_json_kv_double(&j, "elapsed_s", b->secs, 6);
	fp_json_kv_double(&j, "lookups_per_sec", n / b->secs, 1);
	fp_json_kv_double(&j, "p50_us",
			  fp_hist_percentile(&run->hist, 50) / 1e3, 2);
	fp_json_kv_double(&j, "p99_us",
			  fp_hist_percentile(&run->hist, 99) / 1e3, 2);
	fp_json_kv_double(&j, "p999_us",
			  fp_hist_percentile(&run->hist, 99.9) / 1e3, 2);
	fp_json_kv_double(&j, "cpu_us_per_lookup", b->cpu_us, 3);
	fp_json_kv_double(&j, "user_us_per_lookup", b->user_us / n, 3);
	fp_json_kv_double(&j, "sys_us_per_lookup", b->sys_us / n, 3);
	fp_json_kv_double(&j, "syscalls_per_lookup", b->sysc, 4);
	fp_json_kv_string(&j, "syscalls_counted_by",
			  b->m.skel ? "kernel" : "tool");
	fp_json_kv_double(&j, "reads_per_lookup", (double)run->reads / n, 3);
	fp_json_kv_u64(&j, "cache_layers", o->lk.cache_layers);
	fp_json_kv_double(&j, "cached_reads_per_lookup",
			  (double)run->cached / n, 3);
	fp_json_kv_double_or_null(&j, "loop_steps_per_lookup",
				  eng == ENG_KERNEL,
				  (double)run->loop_steps / n, 4);
	fp_json_object_end(&j);
	fp_json_newline(&j);
}

static void print_text(const struct bench *b)
{
	const struct bench_opts *o = b->o;
	const struct run *run = &b->run;
	uint64_t n = o->requests;
	enum engine eng = b->eng;
	char hb[16];

	printf("engine %s", engine_names[eng]);
	if (eng == ENG_URING || eng == ENG_KERNEL)
		printf(" (%llu in flight per thread%s)",
		       (unsigned long long)o->lk.inflight,
		       eng == ENG_KERNEL ? ", function in io_uring_enter"
		       : o->lk.sqpoll	 ? ", SQPOLL"
					 : "");
	printf(", %u thread%s, function %s\n", run->threads,
	       run->threads == 1 ? "" : "s", b->f.name);
	printf("database %s: %u layers, %s keys, %.2f reads per lookup",
	       o->file, b->db.layers,
	       fp_human_count(hb, sizeof(hb), b->db.keys),
	       (double)run->reads / n);
	if (o->lk.cache_layers)
		printf(" (+%.2f from the top %llu cached layers)",
		       (double)run->cached / n,
		       (unsigned long long)o->lk.cache_layers);
	printf("\n");
	printf("lookups        %llu in %.3f s\n", (unsigned long long)n,
	       b->secs);
	printf("lookups/s      %.0f\n", n / b->secs);
	printf("latency (us)   p50 %.1f  p99 %.1f  p99.9 %.1f\n",
	       fp_hist_percentile(&run->hist, 50) / 1e3,
	       fp_hist_percentile(&run->hist, 99) / 1e3,
	       fp_hist_percentile(&run->hist, 99.9) / 1e3);
	printf("cpu us/lookup  %.2f (user %.2f, system %.2f%s)\n", b->cpu_us,
	       b->user_us / n, b->sys_us / n,
	       eng == ENG_URING && o->lk.sqpoll ? ", with the SQPOLL thread"
						: "");
	printf("syscalls/lookup %.3f (counted by the %s)\n", b->sysc,
	       b->m.skel ? "kernel" : "tool");
	if (eng == ENG_KERNEL)
		printf("loop steps     %.3f per lookup (calls of the BPF loop "
		       "in io_uring_enter)\n",
		       (double)run->loop_steps / n);
}

/* The random keys, the counter, and the run in the measured window. */
static int bench_run(struct bench *b)
{
	const struct bench_opts *o = b->o;
	struct run *run = &b->run;
	uint64_t seed = o->seed, n = o->requests;

	b->keys = malloc(n * sizeof(*b->keys));
	if (!b->keys)
		return fp_error("out of memory");
	for (uint64_t i = 0; i < n; i++)
		b->keys[i] = splitmix64(&seed) % b->db.keys;
	b->m.skel = syscall_counter();
	if (!b->m.skel)
		fp_warn("cannot count system calls in the kernel (needs root); "
			"counting the ones xrp-lookup makes itself");
	run->db = &b->db;
	run->fn = b->f.fn;
	run->max_depth = o->lk.max_depth;
	run->engine = b->eng;
	run->keys = b->keys;
	run->nkeys = n;
	run->threads = o->threads;
	run->inflight = o->lk.inflight;
	run->sqpoll = o->lk.sqpoll;
	return run_lookups(run, &b->m);
}

/* Every lookup must have found its own key's value. */
static int bench_check(const struct bench *b)
{
	const struct run *run = &b->run;

	if (run->errors)
		return fp_error("%llu of %llu lookups failed; the first: %s",
				(unsigned long long)run->errors,
				(unsigned long long)b->o->requests,
				run->first_error);
	if (run->wrong || run->missing)
		return fp_error("%llu lookups returned a wrong value and %llu "
				"found nothing: %s is not a BPF-KV database as "
				"created, or the function is wrong",
				(unsigned long long)run->wrong,
				(unsigned long long)run->missing, b->o->file);
	return 0;
}

static void bench_measure(struct bench *b)
{
	const struct meter *m = &b->m;
	uint64_t n = b->o->requests;

	b->secs = (m->t1 - m->t0) / 1e9;
	b->user_us = tv_us(&m->r0.ru_utime, &m->r1.ru_utime);
	b->sys_us = tv_us(&m->r0.ru_stime, &m->r1.ru_stime);
	b->cpu_us = (b->user_us + b->sys_us) / n;
	b->sysc =
		(double)(m->skel ? m->sys1 - m->sys0 : b->run.own_syscalls) / n;
	b->run.reads -= b->run.cached; /* reads from the device only */
}

static int do_bench(const void *opts)
{
	struct bench b = {.o = opts};
	const struct bench_opts *o = b.o;
	int ret = 1;

	if (choose_engine(&o->lk, &b.eng, true))
		return 1;
	if (db_open(&b.db, o->file, o->lk.cache_layers))
		return 1;
	if (function_load(&b.f, o->lk.function, false))
		goto out;
	if (b.eng == ENG_KERNEL &&
	    kernel_open(&b.run.kernel, &b.db, false, &o->lk, &b.eng))
		goto out;
	if (bench_run(&b) || bench_check(&b))
		goto out;
	bench_measure(&b);
	if (fp_opts.json)
		print_json(&b);
	else
		print_text(&b);
	ret = 0;
out:
	xrpk_close(b.run.kernel);
	if (b.m.skel)
		xrp_lookup_bpf__destroy(b.m.skel);
	free(b.keys);
	db_close(&b.db);
	return ret;
}

static const char doc[] =
	"Run random lookups through one engine and report lookups/s, latency "
	"and the CPU and system calls each lookup costs. Every value is "
	"checked against its key."
	"\v"
	"EXAMPLES:\n"
	"    xrp-lookup bench -e uring -q 32 db.bin    # 32 lookups in flight\n"
	"    xrp-lookup bench -e pread -t 32 -j db.bin # 32 threads, JSON\n"
	"    xrp-lookup bench -e kernel db.bin         # function in the "
	"kernel (7.1+)\n";

static const struct argp_option options[] = {
	{"requests", 'r', "N", 0, "Lookups to run (default 100000)", 0},
	{"threads", 't', "T", 0,
	 "Threads, each with its own file handle or ring (default 1)", 0},
	{"seed", OPT_SEED, "N", 0, "Seed of the random keys (default 1)", 0},
	{},
};

static error_t parse_bench(int key, char *arg, struct argp_state *state)
{
	struct bench_opts *o = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &o->lk;
		return 0;
	case 'r':
		parse_u64_opt(state, "request count", arg, 1, 1000000000,
			      &o->requests);
		return 0;
	case 't':
		parse_u64_opt(state, "thread count", arg, 1, 256, &o->threads);
		return 0;
	case OPT_SEED:
		parse_u64_opt(state, "seed", arg, 0, UINT64_MAX, &o->seed);
		return 0;
	case ARGP_KEY_ARG:
		parse_only_arg(state, arg, &o->file);
		return 0;
	case ARGP_KEY_END:
		if (!o->file)
			argp_error(state, "no FILE given");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp argp = {
	options, parse_bench, "FILE", doc, lookup_children, NULL, NULL,
};

static const struct bench_opts defaults = {
	LOOKUP_DEFAULTS,
	.requests = 100000,
	.threads = 1,
	.seed = 1,
};

const struct fp_command bench_cmd = {
	.name = "bench",
	.summary = "FILE                 lookups/s, latency, CPU and syscalls",
	.argp = &argp,
	.opts_size = sizeof(struct bench_opts),
	.defaults = &defaults,
	.run = do_bench,
};
