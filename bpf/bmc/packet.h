/* SPDX-License-Identifier: GPL-2.0 */
/*
 * XDP packet access: the frame's layout as bmc_rx found it, and loads and
 * stores through bpf_xdp_load/store_bytes or, before Linux 5.18, directly.
 */
#ifndef FASTPATH_BMC_PACKET_H
#define FASTPATH_BMC_PACKET_H

#include "base.h"

struct pkt {
	void *data;
	void *data_end;
	__u32 l3;  /* offset of the IP header */
	__u32 l4;  /* offset of the TCP/UDP header */
	__u32 end; /* offset of the end of the IP datagram */
	__u8 v6;
	__u8 proto;
	__u8 simple; /* no IP options or extension headers, no fragment */
	__u8 frag;   /* non-first fragment: no L4 header here */
	__u8 miss;   /* a get miss: counted as such, not as a pass */
};

static __always_inline void conn_key_from(struct bmc_conn_key *k,
					  const __u32 *saddr, int v6,
					  __u16 sport, __u8 proto)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->addr[0] = saddr[0];
	if (v6) {
		k->addr[1] = saddr[1];
		k->addr[2] = saddr[2];
		k->addr[3] = saddr[3];
	}
	k->port = sport;
	k->proto = proto;
}

/*
 * Before Linux 5.18 there is no bpf_xdp_load_bytes or bpf_xdp_store_bytes
 * (bmc-attach clears xdp_bytes): the packet is then read and written
 * directly, all of it in the linear buffer (multi-buffer XDP came with the
 * same release). The verifier drops whichever branch xdp_bytes rules out,
 * so neither costs anything at run time where the other is used.
 */
#define PKT_OFF_MAX 0x3fff /* direct access wants a bounded offset */

/* Packet [off, off + len) to tb->b[at, at + len). */
__noinline int bmc_pkt_load(struct xdp_md *ctx, __u32 off, struct textbuf *tb,
			    __u32 at, __u32 len)
{
	__u8 *p, *end;
	__u64 t;

	if (!tb || off > PKT_OFF_MAX || at > REQ_BUF || len > REQ_BUF - 8)
		return -1;
	p = (__u8 *)(long)ctx->data + off;
	end = (__u8 *)(long)ctx->data_end;
#pragma clang loop unroll(disable)
	for (__u32 j = 0; j < REQ_BUF - 8; j += 8) {
		if (j + 8 > len)
			break;
		if (p + j + 8 > end)
			return -1;
		*(__u64 *)&tb->b[(at + j) & REQ_MASK] = *(__u64 *)(p + j);
	}
	/*
	 * The last 8 bytes again, ending exactly at len, or byte by byte.
	 * t is tested where it is used (see CHECK_LEN): len < 8 wraps it.
	 */
	t = (__u64)len - 8;
	barrier_var(t);
	if (t <= REQ_BUF - 16) {
		if (p + t + 8 > end)
			return -1;
		*(__u64 *)&tb->b[(at + t) & REQ_MASK] = *(__u64 *)(p + t);
		return 0;
	}
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < 8; i++) {
		if (i >= len)
			break;
		if (p + i + 1 > end)
			return -1;
		tb->b[(at + i) & REQ_MASK] = p[i];
	}
	return 0;
}

/* sl->blob[0, len) to the packet at off. */
__noinline int bmc_pkt_store(struct xdp_md *ctx, __u32 off, struct slot *sl,
			     __u32 len)
{
	__u8 *p, *end;
	__u64 t;

	if (!sl || off > PKT_OFF_MAX)
		return -1;
	p = (__u8 *)(long)ctx->data + off;
	end = (__u8 *)(long)ctx->data_end;
#pragma clang loop unroll(disable)
	for (__u32 j = 0; j < BMC_BLOB_MAX + 5; j += 8) {
		if (j + 8 > len)
			break;
		if (p + j + 8 > end)
			return -1;
		*(__u64 *)(p + j) = *(__u64 *)&sl->blob[j];
	}
	/*
	 * Only here: tested on entry, 6.1 would walk the loop's exit with
	 * len >= 1288 and <= 1285 and lose track of p.
	 */
	if (len > BMC_BLOB_MAX + 5)
		return -1;
	t = (__u64)len - 8; /* as in bmc_pkt_load */
	barrier_var(t);
	if (t <= BMC_BLOB_MAX + 5 - 8) {
		if (p + t + 8 > end)
			return -1;
		*(__u64 *)(p + t) = *(__u64 *)&sl->blob[t];
		return 0;
	}
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < 8; i++) {
		if (i >= len)
			break;
		if (p + i + 1 > end)
			return -1;
		p[i] = sl->blob[i];
	}
	return 0;
}

/* A header of constant size n at off into dst. */
static __always_inline int xdp_load(struct xdp_md *ctx, __u32 off, void *dst,
				    __u32 n)
{
	__u8 *p;

	if (xdp_bytes)
		return bpf_xdp_load_bytes(ctx, off, dst, n);
	barrier_var(off);
	if (off > PKT_OFF_MAX)
		return -1;
	p = (__u8 *)(long)ctx->data + off;
	if (p + n > (__u8 *)(long)ctx->data_end)
		return -1;
	__builtin_memcpy(dst, p, n);
	return 0;
}

/* Checksum helpers: sums over memory-order 16-bit words. */
static __always_inline __u16 csum_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

static __always_inline __u16 swab16(__u16 v)
{
	return (__u16)((v << 8) | (v >> 8));
}

static __always_inline int
load_payload(struct xdp_md *ctx, struct xdp_scratch *sc, __u32 off, __u32 len)
{
	__u64 n = len;

	if (!xdp_bytes)
		return bmc_pkt_load(ctx, off, &sc->req, 0, len);
	CHECK_LEN(n, REQ_BUF - 8, return -1);
	return bpf_xdp_load_bytes(ctx, off, sc->req.b, n);
}

/* The payload behind a command line kept from the last TCP segment. */
static __always_inline int load_glued(struct xdp_md *ctx,
				      struct xdp_scratch *sc, __u32 off,
				      __u32 at, __u32 len)
{
	__u64 a = at, n = len;

	if (!xdp_bytes)
		return bmc_pkt_load(ctx, off, &sc->req, at, len);
	/* Bounds again where the helper uses them (see CHECK_LEN). */
	barrier_var(a);
	if (a > BMC_STASH)
		return -1;
	CHECK_LEN(n, REQ_BUF - 8 - BMC_STASH, return -1);
	return bpf_xdp_load_bytes(ctx, off, sc->req.b + a, n);
}

#endif /* FASTPATH_BMC_PACKET_H */
