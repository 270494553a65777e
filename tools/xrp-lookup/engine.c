// SPDX-License-Identifier: GPL-2.0
/*
 * Which engine runs the lookups (--engine, or the best this kernel has),
 * and the glue between the kernel engine (engine-kernel.h) and the rest:
 * its program loaded for a database, its worker thread, a range's chain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "lookup.h"
#include "engine-kernel.h"

const char *const engine_names[] = {"auto", "pread", "uring", "xrp", "kernel"};

static bool xrp_kernel(void)
{
	return fp_probe_btf_enum_value("BPF_PROG_TYPE_XRP") &&
	       fp_probe_btf_type("bpf_xrp");
}

static bool xrp_syscall(void)
{
	return fp_probe_btf_type("__x64_sys_read_xrp") ||
	       fp_probe_btf_type("__arm64_sys_read_xrp") ||
	       fp_probe_btf_type("__do_sys_read_xrp") ||
	       fp_probe_btf_type("ksys_read_xrp");
}

bool uring_works(void)
{
	struct io_uring ring;

	if (io_uring_queue_init(2, &ring, 0))
		return false;
	io_uring_queue_exit(&ring);
	return true;
}

/* With -v: what the engine choice rests on, one probe a line. */
static void print_engine_probes(void)
{
	if (!fp_opts.verbose)
		return;
	fprintf(stderr, "%s: engine probes:\n", fp_tool_name);
	fp_probe_print(stderr, "BPF_PROG_TYPE_XRP in kernel BTF",
		       fp_probe_btf_enum_value("BPF_PROG_TYPE_XRP"));
	fp_probe_print(stderr, "struct bpf_xrp in kernel BTF",
		       fp_probe_btf_type("bpf_xrp"));
	fp_probe_print(stderr, "read_xrp system call", xrp_syscall());
	fp_probe_print(stderr, "io_uring", uring_works());
	fp_probe_print(stderr, "io_uring_bpf_ops in kernel BTF",
		       fp_probe_btf_type("io_uring_bpf_ops"));
	fp_probe_print(stderr, "bpf_io_uring_submit_sqes kfunc",
		       fp_probe_btf_type("bpf_io_uring_submit_sqes"));
}

/* Why auto did not take the kernel engine, for its announcement. */
static const char *why_not_kernel(void)
{
	if (!xrpk_supported(NULL, 0))
		return xrp_kernel() ? "this build cannot drive XRP"
				    : "no io_uring BPF ops, which need Linux "
				      "7.1+, and no XRP in this kernel";
	if (!xrpk_may_load())
		return "the kernel engine needs CAP_BPF";
	return "--sqpoll or --inflight above 128 asks for it";
}

/* auto: the kernel engine, else uring, else pread. */
static int choose_auto(const struct lookup_opts *o, enum engine *out,
		       bool announce)
{
	/* --sqpoll and deep queues are the uring engine's. */
	if (!o->sqpoll && o->inflight <= XRPK_ENGINE_MAX_INFLIGHT &&
	    xrpk_supported(NULL, 0) && xrpk_may_load()) {
		*out = ENG_KERNEL;
		if (announce)
			fprintf(stderr,
				"%s: engine auto: using kernel (io_uring BPF "
				"ops: the storage function runs in the "
				"kernel)\n",
				fp_tool_name);
		return 0;
	}
	if (uring_works()) {
		*out = ENG_URING;
		if (announce)
			fprintf(stderr, "%s: engine auto: using uring (%s)\n",
				fp_tool_name, why_not_kernel());
		return 0;
	}
	*out = ENG_PREAD;
	if (announce)
		fprintf(stderr,
			"%s: engine auto: using pread (no XRP, no io_uring)\n",
			fp_tool_name);
	return 0;
}

static int choose_xrp(void)
{
	bool type = xrp_kernel(), sys = xrp_syscall();

	if (!type || !sys)
		return fp_error("engine xrp: this kernel has no XRP (%s%s%s in "
				"its BTF); use --engine uring or --engine "
				"auto",
				type ? ""
				     : "no BPF_PROG_TYPE_XRP or struct bpf_xrp",
				!type && !sys ? ", " : "",
				sys ? "" : "no read_xrp system call");
	return fp_error("engine xrp: this kernel carries XRP, but this build "
			"of xrp-lookup cannot drive it yet; use --engine "
			"uring");
}

int choose_engine(const struct lookup_opts *o, enum engine *out, bool announce)
{
	char why[128];
	struct utsname u;

	print_engine_probes();
	switch (o->engine) {
	case ENG_KERNEL:
		if (!xrpk_supported(why, sizeof(why)))
			return fp_error("engine kernel: %s (this kernel, %s, "
					"has %s); use --engine uring or "
					"--engine auto",
					XRPK_NEEDS, uname(&u) ? "?" : u.release,
					why);
		if (o->inflight > XRPK_ENGINE_MAX_INFLIGHT)
			return fp_error("engine kernel: --inflight %llu: at "
					"most %d lookups in flight per thread",
					(unsigned long long)o->inflight,
					XRPK_ENGINE_MAX_INFLIGHT);
		*out = ENG_KERNEL;
		return 0;
	case ENG_PREAD:
	case ENG_URING:
		*out = o->engine;
		if (o->engine == ENG_URING && !uring_works())
			return fp_error("engine uring: io_uring is not "
					"available here (kernel.io_uring_"
					"disabled?); use --engine pread");
		return 0;
	case ENG_XRP:
		return choose_xrp();
	case ENG_AUTO:
	default:
		return choose_auto(o, out, announce);
	}
}

int kernel_open(struct xrpk **k, const struct db *db, bool range,
		const struct lookup_opts *o, enum engine *eng)
{
	struct xrpk_params p = {
		.function = o->function,
		.range = range,
		.db_fd = db->fd,
		.db_size = db->size,
		.cache = db->cache,
		.cache_bytes = db->cache_bytes,
		.max_depth = o->max_depth,
		.inflight = o->inflight,
	};
	char refusal[512];

	*k = NULL;
	if (fp_check_privileges(FP_CAP_BPF))
		return 1;
	if (xrpk_open(k, &p, o->engine == ENG_AUTO ? refusal : NULL,
		      sizeof(refusal)) == 0)
		return 0;
	if (o->engine != ENG_AUTO || !refusal[0] || !uring_works())
		return 1;
	fprintf(stderr,
		"%s: engine auto: using uring (the verifier refused %s for "
		"the kernel engine: %s)\n",
		fp_tool_name, o->function ? o->function : "the function",
		refusal);
	*eng = ENG_URING;
	return 0;
}

/*
 * The kernel engine's thread: the storage function runs in the kernel;
 * each round of up to XRPK_ENGINE_BATCH lookups is one io_uring_enter, and
 * only finished lookups come back.
 */
void *kernel_worker(void *arg)
{
	struct worker *w = arg;
	struct run *run = w->run;
	struct bpf_xrp *ctx = w->ctxs;
	struct xrpk_answer *ans = NULL;
	uint64_t sqes, cqes;

	/* The ring belongs to the thread that uses it (SINGLE_ISSUER). */
	w->setup_err = xrpk_ring_open(run->kernel, &w->kring);
	if (!w->setup_err) {
		ans = calloc(XRPK_ENGINE_BATCH, sizeof(*ans));
		if (!ans)
			w->setup_err = fp_error("out of memory");
	}
	pthread_barrier_wait(&run->ready);
	pthread_barrier_wait(&run->start);
	for (size_t i = w->first; !w->setup_err && i < w->end;) {
		size_t n = w->end - i < XRPK_ENGINE_BATCH ? w->end - i
							  : XRPK_ENGINE_BATCH;

		if (xrpk_lookup(w->kring, run->keys + i, n, ans,
				&w->own_syscalls)) {
			snprintf(w->first_error, sizeof(w->first_error),
				 "the kernel engine failed");
			w->errors += w->end - i;
			break;
		}
		for (size_t j = 0; j < n; j++) {
			/* What lookup_finish reads from a finished context. */
			memcpy(ctx->scratch, ans[j].head, sizeof(ans[j].head));
			ctx->hops = ans[j].hops;
			ctx->next_addr[0] = ans[j].last_addr;
			w->cached += ans[j].cached;
			lookup_finish(w, i + j, ctx,
				      ans[j].failed ? STEP_ERROR : STEP_DONE,
				      ans[j].err, ans[j].lat_ns);
		}
		i += n;
	}
	if (w->kring)
		xrpk_ring_stats(w->kring, &w->loop_steps, &sqes, &cqes);
	free(ans);
	return NULL;
}

enum step kernel_chain(struct xrpk_ring *kring, char *err, size_t len)
{
	struct xrpk_answer a;

	if (xrpk_chain(kring, &a)) {
		snprintf(err, len, "the kernel engine failed");
		return STEP_ERROR;
	}
	snprintf(err, len, "%s", a.err);
	return a.failed ? STEP_ERROR : STEP_DONE;
}
