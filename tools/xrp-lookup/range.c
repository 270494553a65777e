// SPDX-License-Identifier: GPL-2.0
/*
 * xrp-lookup range: the values of keys LO..HI, or their count and sum. The
 * function returns a batch at a time (struct xrp_range in xrp.h) and is
 * started again where it left off until it says there is no more.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lookup.h"
#include "engine-kernel.h"

struct range_opts {
	struct lookup_opts lk;
	const char *file;
	uint64_t lo, hi;
	bool sum;
};

/* One scan: a single chain of reads at a time, through one engine. */
struct scan {
	const struct range_opts *o;
	struct db db;
	struct function f;
	enum engine eng;
	struct xrpk *kern;
	struct xrpk_ring *kring;
	struct io_uring ring; /* uring: one slot */
	bool ring_ready;
	struct bpf_xrp *ctx;
};

/* One read of the chain, through pread or the one-slot ring. */
static int chain_read(struct scan *s, char *err, size_t len)
{
	struct bpf_xrp *ctx = s->ctx;
	ssize_t n;

	if (s->eng == ENG_URING) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
		struct io_uring_cqe *cqe;
		int ret;

		io_uring_prep_read(sqe, s->db.fd, ctx->data, ctx->size[0],
				   ctx->next_addr[0]);
		ret = io_uring_submit_and_wait(&s->ring, 1);
		if (ret >= 0)
			ret = io_uring_peek_cqe(&s->ring, &cqe);
		if (ret < 0) {
			snprintf(err, len, "io_uring: %s", strerror(-ret));
			return -1;
		}
		n = cqe->res;
		io_uring_cqe_seen(&s->ring, cqe);
		if (n < 0) {
			errno = -n;
			n = -1;
		}
	} else {
		n = pread(s->db.fd, ctx->data, ctx->size[0], ctx->next_addr[0]);
	}
	if (n != (ssize_t)ctx->size[0]) {
		snprintf(err, len, "read of %llu bytes at %llu: %s",
			 (unsigned long long)ctx->size[0],
			 (unsigned long long)ctx->next_addr[0],
			 n < 0 ? strerror(errno) : "short read");
		return -1;
	}
	return 0;
}

/* One batch: the function runs from where it was until it is done. */
static enum step scan_chain(struct scan *s, char *err, size_t len)
{
	unsigned int depth = (unsigned int)s->o->lk.max_depth;
	uint64_t cached = 0;
	enum step st;

	if (s->kring)
		return kernel_chain(s->kring, err, len);
	st = serve_cached(&s->db, s->f.fn, s->ctx, depth, STEP_READ, err, len,
			  &cached);
	while (st == STEP_READ) {
		if (chain_read(s, err, len))
			return STEP_ERROR;
		st = xrp_step(&s->db, s->f.fn, s->ctx, depth, err, len);
		st = serve_cached(&s->db, s->f.fn, s->ctx, depth, st, err, len,
				  &cached);
	}
	return st;
}

/* The engine, database, function and context; prints why not, 1. */
static int scan_open(struct scan *s)
{
	const struct range_opts *o = s->o;

	if (choose_engine(&o->lk, &s->eng, o->lk.engine_given))
		return 1;
	if (db_open(&s->db, o->file, o->lk.cache_layers))
		return 1;
	if (function_load(&s->f, o->lk.function, true))
		return 1;
	if (s->eng == ENG_KERNEL &&
	    kernel_open(&s->kern, &s->db, true, &o->lk, &s->eng))
		return 1;
	if (s->eng == ENG_KERNEL && xrpk_ring_open(s->kern, &s->kring))
		return 1;
	if (s->eng == ENG_URING) {
		int e = io_uring_queue_init(2, &s->ring, 0);

		if (e)
			return fp_error("cannot set up io_uring: %s",
					strerror(-e));
		s->ring_ready = true;
	}
	/* The kernel engine's context lives in memory the program reaches. */
	if (s->kring) {
		s->ctx = xrpk_ring_ctx(s->kring);
	} else if (posix_memalign((void **)&s->ctx, 4096, CTX_STRIDE)) {
		s->ctx = NULL;
		return fp_error("out of memory");
	}
	return 0;
}

static void scan_close(struct scan *s)
{
	if (s->ring_ready)
		io_uring_queue_exit(&s->ring);
	if (!s->kring)
		free(s->ctx);
	xrpk_ring_close(s->kring);
	xrpk_close(s->kern);
	db_close(&s->db);
}

static void print_batch(struct xrp_range *r, struct fp_json *j)
{
	for (uint64_t i = 0; i < r->n && i < XRP_RANGE_BATCH; i++) {
		r->out[i].value[BPFKV_VALUE_SIZE - 1] = '\0';
		if (fp_opts.json) {
			fp_json_object_begin(j);
			fp_json_kv_ts(j, fp_wall_time());
			fp_json_kv_u64(j, "key", r->out[i].key);
			fp_json_kv_string(j, "value",
					  db_value_text(r->out[i].value));
			fp_json_object_end(j);
			fp_json_newline(j);
		} else {
			printf("%llu %s\n", (unsigned long long)r->out[i].key,
			       db_value_text(r->out[i].value));
		}
	}
}

static void print_sum(const struct range_opts *o, const struct xrp_range *r,
		      struct fp_json *j)
{
	if (fp_opts.json) {
		fp_json_object_begin(j);
		fp_json_kv_ts(j, fp_wall_time());
		fp_json_kv_u64(j, "lo", o->lo);
		fp_json_kv_u64(j, "hi", o->hi);
		fp_json_kv_u64(j, "count", r->count);
		fp_json_kv_u64(j, "sum", r->sum);
		fp_json_object_end(j);
		fp_json_newline(j);
	} else {
		printf("count %llu sum %llu\n", (unsigned long long)r->count,
		       (unsigned long long)r->sum);
	}
}

/* Batch after batch until the function has no more; prints as it goes. */
static int scan_run(struct scan *s, struct fp_json *j)
{
	const struct range_opts *o = s->o;
	struct bpf_xrp *ctx = s->ctx;
	struct xrp_range *r = (struct xrp_range *)ctx->scratch;
	char err[200];

	memset(ctx, 0, sizeof(*ctx));
	r->lo = o->lo;
	r->hi = o->hi;
	r->flags = o->sum ? XRP_RANGE_SUM_ONLY : 0;
	ctx->size[0] = BPFKV_BLOCK_SIZE;
	for (;;) {
		enum step st = scan_chain(s, err, sizeof(err));

		if (st == STEP_DONE && r->error) {
			snprintf(err, sizeof(err),
				 "the storage function found "
				 "corrupt data (last read at offset %llu)",
				 (unsigned long long)ctx->next_addr[0]);
			st = STEP_ERROR;
		}
		/* What came before an error is still printed. */
		if (!o->sum)
			print_batch(r, j);
		if (st == STEP_ERROR)
			return fp_error("range %llu..%llu failed: %s",
					(unsigned long long)o->lo,
					(unsigned long long)o->hi, err);
		if (!r->more)
			break;
		/* Resume where the function left off (see xrp.h). */
		r->n = 0;
		r->more = 0;
		ctx->done = 0;
		ctx->hops = 0;
	}
	if (o->sum)
		print_sum(o, r, j);
	return 0;
}

static int do_range(const void *opts)
{
	struct scan s = {.o = opts, .db.fd = -1};
	struct fp_json j;
	int ret = 1;

	fp_json_init(&j, stdout);
	if (!scan_open(&s))
		ret = scan_run(&s, &j);
	scan_close(&s);
	return ret;
}

static const char doc[] =
	"Print the keys LO..HI and their values, in order, or with --sum "
	"only their count and sum."
	"\v"
	"EXAMPLES:\n"
	"    xrp-lookup range db.bin 100 120           # 21 keys and values\n"
	"    xrp-lookup range db.bin 100 120 --sum     # count and sum a "
	"range\n";

static const struct argp_option options[] = {
	{"sum", OPT_SUM, NULL, 0, "Print only the count and the sum", 0},
	/* The short form of old, kept for scripts: -s is kstack-latency's. */
	{NULL, 's', NULL, OPTION_HIDDEN, NULL, 0},
	{},
};

static error_t parse_range(int key, char *arg, struct argp_state *state)
{
	struct range_opts *o = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &o->lk;
		return 0;
	case 's':
		warn_old_short('s', "--sum");
		/* fall through */
	case OPT_SUM:
		o->sum = true;
		return 0;
	case ARGP_KEY_ARG:
		if (state->arg_num == 0)
			o->file = arg;
		else if (state->arg_num == 1 &&
			 fp_parse_u64(arg, 0, UINT64_MAX, &o->lo))
			argp_error(state, "invalid LO '%s'", arg);
		else if (state->arg_num == 2 &&
			 fp_parse_u64(arg, 0, UINT64_MAX, &o->hi))
			argp_error(state, "invalid HI '%s'", arg);
		else if (state->arg_num > 2)
			argp_error(state, "unexpected argument '%s'", arg);
		return 0;
	case ARGP_KEY_END:
		if (!o->file)
			argp_error(state, "no FILE given");
		if (state->arg_num != 3)
			argp_error(state, "range needs FILE LO HI");
		if (o->lo > o->hi)
			argp_error(state, "LO is above HI");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp argp = {
	options, parse_range, "FILE LO HI", doc, lookup_children, NULL, NULL,
};

static const struct range_opts defaults = {LOOKUP_DEFAULTS};

const struct fp_command range_cmd = {
	.name = "range",
	.summary = "FILE LO HI [--sum]   print (or sum) the values of keys "
		   "LO..HI",
	.argp = &argp,
	.opts_size = sizeof(struct range_opts),
	.defaults = &defaults,
	.run = do_range,
};
