/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bmc-xdp-test's files and what they give each other: bmc-xdp-test.c holds
 * main, the TAP output and the shared state below; bmc-xdp-model.c the
 * model of what was filled and the check of every reply against it;
 * bmc-xdp-client.c what clients and memcached send; bmc-xdp-cases.c and
 * bmc-xdp-streams.c the crafted cases; bmc-xdp-fuzz.c the fuzz loop.
 */
#ifndef BMC_XDP_TEST_H
#define BMC_XDP_TEST_H

#include <stddef.h>

#include "bmc-xdp-lib.h"

#define XDP_PASS_ 2
#define XDP_TX_	  3

/* ---- bmc-xdp-test.c: TAP and the state every case shares ------------- */

void ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What we filled: the reference for every reply. */
struct kv {
	char key[256];
	char flags[16];
	char val[1100];
	uint32_t vlen;
	int cached; /* may be served */
};

#define NKV 8
extern struct kv model[NKV];
/* BMC's programs, loaded once by main. */
extern struct bmc_env env;
/* The next client port to use, and that of the last udp_write. */
extern uint16_t next_port;
extern uint16_t last_port;

/* ---- bmc-xdp-model.c: the model and replies checked against it -------- */

void set_model(int i, const char *key, const char *flags, const char *val,
	       uint32_t vlen, int cached);
/* 1: XDP_PASS with the frame untouched. */
int pass_unchanged(const struct frame *in, const struct frame *out,
		   int verdict);
/* NULL if `out` is a well-formed reply to `in`, else what is wrong. */
const char *check_reply(const struct frame *in, const struct frame *out);

/* ---- bmc-xdp-client.c: clients and memcached -------------------------- */

int udp_write(const char *text);
void udp_write_reply(uint16_t port);

struct tcpconn {
	uint16_t port;
	uint32_t seq;
};

int tcp_open(struct tcpconn *c);
int tcp_send(struct tcpconn *c, const void *data, uint32_t len);
void tcp_reply(struct tcpconn *c, const char *text);
int get_hit(int v6, const char *key);
int set_and_fill(int idx, const char *key, const char *flags, const char *val,
		 uint32_t vlen, const char *exptime);
void cache_wkey(void);
void answer_both(struct tcpconn *c);
uint64_t stat_field(size_t off);
#define STAT(f) stat_field(offsetof(struct bmc_stats, f))

/* ---- the cases, in the order main runs them --------------------------- */

void test_hits(void);		    /* bmc-xdp-cases.c */
void test_passes(void);		    /* bmc-xdp-cases.c */
void test_writes(void);		    /* bmc-xdp-cases.c */
void test_tcp_streams(void);	    /* bmc-xdp-streams.c */
void test_vlan_and_multicast(void); /* bmc-xdp-cases.c */
void test_consistency(void);	    /* bmc-xdp-streams.c */
void test_expiry_and_keys(void);    /* bmc-xdp-streams.c */
void fuzz(long iterations);	    /* bmc-xdp-fuzz.c */

#endif
