// SPDX-License-Identifier: GPL-2.0
/*
 * bmc-xdp-test: unit tests of BMC's XDP and TC programs through
 * BPF_PROG_TEST_RUN (no interface, no memcached). TAP on stdout.
 *
 *   bmc-xdp-test [-n FUZZ_ITERATIONS] [-s SEED] [-d]
 *
 * -d: the programs read and write packets directly instead of with
 * bpf_xdp_load_bytes/bpf_xdp_store_bytes, as on kernels before 5.18.
 *
 * Crafted frames check hits (IPv4, IPv6, multi-get), passes (truncated,
 * IP options, wrong port, oversize keys, garbage), invalidation by every
 * write command over UDP and TCP (split and packed segments), the stale
 * fill race, expiry and full key comparison. Then a loop of random and
 * mutated frames: every XDP_TX must be a well-formed reply for cached keys,
 * every other verdict XDP_PASS with the frame untouched.
 *
 * bmc-xdp-test.h says which file holds what.
 */
#include <stdarg.h>

#include "bmc-xdp-test.h"
#include "unit/unit.h"

struct kv model[NKV];
struct bmc_env env;
uint16_t next_port = 30000;
uint16_t last_port; /* client port of the last udp_write */

/* The TAP line of every check, from the C tests' one producer. */
void ok(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	unit_vcheck(cond, fmt, ap);
	va_end(ap);
}

int main(int argc, char **argv)
{
	long iterations = 20000;
	unsigned int seed = (unsigned int)time(NULL);
	int opt, err;

	while ((opt = getopt(argc, argv, "n:s:d")) != -1) {
		switch (opt) {
		case 'n':
			iterations = atol(optarg);
			break;
		case 's':
			seed = (unsigned int)atol(optarg);
			break;
		case 'd':
			bmc_env_direct = 1;
			break;
		default:
			fprintf(stderr,
				"usage: bmc-xdp-test [-n ITER] [-s SEED] "
				"[-d]\n");
			return 64;
		}
	}
	err = bmc_env_open(&env, 0);
	if (err) {
		printf("not ok 1 - load BMC's programs: %s\n", strerror(-err));
		return 1;
	}
	printf("# seed %u\n", seed);
	srandom(seed);
	test_hits();
	test_passes();
	test_writes();
	test_tcp_streams();
	test_vlan_and_multicast();
	test_consistency();
	test_expiry_and_keys();
	fuzz(iterations);
	printf("1..%d\n", unit_number);
	bmc_attach_bpf__destroy(env.skel);
	return unit_done();
}
