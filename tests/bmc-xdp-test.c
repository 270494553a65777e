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
 */
#include "bmc-xdp-lib.h"

#define XDP_PASS_ 2
#define XDP_TX_	  3

static int tap_n, tap_fail;

static void ok(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#include <stdarg.h>

static void ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!cond)
		tap_fail++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* What we filled: the reference for every reply. */
struct kv {
	char key[256];
	char flags[16];
	char val[1100];
	uint32_t vlen;
	int cached; /* may be served */
};

#define NKV 8
static struct kv model[NKV];
static struct bmc_env env;
static uint16_t next_port = 30000;
static uint16_t last_port; /* client port of the last udp_write */

static struct kv *model_find(const uint8_t *k, uint32_t kl)
{
	for (int i = 0; i < NKV; i++)
		if (model[i].key[0] && strlen(model[i].key) == kl &&
		    !memcmp(model[i].key, k, kl))
			return &model[i];
	return NULL;
}

static int pass_unchanged(const struct frame *in, const struct frame *out,
			  int verdict)
{
	return verdict == XDP_PASS_ && out->len == in->len &&
	       !memcmp(in->b, out->b, in->len);
}

/*
 * Is `out` a well-formed memcached reply to request `in`, answering each
 * requested key with exactly the value in the model?
 */
static const char *check_reply(const struct frame *in, const struct frame *out)
{
	const uint8_t *ib = in->b, *ob = out->b;
	uint32_t il4, ol4, ulen, pos, end, n_in = 0;
	int v6 = ib[12] == 0x86;
	uint64_t s;
	const uint8_t *req, *rp;
	uint32_t reqlen;

	if (out->len < 14 + 20 + 8 + 8)
		return "reply too short";
	if (memcmp(ob, ib + 6, 6) || memcmp(ob + 6, ib, 6) ||
	    memcmp(ob + 12, ib + 12, 2))
		return "ethernet header not swapped";
	if (!v6) {
		if ((ib[14] & 0xf) != 5 || ob[14] != 0x45)
			return "IPv4 header length";
		il4 = ol4 = 34;
		if ((uint32_t)(ob[16] << 8 | ob[17]) != out->len - 14)
			return "IPv4 total length";
		if (csum_fold16(csum_add(0, ob + 14, 20)) != 0xffff)
			return "IPv4 header checksum";
		if (memcmp(ob + 26, ib + 30, 4) || memcmp(ob + 30, ib + 26, 4))
			return "IPv4 addresses not swapped";
		if (ob[23] != 17)
			return "IPv4 protocol";
		s = csum_add(0, ob + 26, 8);
	} else {
		il4 = ol4 = 54;
		if ((uint32_t)(ob[18] << 8 | ob[19]) != out->len - 54)
			return "IPv6 payload length";
		if (memcmp(ob + 22, ib + 38, 16) ||
		    memcmp(ob + 38, ib + 22, 16))
			return "IPv6 addresses not swapped";
		if (ob[20] != 17)
			return "IPv6 next header";
		s = csum_add(0, ob + 22, 32);
	}
	ulen = (uint32_t)(ob[ol4 + 4] << 8 | ob[ol4 + 5]);
	if (ulen != out->len - ol4)
		return "UDP length";
	if (memcmp(ob + ol4, ib + il4 + 2, 2) ||
	    memcmp(ob + ol4 + 2, ib + il4, 2))
		return "UDP ports not swapped";
	if (!ob[ol4 + 6] && !ob[ol4 + 7])
		return "UDP checksum missing";
	s += 17 + ulen;
	s = csum_add(s, ob + ol4, ulen);
	if (csum_fold16(s) != 0xffff)
		return "UDP checksum wrong";
	/* Frame header. */
	rp = ob + ol4 + 8;
	if (memcmp(rp, ib + il4 + 8, 2))
		return "request id not echoed";
	if (rp[2] || rp[3] || rp[4] || rp[5] != 1 || rp[6] || rp[7])
		return "frame header: want seq 0, count 1";
	/* The request's keys, in order. */
	req = ib + il4 + 16;
	reqlen = (uint32_t)(ib[il4 + 4] << 8 | ib[il4 + 5]) - 16;
	if (reqlen < 4 || memcmp(req, "get ", 4))
		return "answered something that is not a get";
	pos = 8;
	end = ulen - 8;
	{
		uint32_t q = 3;

		for (;;) {
			uint32_t ks, kl;
			struct kv *m;
			char hdr[600];
			int hl;

			while (q < reqlen && req[q] == ' ')
				q++;
			ks = q;
			while (q < reqlen && req[q] != ' ' && req[q] != '\r' &&
			       req[q] != '\n')
				q++;
			kl = q - ks;
			if (kl == 0)
				break;
			n_in++;
			m = model_find(req + ks, kl);
			if (!m)
				return "answered a key never filled";
			if (!m->cached)
				return "answered a key that must not be cached";
			hl = snprintf(hdr, sizeof(hdr), "VALUE %s %s %u\r\n",
				      m->key, m->flags, m->vlen);
			if (pos + (uint32_t)hl + m->vlen + 2 > end)
				return "reply shorter than its values";
			if (memcmp(rp + pos, hdr, (size_t)hl))
				return "VALUE line differs";
			pos += (uint32_t)hl;
			if (memcmp(rp + pos, m->val, m->vlen) ||
			    memcmp(rp + pos + m->vlen, "\r\n", 2))
				return "value bytes differ";
			pos += m->vlen + 2;
		}
	}
	if (n_in == 0)
		return "no keys";
	if (pos + 5 != end || memcmp(rp + pos, "END\r\n", 5))
		return "END\\r\\n missing or trailing bytes";
	return NULL;
}

static void set_model(int i, const char *key, const char *flags,
		      const char *val, uint32_t vlen, int cached)
{
	snprintf(model[i].key, sizeof(model[i].key), "%s", key);
	snprintf(model[i].flags, sizeof(model[i].flags), "%s", flags);
	memcpy(model[i].val, val, vlen);
	model[i].vlen = vlen;
	model[i].cached = cached;
}

/* A write over UDP, as a client sends it. */
static int udp_write(const char *text)
{
	static struct frame f, out;
	uint8_t pl[2048];
	struct flow fl = {
		.sport = next_port++, .dport = MC_PORT, .to_server = 1};
	uint32_t n = mc_udp(pl, 7, text, (uint32_t)strlen(text));

	last_port = fl.sport;
	build(&f, &fl, pl, n);
	return run_xdp(&env, &f, &out, NULL);
}

/* memcached's STORED etc. over UDP to that client port (ends pending). */
static void udp_write_reply(uint16_t port)
{
	static struct frame f;

	udp_reply(&f, 0, port, 7, "STORED\r\n", 8);
	run_tc(&env, &f);
}

struct tcpconn {
	uint16_t port;
	uint32_t seq;
};

static int tcp_open(struct tcpconn *c)
{
	static struct frame f, out;
	struct flow fl = {.tcp = 1,
			  .sport = next_port++,
			  .dport = MC_PORT,
			  .to_server = 1,
			  .seq = 1000,
			  .tcp_flags = 0x02};

	c->port = fl.sport;
	c->seq = 1001;
	build(&f, &fl, "", 0);
	return run_xdp(&env, &f, &out, NULL);
}

static int tcp_send(struct tcpconn *c, const void *data, uint32_t len)
{
	static struct frame f, out;
	struct flow fl = {.tcp = 1,
			  .sport = c->port,
			  .dport = MC_PORT,
			  .to_server = 1,
			  .seq = c->seq};

	build(&f, &fl, data, len);
	c->seq += len;
	return run_xdp(&env, &f, &out, NULL);
}

/* memcached's answer on the connection, through TC egress. */
static void tcp_reply(struct tcpconn *c, const char *text)
{
	static struct frame f;
	struct flow fl = {.tcp = 1,
			  .sport = c->port,
			  .dport = MC_PORT,
			  .to_server = 0,
			  .seq = 5000};

	build(&f, &fl, text, (uint32_t)strlen(text));
	run_tc(&env, &f);
}

/* 1: the key is served from the kernel with the model's value. */
static int get_hit(int v6, const char *key)
{
	static struct frame f, out;
	char line[600];
	const char *why;
	int r;

	snprintf(line, sizeof(line), "get %s\r\n", key);
	udp_get(&f, v6, next_port++, 0x1234, line);
	r = run_xdp(&env, &f, &out, NULL);
	if (r == XDP_TX_) {
		why = check_reply(&f, &out);
		if (why) {
			printf("# bad reply for %s: %s\n", key, why);
			return -1;
		}
		return 1;
	}
	if (!pass_unchanged(&f, &out, r)) {
		printf("# verdict %d or frame modified on pass\n", r);
		return -1;
	}
	return 0;
}

/* A write with known expiry (as memcached would see it), then a fill. */
static int set_and_fill(int idx, const char *key, const char *flags,
			const char *val, uint32_t vlen, const char *exptime)
{
	char cmd[1300];
	int n;
	uint16_t port = next_port;

	n = snprintf(cmd, sizeof(cmd), "set %s %s %s %u\r\n", key, flags,
		     exptime, vlen);
	memcpy(cmd + n, val, vlen);
	memcpy(cmd + n + vlen, "\r\n", 3);
	udp_write(cmd);
	udp_write_reply(port);
	set_model(idx, key, flags, val, vlen, 1);
	return fill_key(&env, 0, next_port++, 0x42, key, flags, val, vlen);
}

static uint64_t stat_field(size_t off)
{
	struct bmc_stats s;

	read_stats(&env, &s);
	return *(uint64_t *)((char *)&s + off);
}
#define STAT(f) stat_field(offsetof(struct bmc_stats, f))

static void test_hits(void)
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

static void test_passes(void)
{
	static struct frame f, t, out;
	struct flow fl = {.sport = 5555, .dport = MC_PORT, .to_server = 1};
	char line[400];
	uint8_t pl[600];
	uint32_t n;
	int r, bad = 0;

	udp_get(&f, 0, 4444, 1, "get alpha\r\n");
	for (uint32_t len = 14; len < f.len; len++) {
		memcpy(t.b, f.b, len);
		t.len = len;
		r = run_xdp(&env, &t, &out, NULL);
		if (!pass_unchanged(&t, &out, r))
			bad++;
	}
	ok(bad == 0, "truncated frames (every length) pass untouched");
	udp_write_reply(4444);
	udp_get(&f, 1, 4444, 1, "get alpha\r\n");
	bad = 0;
	for (uint32_t len = 14; len < f.len; len++) {
		memcpy(t.b, f.b, len);
		t.len = len;
		r = run_xdp(&env, &t, &out, NULL);
		if (!pass_unchanged(&t, &out, r))
			bad++;
	}
	ok(bad == 0, "truncated IPv6 frames pass untouched");

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
	f.b[14 + 10] = f.b[14 + 11] = 0;
	{
		uint16_t c = (uint16_t)~csum_fold16(csum_add(0, f.b + 14, 20));

		f.b[14 + 10] = (uint8_t)(c >> 8);
		f.b[14 + 11] = (uint8_t)c;
	}
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r), "first IPv4 fragment passes untouched");
	udp_write_reply(4444);

	/* The first fragment of a bigger datagram: a write we cannot read. */
	set_and_fill(3, "wkey", "0", "value", 5, "0");
	udp_get(&f, 0, 4445, 1, "set wkey 0 0 3000\r\n");
	f.b[14 + 6] = 0x20;
	f.b[14 + 34 - 14 + 4] = 0x0b; /* UDP length 3000ish: more to come */
	f.b[14 + 10] = f.b[14 + 11] = 0;
	{
		uint16_t c = (uint16_t)~csum_fold16(csum_add(0, f.b + 14, 20));

		f.b[14 + 10] = (uint8_t)(c >> 8);
		f.b[14 + 11] = (uint8_t)c;
	}
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r) && get_hit(0, "wkey") == 0,
	   "first fragment of a longer datagram to the port flushes");
	udp_write_reply(4445);
}

static void test_writes(void)
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

			set_and_fill(3, "wkey", "0", "value", 5, "0");
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

static void test_vlan_and_multicast(void)
{
	static struct frame f, out;
	uint8_t pl[200];
	struct flow fl = {.sport = 7777, .dport = MC_PORT, .to_server = 1};
	uint32_t n = mc_udp(pl, 3, "delete wkey\r\n", 13);
	int r;

	set_and_fill(3, "wkey", "0", "value", 5, "0");
	build(&f, &fl, pl, n);
	add_vlan(&f);
	r = run_xdp(&env, &f, &out, NULL);
	ok(pass_unchanged(&f, &out, r) && get_hit(0, "wkey") == 0,
	   "a write inside a VLAN tag invalidates");
	udp_write_reply(7777);

	set_and_fill(3, "wkey", "0", "value", 5, "0");
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

static void test_tcp_streams(void)
{
	struct tcpconn c;
	uint64_t fl;

	/* A value split over segments, a delete after it in the second. */
	set_and_fill(3, "wkey", "0", "value", 5, "0");
	tcp_open(&c);
	tcp_send(&c, "set other 0 0 10\r\n01234", 23);
	tcp_send(&c, "56789\r\ndelete wkey\r\n", 20);
	ok(get_hit(0, "wkey") == 0,
	   "TCP: write after a value split over segments");
	tcp_reply(&c, "OK\r\n");
	udp_write_reply(last_port);

	set_and_fill(3, "wkey", "0", "value", 5, "0");
	fl = STAT(flushes);
	tcp_send(&c, "get a b c\r\nset x 0 0 1\r\ny\r\nincr wkey 1\r\n", 40);
	ok(get_hit(0, "wkey") == 0 && STAT(flushes) == fl,
	   "TCP: many commands in one segment, key-exact invalidation");
	tcp_reply(&c, "OK\r\n");
	udp_write_reply(last_port);

	set_and_fill(3, "wkey", "0", "value", 5, "0");
	tcp_send(&c, "get aaa b", 9);
	tcp_send(&c, "bb\r\ndelete wkey\r\n", 17);
	ok(get_hit(0, "wkey") == 0,
	   "TCP: get line split over segments, then delete");
	tcp_reply(&c, "OK\r\n");
	udp_write_reply(last_port);

	set_and_fill(3, "wkey", "0", "value", 5, "0");
	fl = STAT(flushes);
	tcp_send(&c, "set wk", 6);
	ok(get_hit(0, "wkey") == 1, "TCP: a write line cut mid-key is kept...");
	tcp_send(&c, "ey 0 0 1\r\nx\r\n", 13);
	ok(get_hit(0, "wkey") == 0 && STAT(flushes) == fl,
	   "...and invalidates its key when the line completes, no flush");
	tcp_reply(&c, "OK\r\n");

	set_and_fill(3, "wkey", "0", "value", 5, "0");
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

	set_and_fill(3, "wkey", "0", "value", 5, "0");
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

	/* Out of sequence: we cannot know what we missed. */
	tcp_open(&c);
	set_and_fill(3, "wkey", "0", "value", 5, "0");
	c.seq += 100;
	tcp_send(&c, "get x\r\n", 7);
	ok(get_hit(0, "wkey") == 0, "TCP: a gap in the stream flushes");
	tcp_reply(&c, "OK\r\n");
	udp_write_reply(last_port);

	/* A connection BMC never saw open. */
	set_and_fill(3, "wkey", "0", "value", 5, "0");
	c.port = next_port++;
	c.seq = 77;
	tcp_send(&c, "get x\r\n", 7);
	ok(get_hit(0, "wkey") == 0, "TCP: unknown connection flushes");
	tcp_reply(&c, "OK\r\n");
	udp_write_reply(last_port);

	tcp_open(&c);
	set_and_fill(3, "wkey", "0", "value", 5, "0");
	tcp_send(&c,
		 "\x80\x01\x00\x04\x08\x00\x00\x00\x00\x00\x00\x0c"
		 "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
		 "\x00\x00\x00\x00\x00\x00\x00\x00wkey",
		 36);
	ok(get_hit(0, "wkey") == 0, "binary protocol set flushes");
	tcp_reply(&c, "OK\r\n");
	udp_write_reply(last_port);

	tcp_open(&c);
	set_and_fill(3, "wkey", "0", "value", 5, "0");
	tcp_send(&c, "bogus wkey\r\n", 12);
	ok(get_hit(0, "wkey") == 0, "unknown command flushes");
	tcp_reply(&c, "OK\r\n");
	udp_write_reply(last_port);

	set_and_fill(3, "wkey", "0", "value", 5, "0");
	fl = STAT(flushes);
	udp_write("flush_all\r\n");
	ok(get_hit(0, "wkey") == 0 && STAT(flushes) > fl,
	   "flush_all empties the cache");
	tcp_reply(&c, "OK\r\n");
	udp_write_reply(last_port);
}

static void test_consistency(void)
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

	/* A reply whose GET passed before the write's reply, after it. */
	udp_get(&f, 0, 6003, 0x96, "get race\r\n");
	r = run_xdp(&env, &f, &out, NULL); /* a hit: no snapshot */
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

static void test_expiry_and_keys(void)
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

static void fuzz(long iterations)
{
	static struct frame f, out;
	const char *keys[] = {"alpha", "beta", "big", "fz1", "fz2"};
	long tx = 0, pass = 0, bad = 0, other = 0;
	char line[1200];

	set_model(3, "fz1", "7", "fuzz-one", 8, 1);
	set_model(4, "fz2", "0", "two\r\n", 5, 1);
	for (long it = 0; it < iterations; it++) {
		int kind = (int)(rnd() % 10), r, v6 = (int)(rnd() & 1);
		const char *why;

		if (it % 10 == 0) {
			/* memcached answers the clients: pendings end */
			for (uint16_t p = 0; p < 9; p++) {
				struct tcpconn c = {
					.port = p == 8 ? 999
						       : (uint16_t)(20000 + p)};

				udp_write_reply(c.port);
				tcp_reply(&c, "OK\r\n");
			}
			clear_pending(keys, 5);
			/* refill everything the mutations may have evicted */
			set_and_fill(0, "alpha", "0", "hello", 5, "0");
			set_and_fill(1, "beta", "42", "a\r\nb\r\nEND\r\n", 11,
				     "0");
			set_and_fill(3, "fz1", "7", "fuzz-one", 8, "0");
			set_and_fill(4, "fz2", "0", "two\r\n", 5, "0");
		}
		if (kind < 4) {
			/* well-formed gets of cached and uncached keys */
			int n = 1 + (int)(rnd() % 4), p;

			p = snprintf(line, sizeof(line), "get");
			for (int k = 0; k < n; k++)
				p += snprintf(line + p,
					      sizeof(line) - (size_t)p, " %s",
					      rnd() % 6 ? keys[rnd() % 5]
							: "zz");
			snprintf(line + p, sizeof(line) - (size_t)p, "\r\n");
			udp_get(&f, v6, (uint16_t)(20000 + rnd() % 8),
				(uint16_t)rnd(), line);
		} else if (kind < 8) {
			/* a good get with random bytes flipped, cut or grown */
			int flips = 1 + (int)(rnd() % 4);

			snprintf(line, sizeof(line), "get %s %s\r\n",
				 keys[rnd() % 5], keys[rnd() % 5]);
			udp_get(&f, v6, (uint16_t)(20000 + rnd() % 8),
				(uint16_t)rnd(), line);
			for (int k = 0; k < flips; k++)
				f.b[rnd() % f.len] ^=
					(uint8_t)(1 << (rnd() % 8));
			if (rnd() % 4 == 0)
				f.len = 14 + rnd() % (f.len - 14);
			if (rnd() % 8 == 0)
				f.len += rnd() % 64; /* trailing bytes */
		} else {
			/* random bytes behind valid headers, or entirely */
			struct flow fl = {.v6 = v6,
					  .sport = 999,
					  .dport = MC_PORT,
					  .to_server = 1,
					  .tcp = (int)(rnd() % 3 == 0)};
			uint8_t pl[300];
			uint32_t n = rnd() % sizeof(pl);

			for (uint32_t k = 0; k < n; k++)
				pl[k] = rnd() % 4 ? (uint8_t) "get al \r\n"
							    [rnd() % 9]
						  : (uint8_t)rnd();
			fl.seq = rnd();
			build(&f, &fl, pl, n);
			if (rnd() % 5 == 0) {
				f.len = 14 + rnd() % 100;
				for (uint32_t k = 0; k < f.len; k++)
					f.b[k] = (uint8_t)rnd();
			}
		}
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
	printf("1..%d\n", tap_n);
	bmc_attach_bpf__destroy(env.skel);
	return tap_fail ? 1 : 0;
}
