/* SPDX-License-Identifier: GPL-2.0 */
/*
 * XDP ingress per transport: UDP requests (hits, misses, writes) and TCP
 * streams followed per connection (writes only).
 */
#ifndef FASTPATH_BMC_RX_H
#define FASTPATH_BMC_RX_H

#include "commands.h"
#include "hit.h"

static __always_inline int handle_udp(struct xdp_md *ctx, struct pkt *pk,
				      const __u32 *saddr)
{
	struct udphdr uh;
	struct xdp_scratch *sc;
	struct conn_ref cr = {};
	__u32 zero = 0, plen, skip;
	int st, ret;

	if (pk->simple) {
		/* Fixed offsets: read the UDP header in place. */
		void *d = (void *)(long)ctx->data;
		void *de = (void *)(long)ctx->data_end;
		struct udphdr *up = d + (pk->v6 ? 14 + 40 : 14 + 20);

		if ((void *)(up + 1) > de)
			return XDP_PASS;
		uh = *up;
	} else if (xdp_load(ctx, pk->l4, &uh, sizeof(uh))) {
		return XDP_PASS;
	}
	if (uh.dest != port_be)
		return XDP_PASS;
	plen = bpf_ntohs(uh.len);
	conn_key_from(&cr.key, saddr, pk->v6, uh.source, IPPROTO_UDP_);
	cr.valid = 1;
	if (plen < 8 || pk->l4 + plen > pk->end) {
		/* First fragment of a bigger datagram: may hold a write. */
		if (pk->frag)
			flush_conservative(&cr);
		return XDP_PASS; /* else malformed: the stack drops it too */
	}
	plen -= 8;
	if (plen < 8)
		return XDP_PASS; /* no memcached frame header: memcached drops
				  */
	sc = bpf_map_lookup_elem(&xdp_scratch, &zero);
	if (!sc || load_payload(ctx, sc, pk->l4 + 8, plen)) {
		/* Too long for us: writes would go unseen. */
		flush_conservative(&cr);
		return XDP_PASS;
	}
	/* memcached echoes the request id: its reply ends this write. */
	cr.reqid = 0x10000 | *(__u16 *)&sc->req.b[0];
	if (plen > 12 && sc->req.b[8] == 'g' && sc->req.b[9] == 'e' &&
	    sc->req.b[10] == 't' && sc->req.b[11] == ' ') {
		stat_inc(S_GETS);
		ret = pk->simple ? try_hit(ctx, pk, sc, plen) : -2;
		if (ret == XDP_TX) {
			stat_inc(S_HITS);
			return XDP_TX;
		}
		if (ret == XDP_ABORTED)
			return XDP_ABORTED; /* cannot happen: bounds proven */
		pk->miss = 1;
		/* TC ingress counts it, a hit or a miss. */
		if (ret == -3 && tc_handoff(ctx, pk->v6))
			return XDP_PASS;
		stat_inc(S_MISSES);
		if (ret == -1 || ret == -3) {
			record_miss(pk->v6, saddr, uh.source,
				    *(__u16 *)&sc->req.b[0]);
			return XDP_PASS;
		}
		/* -2: not a single plain get line: parse it as a stream. */
	}
	st = parse_stream(8, plen, &cr, &skip);
	if (st != P_OK)
		flush_conservative(&cr);
	return XDP_PASS;
}

/*
 * The segment's payload into sc->req, behind the sl bytes of the line the
 * last segment cut (stashed on the connection), or from start on. -1: the
 * connection cannot be followed any more.
 */
static __always_inline int tcp_payload(struct xdp_md *ctx,
				       struct xdp_scratch *sc,
				       struct bmc_conn *c, __u32 sl, __u32 off,
				       __u32 plen, __u32 start)
{
	if (sl > BMC_STASH || (sl && start) || plen > REQ_BUF - 8 - BMC_STASH)
		return -1;
	if (!sl)
		return load_payload(ctx, sc, off, plen) ? -1 : 0;
	/* A line cut at the end of the last segment: glue it back. */
	__builtin_memcpy(sc->req.b, c->stash, BMC_STASH);
	return load_glued(ctx, sc, off, sl, plen) ? -1 : 0;
}

/* The connection's state after parse_stream said st of its stream. */
static __always_inline void tcp_parsed(struct bmc_conn *c,
				       struct xdp_scratch *sc,
				       struct conn_ref *cr, int st, __u32 total,
				       __u32 skip)
{
	c->skip = 0;
	c->stash_len = 0;
	if (st == P_OK) {
		c->state = BMC_CONN_SYNCED;
	} else if (st == P_SKIP) {
		c->state = BMC_CONN_SYNCED;
		c->skip = skip;
	} else if (st == P_LINE) {
		__u32 ps = *(volatile __u32 *)&sc->pos;

		if (ps < total && total - ps <= BMC_STASH && ps <= REQ_MASK) {
			__builtin_memcpy(c->stash, &sc->req.b[ps], BMC_STASH);
			c->stash_len = total - ps;
			c->state = BMC_CONN_SYNCED;
		} else {
			c->state = BMC_CONN_LOST;
			flush_conservative(cr);
		}
	} else if (st == P_SKIPLINE) {
		c->state = BMC_CONN_SKIPLINE;
	} else {
		c->state = BMC_CONN_LOST;
		flush_conservative(cr);
	}
}

static __always_inline int handle_tcp(struct xdp_md *ctx, struct pkt *pk,
				      const __u32 *saddr)
{
	struct tcphdr th;
	struct bmc_conn_key ck;
	struct bmc_conn *c;
	struct conn_ref cr = {};
	struct xdp_scratch *sc;
	__u32 zero = 0, doff, plen, seq, start = 0, skip = 0, sl, total;
	int st;

	if (xdp_load(ctx, pk->l4, &th, sizeof(th)))
		return XDP_PASS;
	if (th.dest != port_be)
		return XDP_PASS;
	conn_key_from(&ck, saddr, pk->v6, th.source, IPPROTO_TCP_);
	cr.key = ck;
	cr.valid = 1;
	doff = th.doff * 4;
	seq = bpf_ntohl(th.seq);
	if (doff < 20 || pk->l4 + doff > pk->end)
		return XDP_PASS;
	plen = pk->end - pk->l4 - doff;
	c = bpf_map_lookup_elem(&conns, &ck);
	if (th.syn) {
		if (!c) {
			c = conn_create(&ck);
		}
		if (c) {
			c->state = BMC_CONN_SYNCED;
			c->next_seq = seq + 1;
			c->skip = 0;
			c->stash_len = 0;
		}
		if (plen == 0)
			return XDP_PASS;
		seq++;
	}
	if (plen == 0)
		return XDP_PASS;
	if (!c) {
		/* A connection from before we attached: position unknown. */
		c = conn_create(&ck);
		if (!c) {
			flush_all();
			return XDP_PASS;
		}
	}
	if (c->state != BMC_CONN_LOST && seq != c->next_seq) {
		/* Entirely old data (a retransmission) was parsed already. */
		if ((__s32)(seq + plen - c->next_seq) <= 0)
			return XDP_PASS;
		c->state = BMC_CONN_LOST;
	}
	if (c->state == BMC_CONN_LOST) {
		flush_conservative(&cr);
		return XDP_PASS;
	}
	/* Skip the rest of a value that began in an earlier segment. */
	if (c->skip) {
		if (c->skip >= plen) {
			c->skip -= plen;
			c->next_seq = seq + plen;
			return XDP_PASS;
		}
		start = c->skip;
	}
	sc = bpf_map_lookup_elem(&xdp_scratch, &zero);
	if (!sc)
		return XDP_PASS;
	sl = c->stash_len;
	if (tcp_payload(ctx, sc, c, sl, pk->l4 + doff, plen, start)) {
		c->state = BMC_CONN_LOST;
		flush_conservative(&cr);
		return XDP_PASS;
	}
	total = sl + plen;
	if (c->state == BMC_CONN_SKIPLINE) {
		__u32 e = EOL_LONG, q = OPAQUE(sc, start);

		total = OPAQUE(sc, total);
#pragma clang loop unroll(disable)
		for (int k = 0; k < REQ_BUF / LINE_MAX_ + 1; k++) {
			e = bmc_eol(&sc->req, q, total);
			if (e != EOL_LONG)
				break;
			q += LINE_MAX_;
		}
		if (e == EOL_PARTIAL || e == EOL_LONG) {
			c->next_seq = seq + plen; /* still inside the line */
			return XDP_PASS;
		}
		start = e + 1;
		c->state = BMC_CONN_SYNCED;
	}
	st = parse_stream(start, total, &cr, &skip);
	c->next_seq = seq + plen;
	tcp_parsed(c, sc, &cr, st, total, skip);
	return XDP_PASS;
}

#endif /* FASTPATH_BMC_RX_H */
