/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by bmc-xdp-test and bmc-xdp-cost: load BMC's programs
 * without attaching them, build frames, run them with BPF_PROG_TEST_RUN.
 * Static inline: bmc-xdp-test includes it in several files.
 */
#ifndef BMC_XDP_LIB_H
#define BMC_XDP_LIB_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "bmc.h"
#include "bmc-attach.skel.h"

#define MC_PORT	  11211
#define FRAME_MAX 4096

static const uint8_t mac_client[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t mac_server[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t ip4_client[4] = {10, 9, 0, 2};
static const uint8_t ip4_server[4] = {10, 9, 0, 1};
static const uint8_t ip6_client[16] = {0xfd, 0, [15] = 2};
static const uint8_t ip6_server[16] = {0xfd, 0, [15] = 1};

static inline uint64_t csum_add(uint64_t s, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		s += (uint32_t)(b[len - 1] << 8);
	return s;
}

static inline uint16_t csum_fold16(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

struct frame {
	uint8_t b[FRAME_MAX];
	uint32_t len;
};

struct flow {
	int v6;
	int tcp;
	uint16_t sport; /* client port, host order */
	uint16_t dport; /* server port, host order */
	int to_server;	/* direction: client -> server */
	uint32_t seq;
	uint8_t tcp_flags; /* FIN 1, SYN 2, RST 4, PSH 8, ACK 16 */
	int ip_opts;	   /* IPv4: add 4 bytes of options (NOP x4) */
};

/* Ethernet + IP + UDP/TCP around payload, checksums correct. */
static inline void build(struct frame *f, const struct flow *fl,
			 const void *payload, uint32_t plen)
{
	uint8_t *p = f->b;
	uint32_t l4len = (fl->tcp ? 20 : 8) + plen, off;
	const uint8_t *src, *dst;
	uint64_t s;

	memcpy(p, fl->to_server ? mac_server : mac_client, 6);
	memcpy(p + 6, fl->to_server ? mac_client : mac_server, 6);
	p[12] = fl->v6 ? 0x86 : 0x08;
	p[13] = fl->v6 ? 0xdd : 0x00;
	off = 14;
	if (!fl->v6) {
		uint32_t ihl = fl->ip_opts ? 24 : 20;

		src = fl->to_server ? ip4_client : ip4_server;
		dst = fl->to_server ? ip4_server : ip4_client;
		memset(p + off, 0, ihl);
		p[off] = 0x40 | (ihl / 4);
		p[off + 2] = (uint8_t)((ihl + l4len) >> 8);
		p[off + 3] = (uint8_t)(ihl + l4len);
		p[off + 6] = 0x40; /* DF */
		p[off + 8] = 64;
		p[off + 9] = fl->tcp ? 6 : 17;
		memcpy(p + off + 12, src, 4);
		memcpy(p + off + 16, dst, 4);
		if (fl->ip_opts)
			memset(p + off + 20, 1, 4);
		s = csum_add(0, p + off, ihl);
		s = (uint16_t)~csum_fold16(s);
		p[off + 10] = (uint8_t)(s >> 8);
		p[off + 11] = (uint8_t)s;
		off += ihl;
		s = csum_add(0, src, 4);
		s = csum_add(s, dst, 4);
	} else {
		src = fl->to_server ? ip6_client : ip6_server;
		dst = fl->to_server ? ip6_server : ip6_client;
		memset(p + off, 0, 40);
		p[off] = 0x60;
		p[off + 4] = (uint8_t)(l4len >> 8);
		p[off + 5] = (uint8_t)l4len;
		p[off + 6] = fl->tcp ? 6 : 17;
		p[off + 7] = 64;
		memcpy(p + off + 8, src, 16);
		memcpy(p + off + 24, dst, 16);
		off += 40;
		s = csum_add(0, src, 16);
		s = csum_add(s, dst, 16);
	}
	s += (fl->tcp ? 6 : 17) + l4len;
	{
		uint16_t sp = fl->to_server ? fl->sport : fl->dport;
		uint16_t dp = fl->to_server ? fl->dport : fl->sport;
		uint8_t *h = p + off;

		memset(h, 0, fl->tcp ? 20 : 8);
		h[0] = (uint8_t)(sp >> 8);
		h[1] = (uint8_t)sp;
		h[2] = (uint8_t)(dp >> 8);
		h[3] = (uint8_t)dp;
		if (fl->tcp) {
			h[4] = (uint8_t)(fl->seq >> 24);
			h[5] = (uint8_t)(fl->seq >> 16);
			h[6] = (uint8_t)(fl->seq >> 8);
			h[7] = (uint8_t)fl->seq;
			h[12] = 5 << 4;
			h[13] = fl->tcp_flags ? fl->tcp_flags : 0x18;
			h[14] = 0xff;
			h[15] = 0xff;
		} else {
			h[4] = (uint8_t)(l4len >> 8);
			h[5] = (uint8_t)l4len;
		}
		memcpy(h + (fl->tcp ? 20 : 8), payload, plen);
		s = csum_add(s, h, l4len);
		s = (uint16_t)~csum_fold16(s);
		if (!fl->tcp && s == 0)
			s = 0xffff;
		h[fl->tcp ? 16 : 6] = (uint8_t)(s >> 8);
		h[fl->tcp ? 17 : 7] = (uint8_t)s;
		f->len = off + l4len;
	}
}

/* memcached UDP frame header + text. */
static inline uint32_t mc_udp(uint8_t *out, uint16_t reqid, const char *text,
			      uint32_t tlen)
{
	out[0] = (uint8_t)(reqid >> 8);
	out[1] = (uint8_t)reqid;
	out[2] = out[3] = 0;
	out[4] = 0;
	out[5] = 1;
	out[6] = out[7] = 0;
	memcpy(out + 8, text, tlen);
	return 8 + tlen;
}

struct bmc_env {
	struct bmc_attach_bpf *skel;
	int rx_fd, tx_fd;
};

/* 1: read and write packets directly, as bmc-attach does before 5.18.
 * One per file: set it where bmc_env_open is called. */
static int bmc_env_direct;

static inline int bmc_env_open(struct bmc_env *e, uint64_t max_age_s)
{
	int err;

	memset(e, 0, sizeof(*e));
	libbpf_set_print(NULL);
	e->skel = bmc_attach_bpf__open();
	if (!e->skel)
		return -errno;
	e->skel->rodata->port_be = htons(MC_PORT);
	e->skel->rodata->set_mask = 63;
	e->skel->rodata->gen_mask = 1023;
	e->skel->rodata->max_age_ns = max_age_s * 1000000000ULL;
	e->skel->rodata->xdp_bytes = !bmc_env_direct;
	{
		struct timespec rt, mono;

		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_MONOTONIC, &mono);
		e->skel->rodata->realtime_off_ns =
			((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000LL +
			(rt.tv_nsec - mono.tv_nsec);
	}
	bpf_map__set_max_entries(e->skel->maps.cache, 64 * BMC_WAYS);
	bpf_map__set_max_entries(e->skel->maps.buckets, 1024);
	err = bmc_attach_bpf__load(e->skel);
	if (err)
		return err;
	e->rx_fd = bpf_program__fd(e->skel->progs.bmc_rx);
	e->tx_fd = bpf_program__fd(e->skel->progs.bmc_tx);
	return 0;
}

/* Runs XDP on in; out gets the resulting frame. Returns the verdict. */
static inline int run_xdp(struct bmc_env *e, const struct frame *in,
			  struct frame *out, uint32_t *duration)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->b,
		    .data_size_in = in->len, .data_out = out->b,
		    .data_size_out = sizeof(out->b), .repeat = 1);
	int err = bpf_prog_test_run_opts(e->rx_fd, &o);

	if (err)
		return -1000 + err;
	out->len = o.data_size_out;
	if (duration)
		*duration = o.duration;
	return (int)o.retval;
}

static inline int run_tc(struct bmc_env *e, const struct frame *in)
{
	static struct frame out;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->b,
		    .data_size_in = in->len, .data_out = out.b,
		    .data_size_out = sizeof(out.b), .repeat = 1);
	int err = bpf_prog_test_run_opts(e->tx_fd, &o);

	if (err)
		return -1000 + err;
	return (int)o.retval;
}

/* GET request from the client over UDP. */
static inline void udp_get(struct frame *f, int v6, uint16_t sport,
			   uint16_t reqid, const char *line)
{
	uint8_t pl[2048];
	struct flow fl = {
		.v6 = v6, .sport = sport, .dport = MC_PORT, .to_server = 1};
	uint32_t n = mc_udp(pl, reqid, line, (uint32_t)strlen(line));

	build(f, &fl, pl, n);
}

/* memcached's reply to it, as it leaves through TC egress. */
static inline void udp_reply(struct frame *f, int v6, uint16_t sport,
			     uint16_t reqid, const char *text, uint32_t tlen)
{
	uint8_t pl[2048];
	struct flow fl = {
		.v6 = v6, .sport = sport, .dport = MC_PORT, .to_server = 0};
	uint32_t n = mc_udp(pl, reqid, text, tlen);

	build(f, &fl, pl, n);
}

/* Miss, then memcached's reply fills: the key is cached afterwards. */
static inline int fill_key(struct bmc_env *e, int v6, uint16_t sport,
			   uint16_t reqid, const char *key, const char *flags,
			   const char *val, uint32_t vlen)
{
	static struct frame f, out;
	char line[600], rep[2048];
	int n, r;

	snprintf(line, sizeof(line), "get %s\r\n", key);
	udp_get(&f, v6, sport, reqid, line);
	r = run_xdp(e, &f, &out, NULL);
	if (r != 2 /* XDP_PASS */)
		return -1;
	n = snprintf(rep, sizeof(rep), "VALUE %s %s %u\r\n", key, flags, vlen);
	memcpy(rep + n, val, vlen);
	memcpy(rep + n + vlen, "\r\nEND\r\n", 7);
	udp_reply(&f, v6, sport, reqid, rep, (uint32_t)n + vlen + 7);
	return run_tc(e, &f) == -1 /* TC_ACT_UNSPEC */ ? 0 : -1;
}

static inline void read_stats(struct bmc_env *e, struct bmc_stats *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct bmc_stats *v = calloc((size_t)ncpu, sizeof(*v));
	uint32_t zero = 0;

	memset(sum, 0, sizeof(*sum));
	if (!v)
		return;
	if (!bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.stats), &zero, v)) {
		for (int c = 0; c < ncpu; c++) {
			uint64_t *d = (uint64_t *)sum, *s = (uint64_t *)&v[c];

			for (size_t k = 0; k < sizeof(*sum) / 8; k++)
				d[k] += s[k];
		}
	}
	free(v);
}

#endif
