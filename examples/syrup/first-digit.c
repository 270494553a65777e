// SPDX-License-Identifier: GPL-2.0
/*
 * A Syrup policy for syrup-steer: a request that starts with a digit N goes
 * to executor N; anything else is left to the kernel's default choice.
 * Digits beyond the executors fall back to the kernel too (and are counted
 * as fallbacks in `syrup-steer stats`).
 *
 *     syrup-steer attach --port 9000 --policy examples/syrup/first-digit.c
 */
#include <fastpath/syrup.h>

__u32 schedule(void *pkt_start, void *pkt_end)
{
	__u8 *p = pkt_start;

	/* The verifier refuses any read not checked against pkt_end. */
	if ((void *)(p + 1) > pkt_end)
		return SYRUP_DEFAULT;
	if (p[0] < '0' || p[0] > '9')
		return SYRUP_DEFAULT;
	return p[0] - '0';
}
