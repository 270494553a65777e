/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * xrp.h: XRP storage functions, written once, run as BPF or as native code.
 *
 * XRP (Zhong et al., OSDI'22) calls a small eBPF "storage function" each time
 * a block of an on-disk index has been read. The function looks at the block
 * (ctx->data), keeps its own state in ctx->scratch, and either asks for the
 * next block (ctx->next_addr[0], ctx->size[0]) or ends the lookup
 * (ctx->done = 1). The lookup's query goes into scratch before the first
 * read and its answer comes back in scratch.
 *
 * The same source file is compiled
 *   - as BPF (clang -target bpf): `xrp-lookup verify` loads it into the
 *     kernel's verifier, so loops and memory accesses are checked for real;
 *     on Linux 7.1+ with io_uring BPF ops, `--engine kernel` builds it into
 *     an io_uring loop_step program that runs it in the kernel on every
 *     completed block and submits the next read itself (XRP's in-kernel
 *     resubmission, on a mainline kernel);
 *   - as native code (cc -shared): the user-space engines of xrp-lookup
 *     (pread, uring) call it after every completed read.
 * Which engine runs it changes nothing in the function.
 * Under BPF the function is a static BPF-to-BPF subprogram; natively the
 * SEC() and bpf_printk() helpers become no-ops.
 *
 * Rules for a storage function (the verifier enforces them under BPF):
 *   - every loop has a constant bound;
 *   - every index into data or scratch is bounded (mask or compare it);
 *   - next_addr[0] is a byte offset in the database, a multiple of 512;
 *     size[0] is a multiple of 512, at most XRP_DATA_SIZE; the engines refuse
 *     anything else, and anything outside the database, for that lookup.
 *   - only next_addr[0]/size[0] are used: one read per step.
 *
 * Declare the function with XRP_FUNCTION(name); one per file. A worked
 * example, the point lookup of a BPF-KV B+-tree (see the format below):
 *
 *	#include <fastpath/xrp.h>
 *
 *	XRP_FUNCTION(my_get)(struct bpf_xrp *ctx)
 *	{
 *		struct xrp_lookup *q = (struct xrp_lookup *)ctx->scratch;
 *		struct bpfkv_node *node = (struct bpfkv_node *)ctx->data;
 *		__u64 *at_value = (__u64 *)(ctx->scratch + XRP_LOOKUP_PRIVATE);
 *		__u64 ptr;
 *		int i;
 *
 *		if (*at_value) {                 // data holds the value block
 *			ptr = *at_value & (BPFKV_BLOCK_SIZE - BPFKV_VALUE_SIZE);
 *			xrp_memcpy(q->value, ctx->data + ptr, BPFKV_VALUE_SIZE);
 *			q->found = 1;
 *			ctx->done = 1;
 *			return 0;
 *		}
 *		if (node->type == BPFKV_LEAF) {  // find the key, read its value
 *			for (i = 0; i < BPFKV_FANOUT; i++)
 *				if (node->key[i] == q->key)
 *					break;
 *			if (i == BPFKV_FANOUT) {
 *				ctx->done = 1;   // q->found stays 0
 *				return 0;
 *			}
 *			*at_value = bpfkv_decode(node->ptr[i]);
 *			ctx->next_addr[0] = *at_value & ~(__u64)511;
 *			ctx->size[0] = BPFKV_BLOCK_SIZE;
 *			return 0;
 *		}
 *		ptr = node->ptr[0];             // internal: last key <= q->key
 *		for (i = 1; i < BPFKV_FANOUT; i++) {
 *			if (q->key < node->key[i])
 *				break;
 *			ptr = node->ptr[i];
 *		}
 *		ctx->next_addr[0] = bpfkv_decode(ptr);
 *		ctx->size[0] = BPFKV_BLOCK_SIZE;
 *		return 0;
 *	}
 *
 * Check it, then use it:
 *	xrp-lookup verify my_get.c
 *	xrp-lookup get --function my_get.c db.bin 42
 *	xrp-lookup bench --function my_get.c --engine uring db.bin
 *
 * The tool compiles the file itself (cc for native code, clang for BPF),
 * with this header on the include path as <xrp.h> and <fastpath/xrp.h>.
 */
#ifndef FASTPATH_XRP_H
#define FASTPATH_XRP_H

#ifdef __bpf__
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#else
#include <linux/types.h>
#ifndef SEC
#define SEC(name)
#endif
#define bpf_printk(fmt, ...) ((void)0)
#endif

/* ---- the context ------------------------------------------------------ */

#define XRP_DATA_SIZE	 4096 /* largest read one step may ask for */
#define XRP_SCRATCH_SIZE 4096 /* state kept across the steps of a lookup */
#define XRP_MAX_READS	 16   /* XRP's array size; only [0] is used */

/*
 * XRP's struct bpf_xrp, with data and scratch as arrays inside the context
 * rather than pointers, so `(Node *)ctx->data` and `ctx->scratch + n` read
 * the same as in XRP's own functions. Engines align data to 4096 bytes.
 */
struct bpf_xrp {
	unsigned char data[XRP_DATA_SIZE];	 /* the block(s) just read */
	unsigned char scratch[XRP_SCRATCH_SIZE]; /* query, answer, state */
	__u64 next_addr[XRP_MAX_READS]; /* out: byte offset of the next read */
	__u64 size[XRP_MAX_READS];	/* out: its size in bytes */
	__u32 done;			/* out: 1 ends the lookup */
	__u32 hops;			/* in: reads done so far */
};

/* Helpers of a storage function: always inlined, in BPF and natively. */
#define XRP_INLINE static inline __attribute__((always_inline))

#define xrp_memcpy(dst, src, n) __builtin_memcpy((dst), (src), (n))
#define xrp_memset(dst, c, n)	__builtin_memset((dst), (c), (n))

/* What the entry point looks like, for native callers. */
typedef unsigned int (*xrp_fn_t)(struct bpf_xrp *ctx);

#ifndef XRP_ENTRY_NAME
#define XRP_ENTRY_NAME xrp_entry
#endif

/*
 * XRP_FUNCTION(name)(struct bpf_xrp *ctx) { ... } defines the storage
 * function `name` and the fixed entry point the tool calls (xrp_entry).
 */
#ifdef __bpf__
#define XRP_FUNCTION(name)                                                    \
	static __attribute__((noinline)) unsigned int name(struct bpf_xrp *); \
	static __attribute__((always_inline, unused)) unsigned int            \
	XRP_ENTRY_NAME(struct bpf_xrp *xrp_ctx_)                              \
	{                                                                     \
		return name(xrp_ctx_);                                        \
	}                                                                     \
	static __attribute__((noinline)) unsigned int name
#else
#define XRP_FUNCTION(name)                                                  \
	static unsigned int name(struct bpf_xrp *);                         \
	__attribute__((visibility("default"))) unsigned int XRP_ENTRY_NAME( \
		struct bpf_xrp *xrp_ctx_);                                  \
	unsigned int XRP_ENTRY_NAME(struct bpf_xrp *xrp_ctx_)               \
	{                                                                   \
		return name(xrp_ctx_);                                      \
	}                                                                   \
	static unsigned int name
#endif

/* ---- BPF-KV's on-disk format (XRP's evaluation database) -------------- */

/*
 * One file or block device. 512-byte nodes, written level by level, root at
 * offset 0; then the value log: 64-byte values, eight per 512-byte block,
 * in key order. A tree of L layers holds keys 0 .. 31^L - 1; the value of
 * key k is k printed with "%63lu" plus a NUL. All integers little endian.
 */
#define BPFKV_BLOCK_SIZE 512
#define BPFKV_FANOUT	 31
#define BPFKV_VALUE_SIZE 64
#define BPFKV_INTERNAL	 0
#define BPFKV_LEAF	 1
#define BPFKV_PTR_FLAG	 (1ULL << 63) /* set on every pointer: a file offset */

struct bpfkv_node {
	__u64 next;		 /* offset of the next node on this level */
	__u64 type;		 /* BPFKV_INTERNAL or BPFKV_LEAF */
	__u64 key[BPFKV_FANOUT]; /* ascending */
	__u64 ptr[BPFKV_FANOUT]; /* child node, or value (leaf), | flag */
};

static inline __u64 bpfkv_encode(__u64 offset)
{
	return offset | BPFKV_PTR_FLAG;
}

static inline __u64 bpfkv_decode(__u64 ptr)
{
	return ptr & ~BPFKV_PTR_FLAG;
}

/* ---- what xrp-lookup puts in scratch ---------------------------------- */

/*
 * Point lookups (get, bench): the tool zeroes scratch, writes `key`, reads
 * the root (offset 0, 512 bytes) and calls the function after each read.
 */
struct xrp_lookup {
	__u64 key;   /* in */
	__u64 found; /* out: 1 when the key exists */
	__u64 error; /* out: non-zero: the data is corrupt */
	__u64 reserved;
	char value[BPFKV_VALUE_SIZE]; /* out: the value, when found */
};
/* The function's own state may start here (up to XRP_SCRATCH_SIZE). */
#define XRP_LOOKUP_PRIVATE 128

/*
 * Range scans (range): up to XRP_RANGE_BATCH entries per call chain. When
 * out[] is full the function sets `more` and done, leaving next_addr[0] at
 * the block it needs next; the tool empties out[] (n = 0), clears `more`
 * and done, and carries on from there.
 */
#define XRP_RANGE_BATCH	   32
#define XRP_RANGE_SUM_ONLY 1 /* flags: only count and sum, no out[] */

struct xrp_range_entry {
	__u64 key;
	char value[BPFKV_VALUE_SIZE];
};

struct xrp_range {
	__u64 lo, hi; /* in: inclusive */
	__u64 flags;  /* in: XRP_RANGE_SUM_ONLY */
	__u64 count;  /* out: entries found, all batches */
	__u64 sum;    /* out: sum of the values read as numbers */
	__u64 n;      /* out: entries in out[] now */
	__u64 more;   /* out: out[] filled up, call again */
	__u64 error;  /* out: non-zero: the data is corrupt */
	struct xrp_range_entry out[XRP_RANGE_BATCH];
};
#define XRP_RANGE_PRIVATE 2432 /* sizeof(struct xrp_range), rounded up */

#endif
