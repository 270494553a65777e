// SPDX-License-Identifier: GPL-2.0
/*
 * What clients and memcached send: writes over UDP and TCP and memcached's
 * answers to them, a get that must hit, a set followed by its fill.
 */
#include "bmc-xdp-test.h"

/* A write over UDP, as a client sends it. */
int udp_write(const char *text)
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
void udp_write_reply(uint16_t port)
{
	static struct frame f;

	udp_reply(&f, 0, port, 7, "STORED\r\n", 8);
	run_tc(&env, &f);
}

int tcp_open(struct tcpconn *c)
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

int tcp_send(struct tcpconn *c, const void *data, uint32_t len)
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
void tcp_reply(struct tcpconn *c, const char *text)
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
int get_hit(int v6, const char *key)
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
int set_and_fill(int idx, const char *key, const char *flags, const char *val,
		 uint32_t vlen, const char *exptime)
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

uint64_t stat_field(size_t off)
{
	struct bmc_stats s;

	read_stats(&env, &s);
	return *(uint64_t *)((char *)&s + off);
}

/* "wkey" cached with "value": the key the invalidation cases write. */
void cache_wkey(void)
{
	set_and_fill(3, "wkey", "0", "value", 5, "0");
}

/* memcached answers connection c and the last UDP write: pendings end. */
void answer_both(struct tcpconn *c)
{
	tcp_reply(c, "OK\r\n");
	udp_write_reply(last_port);
}
