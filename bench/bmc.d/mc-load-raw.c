// SPDX-License-Identifier: GPL-2.0
/*
 * mc-load -x IFACE: GETs as raw frames through AF_PACKET (qdisc bypassed);
 * the replies are counted and dropped by mc-sink at XDP on the same
 * interface (bench/bmc.d/mc-sink.bpf.c).
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
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mc-load.h"
#include "mc-sink.skel.h"

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

/* The GET request every raw frame carries, but for the key's digits. */
#define RAW_GET "get key:00000000\r\n"

struct raw_run {
	const char *host;
	struct sockaddr_in dst;
	unsigned int ifindex, ncpu;
	uint16_t cport, sport;
	struct mc_sink_bpf *skel;
	uint32_t old_prog; /* what was attached to IFACE before */
	int mfd;	   /* mc-sink's counters */
	int ufd;	   /* the UDP socket of the first exchange */
	int fd;		   /* the AF_PACKET socket */
	unsigned int hlen; /* Ethernet + IPv4 + UDP */
	struct mmsghdr msg[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
};

static char raw_frames[MAX_BATCH][128];

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

/* The receive side first: it also passes the ARP exchange that follows. */
static int sink_attach(struct raw_run *r)
{
	struct mc_sink_bpf *skel;
	char buf[64];

	skel = r->skel = mc_sink_bpf__open();
	if (!skel)
		return -1;
	skel->rodata->server_port = r->sport;
	skel->rodata->client_port = r->cport;
	skel->rodata->hit_len =
		8 +
		snprintf(buf, sizeof(buf), "VALUE key:%08u 0 %u\r\n", 0,
			 cfg.value_size) +
		cfg.value_size + 7;
	if (mc_sink_bpf__load(skel)) {
		fprintf(stderr, "mc-load: cannot load mc-sink\n");
		return -1;
	}
	bpf_xdp_query_id(r->ifindex, 0, &r->old_prog);
	if (bpf_xdp_attach(r->ifindex, bpf_program__fd(skel->progs.mc_sink),
			   XDP_FLAGS_DRV_MODE, NULL)) {
		fprintf(stderr, "mc-load: cannot attach mc-sink to %s\n",
			cfg.raw_if);
		return -1;
	}
	r->mfd = bpf_map__fd(skel->maps.counts);
	return 0;
}

/* Puts back what was attached before (e.g. xdp-pass). */
static void sink_detach(struct raw_run *r)
{
	int old_fd;

	if (!r->skel)
		return;
	old_fd = r->old_prog ? bpf_prog_get_fd_by_id(r->old_prog) : -1;
	if (old_fd >= 0) {
		bpf_xdp_attach(r->ifindex, old_fd, XDP_FLAGS_DRV_MODE, NULL);
		close(old_fd);
	} else {
		bpf_xdp_detach(r->ifindex, XDP_FLAGS_DRV_MODE, NULL);
	}
	mc_sink_bpf__destroy(r->skel);
}

/*
 * One ordinary request fills the neighbour table and finds our IP; then
 * the server's and our MAC addresses.
 */
static int find_addresses(struct raw_run *r, struct sockaddr_in *me,
			  uint8_t smac[6], uint8_t dmac[6])
{
	char req[] = "\0\0\0\0\0\1\0\0version\r\n", rep[256];
	struct pollfd p = {.events = POLLIN};
	socklen_t ml = sizeof(*me);
	struct ifreq ifr = {};

	r->ufd = socket(AF_INET, SOCK_DGRAM, 0);
	if (r->ufd < 0 ||
	    connect(r->ufd, (struct sockaddr *)&r->dst, sizeof(r->dst)))
		return -1;
	p.fd = r->ufd;
	send(r->ufd, req, sizeof(req) - 1, 0);
	if (poll(&p, 1, 2000) <= 0 || recv(r->ufd, rep, sizeof(rep), 0) < 0) {
		fprintf(stderr, "mc-load: no reply from %s:%u\n", r->host,
			r->sport);
		return -1;
	}
	getsockname(r->ufd, (struct sockaddr *)me, &ml);
	if (neigh_mac(r->dst.sin_addr, cfg.raw_if, dmac)) {
		fprintf(stderr, "mc-load: no MAC address for %s on %s\n",
			r->host, cfg.raw_if);
		return -1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", cfg.raw_if);
	if (ioctl(r->ufd, SIOCGIFHWADDR, &ifr))
		return -1;
	memcpy(smac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

/* Ethernet + IPv4 + UDP headers; only the payload varies. */
static void build_frames(struct raw_run *r, const struct sockaddr_in *me,
			 const uint8_t smac[6], const uint8_t dmac[6])
{
	for (unsigned int i = 0; i < MAX_BATCH; i++) {
		char *f = raw_frames[i];
		struct iphdr *ip;
		struct udphdr_raw {
			uint16_t source, dest, len, check;
		} * udp;

		memcpy(f, dmac, 6);
		memcpy(f + 6, smac, 6);
		f[12] = 0x08;
		f[13] = 0x00;
		ip = (struct iphdr *)(f + 14);
		udp = (struct udphdr_raw *)(ip + 1);
		r->hlen = 14 + sizeof(*ip) + sizeof(*udp);
		memset(ip, 0, sizeof(*ip));
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len =
			htons(sizeof(*ip) + sizeof(*udp) + 8 + strlen(RAW_GET));
		ip->frag_off = htons(0x4000);
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->saddr = me->sin_addr.s_addr;
		ip->daddr = r->dst.sin_addr.s_addr;
		ip->check = ip_csum(ip, sizeof(*ip));
		udp->source = htons(r->cport);
		udp->dest = htons(r->sport);
		udp->len = htons(sizeof(*udp) + 8 + strlen(RAW_GET));
		udp->check = 0; /* none: allowed for IPv4 */
		r->iov[i].iov_base = f;
		r->iov[i].iov_len = r->hlen + 8 + strlen(RAW_GET);
		memset(&r->msg[i], 0, sizeof(r->msg[i]));
		r->msg[i].msg_hdr.msg_iov = &r->iov[i];
		r->msg[i].msg_hdr.msg_iovlen = 1;
	}
}

/* Protocol 0: the socket sends only. */
static int open_packet_socket(struct raw_run *r)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET};
	int one = 1;

	r->fd = socket(AF_PACKET, SOCK_RAW, 0);
	sll.sll_ifindex = r->ifindex;
	if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&sll, sizeof(sll))) {
		perror("mc-load: AF_PACKET");
		return -1;
	}
	setsockopt(r->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	return 0;
}

/* A batch of GETs for random keys; what sendmmsg returned. */
static int raw_send_batch(struct raw_run *r, uint16_t *id)
{
	char buf[64];

	for (unsigned int i = 0; i < cfg.batch; i++) {
		char *pl = raw_frames[i] + r->hlen;

		frame_header(pl, (*id)++);
		snprintf(buf, sizeof(buf), "get key:%08u\r\n", pick_key());
		memcpy(pl + 8, buf, strlen(buf));
	}
	return sendmmsg(r->fd, r->msg, cfg.batch, 0);
}

/* Sends for -d seconds within the window; the counts since `base`. */
static void raw_load(struct raw_run *r, const uint64_t base[4])
{
	uint64_t cnt[4], sent = 0, lost = 0, replies = 0;
	double start, t, last_progress;
	struct counts c;
	int64_t inflight;
	uint16_t id = 0;

	start = now();
	last_progress = start;
	for (;;) {
		bool progress = false;

		t = now();
		if (t >= start + cfg.seconds)
			break;
		sink_read(r->mfd, r->ncpu, cnt);
		if (cnt[0] - base[0] != replies) {
			replies = cnt[0] - base[0];
			progress = true;
		}
		inflight = (int64_t)(sent - lost) - (int64_t)replies;
		if (!rate_allows(sent, t)) {
			usleep(200);
		} else if (inflight + cfg.batch <= cfg.window) {
			int n = raw_send_batch(r, &id);

			if (n > 0) {
				sent += n;
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
	sink_read(r->mfd, r->ncpu, cnt);
	c = (struct counts){.sent = sent,
			    .replies = cnt[0] - base[0],
			    .hits = cnt[1] - base[1],
			    .misses = cnt[2] - base[2],
			    .bad = cnt[3] - base[3]};
	print_counts(&c, lost, t);
}

/*
 * -x IFACE: GETs as raw frames through AF_PACKET; the replies are counted
 * and dropped by mc-sink at XDP on the same interface.
 */
int run_raw(const char *host, const char *port_s)
{
	struct raw_run r = {.host = host,
			    .dst = {.sin_family = AF_INET},
			    .cport = 20000 + getpid() % 40000,
			    .ufd = -1,
			    .fd = -1};
	uint8_t smac[6], dmac[6];
	struct sockaddr_in me;
	uint64_t base[4];
	int ret = 1;

	r.ifindex = if_nametoindex(cfg.raw_if);
	if (!r.ifindex || !inet_aton(host, &r.dst.sin_addr)) {
		fprintf(stderr, "mc-load: -x needs an interface and an IPv4 "
				"address\n");
		return 1;
	}
	r.sport = atoi(port_s);
	r.dst.sin_port = htons(r.sport);
	r.ncpu = libbpf_num_possible_cpus();

	if (sink_attach(&r) || find_addresses(&r, &me, smac, dmac))
		goto out;
	build_frames(&r, &me, smac, dmac);
	if (open_packet_socket(&r))
		goto out;
	sink_read(r.mfd, r.ncpu, base);
	raw_load(&r, base);
	ret = 0;
out:
	if (r.fd >= 0)
		close(r.fd);
	if (r.ufd >= 0)
		close(r.ufd);
	sink_detach(&r);
	return ret;
}
