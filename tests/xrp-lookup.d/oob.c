// SPDX-License-Identifier: GPL-2.0
#include <xrp.h>
/* Indexes data with a value from the disk, unchecked. */
XRP_FUNCTION(oob)(struct bpf_xrp *ctx)
{
	struct bpfkv_node *node = (struct bpfkv_node *)ctx->data;
	struct xrp_lookup *q = (struct xrp_lookup *)ctx->scratch;

	q->value[0] = ctx->data[node->key[1]];
	ctx->done = 1;
	return 0;
}
