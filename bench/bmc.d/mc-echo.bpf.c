// SPDX-License-Identifier: GPL-2.0
/*
 * mc-echo: the ceiling of bench/bmc's test bed. Bounces every UDP request
 * to the memcached port straight back with XDP_TX (addresses and ports
 * swapped, payload untouched), doing nothing else. No XDP cache on this
 * veth pair can answer faster than this, so bench/bmc prints it next to
 * BMC's figure. Loaded with `ip link set dev IF xdpdrv obj mc-echo.bpf.o`.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_IP 0x0800
#define ETH_ALEN 6
#define MC_PORT	 11211

SEC("xdp")
int mc_echo(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	unsigned char mac[ETH_ALEN];
	__u32 addr;
	__u16 port;

	if ((void *)(udp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->ihl != 5 || ip->protocol != IPPROTO_UDP ||
	    udp->dest != bpf_htons(MC_PORT))
		return XDP_PASS;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	addr = ip->saddr; /* swapping keeps the IP checksum valid */
	ip->saddr = ip->daddr;
	ip->daddr = addr;
	port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;
	udp->check = 0;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
