// SPDX-License-Identifier: GPL-2.0
/*
 * Crafted frames over UDP: hits (IPv4, IPv6, multi-get, values with \r\n),
 * passes (truncated, IP options, wrong port, oversize keys, garbage,
 * fragments), invalidation by every write command over UDP and TCP, and
 * VLAN-tagged, broadcast and multicast frames.
 */
#include "bmc-xdp-test.h"

void test_hits(void)
{
	static struct frame f, out;
	int r;

	ok(set_and_fill(0, "alpha", "0", "hello", 5, "0") == 0,
	   "miss then fill from memcached's reply");
	ok(get_hit(0, "alpha") == 1,
	   "IPv4 get hit answered byte-exact with XDP_TX");
	ok(get_hit(1, "alpha") == 1,
	   "IPv6 get hit answered byte-exact with XDP_TX");
	ok(set_and_fill(1, "beta", "42", "a\r\nb\r\nEND\r\n", 11, "0") == 0 &&
		   get_hit(0, "beta") == 1,
	   "value containing \\r\\n and END served by its bytes field");
	{
		const char *rep =
			"VALUE m1 1 2\r\nv1\r\nVALUE m2 2 3\r\nv22\r\nEND\r\n";

		udp_write("set m1 1 0 2\r\nv1\r\nset m2 2 0 3\r\nv22\r\n");
		udp_write_reply(last_port);
		set_model(5, "m1", "1", "v1", 2, 1);
		set_model(6, "m2", "2", "v22", 3, 1);
		udp_get(&f, 0, 998, 0xabc, "get m1 m2\r\n");
		run_xdp(&env, &f, &out, NULL);
		udp_reply(&f, 0, 998, 0xabc, rep, (uint32_t)strlen(rep));
		run_tc(&env, &f);
		ok(get_hit(0, "m1") == 1 && get_hit(1, "m2") == 1,
		   "a multi-key reply fills every key");

		/* memcached 1.6: one "0 of 1" datagram per value, END last */
		udp_write("set m1 1 0 2\r\nw1\r\nset m2 2 0 3\r\nw22\r\n");
		udp_write_reply(last_port);
		set_model(5, "m1", "1", "w1", 2, 1);
		set_model(6, "m2", "2", "w22", 3, 1);
		udp_get(&f, 0, 997, 0xabd, "get m1 m2\r\n");
		run_xdp(&env, &f, &out, NULL);
		udp_reply(&f, 0, 997, 0xabd, "VALUE m1 1 2\r\nw1\r\n", 18);
		run_tc(&env, &f);
		udp_reply(&f, 0, 997, 0xabd, "VALUE m2 2 3\r\nw22\r\nEND\r\n",
			  24);
		run_tc(&env, &f);
		ok(get_hit(0, "m1") == 1 && get_hit(1, "m2") == 1,
		   "one datagram per value (memcached 1.6) fills every key");
		udp_write("delete m1\r\n");
		udp_write_reply(last_port);
		udp_reply(&f, 0, 997, 0xabd, "VALUE m1 1 2\r\nw1\r\nEND\r\n",
			  23);
		run_tc(&env, &f);
		model[5].cached = 0;
		ok(get_hit(0, "m1") == 0,
		   "after END the request's snapshot is gone");
	}
	udp_get(&f, 0, 999, 0xbeef, "get alpha beta\r\n");
	r = run_xdp(&env, &f, &out, NULL);
	ok(r == XDP_TX_ && !check_reply(&f, &out),
	   "multi-get, all hit: one reply");
	udp_get(&f, 0, 999, 0xbeef, "get alpha nothere\r\n");
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r),
	   "multi-get with a miss passes whole and untouched");
	udp_get(&f, 1, 999, 0xbeef, "get  alpha   beta \r\n");
	r = run_xdp(&env, &f, &out, NULL);
	ok(r == XDP_TX_ && !check_reply(&f, &out), "extra spaces between keys");
	udp_get(&f, 0, 999, 0xbeef, "get alpha\n");
	r = run_xdp(&env, &f, &out, NULL);
	ok(r == XDP_TX_ && !check_reply(&f, &out), "bare LF line end");
	udp_get(&f, 0, 999, 0xbeef, "gets alpha\r\n");
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r), "gets (with cas) is left to memcached");
	udp_get(&f, 0, 999, 0xbeef, "get alpha\r\nget beta\r\n");
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r), "two get lines in one datagram pass");
	{
		char v[1001];

		memset(v, 'v', sizeof(v));
		set_and_fill(2, "big", "0", v, 1001, "0");
		model[2].cached = 0;
		ok(get_hit(0, "big") == 0,
		   "values over 1000 bytes are not cached");
		set_and_fill(2, "big", "0", v, 1000, "0");
		ok(get_hit(0, "big") == 1, "a 1000-byte value is served");
	}
}

/* Every cut of f from 14 bytes up that is not passed untouched. */
static int truncations_failing(const struct frame *f)
{
	static struct frame t, out;
	int r, bad = 0;

	for (uint32_t len = 14; len < f->len; len++) {
		memcpy(t.b, f->b, len);
		t.len = len;
		r = run_xdp(&env, &t, &out, NULL);
		if (!pass_unchanged(&t, &out, r))
			bad++;
	}
	return bad;
}

/* The IPv4 header checksum again, after the header was changed. */
static void ip4_checksum(struct frame *f)
{
	uint16_t c;

	f->b[14 + 10] = f->b[14 + 11] = 0;
	c = (uint16_t)~csum_fold16(csum_add(0, f->b + 14, 20));
	f->b[14 + 10] = (uint8_t)(c >> 8);
	f->b[14 + 11] = (uint8_t)c;
}

void test_passes(void)
{
	static struct frame f, out;
	struct flow fl = {.sport = 5555, .dport = MC_PORT, .to_server = 1};
	char line[400];
	uint8_t pl[600];
	uint32_t n;
	int r;

	udp_get(&f, 0, 4444, 1, "get alpha\r\n");
	ok(truncations_failing(&f) == 0,
	   "truncated frames (every length) pass untouched");
	udp_write_reply(4444);
	udp_get(&f, 1, 4444, 1, "get alpha\r\n");
	ok(truncations_failing(&f) == 0,
	   "truncated IPv6 frames pass untouched");

	fl.ip_opts = 1;
	n = mc_udp(pl, 9, "get alpha\r\n", 11);
	build(&f, &fl, pl, n);
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r), "IPv4 with options passes untouched");

	fl.ip_opts = 0;
	fl.dport = MC_PORT + 1;
	build(&f, &fl, pl, n);
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r), "wrong port passes untouched");

	memset(line, 'k', sizeof(line));
	memcpy(line, "get ", 4);
	memcpy(line + 4 + 251, "\r\n", 3);
	udp_get(&f, 0, 4444, 1, line);
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r), "251-byte key passes untouched");

	udp_get(&f, 0, 4444, 1, "get \r\n");
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r), "get without key passes");

	for (int i = 0; i < 200; i++)
		pl[i] = (uint8_t)(i * 37 + 11);
	fl.dport = MC_PORT;
	build(&f, &fl, pl, 200);
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r), "garbage to the port passes untouched");
	udp_write_reply(5555); /* memcached's ERROR ends its pending */

	build(&f, &fl, pl, 5);
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r),
	   "payload shorter than the frame header");

	udp_get(&f, 0, 4444, 1, "get alpha\r\n");
	f.b[14 + 6] = 0x20; /* more fragments */
	ip4_checksum(&f);
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r), "first IPv4 fragment passes untouched");
	udp_write_reply(4444);

	/* The first fragment of a bigger datagram: a write we cannot read. */
	cache_wkey();
	udp_get(&f, 0, 4445, 1, "set wkey 0 0 3000\r\n");
	f.b[14 + 6] = 0x20;
	f.b[14 + 34 - 14 + 4] = 0x0b; /* UDP length 3000ish: more to come */
	ip4_checksum(&f);
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r) && get_hit(0, "wkey") == 0,
	   "first fragment of a longer datagram to the port flushes");
	udp_write_reply(4445);
}

void test_writes(void)
{
	static const char *const cmds[] = {
		"set %s 0 0 1\r\nx\r\n",
		"add %s 0 0 1\r\nx\r\n",
		"replace %s 0 0 1\r\nx\r\n",
		"append %s 0 0 1\r\nx\r\n",
		"prepend %s 0 0 1\r\nx\r\n",
		"cas %s 0 0 1 99\r\nx\r\n",
		"incr %s 1\r\n",
		"decr %s 1\r\n",
		"delete %s\r\n",
		"touch %s 100\r\n",
		"gat 100 %s\r\n",
		"gats 100 other %s\r\n",
		"set %s 0 0 1 noreply\r\nx\r\n",
		"delete %s noreply\r\n",
		"incr %s 5 noreply\r\n",
		"touch %s 10 noreply\r\n",
		"ms %s 1 T0\r\nx\r\n",
		"md %s q\r\n",
		"ma %s\r\n",
		"mg %s v\r\n",
	};
	char buf[512];

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		for (int tcp = 0; tcp < 2; tcp++) {
			int before, after;

			cache_wkey();
			before = get_hit(0, "wkey");
			snprintf(buf, sizeof(buf), cmds[i], "wkey");
			if (tcp) {
				struct tcpconn c;

				tcp_open(&c);
				tcp_send(&c, buf, (uint32_t)strlen(buf));
				after = get_hit(0, "wkey");
				tcp_reply(&c, "STORED\r\n");
			} else {
				udp_write(buf);
				after = get_hit(0, "wkey");
				udp_write_reply(last_port);
			}
			buf[strcspn(buf, "\r")] = 0;
			ok(before == 1 && after == 0, "%s over %s invalidates",
			   buf, tcp ? "TCP" : "UDP");
		}
	}
}

/* Insert an 802.1Q tag (VLAN 5) after the MAC addresses. */
static void add_vlan(struct frame *f)
{
	memmove(f->b + 16, f->b + 12, f->len - 12);
	f->b[12] = 0x81;
	f->b[13] = 0x00;
	f->b[14] = 0x00;
	f->b[15] = 0x05;
	f->len += 4;
}

void test_vlan_and_multicast(void)
{
	static struct frame f, out;
	uint8_t pl[200];
	struct flow fl = {.sport = 7777, .dport = MC_PORT, .to_server = 1};
	uint32_t n = mc_udp(pl, 3, "delete wkey\r\n", 13);
	int r;

	cache_wkey();
	build(&f, &fl, pl, n);
	add_vlan(&f);
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r) && get_hit(0, "wkey") == 0,
	   "a write inside a VLAN tag invalidates");
	udp_write_reply(7777);

	cache_wkey();
	udp_get(&f, 0, 7778, 1, "get wkey\r\n");
	add_vlan(&f);
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r),
	   "a VLAN-tagged get is left to memcached");

	udp_get(&f, 0, 7778, 1, "get wkey\r\n");
	memset(f.b, 0xff, 6);
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r), "a broadcast get is not answered");
	udp_get(&f, 1, 7778, 1, "get wkey\r\n");
	f.b[14 + 24] = 0xff;
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r),
	   "an IPv6 multicast get is not answered");
}
