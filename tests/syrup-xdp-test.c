// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-xdp-test: syrup-steer's XDP layer through BPF_PROG_TEST_RUN with
 * crafted frames (TAP output): the port's packets are steered, everything
 * else passes untouched and unseen by the policy, truncated and odd headers
 * pass, a CPU without a queue falls back and is counted, and the
 * per-interface dispatcher hands each port to its own program.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "unit/unit.h"
#include "syrup.h"
#include "syrup-steer.h"
#include "syrup-steer.skel.h"
#include "syrup-dispatch.skel.h"

#define PORT	      7000
#define XDP_PASS_     2
#define XDP_DROP_     1
#define XDP_REDIRECT_ 4

static int stats_fd;

/* A frame: Ethernet, IPv4 or IPv6, UDP or TCP to dport, then payload. */
static size_t frame(unsigned char *buf, int v6, int proto, int dport,
		    const char *payload)
{
	struct ethhdr *eth = (void *)buf;
	size_t plen = strlen(payload), l4len, off = sizeof(*eth);
	unsigned char *l4;

	memset(buf, 0, 256);
	memset(eth->h_dest, 0xaa, 6);
	memset(eth->h_source, 0xbb, 6);
	l4len = proto == IPPROTO_TCP ? sizeof(struct tcphdr)
				     : sizeof(struct udphdr);
	if (v6) {
		struct ipv6hdr *ip6 = (void *)(buf + off);

		eth->h_proto = htons(ETH_P_IPV6);
		ip6->version = 6;
		ip6->nexthdr = (unsigned char)proto;
		ip6->payload_len = htons((unsigned short)(l4len + plen));
		ip6->hop_limit = 64;
		inet_pton(AF_INET6, "fd00::1", &ip6->saddr);
		inet_pton(AF_INET6, "fd00::2", &ip6->daddr);
		off += sizeof(*ip6);
	} else {
		struct iphdr *ip = (void *)(buf + off);

		eth->h_proto = htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = (unsigned char)proto;
		ip->tot_len =
			htons((unsigned short)(sizeof(*ip) + l4len + plen));
		ip->saddr = htonl(0x0a000001);
		ip->daddr = htonl(0x0a000002);
		off += sizeof(*ip);
	}
	l4 = buf + off;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)l4;

		th->source = htons(40000);
		th->dest = htons((unsigned short)dport);
		th->doff = 5;
		th->syn = 1;
	} else {
		struct udphdr *uh = (void *)l4;

		uh->source = htons(40000);
		uh->dest = htons((unsigned short)dport);
		uh->len = htons((unsigned short)(l4len + plen));
	}
	memcpy(l4 + l4len, payload, plen);
	return off + l4len + plen;
}

static int run(int prog_fd, unsigned char *buf, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf,
		    .data_size_in = (__u32)len, .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	return (int)opts.retval;
}

/* Every row's counters (executors and the no-executor row), over CPUs. */
static struct syrup_stat stats_total(void)
{
	int ncpu = libbpf_num_possible_cpus();
	struct syrup_stat v[ncpu], sum = {};

	for (__u32 k = 0; k <= SYRUP_MAX_EXECUTORS; k++) {
		if (bpf_map_lookup_elem(stats_fd, &k, v))
			continue;
		for (int c = 0; c < ncpu; c++) {
			sum.steered += v[c].steered;
			sum.fallback += v[c].fallback;
			sum.errors += v[c].errors;
			sum.dropped += v[c].dropped;
		}
	}
	return sum;
}

/* steered + fallback over all CPUs and rows: what the policy saw */
static unsigned long long seen(void)
{
	struct syrup_stat s = stats_total();

	return s.steered + s.fallback + s.errors + s.dropped;
}

static unsigned long long fallbacks(void)
{
	return stats_total().fallback;
}

/* The port's UDP packets are steered, and a CPU without a queue counted. */
static void test_steering(int prog)
{
	unsigned char buf[256];
	unsigned long long before;
	size_t len;
	int r;

	len = frame(buf, 0, IPPROTO_UDP, PORT, "GET k");
	r = run(prog, buf, len);
	UNIT_CHECK(r == XDP_REDIRECT_, "UDP/IPv4 to the port: redirected (%d)",
		   r);
	before = fallbacks();
	r = run(prog, buf, len);
	UNIT_CHECK(r == XDP_PASS_ && fallbacks() == before + 1,
		   "executor without a CPU queue: passed, counted as fallback");
	len = frame(buf, 1, IPPROTO_UDP, PORT, "GET k");
	r = run(prog, buf, len);
	UNIT_CHECK(r == XDP_REDIRECT_, "UDP/IPv6 to the port: redirected (%d)",
		   r);
}

/* Everything else passes untouched, and the policy never sees it. */
static void test_passes(int prog)
{
	unsigned char buf[256];
	unsigned long long before;
	size_t len;
	int r;

	before = seen();
	len = frame(buf, 0, IPPROTO_UDP, PORT + 1, "GET k");
	r = run(prog, buf, len);
	UNIT_CHECK(r == XDP_PASS_ && seen() == before,
		   "another port: passed, the policy never ran");
	len = frame(buf, 0, IPPROTO_TCP, PORT, "");
	r = run(prog, buf, len);
	UNIT_CHECK(r == XDP_PASS_ && seen() == before,
		   "the port over the other protocol: passed, unseen");
	len = frame(buf, 0, IPPROTO_UDP, PORT, "GET k");
	r = run(prog, buf, sizeof(struct ethhdr) + 10);
	UNIT_CHECK(r == XDP_PASS_ && seen() == before,
		   "truncated IPv4 header: passed");
	r = run(prog, buf, sizeof(struct ethhdr) + sizeof(struct iphdr) + 3);
	UNIT_CHECK(r == XDP_PASS_ && seen() == before,
		   "truncated UDP header: passed");
	((struct iphdr *)(buf + sizeof(struct ethhdr)))->ihl = 3;
	r = run(prog, buf, len);
	UNIT_CHECK(r == XDP_PASS_ && seen() == before,
		   "IPv4 header length below 20: passed");
	len = frame(buf, 0, IPPROTO_UDP, PORT, "GET k");
	((struct iphdr *)(buf + sizeof(struct ethhdr)))->frag_off = htons(100);
	r = run(prog, buf, len);
	UNIT_CHECK(r == XDP_PASS_ && seen() == before,
		   "a later IPv4 fragment: passed");
	len = frame(buf, 0, IPPROTO_UDP, PORT, "GET k");
	((struct ethhdr *)buf)->h_proto = htons(0x0806);
	r = run(prog, buf, len);
	UNIT_CHECK(r == XDP_PASS_ && seen() == before, "ARP: passed");
}

/* The dispatcher: the port's packets reach the policy, others pass. */
static void test_dispatcher(int prog)
{
	struct syrup_dispatch_bpf *disp;
	unsigned char buf[256];
	unsigned long long before;
	__u32 key, slot = 5;
	size_t len;
	int r;

	disp = syrup_dispatch_bpf__open_and_load();
	UNIT_CHECK(disp != NULL, "the dispatcher loads");
	if (disp) {
		int dprog = bpf_program__fd(disp->progs.syrup_dispatch);

		bpf_map_update_elem(bpf_map__fd(disp->maps.syrup_progs), &slot,
				    &prog, BPF_ANY);
		key = SYRUP_DISPATCH_KEY(IPPROTO_UDP, PORT);
		bpf_map_update_elem(bpf_map__fd(disp->maps.syrup_ports), &key,
				    &slot, BPF_ANY);
		before = seen();
		len = frame(buf, 0, IPPROTO_UDP, PORT, "GET k");
		r = run(dprog, buf, len);
		UNIT_CHECK((r == XDP_REDIRECT_ || r == XDP_PASS_) &&
				   seen() == before + 1,
			   "dispatcher: the port's packet reaches its policy");
		len = frame(buf, 1, IPPROTO_UDP, PORT + 1, "GET k");
		r = run(dprog, buf, len);
		UNIT_CHECK(r == XDP_PASS_ && seen() == before + 1,
			   "dispatcher: another port passes unseen");
		len = frame(buf, 0, IPPROTO_TCP, PORT, "");
		r = run(dprog, buf, len);
		UNIT_CHECK(r == XDP_PASS_ && seen() == before + 1,
			   "dispatcher: the other protocol passes unseen");
		r = run(dprog, buf, sizeof(struct ethhdr) + 4);
		UNIT_CHECK(r == XDP_PASS_,
			   "dispatcher: truncated frame passes");
		syrup_dispatch_bpf__destroy(disp);
	}
}

int main(void)
{
	struct syrup_steer_bpf *skel;
	struct syrup_conf conf = {.nr_executors = 2,
				  .layer = SYRUP_LAYER_XDP,
				  .port = PORT,
				  .proto = IPPROTO_UDP,
				  .builtin = SYRUP_RR,
				  .cpus = {0, 1}};
	struct bpf_cpumap_val q = {.qsize = 64};
	__u32 zero = 0, cpu = 0;
	int prog;

	libbpf_set_print(NULL);
	skel = syrup_steer_bpf__open();
	if (!skel) {
		printf("not ok 1 - cannot open the skeleton\n");
		return 1;
	}
	bpf_program__set_autoload(skel->progs.syrup_sk_reuseport, false);
	if (syrup_steer_bpf__load(skel)) {
		printf("not ok 1 - cannot load the XDP program: %s\n",
		       strerror(errno));
		return 1;
	}
	prog = bpf_program__fd(skel->progs.syrup_xdp);
	stats_fd = bpf_map__fd(skel->maps.syrup_stats);
	bpf_map_update_elem(bpf_map__fd(skel->maps.syrup_conf), &zero, &conf,
			    BPF_ANY);
	/* only CPU 0 has a queue: executor 1 must fall back */
	bpf_map_update_elem(bpf_map__fd(skel->maps.syrup_cpumap), &cpu, &q,
			    BPF_ANY);

	test_steering(prog);
	test_passes(prog);
	test_dispatcher(prog);
	printf("1..%d\n", unit_number);
	syrup_steer_bpf__destroy(skel);
	return unit_done();
}
