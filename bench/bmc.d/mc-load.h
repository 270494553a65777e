/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What mc-load's two files share: the command line's settings, the key
 * picker and pacing, the frame header and the results. mc-load.c holds
 * the UDP socket mode and main, mc-load-raw.c the -x IFACE mode.
 */
#ifndef MC_LOAD_H
#define MC_LOAD_H

#include <stdbool.h>
#include <stdint.h>

#define MAX_BATCH   64
#define MAX_SOCKETS 16
#define REQ_MAX	    64
#define REPLY_MAX   2048

struct mc_load_cfg {
	int set_mode;
	unsigned int exptime; /* -e: the sets' exptime, seconds (0: none) */
	double seconds;
	unsigned int keys;
	unsigned int value_size;
	double zipf_s;
	unsigned int window;
	unsigned int batch;
	int cpu;
	unsigned int nsock;
	double rate;
	const char *raw_if;
};

/* Set once by the command line. */
extern struct mc_load_cfg cfg;

struct counts {
	uint64_t sent, replies, hits, misses, bad;
};

/* A key, uniform or by -z's distribution. */
unsigned int pick_key(void);
/* -r pacing: may `sent` requests go out at time t? */
bool rate_allows(uint64_t sent, double t);
/* CLOCK_MONOTONIC in seconds. */
double now(void);
/* memcached's UDP frame header: request id, sequence 0 of 1. */
void frame_header(char *p, uint16_t id);
/* The "name value" lines every run ends with. */
void print_counts(const struct counts *c, uint64_t lost, double t);

/* -x IFACE (mc-load-raw.c): 0, or 1 after saying why. */
int run_raw(const char *host, const char *port_s);

#endif
