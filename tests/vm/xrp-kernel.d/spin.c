// SPDX-License-Identifier: GPL-2.0
#include <xrp.h>

/*
 * Waits for a byte that never changes while it waits: a loop the verifier
 * sees make no progress, so it refuses it at once ("infinite loop
 * detected") rather than after a million instructions.
 */
XRP_FUNCTION(spin)(struct bpf_xrp *ctx)
{
	while (*(volatile unsigned char *)&ctx->data[0] != 0x7f)
		;
	ctx->done = 1;
	return 0;
}
