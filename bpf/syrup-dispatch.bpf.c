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

#include "parse.h"
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
	struct fp_ports *ports;
	struct fp_l2 l2;
	struct fp_l3 l3;
	__u32 key, *slot;

	/* VLAN-tagged frames are not IP here: they pass. */
	if (fp_parse_eth(data, end, 0, &l2) ||
	    fp_parse_ip(data, end, l2.proto, l2.l3, 0, &l3))
		return XDP_PASS;
	if (l3.proto != FP_IPPROTO_TCP && l3.proto != FP_IPPROTO_UDP)
		return XDP_PASS;
	ports = fp_parse_ports(data, end, l3.l4);
	if (!ports)
		return XDP_PASS;
	key = (__u32)l3.proto << 16 | bpf_ntohs(ports->dest);
	slot = bpf_map_lookup_elem(&syrup_ports, &key);
	if (slot)
		bpf_tail_call(ctx, &syrup_progs, *slot);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
