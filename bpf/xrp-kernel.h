/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xrp-lookup's kernel engine: what user space and the io_uring loop_step
 * program (bpf/xrp-kernel.bpf.c) share.
 *
 * Linux 7.1's io_uring BPF ops let a struct_ops program replace the loop of
 * io_uring_enter(2) for one ring. The engine puts everything the program
 * needs in the ring's registered memory region (IORING_REGISTER_MEM_REGION),
 * which BPF reaches with bpf_io_uring_get_region() and user space through
 * its own mapping of the same pages:
 *
 *   hdr      what this round is (jobs, mode) and what the loop did
 *   keys[]   the keys of this round's lookups (in)
 *   results  one per job (out)
 *   slots[]  one per lookup in flight: XRP's context, whose data[] is the
 *            read buffer (page aligned, registered as io_uring's fixed
 *            buffer 0), and the engine's state for that lookup
 *
 * One io_uring_enter runs a whole round: the program starts a lookup in
 * each slot, submits the reads, and on every completion runs the storage
 * function on the block, checks what it asks for next and submits that read,
 * all inside the kernel; it returns to user space when every job is done.
 */
#ifndef FASTPATH_XRP_KERNEL_H
#define FASTPATH_XRP_KERNEL_H

#include "xrp.h"

#define XRPK_MAX_SLOTS	128   /* lookups in flight per ring, at most */
#define XRPK_BATCH	2048  /* lookups per io_uring_enter, at most */
#define XRPK_SLOT_SIZE	12288 /* 3 pages: data[] stays page aligned */
#define XRPK_CQ_ENTRIES (2 * XRPK_MAX_SLOTS)
#define XRPK_HEAD_BYTES 128 /* of scratch, copied into a result */

/* The storage function of the built-in object (a user's object has one). */
#define XRPK_FN_GET   0
#define XRPK_FN_RANGE 1

/* hdr.mode */
#define XRPK_MODE_LOOKUP   0 /* keys[]: start each lookup from the root */
#define XRPK_MODE_CONTINUE 1 /* slot 0: go on from its context (range) */

/* A result's status: done, or why the lookup failed. */
enum xrpk_status {
	XRPK_DONE = 0,
	XRPK_ERR_RET,	     /* the function returned a: non-zero */
	XRPK_ERR_SECOND,     /* it asked for a second read, size[a] */
	XRPK_ERR_DEPTH,	     /* more than --max-depth reads */
	XRPK_ERR_NOTHING,    /* size 0 and not done */
	XRPK_ERR_OVERSIZED,  /* a bytes at b */
	XRPK_ERR_MISALIGNED, /* a bytes at b */
	XRPK_ERR_OUTSIDE,    /* offset a, outside the database */
	XRPK_ERR_IO,	     /* the read of b bytes at a failed: -errno c */
	XRPK_ERR_SHORT,	     /* the read of b bytes at a came back short */
	XRPK_ERR_ENGINE,     /* the engine's own state is broken */
};

/*
 * Where a slot is in its lookup (xrpk_slot_state.phase). User space starts
 * a round with every slot at PH_NEXT (or slot 0 at PH_CONTINUE).
 */
enum {
	XRPK_PH_NEXT = 0, /* take the next job, or go idle */
	XRPK_PH_START,	  /* a new lookup: fresh context, read the root */
	XRPK_PH_CONTINUE, /* go on from the context as it is (range chains) */
	XRPK_PH_ISSUE,	  /* the context names a checked read: serve/submit */
	XRPK_PH_DATA,	  /* a read completed (res) into data[] */
	XRPK_PH_STEP,	  /* data[] holds the block: the function must run */
	XRPK_PH_RAN,	  /* the function ran (fn_ret): what next? */
	XRPK_PH_FINISH,	  /* the lookup ended (status): write its result */
};

/* user_data of a NOP: the slot yields and carries on at its next CQE. */
#define XRPK_UD_NOP (1ULL << 32)

struct xrpk_hdr {
	__u64 user_base; /* in: user address of the region, for SQEs */
	__u32 mode;	 /* in: XRPK_MODE_* */
	__u32 njobs;	 /* in: keys[] this round (1 for CONTINUE) */
	__u32 nslots;	 /* in: slots to use, <= XRPK_MAX_SLOTS */
	__u32 started;	 /* in: 0; the program sets 1 on its first step */
	__u32 next_job;	 /* engine: the next job to start */
	__u32 active;	 /* engine: SQEs whose CQE has not been seen */
	__u32 done;	 /* out: results written this round */
	__s32 fatal;	 /* out: -errno when submitting failed */
	__u32 cq_head;	 /* engine: CQEs consumed */
	__u32 npend;	 /* in, then engine: slots with work, in pend[] */
	__u32 nsq;	 /* engine: SQEs written this step */
	__u32 cursor;	 /* engine: the pend[] entry being worked on */
	/* out, totals over all rounds: what the loop did */
	__u64 loop_steps; /* calls of loop_step */
	__u64 sqes;	  /* SQEs submitted from BPF */
	__u64 cqes;	  /* CQEs handled in BPF */
	__u64 cached;	  /* steps served from the cached top layers */
	__u32 pend[XRPK_MAX_SLOTS];
};

struct xrpk_result {
	__u32 status; /* enum xrpk_status */
	__u32 hops;   /* steps the function ran (reads + cached) */
	__u32 cached; /* of which served from the cache */
	__u32 job;
	__u64 a, b, c;	 /* detail, see enum xrpk_status */
	__u64 last_addr; /* next_addr[0] when the lookup ended */
	__u64 lat_ns;	 /* from the start of the lookup to its end */
	__u8 head[XRPK_HEAD_BYTES]; /* scratch: struct xrp_lookup */
};

struct xrpk_slot_state {
	__u32 phase;  /* where the lookup is (the program's PH_*) */
	__u32 status; /* how it ends, once phase says so */
	__u32 act;    /* the SQE it wants this step (the program's SQ_*) */
	__u32 job;
	__s32 res;    /* the last CQE's result */
	__s32 fn_ret; /* what the storage function returned */
	__u64 start_ns;
	__u64 read_addr, read_size; /* the read in flight */
	__u64 a, b, c;		    /* error detail */
	__u32 cached;
	__u32 busy;
};

struct xrpk_slot {
	struct bpf_xrp ctx; /* data[] first: reads land here */
	__u8 pad[XRPK_SLOT_SIZE - sizeof(struct bpf_xrp) -
		 sizeof(struct xrpk_slot_state)];
	struct xrpk_slot_state st;
};

struct xrpk_region {
	union {
		struct xrpk_hdr hdr;
		__u8 hdr_page[4096];
	};
	__u64 keys[XRPK_BATCH];
	struct xrpk_result results[XRPK_BATCH];
	struct xrpk_slot slots[XRPK_MAX_SLOTS]; /* page aligned, see below */
};

#define XRPK_SLOTS_OFFSET                    \
	(4096 + XRPK_BATCH * sizeof(__u64) + \
	 XRPK_BATCH * sizeof(struct xrpk_result))

_Static_assert(sizeof(struct xrpk_slot) == XRPK_SLOT_SIZE, "slot size");
_Static_assert(sizeof(struct xrpk_hdr) <= 4096, "header page");
_Static_assert(XRPK_SLOTS_OFFSET % 4096 == 0, "slots are page aligned");
_Static_assert(sizeof(struct xrpk_region) ==
		       XRPK_SLOTS_OFFSET + XRPK_MAX_SLOTS * XRPK_SLOT_SIZE,
	       "region layout");

/* io_uring's SQE (uapi, stable), the fields a read needs. */
struct xrpk_sqe {
	__u8 opcode;
	__u8 flags;
	__u16 ioprio;
	__s32 fd;
	__u64 off;
	__u64 addr;
	__u32 len;
	__u32 rw_flags;
	__u64 user_data;
	__u16 buf_index;
	__u16 personality;
	__s32 splice_fd_in;
	__u64 addr3;
	__u64 pad2;
};

struct xrpk_cqe {
	__u64 user_data;
	__s32 res;
	__u32 flags;
};

/*
 * The CQ ring as the program reads it: io_uring's struct io_rings (heads,
 * tails, then the CQEs at cq_off.cqes); its region is at least two pages.
 */
#define XRPK_CQ_BYTES 8192
struct xrpk_cq {
	__u8 b[XRPK_CQ_BYTES];
};

/* The submission queue: SQ_REWIND, so SQEs are always taken from 0. */
struct xrpk_sq {
	struct xrpk_sqe e[XRPK_MAX_SLOTS];
};

/*
 * Set before load (the program's .rodata, so the verifier sees constants):
 * the database, the rules every engine applies, and where the kernel put
 * the CQ ring's fields (from io_uring_setup's cq_off).
 */
struct xrpk_config {
	__u64 db_size;
	__u64 cache_bytes; /* the top layers, served from xrpk_cache */
	__u32 max_depth;
	__u32 fn; /* XRPK_FN_* */
	__u32 cq_head_off, cq_tail_off, cqes_off, cq_mask;
};

#endif
