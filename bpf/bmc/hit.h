/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The GET hit path: a get request whose keys all hit is turned into
 * memcached's reply in place and sent back with XDP_TX.
 */
#ifndef FASTPATH_BMC_HIT_H
#define FASTPATH_BMC_HIT_H

#include "cache.h"
#include "packet.h"

/*
 * GET hit path. The request is in sc->req[0, plen): 8-byte frame header,
 * then "get k1 k2...\r\n" and nothing else. Returns XDP_TX after rewriting
 * the packet, or -1 (miss: nothing touched), or -2 (not a plain get).
 */
static __always_inline int try_hit(struct xdp_md *ctx, struct pkt *pk,
				   struct xdp_scratch *sc, __u32 plen)
{
	__u32 koff[BMC_MAX_KEYS], klen[BMC_MAX_KEYS];
	__u32 nkeys = 0, pos = OPAQUE(sc, 12), total = 0;
	struct bmc_state *st = get_state();
	__u64 now, sum;
	int delta, head = 0;
	__u8 *hb = sc->hb;

	if (!st)
		return -2;
	plen = OPAQUE(sc, plen);
	/* Keys: "get" (SP+ key)+ SP* CR? LF, at the end of the datagram. */
#pragma clang loop unroll(disable)
	for (int k = 0; k < BMC_MAX_KEYS + 1; k++) {
		__u64 r = bmc_key(&sc->req, pos, plen,
				  &sc->slots[k & (BMC_MAX_KEYS - 1)]);
		__u32 s = (__u32)(r >> 32), l = (__u32)r;

		pos = s + l;
		if (l == 0)
			break;
		if (l > BMC_MAX_KEY || k >= BMC_MAX_KEYS)
			return -2; /* memcached's business (error or many) */
		koff[k & (BMC_MAX_KEYS - 1)] = s;
		klen[k & (BMC_MAX_KEYS - 1)] = l;
		nkeys = k + 1;
	}
	if (nkeys == 0)
		return -2;
	if (pos < plen && sc->req.b[pos & REQ_MASK] == '\r')
		pos++;
	if (pos >= plen || sc->req.b[pos & REQ_MASK] != '\n' || pos + 1 != plen)
		return -2;

	now = 0; /* read lazily by bmc_lookup */
		 /* Look every key up; copy hits to per-CPU slots. */
#pragma clang loop unroll(disable)
	for (__u32 k = 0; k < BMC_MAX_KEYS; k++) {
		__u32 ko, kl;
		int hit;
		struct slot *sl = &sc->slots[k & (BMC_MAX_KEYS - 1)];

		if (k >= nkeys)
			break;
		ko = koff[k & (BMC_MAX_KEYS - 1)];
		kl = klen[k & (BMC_MAX_KEYS - 1)];
		hit = bmc_lookup(sl, &sc->req, ko, kl, now);
		if (hit == 2)
			stat_inc(S_EXPIRED);
		hit = hit == 1;
		if (!hit)
			return -1;
		total += sl->len;
	}
	/* memcached would split a longer reply over datagrams. */
	if (total + 8 + 5 > BMC_UDP_MAX)
		return -1;

	/* Resize: headers + 8-byte frame header + blobs + "END\r\n". */
	delta = (int)(pk->l4 + 8 + 8 + total + 5) -
		(int)((long)pk->data_end - (long)pk->data);
	/* Keep the headers: growing at the head moves the packet start. */
	{
		void *d = (void *)(long)ctx->data;
		void *de = (void *)(long)ctx->data_end;

		if (pk->v6) {
			if (d + 14 + 40 + 8 > de)
				return -1;
			__builtin_memcpy(hb, d, 14 + 40 + 8);
		} else {
			if (d + 14 + 20 + 8 > de)
				return -1;
			__builtin_memcpy(hb, d, 14 + 20 + 8);
		}
	}
	/*
	 * Grow at the tail if the buffer has room, else at the head (veth
	 * copies frames into buffers sized to fit, with only the XDP
	 * headroom spare), else both. Failed attempts change nothing.
	 */
	if (bpf_xdp_adjust_tail(ctx, delta)) {
		static const int hs[3] = {192, 128, 64};
		int ok = 0;

		if (delta > 0 && !bpf_xdp_adjust_head(ctx, -delta)) {
			head = delta;
			ok = 1;
		}
		for (int i = 0; i < 3 && !ok; i++) {
			if (hs[i] >= delta || bpf_xdp_adjust_head(ctx, -hs[i]))
				continue;
			if (!bpf_xdp_adjust_tail(ctx, delta - hs[i])) {
				head = hs[i];
				ok = 1;
			} else {
				bpf_xdp_adjust_head(ctx, hs[i]); /* undo */
			}
		}
		if (!ok)
			return -3; /* no room: memcached answers */
	}
	if (head > 0) {
		/* Headers saved before the resize go to the new start. */
		void *d = (void *)(long)ctx->data;
		void *de = (void *)(long)ctx->data_end;

		if (d + 14 + 40 + 8 > de)
			return XDP_ABORTED;
		if (pk->v6)
			__builtin_memcpy(d, hb, 14 + 40 + 8);
		else
			__builtin_memcpy(d, hb, 14 + 20 + 8);
	}

	{
		void *data = (void *)(long)ctx->data;
		void *data_end = (void *)(long)ctx->data_end;
		struct ethhdr *eth = data;
		struct udphdr *udp;
		__u8 mac[6];
		__u32 off, ulen = 8 + 8 + total + 5;
		__u16 tmp, hdr[4];
		__u64 s;

		if ((void *)(eth + 1) > data_end)
			return XDP_ABORTED;
		__builtin_memcpy(mac, eth->h_source, 6);
		__builtin_memcpy(eth->h_source, eth->h_dest, 6);
		__builtin_memcpy(eth->h_dest, mac, 6);
		sum = 0;
		if (!pk->v6) {
			struct iphdr *ip = (void *)(eth + 1);
			__u32 a;
			__u16 *w;

			if ((void *)(ip + 1) > data_end)
				return XDP_ABORTED;
			udp = (void *)(ip + 1);
			if ((void *)(udp + 1) > data_end)
				return XDP_ABORTED;
			a = ip->saddr;
			ip->saddr = ip->daddr;
			ip->daddr = a;
			ip->tot_len = bpf_htons(20 + ulen);
			ip->ttl = 64;
			ip->frag_off = 0;
			ip->check = 0;
			w = (__u16 *)ip;
			s = 0;
			for (int j = 0; j < 10; j++)
				s += w[j];
			ip->check = ~csum_fold(s);
			/* pseudo header */
			sum += (ip->saddr & 0xffff) + (ip->saddr >> 16) +
			       (ip->daddr & 0xffff) + (ip->daddr >> 16);
		} else {
			struct ipv6hdr *ip6 = (void *)(eth + 1);
			struct in6_addr a;
			__u16 *w;

			if ((void *)(ip6 + 1) > data_end)
				return XDP_ABORTED;
			udp = (void *)(ip6 + 1);
			if ((void *)(udp + 1) > data_end)
				return XDP_ABORTED;
			a = ip6->saddr;
			ip6->saddr = ip6->daddr;
			ip6->daddr = a;
			ip6->payload_len = bpf_htons(ulen);
			ip6->hop_limit = 64;
			w = (__u16 *)&ip6->saddr;
			for (int j = 0; j < 16; j++)
				sum += w[j];
		}
		tmp = udp->source;
		udp->source = udp->dest;
		udp->dest = tmp;
		udp->len = bpf_htons(ulen);
		udp->check = 0;
		sum += bpf_htons(IPPROTO_UDP_) + udp->len + udp->len +
		       udp->source + udp->dest;
		off = pk->l4 + 8;
		/* Frame header: request id echoed, sequence 0, count 1. */
		hdr[0] = *(__u16 *)&sc->req.b[0];
		hdr[1] = 0;
		hdr[2] = bpf_htons(1);
		hdr[3] = 0;
		sum += hdr[0] + hdr[2];
		{
			__u16 *fh = (void *)(udp + 1);

			if ((void *)(fh + 4) > data_end)
				return XDP_ABORTED;
			fh[0] = hdr[0];
			fh[1] = hdr[1];
			fh[2] = hdr[2];
			fh[3] = hdr[3];
		}
		off += 8;
#pragma clang loop unroll(disable)
		for (__u32 k = 0; k < BMC_MAX_KEYS; k++) {
			struct slot *sl = &sc->slots[k & (BMC_MAX_KEYS - 1)];
			__u32 l = sl->len;
			__u64 n;
			__u16 cs;

			if (k >= nkeys)
				break;
			if (l == 0 || l > BMC_BLOB_MAX)
				return XDP_ABORTED;
			cs = csum_fold(sl->csum);
			sum += ((off - pk->l4) & 1) ? swab16(cs) : cs;
			n = l;
			if (k + 1 == nkeys) {
				/* The last value carries END: one store less.
				 */
				sl->blob[l] = 'E';
				sl->blob[l + 1] = 'N';
				sl->blob[l + 2] = 'D';
				sl->blob[l + 3] = '\r';
				sl->blob[l + 4] = '\n';
				n = l + 5;
			}
			CHECK_LEN(n, BMC_BLOB_MAX + 5, return XDP_ABORTED);
			if (xdp_bytes
				    ? bpf_xdp_store_bytes(ctx, off, sl->blob, n)
				    : bmc_pkt_store(ctx, off, sl, n))
				return XDP_ABORTED;
			off += l;
		}
		/* "END\r\n" as 16-bit words at even or odd offset. */
		{
			__u16 ce = csum_fold((__u64)(__u16)('E' | 'N' << 8) +
					     (__u16)('D' | '\r' << 8) +
					     (__u16)('\n'));
			sum += ((off - pk->l4) & 1) ? swab16(ce) : ce;
		}
		/* Pointers are stale after the stores: find udp again. */
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		if (data + pk->l4 + 8 > data_end)
			return XDP_ABORTED;
		udp = data + (pk->v6 ? 14 + 40 : 14 + 20);
		if ((void *)(udp + 1) > data_end)
			return XDP_ABORTED;
		tmp = ~csum_fold(sum);
		udp->check = tmp ? tmp : 0xffff;
	}
	return XDP_TX;
}

/* Record a missed GET so its reply may fill (keeps the oldest snapshot). */
static __always_inline void record_miss(struct pkt *pk, const __u32 *saddr,
					__u16 sport, __u16 reqid)
{
	struct bmc_state *st = get_state();
	struct bmc_req_key k = {};
	__u64 s;

	if (!st)
		return;
	s = *(volatile __u64 *)&st->seq;
	k.addr[0] = saddr[0];
	if (pk->v6) {
		k.addr[1] = saddr[1];
		k.addr[2] = saddr[2];
		k.addr[3] = saddr[3];
	}
	k.port = sport;
	k.reqid = reqid;
	bpf_map_update_elem(&reqs, &k, &s, BPF_NOEXIST);
}

#endif /* FASTPATH_BMC_HIT_H */
