// SPDX-License-Identifier: GPL-2.0
/*
 * Running a storage function over one node: the rules every user-space
 * engine applies between two reads (the kernel engine's program applies
 * the same ones, word for word in its messages).
 */
#include <stdio.h>
#include <string.h>

#include "lookup.h"

void lookup_start(struct bpf_xrp *ctx, uint64_t key)
{
	struct xrp_lookup *q = (struct xrp_lookup *)ctx->scratch;

	memset(ctx->scratch, 0, sizeof(ctx->scratch));
	memset(ctx->next_addr, 0, sizeof(ctx->next_addr));
	memset(ctx->size, 0, sizeof(ctx->size));
	q->key = key;
	ctx->size[0] = BPFKV_BLOCK_SIZE;
	ctx->done = 0;
	ctx->hops = 0;
}

/* The read the function asked for: one, aligned, inside the database. */
static enum step check_read(const struct db *db, const struct bpf_xrp *ctx,
			    char *err, size_t errlen)
{
	uint64_t addr = ctx->next_addr[0], size = ctx->size[0];

	if (size == 0) {
		snprintf(err, errlen,
			 "the storage function asked for "
			 "nothing (size 0) and did not set done");
		return STEP_ERROR;
	}
	if (size > XRP_DATA_SIZE) {
		snprintf(err, errlen,
			 "the storage function asked for an "
			 "oversized read (%llu bytes at %llu, at most %d)",
			 (unsigned long long)size, (unsigned long long)addr,
			 XRP_DATA_SIZE);
		return STEP_ERROR;
	}
	if ((addr | size) & (BPFKV_BLOCK_SIZE - 1)) {
		snprintf(err, errlen,
			 "the storage function asked for a "
			 "misaligned read (%llu bytes at %llu; both must be "
			 "multiples of %d)",
			 (unsigned long long)size, (unsigned long long)addr,
			 BPFKV_BLOCK_SIZE);
		return STEP_ERROR;
	}
	if (addr >= db->size || size > db->size - addr) {
		snprintf(err, errlen,
			 "the storage function asked for offset "
			 "%llu, outside the database (%llu bytes)",
			 (unsigned long long)addr,
			 (unsigned long long)db->size);
		return STEP_ERROR;
	}
	return STEP_READ;
}

enum step xrp_step(const struct db *db, xrp_fn fn, struct bpf_xrp *ctx,
		   unsigned int max_depth, char *err, size_t errlen)
{
	unsigned int ret;

	/* next_addr[0] keeps the last read's offset, for error messages;
	 * size[0] = 0 shows whether the function asked for anything. */
	ctx->hops++;
	ctx->size[0] = 0;
	ret = fn(ctx);
	if (ret) {
		snprintf(err, errlen, "the storage function returned %u", ret);
		return STEP_ERROR;
	}
	if (ctx->done)
		return STEP_DONE;
	for (int i = 1; i < XRP_MAX_READS; i++) {
		if (ctx->size[i]) {
			snprintf(err, errlen,
				 "the storage function asked for "
				 "a second read (size[%d]); one read per step "
				 "is supported",
				 i);
			return STEP_ERROR;
		}
	}
	if (ctx->hops >= max_depth) {
		snprintf(err, errlen, "more than %u reads (--max-depth %u)",
			 max_depth, max_depth);
		return STEP_ERROR;
	}
	return check_read(db, ctx, err, errlen);
}

enum step serve_cached(const struct db *db, xrp_fn fn, struct bpf_xrp *ctx,
		       unsigned int max_depth, enum step st, char *err,
		       size_t errlen, uint64_t *cached)
{
	while (st == STEP_READ && db->cache_bytes &&
	       ctx->next_addr[0] + ctx->size[0] <= db->cache_bytes) {
		memcpy(ctx->data, db->cache + ctx->next_addr[0], ctx->size[0]);
		(*cached)++;
		st = xrp_step(db, fn, ctx, max_depth, err, errlen);
	}
	return st;
}
