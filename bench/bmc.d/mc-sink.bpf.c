// SPDX-License-Identifier: GPL-2.0
/*
 * mc-sink: the receive side of `mc-load -x IFACE`. Attached to the load
 * generator's own interface, it counts memcached's UDP replies to the
 * generator's port (hits by their exact length, misses, anything else) and
 * drops them, so the generator spends no time receiving. Everything else
 * passes. As an XDP program on the client veth it is also what lets BMC's
 * XDP_TX replies arrive there at all.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_IP 0x0800

struct sink_counts {
	__u64 replies;
	__u64 hits;   /* "VALUE ..." replies of the expected length */
	__u64 misses; /* "END\r\n" */
	__u64 other;  /* anything else: errors, wrong lengths */
};

const volatile __u16 server_port = 11211; /* host order */
const volatile __u16 client_port = 0;	  /* host order */
const volatile __u32 hit_len = 0;	  /* UDP payload length of a hit */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sink_counts);
} counts SEC(".maps");

SEC("xdp")
int mc_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp;
	struct sink_counts *c;
	unsigned char *p;
	__u32 key = 0, len;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return XDP_PASS;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end || udp->source != bpf_htons(server_port) ||
	    udp->dest != bpf_htons(client_port))
		return XDP_PASS;
	c = bpf_map_lookup_elem(&counts, &key);
	if (!c)
		return XDP_PASS;
	c->replies++;
	p = (unsigned char *)(udp + 1) +
	    8; /* past the memcached frame header */
	len = bpf_ntohs(udp->len) - sizeof(*udp);
	if ((void *)(p + 6) > end) {
		c->other++;
		return XDP_DROP;
	}
	if (p[0] == 'V' && p[1] == 'A' && p[2] == 'L' && p[3] == 'U' &&
	    p[4] == 'E' && p[5] == ' ' && len == hit_len)
		c->hits++;
	else if (p[0] == 'E' && p[1] == 'N' && p[2] == 'D' && p[3] == '\r' &&
		 p[4] == '\n' && len == 8 + 5)
		c->misses++;
	else
		c->other++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
