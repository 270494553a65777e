// SPDX-License-Identifier: GPL-2.0
#include <xrp.h>

/*
 * Follows a chain of bytes through the block until it meets a 0: on a block
 * without one it never ends. The verifier cannot bound it, so it refuses.
 */
XRP_FUNCTION(chase)(struct bpf_xrp *ctx)
{
	struct xrp_lookup *q = (struct xrp_lookup *)ctx->scratch;
	__u64 i = q->key & 511, n = 0;

	while (i != 0) {
		i = ctx->data[i];
		n++;
	}
	q->reserved = n;
	ctx->done = 1;
	return 0;
}
