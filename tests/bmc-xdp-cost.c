// SPDX-License-Identifier: GPL-2.0
/*
 * bmc-xdp-cost: the in-kernel cost of one BMC GET hit, in nanoseconds,
 * measured with BPF_PROG_TEST_RUN (no interface, no memcached).
 *
 *   bmc-xdp-cost [-n RUNS] [-v BYTES] [-j] [-b]
 *
 * Prints `ns_per_hit N` (or {"ns_per_hit":N,...} with -j). A hit rewrites
 * its frame in place, so a kernel-side repeat count would time the reply
 * instead of the request: the frame is run RUNS times (default 200000)
 * with repeat=1 each and the kernel-measured durations are averaged.
 * -b instead times a frame to another port (the harness's floor).
 */
#include "bmc-xdp-lib.h"

int main(int argc, char **argv)
{
	static struct frame f, out;
	struct bmc_env env;
	long runs = 200000, n = 0;
	unsigned int vlen = 32;
	uint64_t total = 0;
	char val[1001];
	int opt, json = 0, base = 0, err;

	while ((opt = getopt(argc, argv, "n:v:jb")) != -1) {
		switch (opt) {
		case 'n':
			runs = atol(optarg);
			break;
		case 'v':
			vlen = (unsigned int)atoi(optarg);
			break;
		case 'j':
			json = 1;
			break;
		case 'b':
			base = 1;
			break;
		default:
			fprintf(stderr, "usage: bmc-xdp-cost [-n RUNS] [-v "
					"BYTES] [-j]\n");
			return 64;
		}
	}
	if (runs < 1 || vlen < 1 || vlen > 1000) {
		fprintf(stderr, "bmc-xdp-cost: want -n >= 1, -v 1..1000\n");
		return 64;
	}
	err = bmc_env_open(&env, 3600);
	if (err) {
		fprintf(stderr, "bmc-xdp-cost: cannot load BMC: %s\n",
			strerror(-err));
		return 1;
	}
	memset(val, 'x', vlen);
	/* --max-age 3600 above: the fill needs no write first. */
	if (fill_key(&env, 0, 40000, 1, "key:000042", "0", val, vlen)) {
		fprintf(stderr, "bmc-xdp-cost: the fill did not work\n");
		return 1;
	}
	udp_get(&f, 0, 40001, 2, "get key:000042\r\n");
	if (base) {
		f.b[36] ^= 1;	       /* destination port 11211 -> 11210 */
		f.b[40] = f.b[41] = 0; /* no UDP checksum */
	}
	for (long i = 0; i < runs; i++) {
		uint32_t d = 0;

		if (run_xdp(&env, &f, &out, &d) != (base ? 2 : 3)) {
			fprintf(stderr, "bmc-xdp-cost: run %ld was not a hit\n",
				i);
			return 1;
		}
		total += d;
		n++;
	}
	if (json)
		printf("{\"ns_per_hit\":%.1f,\"runs\":%ld,\"value_bytes\":%u}"
		       "\n",
		       (double)total / (double)n, n, vlen);
	else
		printf("%s %.0f\n", base ? "ns_per_pass" : "ns_per_hit",
		       (double)total / (double)n);
	bmc_attach_bpf__destroy(env.skel);
	return 0;
}
