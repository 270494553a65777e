// SPDX-License-Identifier: GPL-2.0
/*
 * mc-load: a batched memcached UDP load generator for bench/bmc and the
 * BMC demo. Only ever point it at a memcached in a network namespace you
 * created yourself.
 *
 *   mc-load [-m get|set] [-d SECS] [-k KEYS] [-v BYTES] [-e EXPTIME]
 *           [-z S] [-w WINDOW] [-b BATCH] [-c CPU] [-s SOCKETS] [-r RATE]
 *           [-x IFACE] HOST PORT
 *
 * -m set  stores every key once ("set key:NNNNNNNN 0 EXPTIME BYTES", -e
 *         EXPTIME seconds, default 0: no expiry), waiting for STORED, so a
 *         later GET run finds them all.
 * -m get  (default) sends "get key:NNNNNNNN" requests for -d seconds, keys
 *         uniform (-z 0) or Zipf-like with exponent S over -k keys, keeping
 *         up to WINDOW requests in flight, BATCH per sendmmsg(), replies read
 *         with recvmmsg(). Each reply's value is checked against the bytes
 *         -m set stored for that key.
 * -c CPU  pins the generator to one core.
 * -r RATE at most RATE requests per second (default: as fast as it goes).
 * -x IFACE  GETs only, IPv4 only: send raw frames on IFACE (AF_PACKET,
 *         qdisc bypassed) and count the replies with an XDP program on
 *         IFACE that drops them (bench/bmc.d/mc-sink.bpf.c), so the
 *         generator spends nearly nothing per request on its own network
 *         stack. Replies are counted, not checked byte for byte: a hit must
 *         have the exact length of the stored value's reply.
 *
 * Prints "name value" lines: requests_per_sec, sent, replies, hits,
 * misses, bad, lost, seconds.
 *
 * This file holds the UDP socket mode and main; mc-load-raw.c the -x mode.
 */
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mc-load.h"

struct mc_load_cfg cfg = {
	.seconds = 5,
	.keys = 10000,
	.value_size = 64,
	.window = 256,
	.batch = 32,
	.cpu = -1,
	.nsock = 1,
};

static double *zipf_cdf;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next_rand(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

unsigned int pick_key(void)
{
	double u;
	unsigned int lo = 0, hi;

	if (!zipf_cdf)
		return next_rand() % cfg.keys;
	u = (double)(next_rand() >> 11) / (double)(1ULL << 53);
	hi = cfg.keys - 1;
	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (zipf_cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * -r pacing: may `sent` requests go out at time t? A generator that fell
 * behind (a busy CPU) catches up by at most 50 ms worth, not in one burst.
 */
bool rate_allows(uint64_t sent, double t)
{
	static double t0 = -1;
	static uint64_t sent0;
	double due;

	if (cfg.rate <= 0)
		return true;
	if (t0 < 0) {
		t0 = t;
		sent0 = sent;
	}
	due = sent0 + cfg.rate * (t - t0);
	if (due - sent > cfg.rate * 0.05) {
		t0 = t - 0.05;
		sent0 = sent;
		due = sent0 + cfg.rate * 0.05;
	}
	return sent < due;
}

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The value stored for key k: "k<index>|" repeated, cut to value_size. */
static void make_value(unsigned int k, char *out, unsigned int len)
{
	char pat[32];
	int pl = snprintf(pat, sizeof(pat), "k%u|", k);
	unsigned int i;

	for (i = 0; i < len; i++)
		out[i] = pat[i % pl];
}

static void usage(void)
{
	fprintf(stderr,
		"usage: mc-load [-m get|set] [-d SECS] [-k KEYS] [-v BYTES] "
		"[-e EXPTIME] [-z S] [-w WINDOW] [-b BATCH] [-c CPU] "
		"[-s SOCKETS] [-r RATE] [-x IFACE] HOST PORT\n");
	exit(64);
}

/* -m set: which request id carried which key, and which keys are stored. */
static uint32_t id2key[65536];
static uint8_t *stored;

void frame_header(char *p, uint16_t id)
{
	p[0] = id >> 8;
	p[1] = id & 0xff;
	p[2] = p[3] = 0;
	p[4] = 0;
	p[5] = 1;
	p[6] = p[7] = 0;
}

/* Classifies one reply datagram (frame header included). */
static void classify(const char *p, size_t n, struct counts *c, char *scratch)
{
	unsigned int k, flags, bytes;
	int off = 0;

	c->replies++;
	if (n < 8) {
		c->bad++;
		return;
	}
	p += 8;
	n -= 8;
	if (n == 5 && !memcmp(p, "END\r\n", 5)) {
		c->misses++;
		return;
	}
	if (n > 6 && !memcmp(p, "STORED", 6)) {
		uint16_t id = (uint8_t)p[-8] << 8 | (uint8_t)p[-7];

		if (stored && !stored[id2key[id]]) {
			stored[id2key[id]] = 1;
			c->hits++;
		}
		return;
	}
	if (n < 20 || memcmp(p, "VALUE key:", 10) ||
	    sscanf(p, "VALUE key:%u %u %u\r\n%n", &k, &flags, &bytes, &off) <
		    3 ||
	    !off || (size_t)off + bytes + 7 != n || k >= cfg.keys ||
	    bytes != cfg.value_size ||
	    memcmp(p + off + bytes, "\r\nEND\r\n", 7)) {
		c->bad++;
		return;
	}
	make_value(k, scratch, bytes);
	if (memcmp(p + off, scratch, bytes))
		c->bad++;
	else
		c->hits++;
}

void print_counts(const struct counts *c, uint64_t lost, double t)
{
	printf("requests_per_sec %.0f\n", (double)c->replies / t);
	printf("sent %llu\n", (unsigned long long)c->sent);
	printf("replies %llu\n", (unsigned long long)c->replies);
	printf("hits %llu\n", (unsigned long long)c->hits);
	printf("misses %llu\n", (unsigned long long)c->misses);
	printf("bad %llu\n", (unsigned long long)c->bad);
	printf("lost %llu\n", (unsigned long long)lost);
	printf("seconds %.3f\n", t);
}

/* ---- the command line ------------------------------------------------- */

static void parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "m:d:k:v:e:z:w:b:c:s:r:x:")) != -1) {
		switch (opt) {
		case 'm':
			if (!strcmp(optarg, "set"))
				cfg.set_mode = 1;
			else if (strcmp(optarg, "get"))
				usage();
			break;
		case 'd':
			cfg.seconds = atof(optarg);
			break;
		case 'k':
			cfg.keys = strtoul(optarg, NULL, 0);
			break;
		case 'v':
			cfg.value_size = strtoul(optarg, NULL, 0);
			break;
		case 'e':
			cfg.exptime = strtoul(optarg, NULL, 0);
			break;
		case 'z':
			cfg.zipf_s = atof(optarg);
			break;
		case 'w':
			cfg.window = strtoul(optarg, NULL, 0);
			break;
		case 'b':
			cfg.batch = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			cfg.cpu = atoi(optarg);
			break;
		case 's':
			cfg.nsock = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			cfg.rate = atof(optarg);
			break;
		case 'x':
			cfg.raw_if = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || cfg.keys == 0 || cfg.batch == 0 ||
	    cfg.batch > MAX_BATCH || cfg.window < cfg.batch || cfg.nsock == 0 ||
	    cfg.nsock > MAX_SOCKETS || cfg.value_size == 0 ||
	    cfg.value_size > 1024 || cfg.seconds <= 0 || cfg.seconds > 600)
		usage();
}

static int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("mc-load: sched_setaffinity");
		return -1;
	}
	return 0;
}

/* -z S: the cumulative distribution pick_key() searches. */
static int make_zipf(void)
{
	double sum = 0, acc = 0;
	unsigned int i;

	zipf_cdf = malloc(sizeof(double) * cfg.keys);
	if (!zipf_cdf)
		return -1;
	for (i = 0; i < cfg.keys; i++)
		sum += 1.0 / pow(i + 1, cfg.zipf_s);
	for (i = 0; i < cfg.keys; i++) {
		acc += 1.0 / pow(i + 1, cfg.zipf_s) / sum;
		zipf_cdf[i] = acc;
	}
	zipf_cdf[cfg.keys - 1] = 1.0;
	return 0;
}

/* ---- UDP sockets: sendmmsg out, recvmmsg in, every reply checked ------ */

struct udp_run {
	int fds[MAX_SOCKETS];
	struct pollfd pfd[MAX_SOCKETS];
	struct mmsghdr smsg[MAX_BATCH], rmsg[MAX_BATCH];
	struct iovec siov[MAX_BATCH], riov[MAX_BATCH];
	struct counts c;
	uint64_t inflight, lost, next_key;
	uint16_t id;
	unsigned int rr; /* the socket the next batch goes out on */
	char scratch[4096];
};

static char reqbuf[MAX_BATCH][REQ_MAX + 2048];
static char rbuf[MAX_BATCH][REPLY_MAX];

static int open_sockets(struct udp_run *u, const char *host, const char *port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai;
	int err;

	err = getaddrinfo(host, port, &hints, &ai);
	if (err) {
		fprintf(stderr, "mc-load: bad address: %s\n",
			gai_strerror(err));
		return -1;
	}
	for (unsigned int s = 0; s < cfg.nsock; s++) {
		int sz = 4 << 20;

		u->fds[s] = socket(ai->ai_family, SOCK_DGRAM, 0);
		if (u->fds[s] < 0 ||
		    connect(u->fds[s], ai->ai_addr, ai->ai_addrlen)) {
			perror("mc-load: socket");
			return -1;
		}
		setsockopt(u->fds[s], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		u->pfd[s].fd = u->fds[s];
		u->pfd[s].events = POLLIN;
	}
	freeaddrinfo(ai);
	return 0;
}

static void init_msgs(struct udp_run *u)
{
	memset(u->smsg, 0, sizeof(u->smsg));
	memset(u->rmsg, 0, sizeof(u->rmsg));
	for (unsigned int i = 0; i < MAX_BATCH; i++) {
		u->siov[i].iov_base = reqbuf[i];
		u->smsg[i].msg_hdr.msg_iov = &u->siov[i];
		u->smsg[i].msg_hdr.msg_iovlen = 1;
		u->riov[i].iov_base = rbuf[i];
		u->riov[i].iov_len = REPLY_MAX;
		u->rmsg[i].msg_hdr.msg_iov = &u->riov[i];
		u->rmsg[i].msg_hdr.msg_iovlen = 1;
	}
}

/* -m set: the next key not yet stored, its set request; 0 when none. */
static int set_request(struct udp_run *u, char *p)
{
	int len;

	while (u->next_key < cfg.keys && stored[u->next_key])
		u->next_key++;
	if (u->next_key >= cfg.keys)
		return 0;
	id2key[(uint16_t)(u->id - 1)] = u->next_key;
	len = snprintf(p, REQ_MAX, "set key:%08u 0 %u %u\r\n",
		       (unsigned int)u->next_key, cfg.exptime, cfg.value_size);
	make_value(u->next_key, p + len, cfg.value_size);
	memcpy(p + len + cfg.value_size, "\r\n", 2);
	len += cfg.value_size + 2;
	u->next_key++;
	return len;
}

/* Up to a batch of requests into reqbuf; how many. */
static unsigned int fill_batch(struct udp_run *u)
{
	unsigned int i, n = 0;

	for (i = 0; i < cfg.batch; i++) {
		char *p = reqbuf[i];
		int len;

		frame_header(p, u->id++);
		if (cfg.set_mode) {
			len = set_request(u, p + 8);
			if (!len)
				break;
		} else {
			len = snprintf(p + 8, REQ_MAX, "get key:%08u\r\n",
				       pick_key());
		}
		u->siov[i].iov_len = 8 + len;
		n++;
	}
	return n;
}

/* A batch on the next socket; -1 on an error that ends the run. */
static int send_batch(struct udp_run *u, bool *progress)
{
	unsigned int n = fill_batch(u);
	int r;

	if (!n)
		return 0;
	r = sendmmsg(u->fds[u->rr], u->smsg, n, 0);
	u->rr = (u->rr + 1) % cfg.nsock;
	if (r > 0) {
		u->c.sent += r;
		u->inflight += r;
		*progress = true;
	} else if (r < 0 && errno != EAGAIN && errno != ENOBUFS &&
		   errno != EINTR) {
		perror("mc-load: sendmmsg");
		return -1;
	}
	return 0;
}

/* Whatever replies are there, classified; true if there were some. */
static bool read_replies(struct udp_run *u)
{
	bool progress = false;

	for (unsigned int s = 0; s < cfg.nsock; s++) {
		int r = recvmmsg(u->fds[s], u->rmsg, MAX_BATCH, MSG_DONTWAIT,
				 NULL);

		if (r <= 0)
			continue;
		for (unsigned int i = 0; i < (unsigned int)r; i++)
			classify(rbuf[i], u->rmsg[i].msg_len, &u->c,
				 u->scratch);
		u->inflight = u->inflight > (uint64_t)r ? u->inflight - r : 0;
		progress = true;
	}
	return progress;
}

/* The send and receive loop, until -d seconds (-m set: all stored). */
static int udp_load(struct udp_run *u)
{
	double start, end, last_progress, t;
	unsigned int passes = 0;

	start = now();
	end = cfg.set_mode ? start + 60 : start + cfg.seconds;
	last_progress = start;
	for (;;) {
		bool progress = false;

		t = now();
		if (t >= end)
			break;
		if (cfg.set_mode && u->next_key >= cfg.keys && !u->inflight) {
			/* Another pass for the keys whose STORED was lost. */
			if (u->c.hits >= cfg.keys || ++passes > 5)
				break;
			u->next_key = 0;
		}
		/* Send a batch when the window has room (and -r allows). */
		if (!rate_allows(u->c.sent, t)) {
			usleep(200);
		} else if (u->inflight + cfg.batch <= cfg.window &&
			   !(cfg.set_mode && u->next_key >= cfg.keys)) {
			if (send_batch(u, &progress))
				return 1;
		}
		if (read_replies(u))
			progress = true;
		if (progress) {
			last_progress = t;
			continue;
		}
		if (u->inflight) {
			/* Wait for a reply; replies lost (UDP) are written
			 * off after 20 ms of silence. */
			if (poll(u->pfd, cfg.nsock, 5) == 0 &&
			    now() - last_progress > 0.02) {
				u->lost += u->inflight;
				u->inflight = 0;
				last_progress = now();
			}
		}
	}
	t = now() - start;
	/* Requests still in flight at the end are neither replies nor lost. */
	print_counts(&u->c, u->lost, t);
	return 0;
}

static int run_udp(const char *host, const char *port)
{
	static struct udp_run u;

	if (open_sockets(&u, host, port))
		return 1;
	init_msgs(&u);
	if (cfg.set_mode) {
		stored = calloc(cfg.keys, 1);
		if (!stored)
			return 1;
		if (cfg.window > 64)
			cfg.window = 64;
		if (cfg.batch > cfg.window)
			cfg.batch = cfg.window;
	}
	if (udp_load(&u))
		return 1;
	if (cfg.set_mode && u.c.hits != cfg.keys) {
		fprintf(stderr, "mc-load: stored %llu of %u keys\n",
			(unsigned long long)u.c.hits, cfg.keys);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	if (cfg.cpu >= 0 && pin_cpu(cfg.cpu))
		return 1;
	if (cfg.zipf_s > 0 && !cfg.set_mode && make_zipf())
		return 1;
	rng ^= (uint64_t)getpid() << 17 ^ (uint64_t)time(NULL);
	if (cfg.raw_if) {
		if (cfg.set_mode) {
			fprintf(stderr, "mc-load: -x is for -m get only\n");
			return 64;
		}
		return run_raw(argv[optind], argv[optind + 1]);
	}
	return run_udp(argv[optind], argv[optind + 1]);
}
