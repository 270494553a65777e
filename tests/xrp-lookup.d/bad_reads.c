// SPDX-License-Identifier: GPL-2.0
/*
 * A storage function that misbehaves on purpose, chosen by the key:
 *   1  asks for an offset past the end of the database
 *   2  asks for a misaligned read
 *   3  asks for an oversized read (8 KiB)
 *   4  reads the root again and again, forever
 *   5  asks for nothing and never finishes
 * any other key: not found.
 */
#include <xrp.h>

XRP_FUNCTION(bad_reads)(struct bpf_xrp *ctx)
{
	struct xrp_lookup *q = (struct xrp_lookup *)ctx->scratch;

	switch (q->key) {
	case 1:
		ctx->next_addr[0] = 1ULL << 40;
		ctx->size[0] = 512;
		break;
	case 2:
		ctx->next_addr[0] = 100;
		ctx->size[0] = 512;
		break;
	case 3:
		ctx->next_addr[0] = 0;
		ctx->size[0] = 8192;
		break;
	case 4:
		ctx->next_addr[0] = 0;
		ctx->size[0] = 512;
		break;
	case 5:
		break;
	default:
		ctx->done = 1;
	}
	return 0;
}
