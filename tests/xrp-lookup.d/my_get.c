// SPDX-License-Identifier: GPL-2.0
/* The worked example from include/xrp.h: BPF-KV's point lookup. */
#include <fastpath/xrp.h>

XRP_FUNCTION(my_get)(struct bpf_xrp *ctx)
{
	struct xrp_lookup *q = (struct xrp_lookup *)ctx->scratch;
	struct bpfkv_node *node = (struct bpfkv_node *)ctx->data;
	__u64 *at_value = (__u64 *)(ctx->scratch + XRP_LOOKUP_PRIVATE);
	__u64 ptr;
	int i;

	if (*at_value) {                 // data holds the value block
		ptr = *at_value & (BPFKV_BLOCK_SIZE - BPFKV_VALUE_SIZE);
		xrp_memcpy(q->value, ctx->data + ptr, BPFKV_VALUE_SIZE);
		q->found = 1;
		ctx->done = 1;
		return 0;
	}
	if (node->type == BPFKV_LEAF) {  // find the key, read its value
		for (i = 0; i < BPFKV_FANOUT; i++)
			if (node->key[i] == q->key)
				break;
		if (i == BPFKV_FANOUT) {
			ctx->done = 1;   // q->found stays 0
			return 0;
		}
		*at_value = bpfkv_decode(node->ptr[i]);
		ctx->next_addr[0] = *at_value & ~(__u64)511;
		ctx->size[0] = BPFKV_BLOCK_SIZE;
		return 0;
	}
	ptr = node->ptr[0];             // internal: last key <= q->key
	for (i = 1; i < BPFKV_FANOUT; i++) {
		if (q->key < node->key[i])
			break;
		ptr = node->ptr[i];
	}
	ctx->next_addr[0] = bpfkv_decode(ptr);
	ctx->size[0] = BPFKV_BLOCK_SIZE;
	return 0;
}
