// SPDX-License-Identifier: GPL-2.0
/*
 * Built-in storage function "bpfkv-range": BPF-KV's range scan.
 *
 * Descends to the leaf holding r->lo, copies the leaf into scratch, then
 * reads the value blocks of keys lo..hi in order (eight values share a
 * block, so a block is read once) and follows the leaves' `next` offsets.
 * Hands back at most XRP_RANGE_BATCH entries per call chain (see xrp.h), so
 * every chain stays within a few dozen reads.
 */
#include "xrp.h"

enum {
	RANGE_START = 0, /* data holds the root */
	RANGE_NODE,	 /* data holds a node read on the way down or across */
	RANGE_VALUE,	 /* data holds the value block at cur_addr */
	RANGE_EMIT,	 /* data holds nothing useful */
};

struct bpfkv_range_state {
	__u64 phase;
	__u64 next_key; /* smallest key not yet reported */
	__u64 idx;	/* position in leaf */
	__u64 cur_addr; /* offset of the block in data, when phase VALUE */
	struct bpfkv_node leaf;
};

XRP_INLINE unsigned int bpfkv_range_end(struct bpf_xrp *ctx,
					struct xrp_range *r, __u64 error)
{
	r->error = error;
	r->more = 0;
	ctx->done = 1;
	return 0;
}

XRP_INLINE __u64 bpfkv_value_number(const unsigned char *v)
{
	__u64 n = 0;
	int i;

	for (i = 0; i < BPFKV_VALUE_SIZE; i++) {
		if (v[i] >= '0' && v[i] <= '9')
			n = n * 10 + (v[i] - '0');
		else if (v[i] != ' ')
			break;
	}
	return n;
}

XRP_FUNCTION(bpfkv_range)(struct bpf_xrp *ctx)
{
	struct xrp_range *r = (struct xrp_range *)ctx->scratch;
	struct bpfkv_range_state *st =
		(struct bpfkv_range_state *)(ctx->scratch + XRP_RANGE_PRIVATE);
	struct bpfkv_node *node = (struct bpfkv_node *)ctx->data;
	__u64 key, ptr, vp, blk, off, idx, n;
	int i;

	if (st->phase == RANGE_START) {
		st->next_key = r->lo;
		st->phase = RANGE_NODE;
	}
	if (st->phase == RANGE_NODE) {
		if (node->type == BPFKV_INTERNAL) {
			ptr = node->ptr[0];
			for (i = 1; i < BPFKV_FANOUT; i++) {
				if (st->next_key < node->key[i])
					break;
				ptr = node->ptr[i];
			}
			if (!(ptr & BPFKV_PTR_FLAG))
				return bpfkv_range_end(ctx, r, 1);
			ctx->next_addr[0] = bpfkv_decode(ptr);
			ctx->size[0] = BPFKV_BLOCK_SIZE;
			return 0;
		}
		if (node->type != BPFKV_LEAF)
			return bpfkv_range_end(ctx, r, 1);
		xrp_memcpy(&st->leaf, node, sizeof(st->leaf));
		st->idx = 0;
		st->cur_addr = 0;
		st->phase = RANGE_EMIT;
	} else if (st->phase == RANGE_VALUE) {
		st->phase = RANGE_EMIT;
	} else {
		/* RANGE_EMIT: nothing in data we can use */
		st->cur_addr = 0;
	}

	for (i = 0; i < BPFKV_FANOUT; i++) {
		idx = st->idx;
		if (idx >= BPFKV_FANOUT)
			break;
		key = st->leaf.key[idx];
		if (key < st->next_key) {
			st->idx = idx + 1;
			continue;
		}
		if (key > r->hi)
			return bpfkv_range_end(ctx, r, 0);
		ptr = st->leaf.ptr[idx];
		if (!(ptr & BPFKV_PTR_FLAG))
			return bpfkv_range_end(ctx, r, 1);
		vp = bpfkv_decode(ptr);
		blk = vp & ~(__u64)(BPFKV_BLOCK_SIZE - 1);
		if (blk == 0)
			return bpfkv_range_end(ctx, r, 1);
		if (r->n >= XRP_RANGE_BATCH || blk != st->cur_addr) {
			/* read the block; or, batch full, resume with it */
			ctx->next_addr[0] = blk;
			ctx->size[0] = BPFKV_BLOCK_SIZE;
			st->cur_addr = blk;
			st->phase = RANGE_VALUE;
			if (r->n >= XRP_RANGE_BATCH) {
				r->more = 1;
				ctx->done = 1;
			}
			return 0;
		}
		off = vp & (BPFKV_BLOCK_SIZE - BPFKV_VALUE_SIZE);
		if (!(r->flags & XRP_RANGE_SUM_ONLY)) {
			n = r->n & (XRP_RANGE_BATCH - 1);
			r->out[n].key = key;
			xrp_memcpy(r->out[n].value, ctx->data + off,
				   BPFKV_VALUE_SIZE);
		}
		r->sum += bpfkv_value_number(ctx->data + off);
		r->count++;
		r->n++;
		st->next_key = key + 1;
		st->idx = idx + 1;
	}

	if (st->idx < BPFKV_FANOUT) /* cannot happen: 31 steps cover a leaf */
		return bpfkv_range_end(ctx, r, 1);
	if (st->leaf.next == 0)
		return bpfkv_range_end(ctx, r, 0);
	if (st->leaf.next & (BPFKV_BLOCK_SIZE - 1))
		return bpfkv_range_end(ctx, r, 1);
	ctx->next_addr[0] = st->leaf.next;
	ctx->size[0] = BPFKV_BLOCK_SIZE;
	st->phase = RANGE_NODE;
	return 0;
}
