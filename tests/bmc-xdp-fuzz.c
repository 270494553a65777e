// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzz loop: random and mutated frames, with the cached keys refilled
 * every ten. Every XDP_TX must be a well-formed reply for cached keys,
 * every other verdict XDP_PASS with the frame untouched.
 */
#include "bmc-xdp-test.h"

static const char *const keys[] = {"alpha", "beta", "big", "fz1", "fz2"};

static uint64_t fnv(const char *k)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *k; k++) {
		h ^= (uint8_t)*k;
		h *= 0x100000001b3ULL;
	}
	return h ? h : 1;
}

/*
 * Mutated frames carry random client addresses that memcached would answer
 * (ending their pending writes); nobody answers here, so forget them.
 */
static void clear_pending(const char *const *keys, int n)
{
	struct bmc_state st;
	struct bmc_bucket bk;
	uint32_t zero = 0;
	int sfd = bpf_map__fd(env.skel->maps.state);
	int bfd = bpf_map__fd(env.skel->maps.buckets);

	if (!bpf_map_lookup_elem(sfd, &zero, &st) && st.pending) {
		st.pending = 0;
		bpf_map_update_elem(sfd, &zero, &st, BPF_ANY);
	}
	for (int i = 0; i < n; i++) {
		uint32_t b = (uint32_t)((fnv(keys[i]) >> 20) & 1023);

		if (!bpf_map_lookup_elem(bfd, &b, &bk) && bk.pending) {
			bk.pending = 0;
			bpf_map_update_elem(bfd, &b, &bk, BPF_ANY);
		}
	}
}

static uint32_t rnd(void)
{
	return (uint32_t)random();
}

/* memcached answers the clients, and what mutations evicted is refilled. */
static void refresh(void)
{
	for (uint16_t p = 0; p < 9; p++) {
		struct tcpconn c = {.port = p == 8 ? 999
						   : (uint16_t)(20000 + p)};

		udp_write_reply(c.port);
		tcp_reply(&c, "OK\r\n");
	}
	clear_pending(keys, 5);
	set_and_fill(0, "alpha", "0", "hello", 5, "0");
	set_and_fill(1, "beta", "42", "a\r\nb\r\nEND\r\n", 11, "0");
	set_and_fill(3, "fz1", "7", "fuzz-one", 8, "0");
	set_and_fill(4, "fz2", "0", "two\r\n", 5, "0");
}

/* Well-formed gets of cached and uncached keys. */
static void good_get(struct frame *f, int v6)
{
	char line[1200];
	int n = 1 + (int)(rnd() % 4), p;

	p = snprintf(line, sizeof(line), "get");
	for (int k = 0; k < n; k++)
		p += snprintf(line + p, sizeof(line) - (size_t)p, " %s",
			      rnd() % 6 ? keys[rnd() % 5] : "zz");
	snprintf(line + p, sizeof(line) - (size_t)p, "\r\n");
	udp_get(f, v6, (uint16_t)(20000 + rnd() % 8), (uint16_t)rnd(), line);
}

/* A good get with random bytes flipped, cut or grown. */
static void mutated_get(struct frame *f, int v6)
{
	char line[1200];
	int flips = 1 + (int)(rnd() % 4);

	snprintf(line, sizeof(line), "get %s %s\r\n", keys[rnd() % 5],
		 keys[rnd() % 5]);
	udp_get(f, v6, (uint16_t)(20000 + rnd() % 8), (uint16_t)rnd(), line);
	for (int k = 0; k < flips; k++)
		f->b[rnd() % f->len] ^= (uint8_t)(1 << (rnd() % 8));
	if (rnd() % 4 == 0)
		f->len = 14 + rnd() % (f->len - 14);
	if (rnd() % 8 == 0)
		f->len += rnd() % 64; /* trailing bytes */
}

/* Random bytes behind valid headers, or entirely. */
static void random_frame(struct frame *f, int v6)
{
	struct flow fl = {.v6 = v6,
			  .sport = 999,
			  .dport = MC_PORT,
			  .to_server = 1,
			  .tcp = (int)(rnd() % 3 == 0)};
	uint8_t pl[300];
	uint32_t n = rnd() % sizeof(pl);

	for (uint32_t k = 0; k < n; k++)
		pl[k] = rnd() % 4 ? (uint8_t) "get al \r\n"[rnd() % 9]
				  : (uint8_t)rnd();
	fl.seq = rnd();
	build(f, &fl, pl, n);
	if (rnd() % 5 == 0) {
		f->len = 14 + rnd() % 100;
		for (uint32_t k = 0; k < f->len; k++)
			f->b[k] = (uint8_t)rnd();
	}
}

void fuzz(long iterations)
{
	static struct frame f, out;
	long tx = 0, pass = 0, bad = 0, other = 0;

	set_model(3, "fz1", "7", "fuzz-one", 8, 1);
	set_model(4, "fz2", "0", "two\r\n", 5, 1);
	for (long it = 0; it < iterations; it++) {
		int kind = (int)(rnd() % 10), r, v6 = (int)(rnd() & 1);
		const char *why;

		if (it % 10 == 0)
			refresh();
		if (kind < 4)
			good_get(&f, v6);
		else if (kind < 8)
			mutated_get(&f, v6);
		else
			random_frame(&f, v6);
		r = run_xdp(&env, &f, &out, NULL);
		if (r == XDP_TX_) {
			tx++;
			why = check_reply(&f, &out);
			if (why) {
				bad++;
				if (bad < 5)
					printf("# iteration %ld: bad XDP_TX: "
					       "%s\n",
					       it, why);
			}
		} else if (r == XDP_PASS_) {
			pass++;
			if (!pass_unchanged(&f, &out, r)) {
				bad++;
				if (bad < 5)
					printf("# iteration %ld: frame "
					       "modified on "
					       "XDP_PASS\n",
					       it);
			}
		} else {
			other++;
			if (other < 5)
				printf("# iteration %ld: verdict %d\n", it, r);
		}
	}
	printf("# fuzz: %ld iterations, %ld XDP_TX, %ld XDP_PASS\n", iterations,
	       tx, pass);
	ok(bad == 0, "fuzz: every XDP_TX well-formed for cached keys, every "
		     "XDP_PASS untouched");
	ok(other == 0, "fuzz: no verdict other than XDP_TX and XDP_PASS");
	ok(tx > 0 && pass > 0, "fuzz: both verdicts were exercised");
}
