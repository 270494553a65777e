// SPDX-License-Identifier: GPL-2.0
/*
 * Many lookups through one engine: the keys are cut into one share per
 * thread, every thread sets up its engine (file handle, ring) and waits at
 * a barrier, so the measured window holds lookups only; the threads'
 * counts are summed at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lookup.h"
#include "engine-kernel.h"
#include "xrp-lookup.skel.h"

struct bpf_xrp *ctx_at(struct bpf_xrp *base, unsigned int i)
{
	return (struct bpf_xrp *)((char *)base + (size_t)i * CTX_STRIDE);
}

void lookup_finish(struct worker *w, size_t idx, struct bpf_xrp *ctx,
		   enum step st, const char *err, uint64_t lat_ns)
{
	struct xrp_lookup *q = (struct xrp_lookup *)ctx->scratch;
	struct result *res = w->run->results ? &w->run->results[idx] : NULL;
	int status;
	char why[160];

	if (st == STEP_DONE && q->error) {
		snprintf(why, sizeof(why),
			 "the storage function found "
			 "corrupt data (last read at offset %llu)",
			 (unsigned long long)ctx->next_addr[0]);
		err = why;
		st = STEP_ERROR;
	}
	status = st == STEP_ERROR ? 2 : q->found ? 0 : 1;
	w->reads += ctx->hops;
	if (status == 2) {
		w->errors++;
		if (!w->first_error[0])
			snprintf(w->first_error, sizeof(w->first_error),
				 "lookup of key %llu failed: %s",
				 (unsigned long long)w->run->keys[idx], err);
	} else if (status == 0) {
		w->found++;
		if (!res) { /* bench: every value names its key */
			char want[BPFKV_VALUE_SIZE];

			db_format_value(want, w->run->keys[idx]);
			if (memcmp(want, q->value, BPFKV_VALUE_SIZE))
				w->wrong++;
		}
	} else {
		w->missing++;
	}
	fp_hist_add(&w->hist, lat_ns);
	if (res) {
		res->key = w->run->keys[idx];
		res->status = status;
		memcpy(res->value, q->value, BPFKV_VALUE_SIZE);
		res->value[BPFKV_VALUE_SIZE - 1] = '\0';
		if (status == 2)
			snprintf(res->err, sizeof(res->err), "%s", err);
	}
}

static void meter_snap(struct meter *m, bool end)
{
	uint64_t sys = m->skel ? m->skel->bss->syscalls : 0;

	if (!end) {
		m->sys0 = sys;
		getrusage(RUSAGE_SELF, &m->r0);
		m->t0 = fp_mono_ns();
	} else {
		m->t1 = fp_mono_ns();
		getrusage(RUSAGE_SELF, &m->r1);
		m->sys1 = m->skel ? m->skel->bss->syscalls : 0;
	}
}

/* Each thread's share of the keys and its contexts. */
static int workers_init(struct run *run, struct worker *ws, unsigned int nt)
{
	for (unsigned int t = 0; t < nt; t++) {
		struct worker *w = &ws[t];
		unsigned int nctx = 1;

		w->run = run;
		w->first = run->nkeys * t / nt;
		w->end = run->nkeys * (t + 1) / nt;
		/* uring: one context per slot, no more slots than keys */
		if (run->engine == ENG_URING)
			nctx = w->end - w->first < run->inflight
				       ? (unsigned int)(w->end - w->first)
				       : run->inflight;
		if (nctx == 0)
			nctx = 1;
		if (posix_memalign((void **)&w->ctxs, 4096,
				   (size_t)nctx * CTX_STRIDE)) {
			w->ctxs = NULL;
			return fp_error("out of memory");
		}
	}
	return 0;
}

static void workers_run(struct run *run, struct worker *ws, unsigned int nt,
			struct meter *m)
{
	void *(*worker)(void *) = run->engine == ENG_URING    ? uring_worker
				  : run->engine == ENG_KERNEL ? kernel_worker
							      : pread_worker;

	pthread_barrier_init(&run->ready, NULL, nt + 1);
	pthread_barrier_init(&run->start, NULL, nt + 1);
	for (unsigned int t = 0; t < nt; t++)
		pthread_create(&ws[t].tid, NULL, worker, &ws[t]);
	pthread_barrier_wait(&run->ready);
	if (m)
		meter_snap(m, false);
	pthread_barrier_wait(&run->start);
	for (unsigned int t = 0; t < nt; t++)
		pthread_join(ws[t].tid, NULL);
	if (m)
		meter_snap(m, true);
	pthread_barrier_destroy(&run->ready);
	pthread_barrier_destroy(&run->start);
}

static void workers_sum(struct run *run, const struct worker *ws,
			unsigned int nt)
{
	for (unsigned int t = 0; t < nt; t++) {
		const struct worker *w = &ws[t];

		fp_hist_merge(&run->hist, &w->hist);
		run->found += w->found;
		run->missing += w->missing;
		run->errors += w->errors;
		run->wrong += w->wrong;
		run->reads += w->reads;
		run->own_syscalls += w->own_syscalls;
		run->cached += w->cached;
		run->loop_steps += w->loop_steps;
		if (!run->first_error[0] && w->first_error[0])
			snprintf(run->first_error, sizeof(run->first_error),
				 "%s", w->first_error);
	}
}

int run_lookups(struct run *run, struct meter *m)
{
	unsigned int nt = run->threads;
	struct worker *ws;
	int ret;

	if (nt > run->nkeys)
		nt = run->nkeys ? run->nkeys : 1;
	run->threads = nt;
	ws = calloc(nt, sizeof(*ws));
	if (!ws)
		return fp_error("out of memory");
	ret = workers_init(run, ws, nt);
	if (!ret) {
		workers_run(run, ws, nt, m);
		for (unsigned int t = 0; t < nt; t++)
			ret |= ws[t].setup_err;
		if (!ret)
			workers_sum(run, ws, nt);
	}
	for (unsigned int t = 0; t < nt; t++) {
		if (ws[t].ring_ready)
			io_uring_queue_exit(&ws[t].ring);
		xrpk_ring_close(ws[t].kring);
		free(ws[t].ctxs);
		free(ws[t].slots);
	}
	free(ws);
	return ret;
}
