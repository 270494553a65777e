// SPDX-License-Identifier: GPL-2.0
/*
 * The uring engine: io_uring with many lookups in flight per thread. Each
 * lookup has a slot (a context and a registered buffer); the function runs
 * on each completion and the slot's next read is queued at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lookup.h"

/*
 * SQPOLL: the kernel thread submits; we look for completions in the CQ
 * ring without a system call, for up to this many pauses (about a
 * millisecond) before sleeping in io_uring_enter.
 */
#define SQPOLL_SPIN 20000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static int ring_init(struct worker *w, unsigned int n)
{
	struct io_uring_params p;
	int err;

	memset(&p, 0, sizeof(p));
	if (w->run->sqpoll) {
		p.flags = IORING_SETUP_SQPOLL;
		p.sq_thread_idle = 50; /* ms */
		err = io_uring_queue_init_params(n, &w->ring, &p);
	} else {
		/* Completions are processed only when we ask: no IPIs. */
		p.flags =
			IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
		err = io_uring_queue_init_params(n, &w->ring, &p);
		if (err == -EINVAL) {
			memset(&p, 0, sizeof(p));
			err = io_uring_queue_init_params(n, &w->ring, &p);
		}
	}
	if (err)
		return fp_error("cannot set up io_uring: %s%s", strerror(-err),
				err == -EPERM
					? " (is io_uring disabled by "
					  "sysctl kernel.io_uring_disabled?)"
					: "");
	w->ring_ready = true;
	return 0;
}

/* A ring of one slot per lookup in flight; the file and buffers fixed. */
static int uring_setup(struct worker *w)
{
	struct run *run = w->run;
	unsigned int n = w->end - w->first < run->inflight
				 ? (unsigned int)(w->end - w->first)
				 : run->inflight;
	struct iovec *iov;
	int err;

	if (n == 0)
		n = 1;
	if (ring_init(w, n))
		return 1;
	err = io_uring_register_files(&w->ring, &run->db->fd, 1);
	if (err)
		return fp_error("cannot register the file with io_uring: %s",
				strerror(-err));
	iov = calloc(n, sizeof(*iov));
	w->slots = calloc(n, sizeof(*w->slots));
	if (!iov || !w->slots) {
		free(iov);
		return fp_error("out of memory");
	}
	for (unsigned int i = 0; i < n; i++) {
		iov[i].iov_base = ctx_at(w->ctxs, i)->data;
		iov[i].iov_len = XRP_DATA_SIZE;
	}
	err = io_uring_register_buffers(&w->ring, iov, n);
	free(iov);
	if (err)
		return fp_error("cannot register buffers with io_uring: %s",
				strerror(-err));
	w->next = n; /* number of slots, stashed until the run starts */
	return 0;
}

static void uring_queue(struct worker *w, unsigned int slot)
{
	struct bpf_xrp *ctx = ctx_at(w->ctxs, slot);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

	/* The ring has an entry per slot and a slot has one read out, so
	 * the queue is never full; but if SQPOLL is slow to take them... */
	while (!sqe) {
		io_uring_submit(&w->ring);
		sqe = io_uring_get_sqe(&w->ring);
	}
	io_uring_prep_read_fixed(sqe, 0, ctx->data, ctx->size[0],
				 ctx->next_addr[0], slot);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, slot);
}

/* The slot takes the next key; false when there is none left. */
static bool uring_start_next(struct worker *w, unsigned int slot)
{
	struct slot *s = &w->slots[slot];
	struct bpf_xrp *ctx = ctx_at(w->ctxs, slot);
	struct run *run = w->run;
	char err[256];
	enum step st;

	/* A lookup may end without I/O (the top of the tree is cached). */
	while (w->next < w->end) {
		s->idx = w->next++;
		s->busy = true;
		s->start_ns = fp_mono_ns();
		lookup_start(ctx, run->keys[s->idx]);
		st = serve_cached(run->db, run->fn, ctx, run->max_depth,
				  STEP_READ, err, sizeof(err), &w->cached);
		if (st == STEP_READ) {
			uring_queue(w, slot);
			return true;
		}
		lookup_finish(w, s->idx, ctx, st, err,
			      fp_mono_ns() - s->start_ns);
	}
	s->busy = false;
	return false;
}

/* Submits what is queued and waits for completions; <0 is -errno. */
static int uring_wait(struct worker *w, unsigned int active)
{
	struct io_uring_cqe *cqe;
	int ret;

	if (!w->run->sqpoll) {
		/* One system call submits the batch and waits for every
		 * read in flight: the fewest enters per read. */
		ret = io_uring_submit_and_wait(&w->ring, active);
		w->own_syscalls++;
		return ret;
	}
	ret = io_uring_submit(&w->ring);
	for (unsigned int spin = 0; !io_uring_cq_ready(&w->ring); spin++) {
		if (spin > SQPOLL_SPIN) {
			ret = io_uring_wait_cqe(&w->ring, &cqe);
			w->own_syscalls++;
			break;
		}
		cpu_relax();
	}
	return ret;
}

/* io_uring_enter failed: every lookup not finished fails with it. */
static void uring_fail(struct worker *w, unsigned int nslots,
		       unsigned int active, int ret)
{
	struct result *results = w->run->results;

	snprintf(w->first_error, sizeof(w->first_error), "io_uring_enter: %s",
		 strerror(-ret));
	for (unsigned int i = 0; i < nslots; i++)
		if (w->slots[i].busy && results)
			snprintf(results[w->slots[i].idx].err,
				 sizeof(results[0].err), "io_uring_enter: %s",
				 strerror(-ret));
	w->errors += active + (w->end - w->next);
}

/* A slot's read completed: the function's next step. false: slot idle. */
static bool uring_complete(struct worker *w, const struct io_uring_cqe *cqe)
{
	unsigned int slot = (unsigned int)cqe->user_data;
	struct bpf_xrp *ctx = ctx_at(w->ctxs, slot);
	struct slot *s = &w->slots[slot];
	const struct run *run = w->run;
	char err[256];
	enum step st;

	if (cqe->res != (int)ctx->size[0]) {
		snprintf(err, sizeof(err), "read of %llu bytes at %llu: %s",
			 (unsigned long long)ctx->size[0],
			 (unsigned long long)ctx->next_addr[0],
			 cqe->res < 0 ? strerror(-cqe->res) : "short read");
		st = STEP_ERROR;
	} else {
		st = xrp_step(run->db, run->fn, ctx, run->max_depth, err,
			      sizeof(err));
		st = serve_cached(run->db, run->fn, ctx, run->max_depth, st,
				  err, sizeof(err), &w->cached);
	}
	if (st == STEP_READ) {
		uring_queue(w, slot);
		return true;
	}
	lookup_finish(w, s->idx, ctx, st, err, fp_mono_ns() - s->start_ns);
	return uring_start_next(w, slot);
}

void *uring_worker(void *arg)
{
	struct worker *w = arg;
	struct run *run = w->run;
	unsigned int nslots, active = 0;

	/* The ring belongs to the thread that uses it (SINGLE_ISSUER). */
	w->setup_err = uring_setup(w);
	nslots = w->next;
	w->next = w->first;
	pthread_barrier_wait(&run->ready);
	pthread_barrier_wait(&run->start);
	if (w->setup_err)
		return NULL;
	for (unsigned int i = 0; i < nslots; i++)
		active += uring_start_next(w, i);
	while (active) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;
		int ret = uring_wait(w, active);

		if (ret < 0 && ret != -EINTR && ret != -EAGAIN &&
		    ret != -EBUSY && ret != -ETIME) {
			uring_fail(w, nslots, active, ret);
			break;
		}
		io_uring_for_each_cqe(&w->ring, head, cqe)
		{
			seen++;
			if (!uring_complete(w, cqe))
				active--;
		}
		io_uring_cq_advance(&w->ring, seen);
	}
	return NULL;
}
