// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-steer's XDP dispatcher: one per interface, so several ports can be
 * under XDP-layer policies on the same interface. It finds the packet's
 * (protocol, destination port) in `ports` and tail-calls that port's policy
 * program from `progs`; everything else passes untouched.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "syrup-steer.h"
#include "metadata.h"

FASTPATH_METADATA("syrup-steer");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, SYRUP_DISPATCH_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} syrup_progs SEC(".maps");

/* (proto << 16 | port) -> slot in syrup_progs */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SYRUP_DISPATCH_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} syrup_ports SEC(".maps");

SEC("xdp")
int syrup_dispatch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *l4; /* source and dest sit alike in TCP */
	__u32 key, *slot;
	__u8 proto;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(0x0800)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->ihl < 5 ||
		    (ip->frag_off & bpf_htons(0x1fff)))
			return XDP_PASS;
		proto = ip->protocol;
		l4 = (void *)ip + ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(0x86DD)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return XDP_PASS;
		proto = ip6->nexthdr;
		l4 = (void *)(ip6 + 1);
	} else {
		return XDP_PASS;
	}
	if ((proto != 6 && proto != 17) || (void *)(l4 + 1) > end)
		return XDP_PASS;
	key = (__u32)proto << 16 | bpf_ntohs(l4->dest);
	slot = bpf_map_lookup_elem(&syrup_ports, &key);
	if (slot)
		bpf_tail_call(ctx, &syrup_progs, *slot);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
