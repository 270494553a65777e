// SPDX-License-Identifier: GPL-2.0
/*
 * xrp-lookup's kernel engine: XRP's in-kernel resubmission on a mainline
 * kernel. An io_uring BPF ops program (Linux 7.1+) that runs in place of
 * io_uring_enter's loop: on every completed read it runs the storage
 * function on the block and submits the read it asks for, so a lookup
 * reaches user space once, when it is done. See xrp-kernel.h for the
 * memory it shares with user space.
 *
 * Verifier budget: every piece is a global function, verified once, and
 * the storage function is called through xrpk_fn(), whose argument is
 * exactly a struct bpf_xrp: the function can touch its own context and
 * nothing else, as in `verify`'s stand-in.
 *
 * The same source carries a user's function: xrp-lookup compiles it after
 * the user's file with XRPK_USER_FUNCTION defined.
 */
#include "xrp.h"
#include "xrp-kernel.h"
#include "metadata.h"

FASTPATH_METADATA("xrp-lookup");

#ifndef XRPK_USER_FUNCTION
#undef XRP_ENTRY_NAME
#define XRP_ENTRY_NAME xrp_entry_get
#include "xrp/bpfkv_get.c"
#undef XRP_ENTRY_NAME
#define XRP_ENTRY_NAME xrp_entry_range
#include "xrp/bpfkv_range.c"
#endif

/*
 * The few kernel types the program names, declared here rather than taken
 * from vmlinux.h: the build machine's kernel may predate them, and CO-RE
 * relocates the one field we write.
 */
struct iou_ctx {
};
struct iou_loop_params {
	__u32 cq_wait_idx;
} __attribute__((preserve_access_index));

extern __u8 *bpf_io_uring_get_region(struct iou_ctx *ctx, __u32 region_id,
				     __u64 rdwr_buf_size) __ksym;
extern int bpf_io_uring_submit_sqes(struct iou_ctx *ctx, __u32 nr) __ksym;

/* io_uring's region ids and loop_step's verdicts (anonymous enums). */
#define XRPK_REGION_MEM	   0
#define XRPK_REGION_CQ	   1
#define XRPK_REGION_SQ	   2
#define XRPK_LOOP_CONTINUE 0
#define XRPK_LOOP_STOP	   1

#define IORING_OP_NOP	     0
#define IORING_OP_READ_FIXED 4
#define IOSQE_FIXED_FILE     1

const volatile struct xrpk_config xrpk_cfg = {};

/* The cached top layers of the tree, one 512-byte node per entry. */
struct xrpk_node {
	__u8 b[BPFKV_BLOCK_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set to the cached nodes before load */
	__type(key, __u32);
	__type(value, struct xrpk_node);
} xrpk_cache SEC(".maps");

#define PH_NEXT	    XRPK_PH_NEXT
#define PH_START    XRPK_PH_START
#define PH_CONTINUE XRPK_PH_CONTINUE
#define PH_ISSUE    XRPK_PH_ISSUE
#define PH_DATA	    XRPK_PH_DATA
#define PH_STEP	    XRPK_PH_STEP
#define PH_RAN	    XRPK_PH_RAN
#define PH_FINISH   XRPK_PH_FINISH

/* The SQE a slot wants (xrpk_slot_state.act). */
enum { SQ_NONE = 0, SQ_READ, SQ_NOP };

/* xrpk_advance(): run the storage function, or nothing more this step. */
enum { ACT_DONE = 0, ACT_FN };

#define STEP_READ 0xff /* xrpk_check_read: a good read */
#define ROUNDS	  12   /* phases per xrpk_advance() call, at most */
#define FN_CALLS  256  /* storage function calls per loop step, at most */
#define SLOT(i)	  ((i) & (XRPK_MAX_SLOTS - 1))

/*
 * Counters that live in the region are read and written through these, so
 * clang does not keep them in registers across a loop: a register the
 * verifier knows exactly differs on every path and defeats its pruning.
 */
#define LOAD(x)	    (*(volatile __typeof__(x) *)&(x))
#define STORE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/*
 * The storage function, called with exactly a struct bpf_xrp: as a global
 * function this is all the verifier lets it touch.
 */
__attribute__((noinline)) int xrpk_fn(struct bpf_xrp *ctx)
{
	if (!ctx)
		return -1;
#ifdef XRPK_USER_FUNCTION
	return xrp_entry(ctx);
#else
	if (xrpk_cfg.fn == XRPK_FN_RANGE)
		return xrp_entry_range(ctx);
	return xrp_entry_get(ctx);
#endif
}

/* The checks every engine applies to the read a function asks for. */
__attribute__((noinline)) int xrpk_check_read(struct bpf_xrp *ctx,
					      struct xrpk_slot_state *st)
{
	__u64 addr, size;
	int i;

	if (!ctx || !st)
		return XRPK_ERR_ENGINE;
	addr = ctx->next_addr[0];
	size = ctx->size[0];
	for (i = 1; i < XRP_MAX_READS; i++) {
		if (ctx->size[i]) {
			st->a = i;
			return XRPK_ERR_SECOND;
		}
	}
	if (ctx->hops >= xrpk_cfg.max_depth)
		return XRPK_ERR_DEPTH;
	if (size == 0)
		return XRPK_ERR_NOTHING;
	st->a = size;
	st->b = addr;
	if (size > XRP_DATA_SIZE)
		return XRPK_ERR_OVERSIZED;
	if ((addr | size) & (BPFKV_BLOCK_SIZE - 1))
		return XRPK_ERR_MISALIGNED;
	st->a = addr;
	if (addr >= xrpk_cfg.db_size || size > xrpk_cfg.db_size - addr)
		return XRPK_ERR_OUTSIDE;
	return STEP_READ;
}

/* A fresh context: scratch zeroed, key in, the root to read first. */
struct zero_ctx {
	struct bpf_xrp *ctx;
};

static long zero_64(__u64 i, void *arg)
{
	struct zero_ctx *z = arg;

	/* bpf_loop: one 64-byte piece a turn, verified once; a 4 KiB memset
	 * would be a call clang cannot make in BPF. */
	__builtin_memset(z->ctx->scratch +
				 (i & (XRP_SCRATCH_SIZE / 64 - 1)) * 64,
			 0, 64);
	return 0;
}

__attribute__((noinline)) int xrpk_zero(struct bpf_xrp *ctx, __u64 key)
{
	struct zero_ctx z = {ctx};

	if (!ctx)
		return 0;
	bpf_loop(XRP_SCRATCH_SIZE / 64, zero_64, &z, 0);
	__builtin_memset(ctx->next_addr, 0, sizeof(ctx->next_addr));
	__builtin_memset(ctx->size, 0, sizeof(ctx->size));
	((struct xrp_lookup *)ctx->scratch)->key = key;
	ctx->size[0] = BPFKV_BLOCK_SIZE;
	ctx->done = 0;
	ctx->hops = 0;
	return 0;
}

/* Serve a read inside the cached top of the tree from xrpk_cache. */
__attribute__((noinline)) int xrpk_cache_copy(struct bpf_xrp *ctx, __u64 addr,
					      __u64 size)
{
	struct xrpk_node *n;
	__u32 i, k;

	if (!ctx)
		return -1;
	for (i = 0; i < XRP_DATA_SIZE / BPFKV_BLOCK_SIZE; i++) {
		if ((__u64)i * BPFKV_BLOCK_SIZE >= size)
			break;
		k = (__u32)(addr / BPFKV_BLOCK_SIZE) + i;
		n = bpf_map_lookup_elem(&xrpk_cache, &k);
		if (!n)
			return -1;
		__builtin_memcpy(ctx->data + i * BPFKV_BLOCK_SIZE, n->b,
				 BPFKV_BLOCK_SIZE);
	}
	return 0;
}

/* The lookup in slot s ended: its result, for user space. */
__attribute__((noinline)) int xrpk_finish(struct xrpk_region *r,
					  struct xrpk_slot *s)
{
	struct xrpk_result *res;

	if (!r || !s)
		return 0;
	res = &r->results[s->st.job & (XRPK_BATCH - 1)];
	res->status = s->st.status;
	res->hops = s->ctx.hops;
	res->cached = s->st.cached;
	res->job = s->st.job;
	res->a = s->st.a;
	res->b = s->st.b;
	res->c = s->st.c;
	res->last_addr = s->ctx.next_addr[0];
	res->lat_ns = bpf_ktime_get_ns() - s->st.start_ns;
	__builtin_memcpy(res->head, s->ctx.scratch, XRPK_HEAD_BYTES);
	r->hdr.done++;
	return 0;
}

/* Queues the SQE slot `slot` wants (SQ_READ or SQ_NOP) in this step's SQ. */
static __attribute__((always_inline)) void
queue_sqe(struct xrpk_region *r, struct xrpk_sq *sq, __u32 slot, __u32 act)
{
	struct xrpk_slot *s = &r->slots[SLOT(slot)];
	struct xrpk_sqe *sqe;
	__u32 n = LOAD(r->hdr.nsq);

	STORE(r->hdr.nsq, n + 1);
	sqe = &sq->e[SLOT(n)];
	__builtin_memset(sqe, 0, sizeof(*sqe));
	sqe->user_data = SLOT(slot);
	if (act == SQ_NOP) {
		sqe->opcode = IORING_OP_NOP;
		sqe->user_data |= XRPK_UD_NOP;
		return;
	}
	/* Fixed file 0, the database; fixed buffer 0, the slots: nothing
	 * to look up per read. */
	sqe->opcode = IORING_OP_READ_FIXED;
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->off = s->st.read_addr;
	sqe->addr = r->hdr.user_base + XRPK_SLOTS_OFFSET +
		    (__u64)SLOT(slot) * XRPK_SLOT_SIZE;
	sqe->len = s->st.read_size;
}

/*
 * Moves the slot in pend[cur] on until it needs the storage function run
 * (ACT_FN; the caller runs it) or nothing more this step (ACT_DONE, its
 * read or yield queued in sq). About 110 lines on purpose: it is the one
 * state machine of a lookup, a case per phase in the order a lookup goes
 * through them, and splitting the cases apart would hide that order.
 */
__attribute__((noinline)) int xrpk_advance(struct xrpk_region *r,
					   struct xrpk_sq *sq, __u32 cur)
{
	struct xrpk_slot *s;
	struct bpf_xrp *ctx;
	__u32 phase, job, slot;
	int round, code;

	if (!r || !sq)
		return ACT_DONE;
	slot = SLOT(r->hdr.pend[SLOT(cur)]);
	s = &r->slots[slot];
	ctx = &s->ctx;
	phase = s->st.phase;
	for (round = 0; round < ROUNDS; round++) {
		switch (phase) {
		case PH_NEXT:
			job = LOAD(r->hdr.next_job);
			if (job >= r->hdr.njobs || job >= XRPK_BATCH) {
				s->st.busy = 0;
				s->st.phase = PH_NEXT;
				return ACT_DONE;
			}
			STORE(r->hdr.next_job, job + 1);
			s->st.job = job;
			phase = PH_START;
			break;
		case PH_START:
		case PH_CONTINUE:
			s->st.busy = 1;
			s->st.cached = 0;
			s->st.a = s->st.b = s->st.c = 0;
			s->st.start_ns = bpf_ktime_get_ns();
			if (phase == PH_START) {
				xrpk_zero(
					ctx,
					r->keys[s->st.job & (XRPK_BATCH - 1)]);
				phase = PH_ISSUE;
				break;
			}
			code = xrpk_check_read(ctx, &s->st);
			s->st.status = code;
			phase = code == STEP_READ ? PH_ISSUE : PH_FINISH;
			break;
		case PH_ISSUE:
			s->st.read_addr = ctx->next_addr[0];
			s->st.read_size = ctx->size[0];
			if (!xrpk_cfg.cache_bytes ||
			    s->st.read_addr + s->st.read_size >
				    xrpk_cfg.cache_bytes) {
				s->st.phase = PH_DATA;
				queue_sqe(r, sq, slot, SQ_READ);
				return ACT_DONE;
			}
			if (xrpk_cache_copy(ctx, s->st.read_addr,
					    s->st.read_size)) {
				s->st.status = XRPK_ERR_ENGINE;
				phase = PH_FINISH;
				break;
			}
			s->st.cached++;
			r->hdr.cached++;
			phase = PH_STEP;
			break;
		case PH_DATA:
			if (s->st.res == (__s32)s->st.read_size) {
				phase = PH_STEP;
				break;
			}
			s->st.a = s->st.read_addr;
			s->st.b = s->st.read_size;
			s->st.c = s->st.res < 0 ? -s->st.res : 0;
			s->st.status =
				s->st.res < 0 ? XRPK_ERR_IO : XRPK_ERR_SHORT;
			phase = PH_FINISH;
			break;
		case PH_STEP:
			/* next_addr[0] keeps the last read, for messages;
			 * size[0] = 0 shows whether the function asked for
			 * anything. */
			ctx->hops++;
			ctx->size[0] = 0;
			s->st.phase = PH_RAN;
			return ACT_FN;
		case PH_RAN:
			if (s->st.fn_ret) {
				s->st.a = (__u32)s->st.fn_ret;
				s->st.status = XRPK_ERR_RET;
				phase = PH_FINISH;
				break;
			}
			if (ctx->done) {
				s->st.status = XRPK_DONE;
				phase = PH_FINISH;
				break;
			}
			code = xrpk_check_read(ctx, &s->st);
			s->st.status = code;
			phase = code == STEP_READ ? PH_ISSUE : PH_FINISH;
			break;
		case PH_FINISH:
		default:
			xrpk_finish(r, s);
			phase = PH_NEXT;
			break;
		}
	}
	/* Many phases without I/O: yield, and go on at the NOP's CQE. */
	s->st.phase = phase;
	queue_sqe(r, sq, slot, SQ_NOP);
	return ACT_DONE;
}

/* The slot whose turn it is wants the function run: it is returned. */
__attribute__((noinline)) int xrpk_next(struct xrpk_region *r,
					struct xrpk_sq *sq)
{
	__u32 c, cur;

	if (!r || !sq)
		return -1;
	for (c = 0; c < XRPK_MAX_SLOTS; c++) {
		cur = LOAD(r->hdr.cursor);
		if (cur >= LOAD(r->hdr.npend))
			return -1;
		if (xrpk_advance(r, sq, cur) == ACT_FN)
			return SLOT(r->hdr.pend[SLOT(cur)]);
		STORE(r->hdr.cursor, cur + 1);
	}
	return -1;
}

/* The function ran for `slot` and returned ret. */
__attribute__((noinline)) int xrpk_ran(struct xrpk_region *r, __u32 slot,
				       int ret)
{
	if (r)
		r->slots[SLOT(slot)].st.fn_ret = ret;
	return 0;
}

/* Out of function calls for this step: the slots left go on later. */
struct yield_ctx {
	struct xrpk_region *r;
	struct xrpk_sq *sq;
};

static long yield_one(__u64 i, void *arg)
{
	struct yield_ctx *y = arg;
	__u32 cur = LOAD(y->r->hdr.cursor);

	if (cur >= LOAD(y->r->hdr.npend))
		return 1;
	queue_sqe(y->r, y->sq, SLOT(y->r->hdr.pend[SLOT(cur)]), SQ_NOP);
	STORE(y->r->hdr.cursor, cur + 1);
	return 0;
}

__attribute__((noinline)) int xrpk_yield(struct xrpk_region *r,
					 struct xrpk_sq *sq)
{
	struct yield_ctx y = {r, sq};

	if (!r || !sq)
		return 0;
	bpf_loop(XRPK_MAX_SLOTS, yield_one, &y, 0);
	return 0;
}

/* One CQE: its slot has work (bpf_loop, so it is verified once). */
struct collect_ctx {
	struct xrpk_region *r;
	struct xrpk_cq *cq;
};

static long collect_one(__u64 i, void *arg)
{
	struct collect_ctx *c = arg;
	struct xrpk_hdr *h = &c->r->hdr;
	struct xrpk_cqe *cqe;
	struct xrpk_slot *s;
	__u32 head = LOAD(h->cq_head), slot, n;

	cqe = (struct xrpk_cqe *)(c->cq->b + xrpk_cfg.cqes_off +
				  (head & xrpk_cfg.cq_mask) * sizeof(*cqe));
	slot = SLOT(cqe->user_data);
	s = &c->r->slots[slot];
	/* a NOP's slot carries on from the phase it saved */
	if (!(cqe->user_data & XRPK_UD_NOP)) {
		s->st.res = cqe->res;
		s->st.phase = PH_DATA;
	}
	STORE(h->active, LOAD(h->active) - 1);
	h->cqes++;
	n = LOAD(h->npend);
	h->pend[SLOT(n)] = slot;
	STORE(h->npend, n + 1);
	STORE(h->cq_head, head + 1);
	return 0;
}

/*
 * The CQEs since the last step go into pend[]: their slots have work. On
 * the first step of a round, pend[] is what user space put there.
 */
__attribute__((noinline)) int xrpk_collect(struct xrpk_region *r,
					   struct xrpk_cq *cq)
{
	struct collect_ctx c = {r, cq};
	struct xrpk_hdr *h;
	__u32 head, tail;

	if (!r || !cq)
		return 0;
	h = &r->hdr;
	h->loop_steps++;
	STORE(h->cursor, 0);
	STORE(h->nsq, 0);
	if (!h->started) {
		h->started = 1;
		return 0;
	}
	STORE(h->npend, 0);
	head = *(volatile __u32 *)(cq->b + xrpk_cfg.cq_head_off);
	tail = *(volatile __u32 *)(cq->b + xrpk_cfg.cq_tail_off);
	STORE(h->cq_head, head);
	/* At most one CQE per slot is outstanding. */
	if (tail - head > XRPK_MAX_SLOTS)
		tail = head + XRPK_MAX_SLOTS;
	bpf_loop(tail - head, collect_one, &c, 0);
	*(volatile __u32 *)(cq->b + xrpk_cfg.cq_head_off) = LOAD(h->cq_head);
	return 0;
}

/*
 * io_uring_enter runs this instead of its own loop. The storage function
 * is called only two frames down (run_one, xrpk_fn), which keep no stack:
 * its own (the built-in bpfkv-get needs 448 bytes) and this frame are all
 * of the 512 the verifier allows.
 */
/* One call of the storage function, for the slot whose turn it is. */
static long run_one(__u64 i, void *arg)
{
	struct yield_ctx *y = arg;
	int w, ret;

	w = xrpk_next(y->r, y->sq);
	if (w < 0)
		return 1;
	ret = xrpk_fn(&y->r->slots[SLOT(w)].ctx);
	xrpk_ran(y->r, w, ret);
	return 0;
}

SEC("struct_ops/xrpk_loop_step")
int xrpk_loop_step(unsigned long long *args)
{
	struct iou_ctx *ring = (struct iou_ctx *)args[0];
	struct yield_ctx y;
	struct xrpk_cq *cq;
	long calls;
	__u32 n;
	int ret;

	y.r = (void *)bpf_io_uring_get_region(ring, XRPK_REGION_MEM,
					      sizeof(*y.r));
	y.sq = (void *)bpf_io_uring_get_region(ring, XRPK_REGION_SQ,
					       sizeof(*y.sq));
	cq = (void *)bpf_io_uring_get_region(ring, XRPK_REGION_CQ, sizeof(*cq));
	if (!y.r || !y.sq || !cq)
		return XRPK_LOOP_STOP; /* user space sees started == 0 */
	xrpk_collect(y.r, cq);
	calls = bpf_loop(FN_CALLS, run_one, &y, 0);
	if (calls >= FN_CALLS)
		xrpk_yield(y.r, y.sq);
	n = LOAD(y.r->hdr.nsq);
	if (n) {
		ret = bpf_io_uring_submit_sqes((struct iou_ctx *)args[0], n);
		if (ret != (int)n) {
			y.r->hdr.fatal = ret < 0 ? ret : -11; /* EAGAIN */
			return XRPK_LOOP_STOP;
		}
		y.r->hdr.sqes += n;
		y.r->hdr.active += n;
	}
	if (!y.r->hdr.active)
		return XRPK_LOOP_STOP;
	/* Wait for every read in flight, as the uring engine does: one
	 * wake-up per round of reads, not one per completion. */
	((struct iou_loop_params *)args[1])->cq_wait_idx =
		LOAD(y.r->hdr.cq_head) + y.r->hdr.active;
	return XRPK_LOOP_CONTINUE;
}

struct io_uring_bpf_ops {
	int (*loop_step)(struct iou_ctx *ctx, struct iou_loop_params *lp);
	__u32 ring_fd;
	void *priv;
};

/* libbpf 1.1 knows ".struct_ops" only; the tool makes one map per ring. */
SEC(".struct_ops")
struct io_uring_bpf_ops xrpk_ops = {
	.loop_step = (void *)xrpk_loop_step,
};

char LICENSE[] SEC("license") = "GPL";
