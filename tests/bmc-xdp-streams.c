// SPDX-License-Identifier: GPL-2.0
/*
 * Crafted cases of state across frames: TCP streams (split and packed
 * segments, gaps, unknown connections, the binary protocol), the stale
 * fill races between a write and a GET's reply, expiry and full key
 * comparison.
 */
#include "bmc-xdp-test.h"

/* Commands split over segments or packed into one, on one connection. */
static void test_tcp_segments(void)
{
	struct tcpconn c;
	uint64_t fl;

	/* A value split over segments, a delete after it in the second. */
	cache_wkey();
	tcp_open(&c);
	tcp_send(&c, "set other 0 0 10\r\n01234", 23);
	tcp_send(&c, "56789\r\ndelete wkey\r\n", 20);
	ok(get_hit(0, "wkey") == 0,
	   "TCP: write after a value split over segments");
	answer_both(&c);

	cache_wkey();
	fl = STAT(flushes);
	tcp_send(&c, "get a b c\r\nset x 0 0 1\r\ny\r\nincr wkey 1\r\n", 40);
	ok(get_hit(0, "wkey") == 0 && STAT(flushes) == fl,
	   "TCP: many commands in one segment, key-exact invalidation");
	answer_both(&c);

	cache_wkey();
	tcp_send(&c, "get aaa b", 9);
	tcp_send(&c, "bb\r\ndelete wkey\r\n", 17);
	ok(get_hit(0, "wkey") == 0,
	   "TCP: get line split over segments, then delete");
	answer_both(&c);

	cache_wkey();
	fl = STAT(flushes);
	tcp_send(&c, "set wk", 6);
	ok(get_hit(0, "wkey") == 1, "TCP: a write line cut mid-key is kept...");
	tcp_send(&c, "ey 0 0 1\r\nx\r\n", 13);
	ok(get_hit(0, "wkey") == 0 && STAT(flushes) == fl,
	   "...and invalidates its key when the line completes, no flush");
	tcp_reply(&c, "OK\r\n");

	cache_wkey();
	fl = STAT(flushes);
	{
		char line[1200];
		int n = snprintf(line, sizeof(line), "get");

		for (int i = 0; i < 100; i++)
			n += snprintf(line + n, sizeof(line) - (size_t)n,
				      " somekey%03d", i);
		tcp_send(&c, line, (uint32_t)n); /* 1103 bytes, no LF yet */
		tcp_send(&c, " k2 k3\r\ndelete wkey\r\n", 21);
	}
	ok(get_hit(0, "wkey") == 0 && STAT(flushes) == fl,
	   "TCP: a long get line over two segments, then a delete");
	tcp_reply(&c, "OK\r\n");

	cache_wkey();
	fl = STAT(flushes);
	tcp_send(&c, "\x80\x01\x00\x04", 4); /* a cut binary header */
	tcp_send(&c,
		 "\x08\x00\x00\x00\x00\x00\x00\x0c"
		 "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
		 "\x00\x00\x00\x00\x00\x00\x00\x00wkey",
		 32);
	ok(get_hit(0, "wkey") == 0 && STAT(flushes) > fl,
	   "TCP: a binary header cut over segments still flushes");
	tcp_reply(&c, "OK\r\n");
}

/* What BMC cannot follow flushes the cache. */
static void test_tcp_flushes(void)
{
	struct tcpconn c;
	uint64_t fl;

	/* Out of sequence: we cannot know what we missed. */
	tcp_open(&c);
	cache_wkey();
	c.seq += 100;
	tcp_send(&c, "get x\r\n", 7);
	ok(get_hit(0, "wkey") == 0, "TCP: a gap in the stream flushes");
	answer_both(&c);

	/* A connection BMC never saw open. */
	cache_wkey();
	c.port = next_port++;
	c.seq = 77;
	tcp_send(&c, "get x\r\n", 7);
	ok(get_hit(0, "wkey") == 0, "TCP: unknown connection flushes");
	answer_both(&c);

	tcp_open(&c);
	cache_wkey();
	tcp_send(&c,
		 "\x80\x01\x00\x04\x08\x00\x00\x00\x00\x00\x00\x0c"
		 "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
		 "\x00\x00\x00\x00\x00\x00\x00\x00wkey",
		 36);
	ok(get_hit(0, "wkey") == 0, "binary protocol set flushes");
	answer_both(&c);

	tcp_open(&c);
	cache_wkey();
	tcp_send(&c, "bogus wkey\r\n", 12);
	ok(get_hit(0, "wkey") == 0, "unknown command flushes");
	answer_both(&c);

	cache_wkey();
	fl = STAT(flushes);
	udp_write("flush_all\r\n");
	ok(get_hit(0, "wkey") == 0 && STAT(flushes) > fl,
	   "flush_all empties the cache");
	answer_both(&c);
}

void test_tcp_streams(void)
{
	test_tcp_segments();
	test_tcp_flushes();
}

/* A write memcached has not answered yet: no fill from before it. */
static void test_writes_in_flight(void)
{
	static struct frame f, out;
	struct tcpconn c;
	uint64_t stale;
	int r;

	/* GET miss -> write -> memcached's old reply: must not fill. */
	set_and_fill(4, "race", "0", "old", 3, "0");
	udp_write("delete race\r\n");
	udp_write_reply(last_port);
	set_model(4, "race", "0", "old", 3, 0);
	udp_get(&f, 0, 6000, 0x99, "get race\r\n");
	r = run_xdp(&env, &f, &out, NULL);
	tcp_open(&c);
	tcp_send(&c, "set race 0 0 3\r\nnew\r\n", 21);
	stale = STAT(stale_fills);
	udp_reply(&f, 0, 6000, 0x99, "VALUE race 0 3\r\nold\r\nEND\r\n", 26);
	run_tc(&env, &f);
	ok(r == XDP_PASS_ && STAT(stale_fills) == stale + 1 &&
		   get_hit(0, "race") == 0,
	   "GET miss, write, old reply: fill refused (stale_fills)");

	/*
	 * Write seen at ingress but not yet answered; a GET that arrives
	 * later may still be processed first: its old reply must not fill.
	 */
	tcp_reply(&c, "STORED\r\n");
	tcp_send(&c, "set race 0 0 4\r\nnew2\r\n", 22);
	udp_get(&f, 0, 6001, 0x98, "get race\r\n");
	run_xdp(&env, &f, &out, NULL);
	stale = STAT(stale_fills);
	udp_reply(&f, 0, 6001, 0x98, "VALUE race 0 3\r\nnew\r\nEND\r\n", 26);
	run_tc(&env, &f);
	ok(STAT(stale_fills) == stale + 1 && get_hit(0, "race") == 0,
	   "write in flight: a later GET's reply does not fill");

	/*
	 * Pipelined TCP: the first reply on the connection answers an earlier
	 * command; a GET filled after it with the value from before the write
	 * dies at the write's own reply (the next one on the connection).
	 */
	{
		struct tcpconn p;

		tcp_reply(&c, "STORED\r\n");
		set_and_fill(4, "race", "0", "old", 3, "0");
		tcp_open(&p);
		tcp_send(&p, "get x\r\nset race 0 0 3\r\nnew\r\n", 28);
		tcp_reply(&p, "END\r\n"); /* the get's answer */
		ok(fill_key(&env, 0, 6020, 0x91, "race", "0", "old", 3) == 0 &&
			   get_hit(0, "race") == 1,
		   "pipelined TCP: a fill between two replies is possible...");
		tcp_reply(&p, "STORED\r\n"); /* the set's answer */
		model[4].cached = 0;
		ok(get_hit(0, "race") == 0,
		   "...and the write's own reply invalidates it again");
	}

	/* UDP: only the reply echoing the write's request id ends it. */
	{
		uint16_t wp;

		udp_write("set race 0 0 4\r\nudp1\r\n"); /* request id 7 */
		wp = last_port;
		udp_reply(&f, 0, wp, 8, "END\r\n", 5); /* another request */
		run_tc(&env, &f);
		udp_get(&f, 0, 6010, 0x90, "get race\r\n");
		run_xdp(&env, &f, &out, NULL);
		stale = STAT(stale_fills);
		udp_reply(&f, 0, 6010, 0x90,
			  "VALUE race 0 4\r\nnew2\r\nEND\r\n", 27);
		run_tc(&env, &f);
		ok(STAT(stale_fills) == stale + 1 && get_hit(0, "race") == 0,
		   "UDP: a reply to another request id does not end a write");
		udp_write_reply(wp);
	}

	/* Once memcached answered the write, fills resume. */
	tcp_reply(&c, "STORED\r\n");
	set_model(4, "race", "0", "new2", 4, 1);
	ok(fill_key(&env, 0, 6002, 0x97, "race", "0", "new2", 4) == 0 &&
		   get_hit(0, "race") == 1,
	   "after the write's reply, the new value fills and hits");
}

/* Which GET's snapshot a reply is checked against. */
static void test_snapshots(void)
{
	static struct frame f, out;
	uint64_t stale;

	/* A reply whose GET passed before the write's reply, after it. */
	udp_get(&f, 0, 6003, 0x96, "get race\r\n");
	run_xdp(&env, &f, &out, NULL); /* a hit: no snapshot */
	udp_write("delete race\r\n");
	udp_get(&f, 0, 6004, 0x95, "get race\r\n");
	run_xdp(&env, &f, &out, NULL); /* miss: snapshot */
	udp_write_reply(last_port);
	stale = STAT(stale_fills);
	udp_reply(&f, 0, 6004, 0x95, "VALUE race 0 4\r\nnew2\r\nEND\r\n", 27);
	run_tc(&env, &f);
	set_model(4, "race", "0", "new2", 4, 0);
	ok(STAT(stale_fills) == stale + 1 && get_hit(0, "race") == 0,
	   "delete answered after the GET passed: old value refused");

	/* Two outstanding GETs with the same request id keep the older one. */
	udp_get(&f, 0, 6005, 0x77, "get race\r\n");
	run_xdp(&env, &f, &out, NULL);
	udp_write("set race 0 0 1\r\nz\r\n");
	udp_write_reply(last_port);
	udp_get(&f, 0, 6005, 0x77, "get race\r\n");
	run_xdp(&env, &f, &out, NULL);
	udp_reply(&f, 0, 6005, 0x77, "VALUE race 0 4\r\nnew2\r\nEND\r\n", 27);
	run_tc(&env, &f);
	ok(get_hit(0, "race") == 0,
	   "reused request id: the older snapshot wins");

	/* No fill without a matching GET, or from a gets reply. */
	udp_reply(&f, 0, 6100, 0x55, "VALUE race 0 4\r\nnew2\r\nEND\r\n", 27);
	run_tc(&env, &f);
	ok(get_hit(0, "race") == 0, "a reply nobody asked for does not fill");
}

void test_consistency(void)
{
	test_writes_in_flight();
	test_snapshots();
}

void test_expiry_and_keys(void)
{
	uint32_t zero = 0;
	int fd = bpf_map__fd(env.skel->maps.cache);
	struct bmc_entry e;
	int changed = 0;

	set_and_fill(5, "ttl", "0", "v", 1, "100");
	ok(get_hit(0, "ttl") == 1, "exptime 100 s: cached");
	set_and_fill(5, "ttl", "0", "v", 1, "2");
	model[5].cached = 0;
	ok(get_hit(0, "ttl") == 0, "exptime 2 s: never served from the kernel");
	set_and_fill(5, "ttl", "0", "v", 1, "-1");
	ok(get_hit(0, "ttl") == 0, "negative exptime: expired at once");
	set_and_fill(5, "ttl", "0", "v", 1, "1000000000");
	ok(get_hit(0, "ttl") == 0, "absolute exptime in the past: not served");
	set_and_fill(5, "ttl", "0", "v", 1, "4000000000");
	model[5].cached = 1;
	ok(get_hit(0, "ttl") == 1, "absolute exptime in the future: served");
	udp_write("touch ttl 1\r\n");
	udp_write_reply(last_port);
	model[5].cached = 0;
	fill_key(&env, 0, next_port++, 0x41, "ttl", "0", "v", 1);
	ok(get_hit(0, "ttl") == 0, "touch shortens the remembered expiry");

	set_model(6, "unknown", "0", "u", 1, 0);
	fill_key(&env, 0, next_port++, 0x40, "unknown", "0", "u", 1);
	ok(get_hit(0, "unknown") == 0,
	   "expiry unknown (write not seen) and no --max-age: not cached");

	/* Corrupt the cached key (same hash): lookups must compare keys. */
	set_and_fill(7, "collide", "0", "cv", 2, "0");
	ok(get_hit(0, "collide") == 1, "cached before corruption");
	for (uint32_t i = 0; i < 64 * BMC_WAYS && !changed; i++) {
		if (bpf_map_lookup_elem(fd, &i, &e) || !e.valid ||
		    e.key_len != 7 || memcmp(e.blob + 6, "collide", 7))
			continue;
		e.blob[6] = 'K';
		bpf_map_update_elem(fd, &i, &e, BPF_ANY);
		changed = 1;
	}
	(void)zero;
	ok(changed && get_hit(0, "collide") == 0,
	   "same hash, different key bytes: never served");
}
