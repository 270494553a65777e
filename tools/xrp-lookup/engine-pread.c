// SPDX-License-Identifier: GPL-2.0
/*
 * The pread engine: one O_DIRECT pread(2) per block, one lookup at a time
 * per thread. The baseline XRP is measured against.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lookup.h"

/* The lookup in ctx, read by read, until it is done or fails. */
static enum step pread_chain(struct worker *w, struct bpf_xrp *ctx, char *err,
			     size_t len)
{
	const struct run *run = w->run;
	enum step st;

	st = serve_cached(run->db, run->fn, ctx, run->max_depth, STEP_READ, err,
			  len, &w->cached);
	while (st == STEP_READ) {
		ssize_t n = pread(run->db->fd, ctx->data, ctx->size[0],
				  ctx->next_addr[0]);

		w->own_syscalls++;
		if (n != (ssize_t)ctx->size[0]) {
			snprintf(err, len, "read of %llu bytes at %llu: %s",
				 (unsigned long long)ctx->size[0],
				 (unsigned long long)ctx->next_addr[0],
				 n < 0 ? strerror(errno) : "short read");
			return STEP_ERROR;
		}
		st = xrp_step(run->db, run->fn, ctx, run->max_depth, err, len);
		st = serve_cached(run->db, run->fn, ctx, run->max_depth, st,
				  err, len, &w->cached);
	}
	return st;
}

void *pread_worker(void *arg)
{
	struct worker *w = arg;
	struct run *run = w->run;
	struct bpf_xrp *ctx = w->ctxs;
	char err[256];

	pthread_barrier_wait(&run->ready);
	pthread_barrier_wait(&run->start);
	for (size_t i = w->first; i < w->end; i++) {
		uint64_t t0 = fp_mono_ns();
		enum step st;

		lookup_start(ctx, run->keys[i]);
		st = pread_chain(w, ctx, err, sizeof(err));
		lookup_finish(w, i, ctx, st, err, fp_mono_ns() - t0);
	}
	return NULL;
}
