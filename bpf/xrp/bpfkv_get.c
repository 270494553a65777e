// SPDX-License-Identifier: GPL-2.0
/*
 * Built-in storage function "bpfkv-get": BPF-KV's point lookup.
 *
 * Walks from the root to the leaf that would hold q->key (at each internal
 * node the child of the last key <= q->key), then reads the value block.
 * Compiled twice: into bpf/xrp-lookup.bpf.c (BPF, for verify) and natively
 * into xrp-lookup (for the pread and io_uring engines).
 */
#include "xrp.h"

struct bpfkv_get_state {
	__u64 value_ptr; /* non-zero: data holds the block of this value */
};

XRP_INLINE unsigned int bpfkv_get_corrupt(struct bpf_xrp *ctx,
					  struct xrp_lookup *q)
{
	q->error = 1;
	ctx->done = 1;
	return 0;
}

XRP_FUNCTION(bpfkv_get)(struct bpf_xrp *ctx)
{
	struct xrp_lookup *q = (struct xrp_lookup *)ctx->scratch;
	struct bpfkv_get_state *st =
		(struct bpfkv_get_state *)(ctx->scratch + XRP_LOOKUP_PRIVATE);
	struct bpfkv_node *node = (struct bpfkv_node *)ctx->data;
	__u64 key = q->key, ptr, off;
	int i;

	if (st->value_ptr) {
		off = st->value_ptr & (BPFKV_BLOCK_SIZE - BPFKV_VALUE_SIZE);
		xrp_memcpy(q->value, ctx->data + off, BPFKV_VALUE_SIZE);
		q->found = 1;
		ctx->done = 1;
		return 0;
	}

	if (node->type == BPFKV_LEAF) {
		for (i = 0; i < BPFKV_FANOUT; i++) {
			if (node->key[i] == key)
				break;
		}
		if (i >= BPFKV_FANOUT) {
			q->found = 0;
			ctx->done = 1;
			return 0;
		}
		ptr = node->ptr[i];
		if (!(ptr & BPFKV_PTR_FLAG) || bpfkv_decode(ptr) == 0)
			return bpfkv_get_corrupt(ctx, q);
		st->value_ptr = bpfkv_decode(ptr);
		ctx->next_addr[0] =
			st->value_ptr & ~(__u64)(BPFKV_BLOCK_SIZE - 1);
		ctx->size[0] = BPFKV_BLOCK_SIZE;
		return 0;
	}
	if (node->type != BPFKV_INTERNAL)
		return bpfkv_get_corrupt(ctx, q);

	ptr = node->ptr[0];
	for (i = 1; i < BPFKV_FANOUT; i++) {
		if (key < node->key[i])
			break;
		ptr = node->ptr[i];
	}
	if (!(ptr & BPFKV_PTR_FLAG))
		return bpfkv_get_corrupt(ctx, q);
	ctx->next_addr[0] = bpfkv_decode(ptr);
	ctx->size[0] = BPFKV_BLOCK_SIZE;
	return 0;
}
