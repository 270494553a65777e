/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xrp-lookup's kernel engine: XRP's in-kernel resubmission through io_uring
 * BPF ops (Linux 7.1+, CONFIG_IO_URING_BPF_OPS). The storage function runs
 * inside io_uring_enter(2) on every completed block and submits the next
 * read from there; a batch of lookups costs one system call, and only
 * finished lookups reach user space. bpf/xrp-kernel.h describes the memory
 * the program and this side share.
 *
 * Life cycle: xrpk_open() compiles (for a user's .c file) and loads the
 * program once; each thread then opens its own ring with xrpk_ring_open()
 * (io_uring's SINGLE_ISSUER: a ring belongs to the thread that made it)
 * and runs batches through it.
 */
#ifndef FASTPATH_XRP_ENGINE_KERNEL_H
#define FASTPATH_XRP_ENGINE_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xrp.h"

/* Lookups in flight per ring, and per io_uring_enter, at most. */
#define XRPK_ENGINE_MAX_INFLIGHT 128
#define XRPK_ENGINE_BATCH	 2048

/* The refusal on kernels without the hook, for one-line messages. */
#define XRPK_NEEDS "needs Linux 7.1 or newer with CONFIG_IO_URING_BPF_OPS"

struct xrpk;
struct xrpk_ring;

struct xrpk_params {
	const char *function;	    /* NULL, bpfkv-get, bpfkv-range or FILE.c */
	bool range;		    /* a range function (else a point lookup) */
	int db_fd;		    /* opened O_DIRECT */
	uint64_t db_size;	    /* reads beyond it are refused */
	const unsigned char *cache; /* the cached top layers, or NULL */
	uint64_t cache_bytes;
	unsigned int max_depth;
	unsigned int inflight; /* lookups in flight per ring */
};

/* One finished lookup. */
struct xrpk_answer {
	bool failed;	     /* err says why; else head holds the answer */
	unsigned int hops;   /* steps of the function, cached ones included */
	unsigned int cached; /* steps served from the cached top layers */
	uint64_t last_addr;  /* next_addr[0] when the lookup ended */
	uint64_t lat_ns;
	unsigned char head[128]; /* the start of scratch: struct xrp_lookup */
	char err[200];
};

/*
 * Does this kernel have io_uring BPF ops? If not, `why` (may be NULL) says
 * what its BTF lacks.
 */
bool xrpk_supported(char *why, size_t len);
/* May this process load it (CAP_BPF or CAP_SYS_ADMIN)? Prints nothing. */
bool xrpk_may_load(void);

/*
 * Compiles (for a .c file) and loads the program. Errors are printed, one
 * line each; a verifier refusal also leaves its reason in `refusal` (may
 * be NULL), so a caller may fall back to another engine.
 */
int xrpk_open(struct xrpk **out, const struct xrpk_params *p, char *refusal,
	      size_t len);
void xrpk_close(struct xrpk *k);

/* A ring, its region and its attachment; in the thread that will use it. */
int xrpk_ring_open(struct xrpk *k, struct xrpk_ring **out);
void xrpk_ring_close(struct xrpk_ring *r);

/*
 * Looks up keys[0..n), n <= XRPK_ENGINE_BATCH, with one io_uring_enter
 * (more only when a signal interrupts it); answers go to out[0..n).
 * `enters` counts the system calls made. Returns 0, or 1 with an error
 * printed when the engine itself failed.
 */
int xrpk_lookup(struct xrpk_ring *r, const uint64_t *keys, size_t n,
		struct xrpk_answer *out, uint64_t *enters);

/*
 * Range scans: the context of slot 0, set up by the caller (scratch,
 * next_addr[0], size[0]); xrpk_chain() runs the function from there until
 * it is done or fails, in one io_uring_enter.
 */
struct bpf_xrp *xrpk_ring_ctx(struct xrpk_ring *r);
int xrpk_chain(struct xrpk_ring *r, struct xrpk_answer *out);

/* What the loop did on this ring so far: loop_step calls, SQEs, CQEs. */
void xrpk_ring_stats(const struct xrpk_ring *r, uint64_t *steps, uint64_t *sqes,
		     uint64_t *cqes);

/*
 * `verify` for this engine: loads FUNC (a built-in or FILE.c) into the
 * verifier as the loop_step program would carry it. Returns 0 when it
 * passed; log (log_size bytes) holds the verifier's log at `level`, *err
 * the load error.
 */
int xrpk_verify(const char *function, bool range, int level, char *log,
		size_t log_size, int *err);

#endif
