/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The GET hit path. A get whose keys all hit becomes memcached's reply: in
 * place, sent back with XDP_TX, when the frame has room for it; else at TC
 * ingress, which can grow the skb, sent back with bpf_redirect (on veth,
 * values over about 200 bytes). Both build the same headers and checksum.
 */
#ifndef FASTPATH_BMC_HIT_H
#define FASTPATH_BMC_HIT_H

#include "cache.h"
#include "packet.h"

/*
 * The datagram after its 8-byte frame header, sc->req[0, plen), must be
 * "get" (SP+ key)+ SP* CR? LF and nothing else. 0, or -2: not a plain get
 * (memcached's business: an error, or more keys than we answer).
 */
static __always_inline int get_keys(struct xdp_scratch *sc, __u32 plen,
				    struct get_req *gr)
{
	__u32 nkeys = 0, pos = OPAQUE(sc, 12);

	plen = OPAQUE(sc, plen);
#pragma clang loop unroll(disable)
	for (int k = 0; k < BMC_MAX_KEYS + 1; k++) {
		__u64 r = bmc_key(&sc->req, pos, plen,
				  &sc->slots[k & (BMC_MAX_KEYS - 1)]);
		__u32 s = (__u32)(r >> 32), l = (__u32)r;

		pos = s + l;
		if (l == 0)
			break;
		if (l > BMC_MAX_KEY || k >= BMC_MAX_KEYS)
			return -2;
		gr->koff[k & (BMC_MAX_KEYS - 1)] = s;
		gr->klen[k & (BMC_MAX_KEYS - 1)] = l;
		nkeys = k + 1;
	}
	if (nkeys == 0)
		return -2;
	if (pos < plen && sc->req.b[pos & REQ_MASK] == '\r')
		pos++;
	if (pos >= plen || sc->req.b[pos & REQ_MASK] != '\n' || pos + 1 != plen)
		return -2;
	gr->nkeys = nkeys;
	return 0;
}

/* Every key looked up, hits copied to the slots. 0, or -1: a miss. */
static __always_inline int get_values(struct xdp_scratch *sc,
				      struct get_req *gr)
{
	__u32 total = 0;

#pragma clang loop unroll(disable)
	for (__u32 k = 0; k < BMC_MAX_KEYS; k++) {
		struct slot *sl = &sc->slots[k & (BMC_MAX_KEYS - 1)];
		int hit;

		if (k >= gr->nkeys)
			break;
		/* now 0: bmc_lookup reads the clock only if it must */
		hit = bmc_lookup(sl, &sc->req, gr->koff[k & (BMC_MAX_KEYS - 1)],
				 gr->klen[k & (BMC_MAX_KEYS - 1)], 0);
		if (hit == 2)
			stat_inc(S_EXPIRED);
		if (hit != 1)
			return -1;
		total += sl->len;
	}
	/* memcached would split a longer reply over datagrams. */
	if (total + 8 + 5 > BMC_UDP_MAX)
		return -1;
	gr->total = total;
	return 0;
}

/*
 * The bytes slot k puts in the reply: its blob, with "END\r\n" after the
 * last one (one store less). 0 if the slot is not a value.
 */
static __always_inline __u32 value_bytes(struct slot *sl, __u32 k, __u32 nkeys)
{
	__u32 l = sl->len;

	if (l == 0 || l > BMC_BLOB_MAX)
		return 0;
	if (k + 1 != nkeys)
		return l;
	sl->blob[l] = 'E';
	sl->blob[l + 1] = 'N';
	sl->blob[l + 2] = 'D';
	sl->blob[l + 3] = '\r';
	sl->blob[l + 4] = '\n';
	return l + 5;
}

/*
 * Sum (16-bit words, memory order) of the values and END as they lie in
 * the reply, from offset rel of the UDP header on. Each value's own sum
 * was taken when it was filled; at an odd offset its bytes swap.
 */
static __always_inline __u64 values_sum(struct xdp_scratch *sc,
					const struct get_req *gr, __u32 rel)
{
	__u16 cs, end = csum_fold((__u64)(__u16)('E' | 'N' << 8) +
				  (__u16)('D' | '\r' << 8) + (__u16)('\n'));
	__u64 sum = 0;

#pragma clang loop unroll(disable)
	for (__u32 k = 0; k < BMC_MAX_KEYS; k++) {
		struct slot *sl = &sc->slots[k & (BMC_MAX_KEYS - 1)];

		if (k >= gr->nkeys)
			break;
		cs = csum_fold(sl->csum);
		sum += (rel & 1) ? swab16(cs) : cs;
		rel += sl->len;
	}
	return sum + ((rel & 1) ? swab16(end) : end);
}

/*
 * sc->hb holds the request's Ethernet, IP and UDP headers (no options:
 * only simple packets hit); they become the reply's, followed by the
 * frame header (request id echoed, sequence 0, one datagram). Returns the
 * sum of the UDP and frame headers, the pseudo header's in *pseudo.
 */
static __always_inline __u64 reply_headers(struct xdp_scratch *sc, int v6,
					   __u32 ulen, __u64 *pseudo)
{
	struct ethhdr *eth = (void *)sc->hb;
	struct udphdr *udp;
	__u16 *fh, port;
	__u8 mac[6];
	__u64 ps = 0;

	__builtin_memcpy(mac, eth->h_source, 6);
	__builtin_memcpy(eth->h_source, eth->h_dest, 6);
	__builtin_memcpy(eth->h_dest, mac, 6);
	if (!v6) {
		struct iphdr *ip = (void *)(sc->hb + 14);
		__u16 *w = (__u16 *)ip;
		__u32 a = ip->saddr;
		__u64 s = 0;

		ip->saddr = ip->daddr;
		ip->daddr = a;
		ip->tot_len = bpf_htons(20 + ulen);
		ip->ttl = 64;
		ip->frag_off = 0;
		ip->check = 0;
		for (int j = 0; j < 10; j++)
			s += w[j];
		ip->check = ~csum_fold(s);
		ps = (ip->saddr & 0xffff) + (ip->saddr >> 16) +
		     (ip->daddr & 0xffff) + (ip->daddr >> 16);
		udp = (void *)(sc->hb + 14 + 20);
	} else {
		struct ipv6hdr *ip6 = (void *)(sc->hb + 14);
		struct in6_addr a = ip6->saddr;
		__u16 *w = (__u16 *)&ip6->saddr;

		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
		ip6->payload_len = bpf_htons(ulen);
		ip6->hop_limit = 64;
		for (int j = 0; j < 16; j++)
			ps += w[j];
		udp = (void *)(sc->hb + 14 + 40);
	}
	port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;
	udp->len = bpf_htons(ulen);
	udp->check = 0;
	ps += bpf_htons(IPPROTO_UDP_) + udp->len;
	fh = (__u16 *)(udp + 1);
	fh[0] = *(__u16 *)&sc->req.b[0];
	fh[1] = 0;
	fh[2] = bpf_htons(1);
	fh[3] = 0;
	*pseudo = ps;
	return (__u64)udp->len + udp->source + udp->dest + fh[0] + fh[2];
}

/* Headers plus frame header: where the first value starts. */
#define REPLY_HDR_LEN(v6) ((v6) ? 14 + 40 + 16 : 14 + 20 + 16)

/*
 * Grow the frame by delta at the tail if the buffer has room, else at the
 * head (veth copies frames into buffers sized to fit, with only the XDP
 * headroom spare), else both. 0, or -3 with nothing changed.
 */
static __always_inline int xdp_make_room(struct xdp_md *ctx, int delta)
{
	static const int hs[3] = {192, 128, 64};

	if (!bpf_xdp_adjust_tail(ctx, delta))
		return 0;
	if (delta > 0 && !bpf_xdp_adjust_head(ctx, -delta))
		return 0;
	for (int i = 0; i < 3; i++) {
		if (hs[i] >= delta || bpf_xdp_adjust_head(ctx, -hs[i]))
			continue;
		if (!bpf_xdp_adjust_tail(ctx, delta - hs[i]))
			return 0;
		bpf_xdp_adjust_head(ctx, hs[i]); /* undo */
	}
	return -3;
}

/* The reply in the XDP frame: XDP_TX, or -3 (no room, nothing touched). */
static __always_inline int xdp_reply(struct xdp_md *ctx, struct pkt *pk,
				     struct xdp_scratch *sc, struct get_req *gr)
{
	__u32 ulen = 8 + 8 + gr->total + 5, off = REPLY_HDR_LEN(pk->v6);
	void *d = (void *)(long)ctx->data;
	void *de = (void *)(long)ctx->data_end;
	/* Frame length as bmc_rx found it: the frame is still unchanged. */
	int delta = (int)(pk->l4 + ulen) -
		    (int)((long)pk->data_end - (long)pk->data);
	__u64 sum, pseudo;
	__u16 check;

	/* The headers first: growing at the head moves the packet start. */
	if (pk->v6) {
		if (d + 14 + 40 + 8 > de)
			return -1;
		__builtin_memcpy(sc->hb, d, 14 + 40 + 8);
	} else {
		if (d + 14 + 20 + 8 > de)
			return -1;
		__builtin_memcpy(sc->hb, d, 14 + 20 + 8);
	}
	if (xdp_make_room(ctx, delta))
		return -3;
	sum = reply_headers(sc, pk->v6, ulen, &pseudo);
	check = ~csum_fold(sum + pseudo + values_sum(sc, gr, 16));
	*(__u16 *)&sc->hb[pk->v6 ? 14 + 40 + 6 : 14 + 20 + 6] =
		check ? check : 0xffff;
	d = (void *)(long)ctx->data;
	de = (void *)(long)ctx->data_end;
	if (pk->v6) {
		if (d + REPLY_HDR_LEN(1) > de)
			return XDP_ABORTED;
		__builtin_memcpy(d, sc->hb, REPLY_HDR_LEN(1));
	} else {
		if (d + REPLY_HDR_LEN(0) > de)
			return XDP_ABORTED;
		__builtin_memcpy(d, sc->hb, REPLY_HDR_LEN(0));
	}
#pragma clang loop unroll(disable)
	for (__u32 k = 0; k < BMC_MAX_KEYS; k++) {
		struct slot *sl = &sc->slots[k & (BMC_MAX_KEYS - 1)];
		__u64 n;

		if (k >= gr->nkeys)
			break;
		n = value_bytes(sl, k, gr->nkeys);
		CHECK_LEN(n, BMC_BLOB_MAX + 5, return XDP_ABORTED);
		if (xdp_bytes ? bpf_xdp_store_bytes(ctx, off, sl->blob, n)
			      : bmc_pkt_store(ctx, off, sl, n))
			return XDP_ABORTED;
		off += sl->len;
	}
	return XDP_TX;
}

/*
 * GET hit path at XDP. The request is in sc->req[0, plen). Returns XDP_TX
 * after rewriting the packet, or -1 (miss: nothing touched), -2 (not a
 * plain get) or -3 (a hit with no room in the frame: TC's to answer).
 */
static __always_inline int try_hit(struct xdp_md *ctx, struct pkt *pk,
				   struct xdp_scratch *sc, __u32 plen)
{
	if (get_keys(sc, plen, &sc->gr))
		return -2;
	if (get_values(sc, &sc->gr))
		return -1;
	return xdp_reply(ctx, pk, sc, &sc->gr);
}

/*
 * A hit XDP has no room for goes up to TC ingress, marked in the frame's
 * metadata (which the skb keeps). 0 if the driver has no metadata: then
 * memcached answers.
 */
static __always_inline int tc_handoff(struct xdp_md *ctx, int v6)
{
	__u32 *m;

	if (bpf_xdp_adjust_meta(ctx, -8))
		return 0;
	m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 2) > (void *)(long)ctx->data)
		return 0;
	m[0] = BMC_META_TC;
	m[1] = v6;
	return 1;
}

/*
 * The reply in the skb at TC ingress: grown to size, the same headers and
 * values. The checksum goes in through bpf_l4_csum_replace, which knows
 * whether the skb still owes its checksum to a device (CHECKSUM_PARTIAL,
 * e.g. sent by a local veth peer): then the field gets only the pseudo
 * header's part. 0, -1/-3 (nothing changed), or TC_ACT_SHOT.
 */
static __always_inline int tc_reply(struct __sk_buff *skb,
				    struct xdp_scratch *sc, struct get_req *gr,
				    int v6)
{
	__u32 ulen = 8 + 8 + gr->total + 5, l4 = v6 ? 14 + 40 : 14 + 20;
	__u32 off = REPLY_HDR_LEN(v6);
	__u64 head, pseudo, flags;

	if (v6 ? bpf_skb_load_bytes(skb, 0, sc->hb, 14 + 40 + 8)
	       : bpf_skb_load_bytes(skb, 0, sc->hb, 14 + 20 + 8))
		return -1;
	if (bpf_skb_change_tail(skb, l4 + ulen, 0))
		return -3;
	head = reply_headers(sc, v6, ulen, &pseudo);
	if (v6 ? bpf_skb_store_bytes(skb, 0, sc->hb, REPLY_HDR_LEN(1), 0)
	       : bpf_skb_store_bytes(skb, 0, sc->hb, REPLY_HDR_LEN(0), 0))
		return TC_ACT_SHOT;
#pragma clang loop unroll(disable)
	for (__u32 k = 0; k < BMC_MAX_KEYS; k++) {
		struct slot *sl = &sc->slots[k & (BMC_MAX_KEYS - 1)];
		__u64 n;

		if (k >= gr->nkeys)
			break;
		n = value_bytes(sl, k, gr->nkeys);
		CHECK_LEN(n, BMC_BLOB_MAX + 5, return TC_ACT_SHOT);
		if (bpf_skb_store_bytes(skb, off, sl->blob, n, 0))
			return TC_ACT_SHOT;
		off += sl->len;
	}
	flags = BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE;
	if (bpf_l4_csum_replace(skb, l4 + 6, 0, csum_fold(pseudo),
				flags | BPF_F_PSEUDO_HDR) ||
	    bpf_l4_csum_replace(skb, l4 + 6, 0,
				csum_fold(head + values_sum(sc, gr, 16)),
				flags))
		return TC_ACT_SHOT;
	return 0;
}

/* Record a missed GET so its reply may fill (keeps the oldest snapshot). */
static __always_inline void record_miss(int v6, const __u32 *saddr, __u16 sport,
					__u16 reqid)
{
	struct bmc_state *st = get_state();
	struct bmc_req_key k = {};
	__u64 s;

	if (!st)
		return;
	s = *(volatile __u64 *)&st->seq;
	k.addr[0] = saddr[0];
	if (v6) {
		k.addr[1] = saddr[1];
		k.addr[2] = saddr[2];
		k.addr[3] = saddr[3];
	}
	k.port = sport;
	k.reqid = reqid;
	bpf_map_update_elem(&reqs, &k, &s, BPF_NOEXIST);
}

/*
 * The reply TC ingress just redirected: bmc_tx sees it next on this CPU
 * (the redirect transmits synchronously) and must not take it for
 * memcached's. Port 0: none.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bmc_req_key);
} own_reply SEC(".maps");

/* TC ingress: a GET XDP marked, looked up again and answered here. */
static __always_inline int tc_answer(struct __sk_buff *skb, int v6)
{
	struct bmc_req_key *own;
	struct xdp_scratch *sc;
	struct udphdr uh;
	__u32 zero = 0, l4 = v6 ? 14 + 40 : 14 + 20, saddr[4] = {};
	__u64 plen;
	__u16 reqid;
	int ret;

	/* XDP and TC ingress never nest on a CPU: XDP's scratch serves. */
	sc = bpf_map_lookup_elem(&xdp_scratch, &zero);
	if (!sc || bpf_skb_load_bytes(skb, l4, &uh, sizeof(uh)) ||
	    (v6 ? bpf_skb_load_bytes(skb, 14 + 8, saddr, 16)
		: bpf_skb_load_bytes(skb, 14 + 12, saddr, 4)))
		return TC_ACT_NEXT;
	plen = bpf_ntohs(uh.len) - 8;
	CHECK_LEN(plen, REQ_BUF - 8, return TC_ACT_NEXT);
	if (bpf_skb_load_bytes(skb, l4 + 8, sc->req.b, plen))
		return TC_ACT_NEXT;
	reqid = *(__u16 *)&sc->req.b[0];
	if (get_keys(sc, plen, &sc->gr))
		return TC_ACT_NEXT;
	ret = get_values(sc, &sc->gr);
	if (!ret)
		ret = tc_reply(skb, sc, &sc->gr, v6);
	if (ret == TC_ACT_SHOT)
		return TC_ACT_SHOT; /* cannot happen: bounds proven */
	if (ret) {
		/* Gone since XDP looked, or no room: memcached answers. */
		stat_inc(S_MISSES);
		record_miss(v6, saddr, uh.source, reqid);
		return TC_ACT_NEXT;
	}
	stat_inc(S_HITS);
	stat_inc(S_TC_HITS);
	own = bpf_map_lookup_elem(&own_reply, &zero);
	if (own) {
		__builtin_memcpy(own->addr, saddr, 16);
		own->port = uh.source;
		own->reqid = reqid;
	}
	return bpf_redirect(skb->ifindex, 0);
}

/* In bmc_tx: is this the reply tc_answer just sent? Forgets it either way. */
static __always_inline int is_own_reply(const __u32 *daddr, __u16 dport,
					__u16 reqid)
{
	struct bmc_req_key *own;
	__u32 zero = 0;
	int same;

	own = bpf_map_lookup_elem(&own_reply, &zero);
	if (!own || !own->port)
		return 0;
	same = own->port == dport && own->reqid == reqid &&
	       own->addr[0] == daddr[0] && own->addr[1] == daddr[1] &&
	       own->addr[2] == daddr[2] && own->addr[3] == daddr[3];
	own->port = 0;
	return same;
}

#endif /* FASTPATH_BMC_HIT_H */
