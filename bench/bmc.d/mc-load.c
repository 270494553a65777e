// SPDX-License-Identifier: GPL-2.0
/*
 * mc-load: a batched memcached UDP load generator for bench/bmc and the
 * BMC demo. Only ever point it at a memcached in a network namespace you
 * created yourself.
 *
 *   mc-load [-m get|set] [-d SECS] [-k KEYS] [-v BYTES] [-z S] [-w WINDOW]
 *           [-b BATCH] [-c CPU] [-s SOCKETS] [-r RATE] [-x IFACE] HOST PORT
 *
 * -m set  stores every key once ("set key:NNNNNNNN 0 0 BYTES"), waiting for
 *         STORED, so a later GET run finds them all.
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
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <sys/ioctl.h>
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

#include "mc-sink.skel.h"

#define MAX_BATCH   64
#define MAX_SOCKETS 16
#define REQ_MAX	    64
#define REPLY_MAX   2048

static struct {
	int set_mode;
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
} cfg = {
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

static unsigned int pick_key(void)
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
static bool rate_allows(uint64_t sent, double t)
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

static double now(void)
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
		"[-z S] [-w WINDOW] [-b BATCH] [-c CPU] [-s SOCKETS] [-r RATE] "
		"[-x IFACE] HOST PORT\n");
	exit(64);
}

/* -m set: which request id carried which key, and which keys are stored. */
static uint32_t id2key[65536];
static uint8_t *stored;

static void frame_header(char *p, uint16_t id)
{
	p[0] = id >> 8;
	p[1] = id & 0xff;
	p[2] = p[3] = 0;
	p[4] = 0;
	p[5] = 1;
	p[6] = p[7] = 0;
}

struct counts {
	uint64_t sent, replies, hits, misses, bad;
};

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

static uint16_t ip_csum(const void *hdr, size_t len)
{
	const uint16_t *p = hdr;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *p++;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* The MAC address of `ip` from the neighbour table, after one exchange. */
static int neigh_mac(struct in_addr ip, const char *ifname, uint8_t mac[6])
{
	char line[256], addr[64], dev[64], hw[64];
	FILE *f = fopen("/proc/net/arp", "r");
	unsigned int m[6];
	int i;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %*s %*s %63s %*s %63s", addr, hw, dev) !=
		    3)
			continue;
		if (strcmp(addr, inet_ntoa(ip)) || strcmp(dev, ifname))
			continue;
		if (sscanf(hw, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3],
			   &m[4], &m[5]) != 6)
			continue;
		for (i = 0; i < 6; i++)
			mac[i] = m[i];
		fclose(f);
		return 0;
	}
	fclose(f);
	return -1;
}

static void sink_read(int fd, int ncpu, uint64_t out[4])
{
	uint64_t v[ncpu][4];
	uint32_t key = 0;
	int i, j;

	memset(out, 0, 4 * sizeof(uint64_t));
	if (bpf_map_lookup_elem(fd, &key, v))
		return;
	for (i = 0; i < ncpu; i++)
		for (j = 0; j < 4; j++)
			out[j] += v[i][j];
}

/*
 * -x IFACE: GETs as raw frames through AF_PACKET; the replies are counted
 * and dropped by mc-sink at XDP on the same interface.
 */
static int run_raw(const char *host, const char *port_s)
{
	static char frames[MAX_BATCH][128];
	struct mmsghdr msg[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	struct sockaddr_ll sll = {.sll_family = AF_PACKET};
	struct sockaddr_in dst = {.sin_family = AF_INET};
	struct mc_sink_bpf *skel = NULL;
	struct ifreq ifr = {};
	uint8_t smac[6], dmac[6];
	uint32_t old_prog = 0;
	uint64_t base[4], cnt[4], sent = 0, lost = 0, replies;
	int64_t inflight;
	unsigned int ifindex, i, hlen, hit_len, ncpu;
	uint16_t cport = 20000 + getpid() % 40000, sport, id = 0;
	struct iphdr *ip;
	double start, t, last_progress;
	int fd = -1, ufd = -1, one = 1, ret = 1, mfd;
	char buf[64];

	ifindex = if_nametoindex(cfg.raw_if);
	if (!ifindex || !inet_aton(host, &dst.sin_addr)) {
		fprintf(stderr, "mc-load: -x needs an interface and an IPv4 "
				"address\n");
		return 1;
	}
	sport = atoi(port_s);
	dst.sin_port = htons(sport);
	ncpu = libbpf_num_possible_cpus();

	/* The receive side first: it also passes the ARP exchange below. */
	skel = mc_sink_bpf__open();
	if (!skel)
		goto out;
	skel->rodata->server_port = sport;
	skel->rodata->client_port = cport;
	hit_len = 8 +
		  snprintf(buf, sizeof(buf), "VALUE key:%08u 0 %u\r\n", 0,
			   cfg.value_size) +
		  cfg.value_size + 7;
	skel->rodata->hit_len = hit_len;
	if (mc_sink_bpf__load(skel)) {
		fprintf(stderr, "mc-load: cannot load mc-sink\n");
		goto out;
	}
	bpf_xdp_query_id(ifindex, 0, &old_prog);
	if (bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.mc_sink),
			   XDP_FLAGS_DRV_MODE, NULL)) {
		fprintf(stderr, "mc-load: cannot attach mc-sink to %s\n",
			cfg.raw_if);
		goto out;
	}
	mfd = bpf_map__fd(skel->maps.counts);

	/* One ordinary request fills the neighbour table and finds our IP. */
	ufd = socket(AF_INET, SOCK_DGRAM, 0);
	if (ufd < 0 || connect(ufd, (struct sockaddr *)&dst, sizeof(dst)))
		goto out;
	{
		char req[] = "\0\0\0\0\0\1\0\0version\r\n", rep[256];
		struct pollfd p = {.fd = ufd, .events = POLLIN};
		struct sockaddr_in me;
		socklen_t ml = sizeof(me);

		send(ufd, req, sizeof(req) - 1, 0);
		if (poll(&p, 1, 2000) <= 0 ||
		    recv(ufd, rep, sizeof(rep), 0) < 0) {
			fprintf(stderr, "mc-load: no reply from %s:%u\n", host,
				sport);
			goto out;
		}
		getsockname(ufd, (struct sockaddr *)&me, &ml);
		if (neigh_mac(dst.sin_addr, cfg.raw_if, dmac)) {
			fprintf(stderr,
				"mc-load: no MAC address for %s on "
				"%s\n",
				host, cfg.raw_if);
			goto out;
		}
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", cfg.raw_if);
		if (ioctl(ufd, SIOCGIFHWADDR, &ifr))
			goto out;
		memcpy(smac, ifr.ifr_hwaddr.sa_data, 6);

		/* Ethernet + IPv4 + UDP headers; only the payload varies. */
		for (i = 0; i < MAX_BATCH; i++) {
			char *f = frames[i];
			struct udphdr_raw {
				uint16_t source, dest, len, check;
			} * udp;

			memcpy(f, dmac, 6);
			memcpy(f + 6, smac, 6);
			f[12] = 0x08;
			f[13] = 0x00;
			ip = (struct iphdr *)(f + 14);
			udp = (struct udphdr_raw *)(ip + 1);
			hlen = 14 + sizeof(*ip) + sizeof(*udp);
			memset(ip, 0, sizeof(*ip));
			ip->version = 4;
			ip->ihl = 5;
			ip->tot_len = htons(sizeof(*ip) + sizeof(*udp) + 8 +
					    strlen("get key:00000000\r\n"));
			ip->frag_off = htons(0x4000);
			ip->ttl = 64;
			ip->protocol = IPPROTO_UDP;
			ip->saddr = me.sin_addr.s_addr;
			ip->daddr = dst.sin_addr.s_addr;
			ip->check = ip_csum(ip, sizeof(*ip));
			udp->source = htons(cport);
			udp->dest = htons(sport);
			udp->len = htons(sizeof(*udp) + 8 +
					 strlen("get key:00000000\r\n"));
			udp->check = 0; /* none: allowed for IPv4 */
			iov[i].iov_base = f;
			iov[i].iov_len =
				hlen + 8 + strlen("get key:00000000\r\n");
			memset(&msg[i], 0, sizeof(msg[i]));
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
		}
	}

	fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: sends only */
	sll.sll_ifindex = ifindex;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		perror("mc-load: AF_PACKET");
		goto out;
	}
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));

	sink_read(mfd, ncpu, base);
	start = now();
	last_progress = start;
	replies = 0;
	for (;;) {
		bool progress = false;

		t = now();
		if (t >= start + cfg.seconds)
			break;
		sink_read(mfd, ncpu, cnt);
		if (cnt[0] - base[0] != replies) {
			replies = cnt[0] - base[0];
			progress = true;
		}
		inflight = (int64_t)(sent - lost) - (int64_t)replies;
		if (!rate_allows(sent, t)) {
			usleep(200);
		} else if (inflight + cfg.batch <= cfg.window) {
			for (i = 0; i < cfg.batch; i++) {
				char *pl = frames[i] + hlen;

				frame_header(pl, id++);
				snprintf(buf, sizeof(buf), "get key:%08u\r\n",
					 pick_key());
				memcpy(pl + 8, buf, strlen(buf));
			}
			int r = sendmmsg(fd, msg, cfg.batch, 0);

			if (r > 0) {
				sent += r;
				progress = true;
			}
		}
		if (progress) {
			last_progress = t;
		} else if (inflight > 0 && t - last_progress > 0.02) {
			lost += inflight; /* written off after 20 ms */
			last_progress = t;
		}
	}
	t = now() - start;
	usleep(20000); /* late replies still count as replies */
	sink_read(mfd, ncpu, cnt);
	printf("requests_per_sec %.0f\n", (double)(cnt[0] - base[0]) / t);
	printf("sent %llu\n", (unsigned long long)sent);
	printf("replies %llu\n", (unsigned long long)(cnt[0] - base[0]));
	printf("hits %llu\n", (unsigned long long)(cnt[1] - base[1]));
	printf("misses %llu\n", (unsigned long long)(cnt[2] - base[2]));
	printf("bad %llu\n", (unsigned long long)(cnt[3] - base[3]));
	printf("lost %llu\n", (unsigned long long)lost);
	printf("seconds %.3f\n", t);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ufd >= 0)
		close(ufd);
	if (skel) {
		/* Put back what was attached before (e.g. xdp-pass). */
		int old_fd = old_prog ? bpf_prog_get_fd_by_id(old_prog) : -1;

		if (old_fd >= 0) {
			bpf_xdp_attach(ifindex, old_fd, XDP_FLAGS_DRV_MODE,
				       NULL);
			close(old_fd);
		} else {
			bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
		}
		mc_sink_bpf__destroy(skel);
	}
	return ret;
}

int main(int argc, char **argv)
{
	static char reqbuf[MAX_BATCH][REQ_MAX + 2048];
	static char rbuf[MAX_BATCH][REPLY_MAX];
	struct mmsghdr smsg[MAX_BATCH], rmsg[MAX_BATCH];
	struct iovec siov[MAX_BATCH], riov[MAX_BATCH];
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai;
	struct pollfd pfd[MAX_SOCKETS];
	struct counts c = {};
	char scratch[4096];
	int fds[MAX_SOCKETS];
	uint64_t inflight = 0, lost = 0, next_key = 0;
	uint16_t id = 0;
	double start, end, last_progress, t;
	unsigned int i, s, rr = 0, passes = 0;
	int opt, err;

	while ((opt = getopt(argc, argv, "m:d:k:v:z:w:b:c:s:r:x:")) != -1) {
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

	if (cfg.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cfg.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			perror("mc-load: sched_setaffinity");
			return 1;
		}
	}
	if (cfg.zipf_s > 0 && !cfg.set_mode) {
		double sum = 0, acc = 0;

		zipf_cdf = malloc(sizeof(double) * cfg.keys);
		if (!zipf_cdf)
			return 1;
		for (i = 0; i < cfg.keys; i++)
			sum += 1.0 / pow(i + 1, cfg.zipf_s);
		for (i = 0; i < cfg.keys; i++) {
			acc += 1.0 / pow(i + 1, cfg.zipf_s) / sum;
			zipf_cdf[i] = acc;
		}
		zipf_cdf[cfg.keys - 1] = 1.0;
	}
	rng ^= (uint64_t)getpid() << 17 ^ (uint64_t)time(NULL);
	if (cfg.raw_if) {
		if (cfg.set_mode) {
			fprintf(stderr, "mc-load: -x is for -m get only\n");
			return 64;
		}
		return run_raw(argv[optind], argv[optind + 1]);
	}

	err = getaddrinfo(argv[optind], argv[optind + 1], &hints, &ai);
	if (err) {
		fprintf(stderr, "mc-load: bad address: %s\n",
			gai_strerror(err));
		return 1;
	}
	for (s = 0; s < cfg.nsock; s++) {
		int sz = 4 << 20;

		fds[s] = socket(ai->ai_family, SOCK_DGRAM, 0);
		if (fds[s] < 0 ||
		    connect(fds[s], ai->ai_addr, ai->ai_addrlen)) {
			perror("mc-load: socket");
			return 1;
		}
		setsockopt(fds[s], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		pfd[s].fd = fds[s];
		pfd[s].events = POLLIN;
	}
	freeaddrinfo(ai);

	memset(smsg, 0, sizeof(smsg));
	memset(rmsg, 0, sizeof(rmsg));
	for (i = 0; i < MAX_BATCH; i++) {
		siov[i].iov_base = reqbuf[i];
		smsg[i].msg_hdr.msg_iov = &siov[i];
		smsg[i].msg_hdr.msg_iovlen = 1;
		riov[i].iov_base = rbuf[i];
		riov[i].iov_len = REPLY_MAX;
		rmsg[i].msg_hdr.msg_iov = &riov[i];
		rmsg[i].msg_hdr.msg_iovlen = 1;
	}

	if (cfg.set_mode) {
		stored = calloc(cfg.keys, 1);
		if (!stored)
			return 1;
		if (cfg.window > 64)
			cfg.window = 64;
		if (cfg.batch > cfg.window)
			cfg.batch = cfg.window;
	}
	start = now();
	end = cfg.set_mode ? start + 60 : start + cfg.seconds;
	last_progress = start;
	for (;;) {
		bool progress = false;

		t = now();
		if (t >= end)
			break;
		if (cfg.set_mode && next_key >= cfg.keys && inflight == 0) {
			/* Another pass for the keys whose STORED was lost. */
			if (c.hits >= cfg.keys || ++passes > 5)
				break;
			next_key = 0;
		}
		/* Send a batch when the window has room (and -r allows). */
		if (!rate_allows(c.sent, t)) {
			usleep(200);
		} else if (inflight + cfg.batch <= cfg.window &&
			   !(cfg.set_mode && next_key >= cfg.keys)) {
			unsigned int n = 0;

			for (i = 0; i < cfg.batch; i++) {
				char *p = reqbuf[i];
				int len;

				frame_header(p, id++);
				if (cfg.set_mode) {
					while (next_key < cfg.keys &&
					       stored[next_key])
						next_key++;
					if (next_key >= cfg.keys)
						break;
					id2key[(uint16_t)(id - 1)] = next_key;
					len = snprintf(
						p + 8, REQ_MAX,
						"set key:%08u 0 0 %u\r\n",
						(unsigned int)next_key,
						cfg.value_size);
					make_value(next_key, p + 8 + len,
						   cfg.value_size);
					memcpy(p + 8 + len + cfg.value_size,
					       "\r\n", 2);
					len += cfg.value_size + 2;
					next_key++;
				} else {
					len = snprintf(p + 8, REQ_MAX,
						       "get key:%08u\r\n",
						       pick_key());
				}
				siov[i].iov_len = 8 + len;
				n++;
			}
			if (n) {
				int r = sendmmsg(fds[rr], smsg, n, 0);

				rr = (rr + 1) % cfg.nsock;
				if (r > 0) {
					c.sent += r;
					inflight += r;
					progress = true;
				} else if (r < 0 && errno != EAGAIN &&
					   errno != ENOBUFS && errno != EINTR) {
					perror("mc-load: sendmmsg");
					return 1;
				}
			}
		}
		/* Collect whatever replies are there. */
		for (s = 0; s < cfg.nsock; s++) {
			int r = recvmmsg(fds[s], rmsg, MAX_BATCH, MSG_DONTWAIT,
					 NULL);

			if (r <= 0)
				continue;
			for (i = 0; i < (unsigned int)r; i++)
				classify(rbuf[i], rmsg[i].msg_len, &c, scratch);
			inflight = inflight > (uint64_t)r ? inflight - r : 0;
			progress = true;
		}
		if (progress) {
			last_progress = t;
			continue;
		}
		if (inflight) {
			/* Wait for a reply; replies lost (UDP) are written
			 * off after 20 ms of silence. */
			if (poll(pfd, cfg.nsock, 5) == 0 &&
			    now() - last_progress > 0.02) {
				lost += inflight;
				inflight = 0;
				last_progress = now();
			}
		}
	}
	t = now() - start;
	/* Requests still in flight at the end are neither replies nor lost. */
	printf("requests_per_sec %.0f\n", c.replies / t);
	printf("sent %llu\n", (unsigned long long)c.sent);
	printf("replies %llu\n", (unsigned long long)c.replies);
	printf("hits %llu\n", (unsigned long long)c.hits);
	printf("misses %llu\n", (unsigned long long)c.misses);
	printf("bad %llu\n", (unsigned long long)c.bad);
	printf("lost %llu\n", (unsigned long long)lost);
	printf("seconds %.3f\n", t);
	if (cfg.set_mode && c.hits != cfg.keys) {
		fprintf(stderr, "mc-load: stored %llu of %u keys\n",
			(unsigned long long)c.hits, cfg.keys);
		return 1;
	}
	return 0;
}
