/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * parse.h: Ethernet, VLAN, IPv4, IPv6, UDP and TCP headers for BPF
 * programs. One copy for the whole toolkit: BMC (bpf/bmc-attach.bpf.c),
 * syrup-steer's XDP dispatcher and the entry points of <fastpath/syrup.h>
 * use it, and a policy may too (#include <fastpath/parse.h>).
 *
 * The layouts have names of their own (fp_*), so this header works beside
 * vmlinux.h and with nothing but <linux/types.h>. They read a frame in
 * place (XDP direct access) or a copy taken with bpf_skb_load_bytes.
 *
 * The fp_parse_* functions walk a linear frame by offsets from its start
 * (data): small bounded numbers, which every verifier accepts added to a
 * packet pointer, and which a caller can also hand to bpf_xdp_load_bytes.
 * Each bounds-checks what it reads; a failure means "not a packet we can
 * read", which every caller passes on untouched.
 */
#ifndef FASTPATH_PARSE_H
#define FASTPATH_PARSE_H

#include <bpf/bpf_endian.h>

#define FP_ETH_P_IP	0x0800
#define FP_ETH_P_IPV6	0x86DD
#define FP_ETH_P_8021Q	0x8100
#define FP_ETH_P_8021AD 0x88a8
#define FP_IPPROTO_TCP	6
#define FP_IPPROTO_UDP	17
#define FP_VLAN_MAX	2      /* tags fp_parse_eth walks at most (QinQ) */
#define FP_IP4_MF	0x2000 /* more fragments */
#define FP_IP4_OFFSET	0x1fff /* fragment offset, in 8-byte units */
#define FP_TCP_FIN	0x01
#define FP_TCP_SYN	0x02
#define FP_TCP_RST	0x04

struct fp_ethhdr {
	__u8 dst[6];
	__u8 src[6];
	__be16 proto;
};

struct fp_vlanhdr {
	__be16 tci;
	__be16 proto; /* the EtherType behind the tag */
};

struct fp_iphdr {
	__u8 ver_ihl; /* version << 4 | header length in 32-bit words */
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__be32 saddr;
	__be32 daddr;
};

struct fp_ipv6hdr {
	__be32 ver_tc_flow;
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__be32 saddr[4];
	__be32 daddr[4];
};

struct fp_udphdr {
	__be16 source;
	__be16 dest;
	__be16 len;
	__u16 check;
};

struct fp_tcphdr {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__u8 doff_res; /* header length in 32-bit words << 4 */
	__u8 flags;    /* FP_TCP_FIN, FP_TCP_SYN, FP_TCP_RST, ... */
	__be16 window;
	__u16 check;
	__be16 urg_ptr;
};

/* The ports, which sit alike at the start of UDP and TCP headers. */
struct fp_ports {
	__be16 source;
	__be16 dest;
};

/* IPv4 header length in bytes (20 to 60; less is malformed). */
static __always_inline __u32 fp_ip4_hlen(const struct fp_iphdr *ip)
{
	return (ip->ver_ihl & 0xf) * 4;
}

static __always_inline __u32 fp_ip4_version(const struct fp_iphdr *ip)
{
	return ip->ver_ihl >> 4;
}

/* A fragment other than the first: it carries no L4 header. */
static __always_inline int fp_ip4_later_frag(const struct fp_iphdr *ip)
{
	return (ip->frag_off & bpf_htons(FP_IP4_OFFSET)) != 0;
}

/* The first fragment of several: the L4 header, not the whole datagram. */
static __always_inline int fp_ip4_more_frags(const struct fp_iphdr *ip)
{
	return (ip->frag_off & bpf_htons(FP_IP4_MF)) != 0;
}

/* TCP header length in bytes. */
static __always_inline __u32 fp_tcp_hlen(const struct fp_tcphdr *th)
{
	return (th->doff_res >> 4) * 4;
}

/* Where fp_parse_eth found the network header. */
struct fp_l2 {
	struct fp_ethhdr *eth;
	__u32 l3;     /* offset of the network header */
	__be16 proto; /* its EtherType, network order */
	__u8 vlans;   /* VLAN tags skipped on the way */
};

/*
 * The Ethernet header at data and up to max_vlans (at most FP_VLAN_MAX)
 * 802.1Q/802.1ad tags behind it. With max_vlans 0 a tagged frame is left
 * with l2->proto the tag's EtherType (not IP). -1: the frame is cut.
 */
static __always_inline int fp_parse_eth(void *data, void *end, __u32 max_vlans,
					struct fp_l2 *l2)
{
	struct fp_ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	__be16 proto;

	if ((void *)(eth + 1) > end)
		return -1;
	proto = eth->proto;
	l2->vlans = 0;
	for (__u32 k = 0; k < FP_VLAN_MAX; k++) {
		struct fp_vlanhdr *vh = data + off;

		if (k >= max_vlans)
			break;
		if (proto != bpf_htons(FP_ETH_P_8021Q) &&
		    proto != bpf_htons(FP_ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > end)
			return -1;
		proto = vh->proto;
		off += sizeof(*vh);
		l2->vlans++;
	}
	l2->eth = eth;
	l2->l3 = off;
	l2->proto = proto;
	return 0;
}

/* Where fp_parse_ip found the transport header. */
struct fp_l3 {
	void *hdr;  /* struct fp_iphdr or fp_ipv6hdr, bounds checked */
	__u32 l4;   /* offset of the L4 header (IPv6: after the fixed one) */
	__u32 end;  /* offset of the datagram's end, by its length field */
	__u8 proto; /* IPv4 protocol or IPv6 next header */
	__u8 v6;
	__u8 frag; /* IPv4: the first fragment of several */
	__u8 opts; /* IPv4: options present */
};

/*
 * fp_parse_ip's flags. FP_IP_LENGTHS: the datagram's length fields must
 * fit the frame (and IPv4's version be 4), for callers that read up to
 * l3->end; others take whatever the frame holds.
 */
#define FP_IP_LENGTHS 0x1

/*
 * The IPv4 or IPv6 header (EtherType proto) at offset off. -1: not IP, cut,
 * malformed, or a later IPv4 fragment (no L4 header). IPv6 extension
 * headers are not walked: l3->proto is then theirs, not TCP or UDP.
 */
static __always_inline int fp_parse_ip(void *data, void *end, __be16 proto,
				       __u32 off, __u32 flags, struct fp_l3 *l3)
{
	if (proto == bpf_htons(FP_ETH_P_IP)) {
		struct fp_iphdr *ip = data + off;
		__u32 hlen, tot;

		if ((void *)(ip + 1) > end)
			return -1;
		hlen = fp_ip4_hlen(ip);
		if (hlen < sizeof(*ip) || fp_ip4_later_frag(ip))
			return -1;
		tot = bpf_ntohs(ip->tot_len);
		if ((flags & FP_IP_LENGTHS) &&
		    (fp_ip4_version(ip) != 4 || tot < hlen ||
		     off + tot > (__u32)(end - data)))
			return -1;
		l3->hdr = ip;
		l3->l4 = off + hlen;
		l3->end = off + tot;
		l3->proto = ip->protocol;
		l3->v6 = 0;
		l3->frag = fp_ip4_more_frags(ip);
		l3->opts = hlen != sizeof(*ip);
		return 0;
	}
	if (proto == bpf_htons(FP_ETH_P_IPV6)) {
		struct fp_ipv6hdr *ip6 = data + off;

		if ((void *)(ip6 + 1) > end)
			return -1;
		l3->hdr = ip6;
		l3->l4 = off + sizeof(*ip6);
		l3->end = l3->l4 + bpf_ntohs(ip6->payload_len);
		if ((flags & FP_IP_LENGTHS) && l3->end > (__u32)(end - data))
			return -1;
		l3->proto = ip6->nexthdr;
		l3->v6 = 1;
		l3->frag = 0;
		l3->opts = 0;
		return 0;
	}
	return -1;
}

/* The ports of the UDP or TCP header at offset off, or NULL if cut. */
static __always_inline struct fp_ports *fp_parse_ports(void *data, void *end,
						       __u32 off)
{
	struct fp_ports *p = data + off;

	if ((void *)(p + 1) > end)
		return NULL;
	return p;
}

/*
 * *payload = the offset of the payload behind the UDP or TCP (proto) header
 * at off; -1 when the TCP header's length byte is cut. The payload itself
 * may start past the frame's end.
 */
static __always_inline int fp_parse_l4_payload(void *data, void *end, __u32 off,
					       __u8 proto, __u32 *payload)
{
	if (proto == FP_IPPROTO_TCP) {
		struct fp_tcphdr *th = data + off;
		__u8 *doff = &th->doff_res;

		if ((void *)(doff + 1) > end)
			return -1;
		*payload = off + fp_tcp_hlen(th);
		return 0;
	}
	*payload = off + sizeof(struct fp_udphdr);
	return 0;
}

#endif /* FASTPATH_PARSE_H */
