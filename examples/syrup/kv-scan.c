// SPDX-License-Identifier: GPL-2.0
/*
 * A Syrup policy for a key-value server with a bimodal mix: "SCAN" requests
 * take milliseconds, "GET" requests microseconds. SCANs go to the last
 * `scan_workers` executors, GETs round-robin over the others, so a short
 * request never waits behind a long one. `scan_workers` is a parameter:
 *
 *     syrup-steer attach -p 11211 -P examples/syrup/kv-scan.c \
 *             --param scan_workers=1
 *     syrup-steer set -p 11211 scan_workers=2      # live
 *
 * (The built-in `sita` policy does this in general; this is the worked
 * example of writing it yourself.)
 */
#include <fastpath/syrup.h>

static int is_scan(__u8 *p, void *end)
{
	if ((void *)(p + 4) > end)
		return 0;
	return p[0] == 'S' && p[1] == 'C' && p[2] == 'A' && p[3] == 'N';
}

__u32 schedule(void *pkt_start, void *pkt_end)
{
	__u32 n = syrup_nr_executors();
	__u32 scan = (__u32)syrup_param("scan_workers", 1);

	if (n < 2)
		return 0;
	if (scan < 1 || scan >= n)
		scan = 1;
	if (is_scan(pkt_start, pkt_end))
		return n - scan + (__u32)(syrup_counter_next(1) % scan);
	return (__u32)(syrup_counter_next(0) % (n - scan));
}
